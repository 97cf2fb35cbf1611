//! The scheduled tick: every enabled connection on one frequency, each within the deadline.
//! A connection that fails does not stop the others; one whose grant is gone is marked
//! `reconnect_needed` and skipped until the user connects again.

use super::{run_connection, ConnectionRun, SyncPorts};
use crate::config;
use crate::google::{GoogleClient, GoogleUrls};
use crate::oauth::AccessTokenCache;
use crate::secrets::{AppSecrets, TokenVault};
use crate::settings::Frequency;
use crate::store::{Connection, EpochMillis, Provider, RunOutcome, StateStore, StoreError};
use crate::zoho::{self, ZohoClient};
use serde::Serialize;
use std::sync::Arc;
use tokio::time::Instant;

/// Where the APIs are and the app's OAuth clients: built once per cold start.
pub struct SyncEnvironment {
    pub http: reqwest::Client,
    pub app: AppSecrets,
    pub google: GoogleUrls,
    /// Used when a connection has no accounts server / API domain of its own.
    pub zoho_accounts_url: String,
    pub zoho_api_url: String,
    /// `ZOHO_ACCOUNTS_URL` / `ZOHO_API_URL` when set: the only non-Zoho hosts accepted.
    pub zoho_overrides: (Option<String>, Option<String>),
}

impl SyncEnvironment {
    /// Base URLs from the environment ([`config`]); the real services by default.
    pub fn from_env(http: reqwest::Client, app: AppSecrets) -> Self {
        SyncEnvironment {
            http,
            app,
            google: GoogleUrls::from_env(),
            zoho_accounts_url: config::env_or(config::ZOHO_ACCOUNTS_URL, config::DEFAULT_ZOHO_ACCOUNTS_URL),
            zoho_api_url: config::env_or(config::ZOHO_API_URL, config::DEFAULT_ZOHO_API_URL),
            zoho_overrides: zoho::configured_overrides(),
        }
    }
}

/// Why a connection's clients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    #[error("no {0:?} refresh token is stored for the connection; the user must connect again")]
    MissingToken(Provider),
    #[error("the connection's Zoho data centre is not accepted ({0}); the user must connect again")]
    ZohoHost(#[from] zoho::AccountsServerError),
    #[error("token store: {0}")]
    Vault(#[from] crate::secrets::SecretError),
}

impl ClientSetupError {
    pub fn needs_reconnect(&self) -> bool {
        !matches!(self, ClientSetupError::Vault(_))
    }
}

/// The two API clients of one connection, with the tick's deadline.
pub async fn clients_for(env: &SyncEnvironment, vault: &dyn TokenVault, connection: &Connection, deadline: Instant) -> Result<(GoogleClient, ZohoClient), ClientSetupError> {
    let google_token = vault.get_token(&connection.id, Provider::Google).await?.ok_or(ClientSetupError::MissingToken(Provider::Google))?;
    let zoho_token = vault.get_token(&connection.id, Provider::Zoho).await?.ok_or(ClientSetupError::MissingToken(Provider::Zoho))?;
    // Refreshing sends no redirect URI; the field is only used by the code exchange.
    let google_endpoint = env.google.token_endpoint(&env.app.google_client_id, env.app.google_client_secret.expose(), "");
    let google_tokens = Arc::new(AccessTokenCache::new(env.http.clone(), google_endpoint, google_token.expose().to_string()));
    let google = GoogleClient::new(env.http.clone(), &env.google.people_url, google_tokens).with_deadline(Some(deadline));

    let (accounts_override, api_override) = (env.zoho_overrides.0.as_deref(), env.zoho_overrides.1.as_deref());
    let accounts = zoho::validate_accounts_server(connection.zoho_accounts_server.as_deref().unwrap_or(&env.zoho_accounts_url), accounts_override)?;
    let api_domain = zoho::validate_api_domain(connection.zoho_api_domain.as_deref().unwrap_or(&env.zoho_api_url), api_override)?;
    let zoho_endpoint = zoho::token_endpoint(&accounts, &env.app.zoho_client_id, env.app.zoho_client_secret.expose(), "");
    let zoho_tokens = Arc::new(AccessTokenCache::new(env.http.clone(), zoho_endpoint, zoho_token.expose().to_string()));
    let zoho = ZohoClient::new(env.http.clone(), api_domain.as_str(), zoho_tokens).with_deadline(Some(deadline));
    Ok((google, zoho))
}

/// What a tick did, without any contact data: counts by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickSummary {
    pub frequency: String,
    pub connections: usize,
    pub succeeded: usize,
    pub partial: usize,
    pub continued: usize,
    pub blocked_mass_delete: usize,
    pub skipped_lease_held: usize,
    /// Disabled, or no Google group and Zoho list chosen yet.
    pub not_configured: usize,
    pub reconnect_needed: usize,
    pub failed: usize,
}

