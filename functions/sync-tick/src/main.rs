//! EventBridge Scheduler → `{"frequency": "1h"}` → sync every connection on that schedule;
//! the settings page's "sync now" → `{"connection_id": "..."}` → sync that connection.
//! Parse the event, call `shared::sync::engine::tick`, return a data-free summary. The AWS
//! clients and app secrets are built once per cold start, on the first sync event (a health
//! check needs none of them).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;
use serde_json::Value;
use shared::settings::Frequency;
use shared::store::now_millis;
use shared::sync::engine::aws::AwsDeps;
use shared::sync::engine::tick::{run_one, run_tick};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

const FUNCTION: &str = "sync-tick";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum TickEvent {
    Scheduled { frequency: String },
    SyncNow { connection_id: String },
}

#[derive(Debug, PartialEq, Eq)]
enum Job {
    Frequency(Frequency),
    Connection(String),
}

fn parse(payload: Value) -> Result<Job, String> {
    let expected = || format!("{FUNCTION}: expected an event like {{\"frequency\": \"1h\"}} or {{\"connection_id\": \"...\"}}");
    match serde_json::from_value(payload).map_err(|_| expected())? {
        TickEvent::Scheduled { frequency } => frequency.parse::<Frequency>().map(Job::Frequency).map_err(|e| format!("{FUNCTION}: {e}")),
        TickEvent::SyncNow { connection_id } if !connection_id.is_empty() && connection_id.len() <= 100 => Ok(Job::Connection(connection_id)),
        TickEvent::SyncNow { .. } => Err(expected()),
    }
}

async fn handle(deps: &OnceCell<AwsDeps>, event: LambdaEvent<Value>) -> Result<Value, Error> {
    if shared::health::is_health_event(&event.payload) {
        return Ok(shared::health::health_reply(FUNCTION));
    }
    let job = parse(event.payload)?;
    let deps = deps.get_or_try_init(AwsDeps::from_env).await?;
    let remaining = event.context.deadline.saturating_sub(now_millis().max(0) as u64);
    let deadline = Instant::now() + Duration::from_millis(remaining);
    let summary = match &job {
        Job::Frequency(frequency) => run_tick(&deps.env, &deps.store, &deps.vault, *frequency, deadline, now_millis).await?,
        Job::Connection(id) => run_one(&deps.env, &deps.store, &deps.vault, id, deadline, now_millis).await?,
    };
    tracing::info!(job = %summary.frequency, connections = summary.connections, failed = summary.failed, "tick done");
    Ok(serde_json::to_value(summary)?)
}

// One thread: the tick waits on the network most of the time, Lambda gives a 512 MB function a
// third of a vCPU, and a single thread keeps one malloc arena instead of one per worker (peak
// memory is what sizes the function).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::logging::init_json();
    let deps = OnceCell::new();
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event| async move { handle(deps, event).await })).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_known_frequency_is_accepted() {
        assert_eq!(parse(serde_json::json!({"frequency": "15m"})), Ok(Job::Frequency(Frequency::Min15)));
        assert_eq!(parse(serde_json::json!({"connection_id": "c1"})), Ok(Job::Connection("c1".into())));
        assert!(parse(serde_json::json!({"connection_id": ""})).is_err());
        assert!(parse(serde_json::json!({"connection_id": "c1", "frequency": "1h"})).is_err());
        assert!(parse(serde_json::json!({"frequency": "2h"})).unwrap_err().contains("unknown frequency"));
        assert!(parse(serde_json::json!({"frequency": 1})).is_err());
        assert!(parse(serde_json::json!({"frequncy": "1h"})).is_err());
    }
}
