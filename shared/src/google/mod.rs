//! Google People API client: contact groups, the connections sync feed, `people:batchGet`,
//! batch writes.
//!
//! Rules it keeps (see `../shared/reference/google-people-api-facts.md`): pages of 1000 with
//! `requestSyncToken=true`; batches of 200 (create, update), 500 (delete), 1000 (group members);
//! writes for one user one at a time; 401 → refresh once; 429/5xx retried with backoff; an
//! expired sync token is [`GoogleError::SyncTokenExpired`] whether Google says 400 or 410.

mod auth;
mod batch;
mod batch_get;
mod client;
mod connections;
mod error;
mod groups;
mod person;

pub use auth::{grants_contacts_scope, GoogleUrls, CONTACTS_SCOPE};
pub use batch::{ContactFailure, BATCH_CREATE_MAX, BATCH_DELETE_MAX, BATCH_UPDATE_MAX};
pub use batch_get::{PersonRead, BATCH_GET_MAX};
pub use client::GoogleClient;
pub use connections::{Connections, ConnectionsPage, CONNECTIONS_PAGE_SIZE, SYNC_PERSON_FIELDS};
pub use error::GoogleError;
pub use groups::{ContactGroup, MembersModified, MEMBERS_MODIFY_MAX};
pub use person::Person;

/// The system group every contact is in.
pub const MY_CONTACTS_GROUP: &str = "contactGroups/myContacts";
