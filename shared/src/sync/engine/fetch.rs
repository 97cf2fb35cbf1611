//! Reading both change feeds for one tick (all pages), and where the cursors go afterwards.
//! Each page is handed to the caller as it arrives (`on_person`, `on_record`), so a tick never
//! holds a whole feed as JSON.
//!
//! - Google: `people/me/connections` from the stored sync token; without one (first sync) or
//!   when it expired, a full listing, which also brings a new token.
//! - Zoho on a first sync: the connection's list (`cvid`), whole. On later ticks: all Contacts
//!   modified since the cursor (one `304` when nothing changed), and only when that brought
//!   records, the list modified since the cursor, which tells which of them are in the list (a
//!   record that left the list shows in the first listing only, and its link is dropped); and
//!   `/Contacts/deleted` since its own cursor (`304` when nothing was deleted).
//!
//! Zoho's `If-Modified-Since` has second resolution, a listing is not a snapshot, and the list
//! index lags writes, so the next cursor is Zoho's own clock when the listing started (its
//! `Date` header) minus [`ZOHO_OVERLAP`]: records changed while we listed are seen again next
//! tick (harmless: an unchanged contact plans nothing). Not the function's clock: the two may
//! differ. When Zoho sends no `Date`, the cursor trails the newest `Modified_Time` seen instead.

use super::ports::*;
use crate::store::{Cursors, EpochMillis};
use crate::zoho::{parse_zoho_time, zoho_time, ContactRecord, PageCursor};
use serde_json::Value;
use time::OffsetDateTime;

/// How far behind Zoho's clock the cursors are put (longer than a Lambda runs).
pub const ZOHO_OVERLAP: time::Duration = time::Duration::minutes(15);
/// The cursor when nothing was seen yet: far enough back for any clock skew.
const EMPTY_FEED_LOOKBACK: time::Duration = time::Duration::days(1);

#[derive(Debug, Default)]
pub struct GoogleFeed {
    pub next_sync_token: Option<String>,
    /// Everything was listed (first sync or an expired token): absence means nothing.
    pub full: bool,
    pub token_expired: bool,
}

/// Every page from `sync_token`; a full listing without one or when it has expired. Each live
/// person and tombstone (`metadata.deleted`) goes to `on_person`.
pub async fn google_feed(port: &dyn GooglePort, sync_token: Option<&str>, on_person: &mut (dyn FnMut(Value) + Send)) -> Result<GoogleFeed, PortError> {
    match sync_token {
        Some(token) => {
            // An expired token fails on the first page, before any person was handed over.
            match list_all_people(port, Some(token), on_person).await {
                Ok(next) => Ok(GoogleFeed { next_sync_token: next, full: false, token_expired: false }),
                Err(PortError::SyncTokenExpired) => {
                    let next = list_all_people(port, None, on_person).await?;
                    Ok(GoogleFeed { next_sync_token: next, full: true, token_expired: true })
                }
                Err(e) => Err(e),
            }
        }
        None => {
            let next = list_all_people(port, None, on_person).await?;
            Ok(GoogleFeed { next_sync_token: next, full: true, token_expired: false })
        }
    }
}

/// A whole listing, page by page into `on_person`; returns the next sync token. Also used to
/// find contacts by email or by the Zoho id they carry.
pub async fn list_all_people(port: &dyn GooglePort, sync_token: Option<&str>, on_person: &mut (dyn FnMut(Value) + Send)) -> Result<Option<String>, PortError> {
    let mut page_token: Option<String> = None;
    let mut sync_next = None;
    loop {
        let page = port.list_connections(sync_token, page_token.as_deref()).await?;
        page.people.into_iter().for_each(&mut *on_person);
        if page.next_sync_token.is_some() {
            sync_next = page.next_sync_token;
        }
        match page.next_page_token {
            Some(next) if page_token.as_deref() == Some(next.as_str()) => {
                return Err(PortError::Failed { provider: crate::store::Provider::Google, detail: "connections.list repeated its page token".into(), retryable: false })
            }
            Some(next) => page_token = Some(next),
            None => return Ok(sync_next),
        }
    }
}

/// What a Zoho feed leaves besides the records handed over.
#[derive(Debug, Default)]
pub struct ZohoFeed {
    pub tombstones: Vec<ZohoTombstone>,
    /// Zoho's clock when the first listing began, and when the deleted feed was read.
    pub listed_at: Option<OffsetDateTime>,
    pub deleted_listed_at: Option<OffsetDateTime>,
    /// The newest `Modified_Time` handed over (the cursor's fallback without `listed_at`).
    pub newest_modified: Option<OffsetDateTime>,
}

