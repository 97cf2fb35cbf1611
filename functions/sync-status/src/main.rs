//! `GET /status` behind API Gateway (HTTP API, payload 2.0): parse the event, call
//! `shared::status`, map the result. The store client is built once per cold start.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::store::dynamo::DynamoStore;
use shared::web::{WebRequest, WebResponse};

const FUNCTION: &str = "sync-status";

async fn handle(store: &DynamoStore, event: LambdaEvent<Value>) -> Result<Value, Error> {
    if shared::health::is_health_event(&event.payload) {
        return Ok(shared::health::health_reply(FUNCTION));
    }
    let request = WebRequest::from_event(event.payload)?;
    let response = match shared::status::handle_status(&request, store, shared::store::now_millis()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, retryable = e.is_retryable(), "status failed");
            WebResponse::json(503, &serde_json::json!({"error": "unavailable", "message": "the status store is unavailable; try again shortly"}))
        }
    };
    tracing::info!(status = response.status, path = %request.path, "status request");
    Ok(serde_json::to_value(response.into_apigw())?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init_json();
    let store = DynamoStore::from_env().await?;
    let store = &store;
    lambda_runtime::run(service_fn(move |event| async move { handle(store, event).await })).await
}
