//! The sync-status binary through the Lambda Runtime API, on a moto DynamoDB table: who may see
//! a status, and what it shows.

use serde_json::Value;
use shared::settings::{Frequency, Settings};
use shared::status::token_hash;
use shared::store::*;
use sync_tests::apigw;
use sync_tests::aws::{fresh_table, moto_endpoint};
use sync_tests::lambda::{workspace_binary, LambdaProcess};

const TOKEN: &str = "tok-3f9a1c55e0b84d2a9c11";

fn connection(id: &str, token: &str) -> Connection {
    Connection {
        id: id.into(),
        zoho_user_id: "zu".into(),
        google_email: "owner@example.com".into(),
        settings: Settings { google_group: Some("contactGroups/sales".into()), ..Settings::default() },
        frequency: Frequency::Hour1,
        enabled: true,
        zoho_permissions: ZohoPermissions::default(),
        zoho_accounts_server: None,
        zoho_api_domain: None,
        status_token_hash: Some(token_hash(token)),
        reconnect_needed: false,
        created_at: 1,
        updated_at: 1,
    }
}

async fn start(table: &str) -> LambdaProcess {
    let env = [
        ("STATE_TABLE".to_string(), table.to_string()),
        ("PUBLIC_BASE_URL".to_string(), "http://localhost".to_string()),
        ("AWS_ENDPOINT_URL".to_string(), moto_endpoint()),
    ];
    LambdaProcess::start(workspace_binary("sync-status"), &env).await.expect("start sync-status")
}

fn status_and_body(reply: &Value) -> (i64, String) {
    (reply["statusCode"].as_i64().unwrap_or(0), reply["body"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn only_the_connections_own_token_sees_its_status() {
    let t = fresh_table().await;
    t.store.put_connection(&connection("c1", TOKEN)).await.unwrap();
    t.store.put_connection(&connection("c2", "other-token-0000")).await.unwrap();
    let now = now_millis();
    t.store
        .put_run(&RunRecord {
            connection_id: "c1".into(),
            run_id: "r1".into(),
            started_at: now - 5_000,
            ended_at: Some(now - 4_000),
            outcome: RunOutcome::Partial,
            zoho: SideCounts { created: 4, ..Default::default() },
            google: SideCounts { updated: 2, errors: 1, ..Default::default() },
            last_error: None,
            log: vec!["conflict zoho_id=77 field=Phone policy=zoho_wins".into()],
            record_errors: vec![RecordError { side: Provider::Google, record_id: "people/c12".into(), code: "FAILED_PRECONDITION".into() }],
        })
        .await
        .unwrap();
    let mut f = start(&t.table).await;

    let (code, _) = status_and_body(&f.invoke(&apigw::get("/status?connection=c1", &[])).await.unwrap());
    assert_eq!(code, 401, "no credentials");

    let bearer = format!("Bearer {TOKEN}");
    let (code_other, body_other) =
        status_and_body(&f.invoke(&apigw::get("/status?connection=c2", &[("authorization", &bearer)])).await.unwrap());
    let (code_missing, body_missing) =
        status_and_body(&f.invoke(&apigw::get("/status?connection=nope", &[("authorization", &bearer)])).await.unwrap());
    assert_eq!((code_other, code_missing), (404, 404), "another connection's status is not found");
    assert_eq!(body_other, body_missing, "the answer does not reveal whether the connection exists");
    let (code, _) = status_and_body(&f.invoke(&apigw::get("/status?connection=c1", &[("authorization", "Bearer wrong")])).await.unwrap());
    assert_eq!(code, 404);

    let reply = f.invoke(&apigw::get("/status?connection=c1", &[("authorization", &bearer)])).await.unwrap();
    let (code, body) = status_and_body(&reply);
    assert_eq!(code, 200, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["state"], "idle");
    assert_eq!(status["last_run"]["outcome"], "partial");
    assert_eq!(status["last_run"]["zoho"]["created"], 4);
    assert_eq!(status["last_24h"]["google"]["errors"], 1);
    assert_eq!(status["errors"][0]["record_id"], "people/c12");
    assert_eq!(status["conflicts"][0], "conflict zoho_id=77 field=Phone policy=zoho_wins");
    assert_eq!(status["settings"]["google_group"], "contactGroups/sales");
    assert!(status["next_run_at"].as_i64().is_some());

    let page = f
        .invoke(&apigw::get("/status?connection=c1", &[("authorization", &bearer), ("accept", "text/html")]))
        .await
        .unwrap();
    let (code, html) = status_and_body(&page);
    assert_eq!(code, 200);
    assert!(page["headers"]["content-type"].as_str().unwrap_or("").starts_with("text/html"));
    assert!(html.contains("partial") && html.contains("people/c12"), "{html}");

    // A malformed event is an invocation error, not a crash, and leaks nothing.
    assert!(f.invoke(&serde_json::json!({"rawPath": 5})).await.is_err());
    assert!(f.invoke(&serde_json::json!({"health": true})).await.is_ok());
    let logs = f.logs().join("\n");
    assert!(!logs.contains(TOKEN), "the token never reaches the logs");
    assert!(!logs.contains("owner@example.com"), "contact data never reaches the logs");
    assert!(logs.contains("status request"), "the function does log: {logs}");
}
