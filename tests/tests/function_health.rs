//! Each function binary starts under `lambda_runtime` and answers the health event through the
//! Lambda Runtime API; an event it does not understand is an invocation error, not a crash.

use serde_json::json;
use sync_tests::aws::fresh_table;
use sync_tests::functions::function_env;
use sync_tests::lambda::{workspace_binary, LambdaProcess};

const FUNCTIONS: [&str; 3] = ["oauth-callback", "sync-tick", "sync-status"];

#[tokio::test]
async fn every_function_answers_the_health_event_through_the_runtime_api() {
    let table = fresh_table().await;
    // Cold start reads the app secret; the providers are never called by a health check.
    let env = function_env(&table.table, "http://127.0.0.1:9", "http://127.0.0.1:9").await;
    for name in FUNCTIONS {
        let mut function = LambdaProcess::start(workspace_binary(name), &env.vars).await.expect("start function");
        let reply = function.invoke(&json!({"health": true})).await.expect("health reply");
        assert_eq!(reply["status"], "ok", "{name}: {reply}");
        assert_eq!(reply["function"], name);
        // The same process serves a second invocation (warm start).
        let again = function.invoke(&json!({"health": true})).await.expect("second health reply");
        assert_eq!(again["function"], name);
        assert!(function.cold_start().is_some());
        let unknown = function.invoke(&json!({"unexpected": 1})).await;
        assert!(unknown.is_err(), "{name} must reject an event it does not understand: {unknown:?}");
        assert!(function.invoke(&json!({"health": true})).await.is_ok(), "{name} survives a bad event");
    }
}

#[tokio::test]
async fn a_function_without_its_configuration_stops_at_cold_start_and_says_what_is_missing() {
    let mut function = LambdaProcess::start(workspace_binary("sync-status"), &[]).await.expect("start function");
    let reply = function.invoke(&json!({"health": true})).await;
    assert!(reply.is_err(), "{reply:?}");
    let logs = function.logs().join("\n");
    assert!(logs.contains("STATE_TABLE"), "the missing variable is named: {logs}");
}
