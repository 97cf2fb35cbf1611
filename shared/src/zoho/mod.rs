//! Zoho CRM v8 client for Contacts, across Zoho's data centres.
//!
//! Rules it keeps (see `../shared/reference/zoho-crm-api-facts.md`): the accounts server and
//! `api_domain` come from the connect flow and are checked against Zoho's hosts; access tokens
//! are cached (Zoho mints only 10 per refresh token per 10 minutes); 401 → refresh once; 429 and
//! 5xx retried with backoff within the caller's deadline; pages of 200 with `page_token` past
//! 2,000; writes in batches of 100 with one result per record (HTTP 207 when mixed).

pub mod accounts;
mod client;
mod error;
mod records;
mod settings;
mod writes;

pub use accounts::{
    authorization_url, configured_overrides, connect, revoke_url, token_endpoint, validate_accounts_server, validate_api_domain,
    AccountsServerError, ConnectError, ZohoApp, ZohoGrant, ACCOUNTS_HOSTS, SCOPES,
};
pub use client::ZohoClient;
pub use error::ZohoError;
pub use records::{
    parse_zoho_time, zoho_time, ContactRecord, ContactsPage, DeletedPage, DeletedRecord, ListQuery, PageCursor, PAGE_SIZE, SYNC_FIELDS,
};
pub use settings::{ContactsPermissions, CurrentUser, CustomView, FieldMeta, NamedId};
pub use writes::{BatchOutcome, RecordError, UpsertAction, WriteResults, Written, BATCH_MAX};
