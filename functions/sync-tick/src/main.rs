//! Lambda entry point: parse the event, call `shared`, map the result.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

const FUNCTION: &str = "sync-tick";

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if shared::health::is_health_event(&event.payload) {
        return Ok(shared::health::health_reply(FUNCTION));
    }
    Err(format!("{FUNCTION}: unsupported event").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init_json();
    lambda_runtime::run(service_fn(handle)).await
}
