//! The state store: connections, links, pending creates, cursors, leases, run history and
//! one-time OAuth states.
//!
//! Two adapters with the same semantics, checked by one contract suite
//! (`tests/tests/store_contract.rs`): [`dynamo::DynamoStore`] for Lambda and
//! [`sqlite::SqliteStore`] for local runs. The single-table layout is in [`schema`] and
//! `docs/store.md`.

pub mod dynamo;
pub mod schema;
pub mod sqlite;

use crate::settings::{Frequency, Settings};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch. All store timestamps use it.
pub type EpochMillis = i64;

pub fn now_millis() -> EpochMillis {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as EpochMillis
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed in a way a retry may fix (throttling, a network error, a 5xx).
    #[error("state store unavailable ({operation}): {detail}")]
    Unavailable { operation: &'static str, detail: String },
    /// The backend answered with something this code cannot read; a retry will not help.
    #[error("state store item is malformed ({what}): {detail}")]
    Malformed { what: &'static str, detail: String },
    /// A write conflicted with a concurrent one (for example a link whose resourceName is
    /// already linked to another Zoho record).
    #[error("state store write conflicted: {0}")]
    Conflict(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What the user may do on Zoho Contacts, read from their profile at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZohoPermissions {
    pub view: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
}

impl Default for ZohoPermissions {
    fn default() -> Self {
        ZohoPermissions { view: true, create: true, edit: true, delete: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub zoho_user_id: String,
    pub google_email: String,
    pub settings: Settings,
    /// Kept equal to `settings.frequency`; indexed so the tick can list its connections.
    pub frequency: Frequency,
    pub enabled: bool,
    #[serde(default)]
    pub zoho_permissions: ZohoPermissions,
    /// Zoho data centre: the accounts server and the API domain from the token response.
    #[serde(default)]
    pub zoho_accounts_server: Option<String>,
    #[serde(default)]
    pub zoho_api_domain: Option<String>,
    /// SHA-256 (hex) of the bearer token that lets the user read this connection's status.
    #[serde(default)]
    pub status_token_hash: Option<String>,
    /// Set when a provider answered `invalid_grant`: the user must connect again.
    #[serde(default)]
    pub reconnect_needed: bool,
    pub created_at: EpochMillis,
    pub updated_at: EpochMillis,
}

/// One Zoho record ⇄ one Google person, with the base state last synced (rule 1 and 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub connection_id: String,
    pub zoho_id: String,
    pub google_resource_name: String,
    /// The email the link was matched on, lower-cased and trimmed; `None` for contacts without one.
    pub email: Option<String>,
    /// Mapped field name → hash of its value as last synced. Hashes only, never values.
    pub field_hashes: BTreeMap<String, String>,
    pub zoho_modified_time: Option<String>,
    pub google_etag: Option<String>,
    pub updated_at: EpochMillis,
}

/// A create in Zoho for a Google person *without an email*, about to be sent and not yet linked
/// (rule 7). Such a record has no email to upsert on, and until its id is stamped on the person
/// nothing points to it: after a crash between the create and the link, the next tick finds the
/// record again by these hashes (see `crate::sync` for the pairing). Hashes and ids only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCreate {
    pub connection_id: String,
    pub google_resource_name: String,
    /// Mapped field name → hash of the value sent to Zoho (the link's base hashes to be).
    pub field_hashes: BTreeMap<String, String>,
    pub created_at: EpochMillis,
    /// From then on the marker is not returned (DynamoDB's TTL removes the item later).
    pub expires_at: EpochMillis,
}

/// Where each side's change feed stands. Cursors advance only after the changes they cover are
/// applied and their links saved (rule 6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursors {
    /// Zoho `If-Modified-Since` for the next tick (ISO 8601), and the `page_token` / page number
    /// to continue from within the current window.
    pub zoho_modified_since: Option<String>,
    pub zoho_page_token: Option<String>,
    /// `If-Modified-Since` for `/Contacts/deleted`.
    pub zoho_deleted_since: Option<String>,
    pub google_sync_token: Option<String>,
    pub google_page_token: Option<String>,
    pub first_sync_done: bool,
    pub updated_at: EpochMillis,
}

/// A run's exclusive hold on a connection until `expires_at`. It lives on the connection's
/// cursors, so taking it also reads them: an idle tick needs no separate cursor read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub connection_id: String,
    pub holder: String,
    pub expires_at: EpochMillis,
    /// The connection's stored cursors as of the acquisition (`Cursors::default()` if none were
    /// ever stored).
    pub cursors: Cursors,
}

/// Counts for one side of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideCounts {
    pub created: u32,
    pub updated: u32,
    pub deleted: u32,
    pub unlinked: u32,
    pub conflicts: u32,
    pub errors: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Success,
    /// Finished, but some records failed and will be retried next tick.
    Partial,
    /// Stopped by the budget; the next tick continues.
    Continued,
    /// Stopped by the mass-delete guard; nothing was changed.
    BlockedMassDelete,
    ReconnectNeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub connection_id: String,
    pub run_id: String,
    pub started_at: EpochMillis,
    pub ended_at: Option<EpochMillis>,
    pub outcome: RunOutcome,
    pub zoho: SideCounts,
    pub google: SideCounts,
    /// Short, data-free description of the last error (ids and codes only).
    pub last_error: Option<String>,
    /// Conflict decisions and other notes, data-free (ids, field names, the rule applied).
    #[serde(default)]
    pub log: Vec<String>,
    /// Records that failed this run and will be retried next tick.
    #[serde(default)]
    pub record_errors: Vec<RecordError>,
}

/// One record's failure, named by its id on the side where it failed; never its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    pub side: Provider,
    pub record_id: String,
    /// The API's code (`DUPLICATE_DATA`, `FAILED_PRECONDITION`, ...) or a short reason.
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Zoho,
    Google,
}

