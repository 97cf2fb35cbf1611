//! Reading both change feeds for one tick (all pages), and where the cursors go afterwards.
//!
//! - Google: `people/me/connections` from the stored sync token; without one (first sync) or
//!   when it expired, a full listing, which also brings a new token.
//! - Zoho: the connection's list (`cvid`) modified since the cursor; on later ticks also all
//!   Contacts modified since the cursor, so a record that left the list is seen (it shows in the
//!   second listing only) and its link dropped; and `/Contacts/deleted` since its own cursor.
//!
//! Zoho's `If-Modified-Since` has second resolution and a listing is not a snapshot, so the next
//! cursor is the newest `Modified_Time` seen minus [`ZOHO_OVERLAP`]: records changed while we
//! listed are seen again next tick (harmless: an unchanged contact plans nothing).

use super::ports::*;
use crate::store::{Cursors, EpochMillis};
use crate::zoho::{parse_zoho_time, zoho_time, ContactRecord, PageCursor};
use serde_json::Value;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// How far behind the newest change seen the Zoho cursors are put (longer than a Lambda runs).
pub const ZOHO_OVERLAP: time::Duration = time::Duration::minutes(15);
/// The cursor when nothing was seen yet: far enough back for any clock skew.
const EMPTY_FEED_LOOKBACK: time::Duration = time::Duration::days(1);

#[derive(Debug, Default)]
pub struct GoogleFeed {
    /// Live people and tombstones (`metadata.deleted`), as listed.
    pub people: Vec<Value>,
    pub next_sync_token: Option<String>,
    /// Everything was listed (first sync or an expired token): absence means nothing.
    pub full: bool,
    pub token_expired: bool,
}

/// Every page from `sync_token`; a full listing without one or when it has expired.
pub async fn google_feed(port: &dyn GooglePort, sync_token: Option<&str>) -> Result<GoogleFeed, PortError> {
    match sync_token {
        Some(token) => match list_all_people(port, Some(token)).await {
            Ok((people, next)) => Ok(GoogleFeed { people, next_sync_token: next, full: false, token_expired: false }),
            Err(PortError::SyncTokenExpired) => {
                let (people, next) = list_all_people(port, None).await?;
                Ok(GoogleFeed { people, next_sync_token: next, full: true, token_expired: true })
            }
            Err(e) => Err(e),
        },
        None => {
            let (people, next) = list_all_people(port, None).await?;
            Ok(GoogleFeed { people, next_sync_token: next, full: true, token_expired: false })
        }
    }
}

/// A full listing: every person of the account (used to find contacts by email or read the
/// people a Zoho change updates when the incremental feed did not bring them).
pub async fn list_all_people(port: &dyn GooglePort, sync_token: Option<&str>) -> Result<(Vec<Value>, Option<String>), PortError> {
    let mut people = Vec::new();
    let mut page_token: Option<String> = None;
    let mut sync_next = None;
    loop {
        let page = port.list_connections(sync_token, page_token.as_deref()).await?;
        people.extend(page.people);
        if page.next_sync_token.is_some() {
            sync_next = page.next_sync_token;
        }
        match page.next_page_token {
            Some(next) if page_token.as_deref() == Some(next.as_str()) => {
                return Err(PortError::Failed { provider: crate::store::Provider::Google, detail: "connections.list repeated its page token".into(), retryable: false })
            }
            Some(next) => page_token = Some(next),
            None => return Ok((people, sync_next)),
        }
    }
}

#[derive(Debug, Default)]
pub struct ZohoFeed {
    pub in_scope: Vec<Value>,
    /// Changed records outside the list (later ticks only).
    pub out_of_scope: Vec<Value>,
    pub tombstones: Vec<ZohoTombstone>,
}