/// Hands every record over as `on_record(record, in_scope)`; a record may come twice, the second
/// time from the list (in scope). `first_sync`: list the whole list, not what changed.
/// `read_deleted`: also read tombstones (not on a fresh first sync: nothing is linked yet).
pub async fn zoho_feed(
    port: &dyn ZohoPort,
    cursors: &Cursors,
    cvid: Option<&str>,
    fields: &[String],
    first_sync: bool,
    read_deleted: bool,
    on_record: &mut (dyn FnMut(Value, bool) + Send),
) -> Result<ZohoFeed, PortError> {
    let since = if first_sync { None } else { cursors.zoho_modified_since.as_deref().and_then(parse_zoho_time) };
    let mut feed = ZohoFeed::default();
    let mut newest = None;
    let mut note = |record: &Value| {
        if let Some(t) = record.modified_time() {
            newest = newest.max(Some(t));
        }
    };
    let view = ZohoQuery { cvid: cvid.map(str::to_string), modified_since: since };
    if first_sync || cvid.is_none() {
        // On a first sync the whole list is read; all Contacts would be too many.
        feed.listed_at = list_all_records(port, &view, fields, &mut |r| {
            note(&r);
            on_record(r, true)
        })
        .await?;
    } else {
        let all = ZohoQuery { cvid: None, modified_since: since };
        let mut changed = 0usize;
        feed.listed_at = list_all_records(port, &all, fields, &mut |r| {
            changed += 1;
            note(&r);
            on_record(r, false)
        })
        .await?;
        if changed > 0 {
            list_all_records(port, &view, fields, &mut |r| {
                note(&r);
                on_record(r, true)
            })
            .await?;
        }
    }
    feed.newest_modified = newest;
    if !read_deleted {
        return Ok(feed);
    }
    let deleted_since = cursors.zoho_deleted_since.as_deref().and_then(parse_zoho_time);
    let mut page = 1;
    loop {
        let answer = port.list_deleted(deleted_since, page).await?;
        if page == 1 {
            feed.deleted_listed_at = answer.server_time;
        }
        feed.tombstones.extend(answer.records);
        match answer.next_page {
            Some(next) if next > page => page = next,
            _ => break,
        }
    }
    Ok(feed)
}

/// Every page of one listing into `on_record`; returns Zoho's clock at the first page.
async fn list_all_records(port: &dyn ZohoPort, query: &ZohoQuery, fields: &[String], on_record: &mut (dyn FnMut(Value) + Send)) -> Result<Option<OffsetDateTime>, PortError> {
    let mut cursor: Option<PageCursor> = None;
    let mut started = None;
    loop {
        let page = port.list_contacts(query, fields, cursor.as_ref()).await?;
        if cursor.is_none() {
            started = page.server_time;
        }
        page.records.into_iter().for_each(&mut *on_record);
        match page.next {
            Some(next) if cursor.as_ref() == Some(&next) => {
                return Err(PortError::Failed { provider: crate::store::Provider::Zoho, detail: "Contacts.list repeated its page cursor".into(), retryable: false })
            }
            Some(next) => cursor = Some(next),
            None => return Ok(started),
        }
    }
}

/// The cursors once everything this feed covered is applied and linked.
pub fn advanced_cursors(old: &Cursors, google: &GoogleFeed, zoho: &ZohoFeed, now: EpochMillis) -> Cursors {
    let zoho_modified_since = next_zoho_cursor(old.zoho_modified_since.as_deref(), zoho.listed_at, zoho.newest_modified, now);
    let newest_deleted = zoho.tombstones.iter().filter_map(|t| t.deleted_at).max();
    // A fresh first sync reads no tombstones: deletions from its listing on are what matter.
    let zoho_deleted_since = next_zoho_cursor(old.zoho_deleted_since.as_deref(), zoho.deleted_listed_at.or(zoho.listed_at), newest_deleted, now);
    Cursors {
        zoho_deleted_since,
        zoho_modified_since,
        zoho_page_token: None,
        google_sync_token: google.next_sync_token.clone().or_else(|| old.google_sync_token.clone()),
        google_page_token: None,
        first_sync_done: true,
        updated_at: now,
    }
}

/// Zoho's clock at the listing minus the overlap (or, without it, the newest time seen minus the
/// overlap), never before the old cursor; with nothing known and no old cursor, a day before `now`.
pub fn next_zoho_cursor(old: Option<&str>, listed_at: Option<OffsetDateTime>, newest_seen: Option<OffsetDateTime>, now: EpochMillis) -> Option<String> {
    let old_time = old.and_then(parse_zoho_time);
    let candidate = listed_at.or(newest_seen).map(|t| t - ZOHO_OVERLAP);
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
        let newest = Some(t("2024-05-10T12:00:00+02:00"));
        assert_eq!(next_zoho_cursor(None, None, newest, 0).as_deref(), Some("2024-05-10T09:45:00+00:00"));
        let old = "2024-05-10T09:55:00+00:00";
        assert_eq!(next_zoho_cursor(Some(old), None, newest, 0).as_deref(), Some(old));
        assert_eq!(next_zoho_cursor(Some(old), None, None, 0).as_deref(), Some(old));
    }

    #[test]
    fn the_zoho_cursor_follows_zohos_clock_when_it_says_it() {
        // Nothing changed (a 304 has no records), yet the cursor moves with Zoho's clock, so the
        // sync's own writes of an earlier tick are not listed on every later one.
        let old = "2024-05-10T09:00:00+00:00";
        let listed_at = Some(t("2024-05-10T11:00:00+00:00"));
        assert_eq!(next_zoho_cursor(Some(old), listed_at, None, 0).as_deref(), Some("2024-05-10T10:45:00+00:00"));
        // A record newer than Zoho's clock at the listing (it was modified while we listed) does
        // not pull the cursor past the listing's start.
        let newest = Some(t("2024-05-10T11:05:00+00:00"));
        assert_eq!(next_zoho_cursor(Some(old), listed_at, newest, 0).as_deref(), Some("2024-05-10T10:45:00+00:00"));
    }

    #[test]
    fn an_empty_first_feed_starts_a_day_back() {
        let now = 1_715_335_200_000; // 2024-05-10T10:00:00Z
        assert_eq!(next_zoho_cursor(None, None, None, now).as_deref(), Some("2024-05-09T10:00:00+00:00"));
    }
}