/// A one-time OAuth `state`, bound to the connection being set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthState {
    pub state: String,
    pub provider: Provider,
    /// The connection being set up; `None` when the first provider starts a new connection.
    pub connection_id: Option<String>,
    /// PKCE code verifier (Google); it is only useful together with the one-time code.
    pub pkce_verifier: Option<String>,
    pub expires_at: EpochMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("another run holds the lease until {expires_at}")]
    Held { expires_at: EpochMillis },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthStateError {
    #[error("the sign-in link is unknown, already used or expired; start connecting again")]
    UnknownOrUsed,
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put_connection(&self, connection: &Connection) -> StoreResult<()>;
    async fn get_connection(&self, id: &str) -> StoreResult<Option<Connection>>;
    /// Enabled connections on this frequency, without a table scan.
    async fn list_connections_by_frequency(&self, frequency: Frequency) -> StoreResult<Vec<Connection>>;
}

#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Saves links (new or changed). A changed email moves the email index entry; a link keeps
    /// its identity (the Zoho id) whatever its email becomes.
    async fn save_links(&self, links: &[Link]) -> StoreResult<()>;
    async fn delete_links(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<()>;
    async fn link_by_zoho_id(&self, connection_id: &str, zoho_id: &str) -> StoreResult<Option<Link>>;
    /// Many links at once (batch reads); ids without a link are left out.
    async fn links_by_zoho_ids(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<Vec<Link>>;
    async fn link_by_resource_name(&self, connection_id: &str, resource_name: &str) -> StoreResult<Option<Link>>;
    /// Links whose email equals `email` after trimming and lower-casing.
    async fn links_by_email(&self, connection_id: &str, email: &str) -> StoreResult<Vec<Link>>;
    /// The links of many resourceNames at once (batch reads), ordered by Zoho id; names without
    /// a link are left out. Empty input makes no request.
    async fn links_by_resource_names(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<Vec<Link>>;
    /// The links of many emails at once (compared after trimming and lower-casing), each link
    /// once, ordered by Zoho id; emails without a link are left out. Empty input makes no request.
    async fn links_by_emails(&self, connection_id: &str, emails: &[String]) -> StoreResult<Vec<Link>>;
    /// Every link of the connection, however many pages that takes.
    async fn all_links(&self, connection_id: &str) -> StoreResult<Vec<Link>>;
}

#[async_trait]
pub trait PendingCreateStore: Send + Sync {
    /// Saves markers; a marker replaces the connection's earlier one for the same resourceName.
    async fn save_pending_creates(&self, pending: &[PendingCreate]) -> StoreResult<()>;
    /// The connection's markers that have not expired at `now`, ordered by resourceName.
    async fn pending_creates(&self, connection_id: &str, now: EpochMillis) -> StoreResult<Vec<PendingCreate>>;
    /// Deletes the markers of these resourceNames; unknown ones are ignored.
    async fn delete_pending_creates(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<()>;
}

#[async_trait]
pub trait CursorStore: Send + Sync {
    async fn get_cursors(&self, connection_id: &str) -> StoreResult<Cursors>;
    async fn put_cursors(&self, connection_id: &str, cursors: &Cursors) -> StoreResult<()>;
}

/// The lease lives on the connection's cursors (one item in DynamoDB), so that an idle tick costs
/// one write to take it (which also reads the cursors) and one to end the run.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease if it is free, expired, or already ours, and returns it with the stored
    /// cursors. `Ok(Err(Held))` when another holder has it. Never touches the cursors.
    async fn acquire_lease(
        &self,
        connection_id: &str,
        holder: &str,
        expires_at: EpochMillis,
        now: EpochMillis,
    ) -> StoreResult<Result<Lease, LeaseError>>;
    /// Releases the lease if we still hold it; releasing someone else's lease, or none, does
    /// nothing. Never touches the cursors.
    async fn release_lease(&self, connection_id: &str, holder: &str) -> StoreResult<()>;
    /// Ends a run in one write (a second one only when the lease was lost): saves `run` (as
    /// [`RunStore::put_run`] does) and, if `holder` still holds the lease, releases it and
    /// stores `cursors` (when given) at the same time.
    ///
    /// `Ok(true)`: all of it was written. `Ok(false)`: the lease was no longer ours (it expired
    /// and another run took it, or it is gone); the run is saved anyway, but the cursors are
    /// not written and the current holder's lease stays.
    async fn finish_run(&self, run: &RunRecord, holder: &str, cursors: Option<&Cursors>) -> StoreResult<bool>;
}

#[async_trait]
pub trait RunStore: Send + Sync {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()>;
    /// Newest first.
    async fn latest_runs(&self, connection_id: &str, limit: usize) -> StoreResult<Vec<RunRecord>>;
}

#[async_trait]
pub trait OAuthStateStore: Send + Sync {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()>;
    /// Consumes the state exactly once: a second call, an unknown state or an expired one fails.
    async fn consume_oauth_state(
        &self,
        state: &str,
        now: EpochMillis,
    ) -> StoreResult<Result<OAuthState, OAuthStateError>>;
}

/// Everything the functions need from the store.
pub trait StateStore:
    ConnectionStore + LinkStore + PendingCreateStore + CursorStore + LeaseStore + RunStore + OAuthStateStore
{
}
impl<T: ConnectionStore + LinkStore + PendingCreateStore + CursorStore + LeaseStore + RunStore + OAuthStateStore> StateStore
    for T
{
}

/// Normalises an email for matching: trimmed and lower-cased (rule 1). Empty means none.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    if e.is_empty() {
        None
    } else {
        Some(e)
    }
}