/// `first_sync`: list the whole list, not what changed. `read_deleted`: also read tombstones
/// (not on a fresh first sync: there is nothing linked for them to act on).
pub async fn zoho_feed(port: &dyn ZohoPort, cursors: &Cursors, cvid: Option<&str>, fields: &[String], first_sync: bool, read_deleted: bool) -> Result<ZohoFeed, PortError> {
    let since = if first_sync { None } else { cursors.zoho_modified_since.as_deref().and_then(parse_zoho_time) };
    let in_view = ZohoQuery { cvid: cvid.map(str::to_string), modified_since: since };
    let in_scope = list_all_records(port, &in_view, fields).await?;
    let mut feed = ZohoFeed { in_scope, ..ZohoFeed::default() };
    if !read_deleted {
        return Ok(feed);
    }
    // On a first sync the whole list was read; all Contacts would be too many to list again.
    if cvid.is_some() && !first_sync {
        let listed: BTreeSet<&str> = feed.in_scope.iter().filter_map(|r| r.zoho_id()).collect();
        let all = list_all_records(port, &ZohoQuery { cvid: None, modified_since: since }, fields).await?;
        feed.out_of_scope = all.into_iter().filter(|r| r.zoho_id().is_some_and(|id| !listed.contains(id))).collect();
    }
    let deleted_since = cursors.zoho_deleted_since.as_deref().and_then(parse_zoho_time);
    let mut page = 1;
    loop {
        let answer = port.list_deleted(deleted_since, page).await?;
        feed.tombstones.extend(answer.records);
        match answer.next_page {
            Some(next) if next > page => page = next,
            _ => break,
        }
    }
    Ok(feed)
}

async fn list_all_records(port: &dyn ZohoPort, query: &ZohoQuery, fields: &[String]) -> Result<Vec<Value>, PortError> {
    let mut records = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    loop {
        let page = port.list_contacts(query, fields, cursor.as_ref()).await?;
        records.extend(page.records);
        match page.next {
            Some(next) if cursor.as_ref() == Some(&next) => {
                return Err(PortError::Failed { provider: crate::store::Provider::Zoho, detail: "Contacts.list repeated its page cursor".into(), retryable: false })
            }
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}

/// The cursors once everything this feed covered is applied and linked.
pub fn advanced_cursors(old: &Cursors, google: &GoogleFeed, zoho: &ZohoFeed, now: EpochMillis) -> Cursors {
    let modified = zoho.in_scope.iter().chain(&zoho.out_of_scope).filter_map(|r| r.modified_time());
    let deleted = zoho.tombstones.iter().filter_map(|t| t.deleted_at);
    let zoho_modified_since = next_zoho_cursor(old.zoho_modified_since.as_deref(), modified, now);
    Cursors {
        zoho_deleted_since: next_zoho_cursor(old.zoho_deleted_since.as_deref(), deleted, now).or_else(|| zoho_modified_since.clone()),
        zoho_modified_since,
        zoho_page_token: None,
        google_sync_token: google.next_sync_token.clone().or_else(|| old.google_sync_token.clone()),
        google_page_token: None,
        first_sync_done: true,
        updated_at: now,
    }
}

/// Newest time seen minus the overlap, never before the old cursor; with nothing seen and no old
/// cursor, a day before `now`.
pub fn next_zoho_cursor(old: Option<&str>, seen: impl Iterator<Item = OffsetDateTime>, now: EpochMillis) -> Option<String> {
    let old_time = old.and_then(parse_zoho_time);
    let candidate = seen.max().map(|newest| newest - ZOHO_OVERLAP);
    let next = match (old_time, candidate) {
        (Some(o), Some(c)) => o.max(c),
        (Some(o), None) => o,
        (None, Some(c)) => c,
        (None, None) => {
            let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000).ok()?;
            now - EMPTY_FEED_LOOKBACK
        }
    };
    Some(zoho_time(next.to_offset(time::UtcOffset::UTC)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> OffsetDateTime {
        parse_zoho_time(text).expect("time")
    }

    #[test]
    fn the_zoho_cursor_trails_the_newest_change_and_never_goes_back() {
        let seen = [t("2024-05-10T10:00:00+00:00"), t("2024-05-10T12:00:00+02:00")];
        assert_eq!(next_zoho_cursor(None, seen.into_iter(), 0).as_deref(), Some("2024-05-10T09:45:00+00:00"));
        let old = "2024-05-10T09:55:00+00:00";
        assert_eq!(next_zoho_cursor(Some(old), seen.into_iter(), 0).as_deref(), Some(old));
        assert_eq!(next_zoho_cursor(Some(old), std::iter::empty(), 0).as_deref(), Some(old));
    }

    #[test]
    fn an_empty_first_feed_starts_a_day_back() {
        let now = 1_715_335_200_000; // 2024-05-10T10:00:00Z
        assert_eq!(next_zoho_cursor(None, std::iter::empty(), now).as_deref(), Some("2024-05-09T10:00:00+00:00"));
    }
}
