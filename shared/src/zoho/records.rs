//! Reading Contacts page by page (`fields`, `cvid`, `If-Modified-Since`, 200 per page,
//! `page_token` to go past 2,000) and the deleted-records feed. Records stay the JSON Zoho
//! sends; [`ContactRecord`] reads the few fields the sync itself needs.

use super::client::{Call, ZohoClient};
use super::error::ZohoError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Zoho's maximum (and default) page size.
pub const PAGE_SIZE: u32 = 200;
/// Fields every listing asks for, whatever the mapping: the link key, the change cursor, the match key.
pub const SYNC_FIELDS: [&str; 3] = ["id", "Modified_Time", "Email"];

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// API names to return (Zoho requires the list, at most 50); [`SYNC_FIELDS`] are added.
    pub fields: Vec<String>,
    /// Only records in this custom view (the user's chosen list).
    pub cvid: Option<String>,
    /// Only records with `Modified_Time` after this (the incremental cursor).
    pub modified_since: Option<OffsetDateTime>,
}

impl ListQuery {
    pub fn new<S: AsRef<str>>(fields: &[S]) -> Self {
        let mut all: Vec<String> = SYNC_FIELDS.iter().map(|f| f.to_string()).collect();
        for f in fields {
            if !all.iter().any(|a| a == f.as_ref()) {
                all.push(f.as_ref().to_string());
            }
        }
        ListQuery { fields: all, cvid: None, modified_since: None }
    }

    pub fn in_view(mut self, cvid: &str) -> Self {
        self.cvid = Some(cvid.to_string());
        self
    }

    pub fn modified_since(mut self, since: OffsetDateTime) -> Self {
        self.modified_since = Some(since);
        self
    }
}

/// Where the next page starts; store it to carry a listing over to the next run. A token is
/// valid 24 hours and bound to the same [`ListQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageCursor {
    Page(u32),
    Token(String),
}

/// One page of Contacts.
#[derive(Debug, Clone, Default)]
pub struct ContactsPage {
    pub records: Vec<Value>,
    /// `None` when this was the last page.
    pub next: Option<PageCursor>,
    /// Zoho answered 304: nothing changed since `modified_since`.
    pub not_modified: bool,
    /// Zoho's clock when it answered (`Date`), if it said.
    pub server_time: Option<OffsetDateTime>,
}

#[derive(Debug, Default, Deserialize)]
struct ListBody {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    info: ListInfo,
}

#[derive(Debug, Default, Deserialize)]
struct ListInfo {
    #[serde(default)]
    more_records: bool,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    page: Option<u32>,
}

/// Records reachable with `page` alone; past this Zoho requires `page_token`.
const PAGE_NUMBER_LIMIT: u32 = 2_000 / PAGE_SIZE;

/// Formats a time the way Zoho takes it in `If-Modified-Since`: `2019-07-25T15:26:49+00:00`.
pub fn zoho_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]");
    at.format(&format).unwrap_or_default()
}

/// Reads a Zoho date-time (`2023-05-10T01:10:47-07:00`).
pub fn parse_zoho_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The sync's own fields of a Contacts record JSON.
pub trait ContactRecord {
    fn zoho_id(&self) -> Option<&str>;
    /// `Modified_Time` as Zoho sent it (in the user's time zone).
    fn modified_time_text(&self) -> Option<&str>;
    fn modified_time(&self) -> Option<OffsetDateTime>;
    /// The primary `Email` (the match key), if set.
    fn email(&self) -> Option<&str>;
}

impl ContactRecord for Value {
    fn zoho_id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    fn modified_time_text(&self) -> Option<&str> {
        self.get("Modified_Time").and_then(Value::as_str)
    }
    fn modified_time(&self) -> Option<OffsetDateTime> {
        self.modified_time_text().and_then(parse_zoho_time)
    }
    fn email(&self) -> Option<&str> {
        self.get("Email").and_then(Value::as_str).filter(|s| !s.is_empty())
    }
}

/// One record from `/Contacts/deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeletedRecord {
    pub id: String,
    /// `recycle` or `permanent`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub deleted_time: Option<String>,
}

