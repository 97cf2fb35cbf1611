//! "Sync now": starting a run for one connection outside its schedule.
//!
//! The settings page only asks for a run; who runs it depends on where the page is served:
//! - [`LambdaSyncTrigger`]: the deployed oauth-callback function hands the run to the sync-tick
//!   function with an asynchronous invoke (`{"connection_id": "<id>"}`), so the page answers at
//!   once and the run gets the tick's own timeout and lease (a second run for the same
//!   connection skips it, DESIGN rule 8).
//! - [`InProcessSyncTrigger`]: the local server and the tests run the engine in this process and
//!   answer when the run is done (locally there is no second function to hand it to).

use crate::secrets::TokenVault;
use crate::store::{now_millis, StateStore};
use crate::sync::engine::tick::{clients_for, SyncEnvironment};
use crate::sync::engine::{run_connection, ConnectionRun, SyncPorts};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Why a run could not be started. Data-free: ids and codes only.
#[derive(Debug, thiserror::Error)]
pub enum SyncTriggerError {
    #[error("the sync function is not configured ({0} is not set)")]
    NotConfigured(&'static str),
    #[error("the sync function could not be invoked: {0}")]
    Invoke(String),
    #[error("the connection {0} no longer exists")]
    UnknownConnection(String),
    #[error("the connection's accounts cannot be used: {0}")]
    Clients(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Starts a sync run for one connection.
#[async_trait]
pub trait SyncTrigger: Send + Sync {
    async fn sync_now(&self, connection_id: &str) -> Result<(), SyncTriggerError>;
}

/// The event the sync-tick function takes for a single connection.
pub fn sync_now_event(connection_id: &str) -> serde_json::Value {
    serde_json::json!({ "connection_id": connection_id })
}

/// Invokes the sync-tick function asynchronously (`InvocationType::Event`): Lambda queues the
/// event and answers 202 at once; it retries a failed run itself.
pub struct LambdaSyncTrigger {
    client: aws_sdk_lambda::Client,
    /// `SYNC_TICK_FUNCTION`: name or ARN; `None` when the variable is unset.
    function: Option<String>,
}

impl LambdaSyncTrigger {
    pub fn new(client: aws_sdk_lambda::Client, function: Option<String>) -> Self {
        LambdaSyncTrigger { client, function: function.filter(|f| !f.is_empty()) }
    }

    /// The function name from `SYNC_TICK_FUNCTION`. An unset variable fails only "sync now",
    /// not the whole connect flow.
    pub fn from_env(client: aws_sdk_lambda::Client) -> Self {
        LambdaSyncTrigger::new(client, std::env::var(crate::config::SYNC_TICK_FUNCTION).ok())
    }
}

#[async_trait]
impl SyncTrigger for LambdaSyncTrigger {
    async fn sync_now(&self, connection_id: &str) -> Result<(), SyncTriggerError> {
        use aws_sdk_lambda::error::ProvideErrorMetadata;
        let function = self.function.as_deref().ok_or(SyncTriggerError::NotConfigured(crate::config::SYNC_TICK_FUNCTION))?;
        let payload = serde_json::to_vec(&sync_now_event(connection_id)).map_err(|e| SyncTriggerError::Invoke(e.to_string()))?;
        let answer = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .map_err(|e| {
                let detail = match &e {
                    aws_sdk_lambda::error::SdkError::ServiceError(se) => se.err().code().unwrap_or("unknown").to_string(),
                    other => aws_sdk_lambda::error::DisplayErrorContext(other).to_string(),
                };
                SyncTriggerError::Invoke(detail)
            })?;
        // An asynchronous invoke is accepted with 202; anything else did not queue the event.
        if answer.status_code() != 202 {
            return Err(SyncTriggerError::Invoke(format!("HTTP {}", answer.status_code())));
        }
        tracing::info!(connection = %connection_id, "sync run requested");
        Ok(())
    }
}

/// Runs the sync engine for the connection in this process and returns when the run is done.
pub struct InProcessSyncTrigger {
    pub store: Arc<dyn StateStore>,
    pub vault: Arc<dyn TokenVault>,
    pub env: Arc<SyncEnvironment>,
    /// How long one run may take (the Lambda tick's timeout plays this part when deployed).
    pub run_time: Duration,
}

#[async_trait]
impl SyncTrigger for InProcessSyncTrigger {
    async fn sync_now(&self, connection_id: &str) -> Result<(), SyncTriggerError> {
        let connection = self
            .store
            .get_connection(connection_id)
            .await?
            .ok_or_else(|| SyncTriggerError::UnknownConnection(connection_id.to_string()))?;
        let deadline = tokio::time::Instant::now() + self.run_time;
        let (google, zoho) = clients_for(&self.env, self.vault.as_ref(), &connection, deadline)
            .await
            .map_err(|e| SyncTriggerError::Clients(e.to_string()))?;
        let ports = SyncPorts { google: &google, zoho: &zoho };
        match run_connection(ports, self.store.as_ref(), &connection, deadline, now_millis()).await {
            ConnectionRun::Ran(run) => tracing::info!(connection = %connection_id, outcome = ?run.outcome, "sync run finished"),
            ConnectionRun::SkippedLeaseHeld { .. } => tracing::info!(connection = %connection_id, "another run holds the connection; skipped"),
        }
        Ok(())
    }
}
