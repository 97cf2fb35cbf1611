//! "Sync now" when deployed: the oauth-callback function invokes the sync-tick function
//! asynchronously. The AWS SDK talks to a local endpoint standing in for the Lambda Invoke API,
//! which records what it was sent, so the test sees the request exactly as AWS would.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use shared::sync_trigger::{LambdaSyncTrigger, SyncTrigger, SyncTriggerError};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Invocation {
    function: String,
    invocation_type: String,
    payload: serde_json::Value,
}

#[derive(Default)]
struct FakeLambda {
    seen: Mutex<Vec<Invocation>>,
    /// The status to answer with (202 is Lambda's answer to an accepted async invoke).
    answer: Mutex<u16>,
}

async fn invoke(State(lambda): State<Arc<FakeLambda>>, Path(function): Path<String>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let invocation_type = headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse").to_string();
    let payload = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    lambda.seen.lock().unwrap_or_else(|p| p.into_inner()).push(Invocation { function, invocation_type, payload });
    let status = *lambda.answer.lock().unwrap_or_else(|p| p.into_inner());
    if status == 404 {
        let body = r#"{"Type":"User","message":"Function not found"}"#;
        return (StatusCode::NOT_FOUND, [("x-amzn-errortype", "ResourceNotFoundException"), ("content-type", "application/json")], body).into_response();
    }
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "").into_response()
}

async fn fake_lambda() -> (Arc<FakeLambda>, aws_sdk_lambda::Client) {
    let lambda = Arc::new(FakeLambda { answer: Mutex::new(202), ..FakeLambda::default() });
    let app = Router::new().route("/2015-03-31/functions/{function}/invocations", post(invoke)).with_state(lambda.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{address}"))
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    (lambda, aws_sdk_lambda::Client::from_conf(config))
}

#[tokio::test]
async fn sync_now_queues_one_run_of_the_tick_function_for_the_connection() {
    let (lambda, client) = fake_lambda().await;
    let trigger = LambdaSyncTrigger::new(client, Some("zcs-sync-tick".into()));
    trigger.sync_now("conn-42").await.expect("the invoke is accepted");
    let seen = lambda.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].function, "zcs-sync-tick");
    assert_eq!(seen[0].invocation_type, "Event", "asynchronous: the page does not wait for the run");
    assert_eq!(seen[0].payload, serde_json::json!({"connection_id": "conn-42"}));
}

#[tokio::test]
async fn a_refused_or_unconfigured_invoke_is_an_error_not_a_silent_success() {
    let (lambda, client) = fake_lambda().await;
    *lambda.answer.lock().unwrap_or_else(|p| p.into_inner()) = 404;
    let trigger = LambdaSyncTrigger::new(client.clone(), Some("missing-function".into()));
    let err = trigger.sync_now("conn-42").await.expect_err("a missing function fails");
    assert!(matches!(&err, SyncTriggerError::Invoke(detail) if detail.contains("ResourceNotFoundException")), "{err}");

    *lambda.answer.lock().unwrap_or_else(|p| p.into_inner()) = 200;
    let synchronous = trigger.sync_now("conn-42").await.expect_err("only 202 means the event was queued");
    assert!(matches!(synchronous, SyncTriggerError::Invoke(_)));

    let unconfigured = LambdaSyncTrigger::new(client, None);
    let err = unconfigured.sync_now("conn-42").await.expect_err("no function name");
    assert!(err.to_string().contains("SYNC_TICK_FUNCTION"), "{err}");
}
