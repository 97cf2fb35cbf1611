//! `people/me/connections`: the full listing and the incremental sync feed.

use super::client::{Access, GoogleClient};
use super::error::GoogleError;
use super::person::Person;
use reqwest::Method;
use serde::Deserialize;

/// Google's maximum page size for connections.
pub const CONNECTIONS_PAGE_SIZE: u32 = 1000;

/// What the sync reads of each contact.
pub const SYNC_PERSON_FIELDS: &str =
    "names,emailAddresses,phoneNumbers,organizations,addresses,biographies,birthdays,urls,memberships,metadata,clientData,externalIds";

/// One page of connections.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionsPage {
    /// On an incremental sync this includes tombstones (`Person::is_deleted`).
    #[serde(default)]
    pub connections: Vec<Person>,
    pub next_page_token: Option<String>,
    /// Only on the last page.
    pub next_sync_token: Option<String>,
    pub total_items: Option<u64>,
}

/// Everything since a sync token (or everything, without one), all pages read.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    pub people: Vec<Person>,
    /// Store this only after the changes above are applied.
    pub next_sync_token: Option<String>,
    pub pages: u32,
}

impl GoogleClient {
    /// One page. Always asks for a sync token so the last page carries `nextSyncToken`.
    /// An expired `sync_token` fails with [`GoogleError::SyncTokenExpired`].
    pub async fn list_connections_page(
        &self,
        person_fields: &str,
        sync_token: Option<&str>,
        page_token: Option<&str>,
    ) -> Result<ConnectionsPage, GoogleError> {
        let mut query = vec![
            ("personFields", person_fields.to_string()),
            ("pageSize", CONNECTIONS_PAGE_SIZE.to_string()),
            ("requestSyncToken", "true".to_string()),
        ];
        if let Some(token) = sync_token {
            query.push(("syncToken", token.to_string()));
        }
        if let Some(token) = page_token {
            query.push(("pageToken", token.to_string()));
        }
        self.call(
            "connections.list",
            Method::GET,
            "/v1/people/me/connections",
            &query,
            None,
            Access::Read,
        )
        .await
    }

    /// All pages from `sync_token` (or a full listing without one).
    pub async fn list_connections(
        &self,
        person_fields: &str,
        sync_token: Option<&str>,
    ) -> Result<Connections, GoogleError> {
        let mut all = Connections::default();
        let mut page_token: Option<String> = None;
        loop {
            let page = self
                .list_connections_page(person_fields, sync_token, page_token.as_deref())
                .await?;
            all.pages += 1;
            all.people.extend(page.connections);
            if page.next_sync_token.is_some() {
                all.next_sync_token = page.next_sync_token;
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                // A server repeating its page token would keep us here until the deadline.
                Some(next) if page_token.as_deref() == Some(next.as_str()) => {
                    return Err(GoogleError::Malformed {
                        endpoint: "connections.list",
                        detail: "repeated page token".into(),
                    })
                }
                Some(next) => page_token = Some(next),
                None => return Ok(all),
            }
        }
    }
}
