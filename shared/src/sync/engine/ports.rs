//! The two APIs as the engine sees them: one method per API call, so a test can wrap a port and
//! stop the run after any call (crash tests), and an in-memory fake can stand in for both.
//!
//! Each batch method takes at most one API batch (the engine chunks: Google 200 / 500, Zoho 100)
//! and answers per record, in input order, so one record's failure never fails the others.

use crate::store::Provider;
use crate::zoho::PageCursor;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A whole call failed (no per-record answer). The text is data-free: codes, endpoints, counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Google's sync token is too old: list everything again (rule 6).
    #[error("Google's sync token expired; a full listing is needed")]
    SyncTokenExpired,
    /// The grant is revoked or lacks scopes (`invalid_grant`, 401 after a refresh): the user must
    /// connect again; retrying will not help.
    #[error("{provider:?} needs the user to connect again: {detail}")]
    ReconnectNeeded { provider: Provider, detail: String },
    #[error("{provider:?} call failed: {detail}")]
    Failed { provider: Provider, detail: String, retryable: bool },
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Failed { retryable: true, .. } | PortError::SyncTokenExpired)
    }
}

/// Why one record of a batch was not written: the API's code (`FAILED_PRECONDITION`,
/// `MANDATORY_NOT_FOUND`, ...), never its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    pub code: String,
}

impl RecordFailure {
    pub fn new(code: impl Into<String>) -> Self {
        RecordFailure { code: code.into() }
    }
}

pub type RecordResult<T> = Result<T, RecordFailure>;

/// One page of `people/me/connections` (tombstones included on an incremental listing).
#[derive(Debug, Clone, Default)]
pub struct GooglePage {
    pub people: Vec<Value>,
    pub next_page_token: Option<String>,
    /// Only on the last page.
    pub next_sync_token: Option<String>,
}

/// What `people:batchGet` said about one requested resourceName.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonRead {
    Found(Value),
    /// Google says the contact does not exist: the evidence a delete needs (rule 4).
    NotFound,
    /// Any other per-person error: the contact may exist.
    Failed(RecordFailure),
}

#[async_trait]
pub trait GooglePort: Send + Sync {
    /// One page; `sync_token: None` is a full listing. Always asks for a new sync token.
    async fn list_connections(&self, sync_token: Option<&str>, page_token: Option<&str>) -> Result<GooglePage, PortError>;
    /// `people:batchGet` (≤ 200 names): each requested name → what Google holds now.
    async fn get_people(&self, resource_names: &[String]) -> Result<BTreeMap<String, PersonRead>, PortError>;
    /// `people:batchCreateContacts` (≤ 200); the created people with resourceName and etag.
    async fn create_contacts(&self, people: &[Value]) -> Result<Vec<RecordResult<Value>>, PortError>;
    /// `people:batchUpdateContacts` (≤ 200): resourceName → person with its etag; one mask.
    async fn update_contacts(&self, people: &BTreeMap<String, Value>, update_mask: &str) -> Result<BTreeMap<String, RecordResult<Value>>, PortError>;
    /// `people:batchDeleteContacts` (≤ 500). Already-deleted names are not an error.
    async fn delete_contacts(&self, resource_names: &[String]) -> Result<(), PortError>;
}

/// A Zoho listing: the connection's list (`cvid`) or all Contacts, changed after a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZohoQuery {
    pub cvid: Option<String>,
    pub modified_since: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct ZohoPage {
    pub records: Vec<Value>,
    pub next: Option<PageCursor>,
    /// Zoho's clock when it answered (its `Date` header), if known.
    pub server_time: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZohoTombstone {
    pub id: String,
    pub deleted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct ZohoDeletedPage {
    pub records: Vec<ZohoTombstone>,
    pub next_page: Option<u32>,
    /// Zoho's clock when it answered (its `Date` header), if known.
    pub server_time: Option<OffsetDateTime>,
}

/// What Zoho answered for a written record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZohoWritten {
    pub id: String,
    pub modified_time: Option<String>,
}

#[async_trait]
pub trait ZohoPort: Send + Sync {
    /// One page of Contacts with the mapped `fields`; `None` starts the listing.
    async fn list_contacts(&self, query: &ZohoQuery, fields: &[String], cursor: Option<&PageCursor>) -> Result<ZohoPage, PortError>;
    /// One page of `/Contacts/deleted`; `page` starts at 1.
    async fn list_deleted(&self, since: Option<OffsetDateTime>, page: u32) -> Result<ZohoDeletedPage, PortError>;
    /// Upsert on `Email` (≤ 100): a retried create finds the record it made.
    async fn upsert_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError>;
    /// Update by `id` (≤ 100).
    async fn update_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError>;
    /// Delete by id (≤ 100).
    async fn delete_contacts(&self, ids: &[String]) -> Result<Vec<RecordResult<()>>, PortError>;
}