impl DeletedRecord {
    pub fn deleted_at(&self) -> Option<OffsetDateTime> {
        self.deleted_time.as_deref().and_then(parse_zoho_time)
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeletedPage {
    pub records: Vec<DeletedRecord>,
    /// The next page number, if there are more.
    pub next_page: Option<u32>,
    /// Zoho's clock when it answered (`Date`), if it said.
    pub server_time: Option<OffsetDateTime>,
}

#[derive(Debug, Default, Deserialize)]
struct DeletedBody {
    #[serde(default)]
    data: Vec<DeletedRecord>,
    #[serde(default)]
    info: ListInfo,
}

impl ZohoClient {
    /// One page of Contacts; pass `None` for the first page, then the returned `next`.
    ///
    /// The client follows `next_page_token` whenever Zoho gives one (a cursor, so records
    /// added or removed meanwhile do not shift later pages), and page numbers otherwise, which
    /// Zoho allows only up to 2,000 records.
    pub async fn list_contacts(&self, query: &ListQuery, cursor: Option<&PageCursor>) -> Result<ContactsPage, ZohoError> {
        let mut params: Vec<(&str, String)> = vec![("fields", query.fields.join(",")), ("per_page", PAGE_SIZE.to_string())];
        if let Some(cvid) = &query.cvid {
            params.push(("cvid", cvid.clone()));
        }
        let page = match cursor {
            None => 1,
            Some(PageCursor::Page(n)) => *n,
            Some(PageCursor::Token(_)) => 0,
        };
        match cursor {
            Some(PageCursor::Token(token)) => params.push(("page_token", token.clone())),
            _ => params.push(("page", page.to_string())),
        }
        let call = Call { if_modified_since: query.modified_since.map(zoho_time), ..Call::get("Contacts.list", "/crm/v8/Contacts", &params) };
        let endpoint = call.endpoint;
        let super::client::Answer { status, server_time, body: bytes } = self.send(call).await?;
        match status.as_u16() {
            204 => return Ok(ContactsPage { server_time, ..ContactsPage::default() }),
            304 => return Ok(ContactsPage { not_modified: true, server_time, ..ContactsPage::default() }),
            s if !(200..300).contains(&s) => return Err(super::error::api_error(endpoint, s, &bytes)),
            _ => {}
        }
        let body: ListBody = serde_json::from_slice(&bytes).map_err(|e| super::error::malformed(endpoint, &e))?;
        let next = match (body.info.more_records, body.info.next_page_token) {
            (false, _) => None,
            (true, Some(token)) if !token.is_empty() => Some(PageCursor::Token(token)),
            (true, _) => {
                let current = body.info.page.unwrap_or(page);
                if current >= PAGE_NUMBER_LIMIT {
                    return Err(ZohoError::Malformed { endpoint, detail: "more records past 2,000 but no next_page_token".into() });
                }
                Some(PageCursor::Page(current + 1))
            }
        };
        Ok(ContactsPage { records: body.data, next, not_modified: false, server_time })
    }

    /// One page of the deleted-records feed (tombstones), newest first; `page` starts at 1.
    pub async fn list_deleted(&self, deleted_since: Option<OffsetDateTime>, page: u32) -> Result<DeletedPage, ZohoError> {
        let params = [("type", "all".to_string()), ("page", page.max(1).to_string()), ("per_page", PAGE_SIZE.to_string())];
        let call = Call { if_modified_since: deleted_since.map(zoho_time), ..Call::get("Contacts.deleted", "/crm/v8/Contacts/deleted", &params) };
        let endpoint = call.endpoint;
        let super::client::Answer { status, server_time, body } = self.send(call).await?;
        match status.as_u16() {
            204 | 304 => Ok(DeletedPage { server_time, ..DeletedPage::default() }),
            s if !(200..300).contains(&s) => Err(super::error::api_error(endpoint, s, &body)),
            _ => {
                let b: DeletedBody = serde_json::from_slice(&body).map_err(|e| super::error::malformed(endpoint, &e))?;
                Ok(DeletedPage { next_page: b.info.more_records.then_some(page.max(1) + 1), records: b.data, server_time })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_fields_are_always_asked_for_once() {
        let q = ListQuery::new(&["First_Name", "Email", "Last_Name"]);
        assert_eq!(q.fields, ["id", "Modified_Time", "Email", "First_Name", "Last_Name"]);
    }

    #[test]
    fn zoho_times_round_trip_with_their_offset() {
        let t = parse_zoho_time("2023-05-10T01:10:47-07:00").expect("parse");
        assert_eq!(t.unix_timestamp(), 1_683_706_247);
        assert_eq!(zoho_time(t.to_offset(time::UtcOffset::UTC)), "2023-05-10T08:10:47+00:00");
    }

    #[test]
    fn record_accessors_read_zoho_json() {
        let r = serde_json::json!({"id": "5725767000000524157", "Modified_Time": "2023-05-10T01:10:47-07:00", "Email": ""});
        assert_eq!(r.zoho_id(), Some("5725767000000524157"));
        assert!(r.modified_time().is_some());
        assert_eq!(r.email(), None, "an empty email is no match key");
    }
}