impl TickSummary {
    fn count(&mut self, outcome: RunOutcome) {
        match outcome {
            RunOutcome::Success => self.succeeded += 1,
            RunOutcome::Partial => self.partial += 1,
            RunOutcome::Continued => self.continued += 1,
            RunOutcome::BlockedMassDelete => self.blocked_mass_delete += 1,
            RunOutcome::ReconnectNeeded => self.reconnect_needed += 1,
            RunOutcome::Running | RunOutcome::Failed => self.failed += 1,
        }
    }
}

/// Syncs every enabled, configured connection on `frequency`, one after another, within `deadline`.
pub async fn run_tick(env: &SyncEnvironment, store: &dyn StateStore, vault: &dyn TokenVault, frequency: Frequency, deadline: Instant, now: impl Fn() -> EpochMillis) -> Result<TickSummary, StoreError> {
    let connections = store.list_connections_by_frequency(frequency).await?;
    let mut summary = TickSummary { frequency: frequency.key().to_string(), connections: connections.len(), ..TickSummary::default() };
    for connection in &connections {
        sync_connection(env, store, vault, connection, deadline, &now, &mut summary).await;
    }
    Ok(summary)
}

/// "Sync now" for one connection (the settings page's `{"connection_id": ...}` event). An
/// unknown, disabled or unconfigured connection is counted as not run, never an error: the
/// event may be retried by Lambda after a disconnect.
pub async fn run_one(env: &SyncEnvironment, store: &dyn StateStore, vault: &dyn TokenVault, connection_id: &str, deadline: Instant, now: impl Fn() -> EpochMillis) -> Result<TickSummary, StoreError> {
    let mut summary = TickSummary { frequency: "now".to_string(), ..TickSummary::default() };
    if let Some(connection) = store.get_connection(connection_id).await? {
        summary.connections = 1;
        sync_connection(env, store, vault, &connection, deadline, &now, &mut summary).await;
    }
    Ok(summary)
}

async fn sync_connection(
    env: &SyncEnvironment,
    store: &dyn StateStore,
    vault: &dyn TokenVault,
    connection: &Connection,
    deadline: Instant,
    now: &impl Fn() -> EpochMillis,
    summary: &mut TickSummary,
) {
    if !connection.enabled || !connection.settings.is_configured() {
        // Connected but no group and list chosen yet: syncing everything is not what was asked.
        summary.not_configured += 1;
        return;
    }
    if connection.reconnect_needed {
        summary.reconnect_needed += 1;
        return;
    }
    let outcome = match clients_for(env, vault, connection, deadline).await {
        Ok((google, zoho)) => match run_connection(SyncPorts { google: &google, zoho: &zoho }, store, connection, deadline, now()).await {
            ConnectionRun::Ran(run) => run.outcome,
            ConnectionRun::SkippedLeaseHeld { .. } => {
                summary.skipped_lease_held += 1;
                return;
            }
        },
        Err(e) => {
            tracing::warn!(connection = %connection.id, error = %e, "could not set up the connection's clients");
            if e.needs_reconnect() {
                RunOutcome::ReconnectNeeded
            } else {
                RunOutcome::Failed
            }
        }
    };
    summary.count(outcome);
    if outcome == RunOutcome::ReconnectNeeded {
        mark_reconnect_needed(store, connection, now()).await;
    }
}

async fn mark_reconnect_needed(store: &dyn StateStore, connection: &Connection, now: EpochMillis) {
    let updated = Connection { reconnect_needed: true, updated_at: now, ..connection.clone() };
    if let Err(e) = store.put_connection(&updated).await {
        tracing::warn!(connection = %connection.id, error = %e, "could not mark the connection as needing a reconnect");
    }
}
