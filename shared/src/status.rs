//! The status a user sees: when the last sync ran and how it went.
//!
//! [`build_report`] is pure (connection + runs + cursors + now → report); [`handle_status`] is the
//! `GET /status` handler: authenticated by the per-connection bearer token (stored only as a
//! hash), JSON for scripts and a small page for browsers.

use crate::settings::{ConflictPolicy, DeletionHandling, Direction};
use crate::store::{
    Connection, Cursors, EpochMillis, RecordError, RunOutcome, RunRecord, SideCounts, StateStore, StoreError,
};
use crate::web::{escape, page, WebRequest, WebResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// How many runs the status reads: a day of 15-minute ticks, with room to spare.
pub const RUNS_READ: usize = 120;
/// A run still marked running after this long died without saying so (Lambda's 15-minute cap).
const RUN_STALE_MS: i64 = 16 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    Idle,
    Running,
    BlockedByMassDeleteGuard,
    ReconnectNeeded,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub started_at: EpochMillis,
    pub ended_at: Option<EpochMillis>,
    pub outcome: RunOutcome,
    pub zoho: SideCounts,
    pub google: SideCounts,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub runs: u32,
    pub zoho: SideCounts,
    pub google: SideCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsSummary {
    pub direction: Direction,
    pub google_group: Option<String>,
    pub zoho_custom_view: Option<String>,
    pub conflict_policy: ConflictPolicy,
    pub frequency: String,
    pub deletion: DeletionHandling,
    pub extra_fields: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub connection_id: String,
    pub state: SyncState,
    pub last_sync_at: Option<EpochMillis>,
    pub last_run: Option<RunSummary>,
    pub last_24h: Totals,
    /// Conflict decisions of the last run (ids, fields and the policy applied; no values).
    pub conflicts: Vec<String>,
    /// Records that failed in the last run, by id.
    pub errors: Vec<RecordError>,
    /// Seconds since the cursors last moved; `None` before the first sync.
    pub cursors_age_seconds: Option<i64>,
    pub first_sync_done: bool,
    /// When the next scheduled run is due (estimated from the last run and the frequency).
    pub next_run_at: Option<EpochMillis>,
    pub settings: SettingsSummary,
}

fn add(total: &mut SideCounts, run: &SideCounts) {
    total.created += run.created;
    total.updated += run.updated;
    total.deleted += run.deleted;
    total.unlinked += run.unlinked;
    total.conflicts += run.conflicts;
    total.errors += run.errors;
}

/// `runs` newest first, as the store returns them.
pub fn build_report(connection: &Connection, runs: &[RunRecord], cursors: &Cursors, now: EpochMillis) -> StatusReport {
    let last = runs.first();
    let last_finished = runs.iter().find(|r| r.outcome != RunOutcome::Running);
    let state = if !connection.enabled {
        SyncState::Disabled
    } else if connection.reconnect_needed || last_finished.is_some_and(|r| r.outcome == RunOutcome::ReconnectNeeded) {
        SyncState::ReconnectNeeded
    } else if last.is_some_and(|r| r.outcome == RunOutcome::Running && now - r.started_at < RUN_STALE_MS) {
        SyncState::Running
    } else if last_finished.is_some_and(|r| r.outcome == RunOutcome::BlockedMassDelete) {
        SyncState::BlockedByMassDeleteGuard
    } else {
        SyncState::Idle
    };
    let mut last_24h = Totals::default();
    for run in runs.iter().filter(|r| now - r.started_at < DAY_MS) {
        last_24h.runs += 1;
        add(&mut last_24h.zoho, &run.zoho);
        add(&mut last_24h.google, &run.google);
    }
    let period_ms = i64::from(connection.frequency.minutes()) * 60_000;
    let next_run_at = connection.enabled.then(|| match last {
        Some(r) => (r.started_at + period_ms).max(now),
        None => now,
    });
    let s = &connection.settings;
    StatusReport {
        connection_id: connection.id.clone(),
        state,
        last_sync_at: last_finished.map(|r| r.ended_at.unwrap_or(r.started_at)),
        last_run: last_finished.map(|r| RunSummary {
            run_id: r.run_id.clone(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            outcome: r.outcome,
            zoho: r.zoho,
            google: r.google,
            last_error: r.last_error.clone(),
        }),
        last_24h,
        conflicts: last_finished.map(|r| r.log.iter().filter(|l| l.starts_with("conflict")).cloned().collect()).unwrap_or_default(),
        errors: last_finished.map(|r| r.record_errors.clone()).unwrap_or_default(),
        cursors_age_seconds: (cursors.updated_at > 0).then(|| (now - cursors.updated_at).max(0) / 1000),
        first_sync_done: cursors.first_sync_done,
        next_run_at,
        settings: SettingsSummary {
            direction: s.direction,
            google_group: s.google_group.clone(),
            zoho_custom_view: s.zoho_cvid.clone(),
            conflict_policy: s.conflict_policy,
            frequency: connection.frequency.key().to_string(),
            deletion: s.deletion,
            extra_fields: s.extra_fields.len(),
        },
    }
}

/// The hash stored on a connection for its status token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random status token (URL-safe, 256 bits).
pub fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn not_found() -> WebResponse {
    // The same answer whether the connection does not exist or the token is not its own.
    WebResponse::json(404, &serde_json::json!({"error": "not_found", "message": "no such connection for this token"}))
}

/// `GET /status?connection=<id>` with `Authorization: Bearer <token>`.
pub async fn handle_status(request: &WebRequest, store: &dyn StateStore, now: EpochMillis) -> Result<WebResponse, StoreError> {
    if request.method != "GET" {
        return Ok(WebResponse::json(405, &serde_json::json!({"error": "method_not_allowed"})).with_header("allow", "GET"));
    }
    let Some(token) = request.bearer_token() else {
        return Ok(WebResponse::json(401, &serde_json::json!({
            "error": "unauthorized",
            "message": "send the status token you were given at connect as `Authorization: Bearer <token>`"
        }))
        .with_header("www-authenticate", "Bearer"));
    };
    let Some(id) = request.query.get("connection").filter(|id| !id.is_empty() && id.len() <= 100) else {
        return Ok(not_found());
    };
    let Some(connection) = store.get_connection(id).await? else { return Ok(not_found()) };
    if connection.status_token_hash.as_deref() != Some(token_hash(token).as_str()) {
        return Ok(not_found());
    }
    let runs = store.latest_runs(id, RUNS_READ).await?;
    let cursors = store.get_cursors(id).await?;
    let report = build_report(&connection, &runs, &cursors, now);
    Ok(if request.wants_html() { WebResponse::html(200, render_html(&report)) } else { WebResponse::json(200, &report) })
}

fn time(ms: Option<EpochMillis>) -> String {
    ms.and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "never".into())
}

fn json_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default()
}

fn counts_row(label: &str, c: &SideCounts) -> String {
    format!(
        "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(label), c.created, c.updated, c.deleted, c.unlinked, c.conflicts, c.errors
    )
}

pub fn render_html(r: &StatusReport) -> String {
    page("Sync status", &format!("<h1>Sync status</h1>{}", render_summary(r)))
}

/// The report as a fragment (no page, no top heading), for pages that show it among other things.
pub fn render_summary(r: &StatusReport) -> String {
    let header = "<tr><th></th><th>created</th><th>updated</th><th>deleted</th><th>unlinked</th><th>conflicts</th><th>errors</th></tr>";
    let mut body = format!(
        "<p>State: <strong id=\"state\">{}</strong></p><p>Last sync: <span id=\"last-sync\">{}</span>{}</p>",
        escape(&json_name(&r.state)),
        escape(&time(r.last_sync_at)),
        r.last_run.as_ref().map(|l| format!(" — {}", escape(&json_name(&l.outcome)))).unwrap_or_default(),
    );
    if let Some(last) = &r.last_run {
        body += &format!(
            "<h2>Last run</h2><table>{header}{}{}</table>",
            counts_row("in Zoho", &last.zoho),
            counts_row("in Google", &last.google)
        );
        if let Some(e) = &last.last_error {
            body += &format!("<p class=\"error\">{}</p>", escape(e));
        }
    }
    body += &format!(
        "<h2>Last 24 hours ({} runs)</h2><table>{header}{}{}</table>",
        r.last_24h.runs,
        counts_row("in Zoho", &r.last_24h.zoho),
        counts_row("in Google", &r.last_24h.google)
    );
    if !r.errors.is_empty() {
        body += "<h2>Records that failed</h2><ul>";
        for e in &r.errors {
            body += &format!("<li>{} record {}: {}</li>", escape(&json_name(&e.side)), escape(&e.record_id), escape(&e.code));
        }
        body += "</ul>";
    }
    let s = &r.settings;
    body += &format!(
        "<h2>Settings</h2><ul><li>Direction: {}</li><li>Google group: {}</li><li>Zoho view: {}</li><li>Conflicts: {}</li>\
         <li>Every {}</li><li>Deletions: {}</li><li>Extra mapped fields: {}</li></ul><p>Next run: {}</p>",
        escape(&json_name(&s.direction)),
        escape(s.google_group.as_deref().unwrap_or("all contacts")),
        escape(s.zoho_custom_view.as_deref().unwrap_or("all contacts")),
        escape(&json_name(&s.conflict_policy)),
        escape(&s.frequency),
        escape(&json_name(&s.deletion)),
        s.extra_fields,
        escape(&time(r.next_run_at)),
    );
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Frequency, Settings};
    use crate::store::{Provider, ZohoPermissions};

    fn connection() -> Connection {
        Connection {
            id: "c1".into(),
            zoho_user_id: "u".into(),
            google_email: "g@x".into(),
            settings: Settings::default(),
            frequency: Frequency::Hour1,
            enabled: true,
            zoho_permissions: ZohoPermissions::default(),
            zoho_accounts_server: None,
            zoho_api_domain: None,
            status_token_hash: Some(token_hash("t")),
            reconnect_needed: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn run(started_at: i64, outcome: RunOutcome, created: u32) -> RunRecord {
        RunRecord {
            connection_id: "c1".into(),
            run_id: format!("r{started_at}"),
            started_at,
            ended_at: Some(started_at + 1000),
            outcome,
            zoho: SideCounts { created, ..Default::default() },
            google: SideCounts::default(),
            last_error: None,
            log: vec!["conflict zoho_id=7 field=Phone policy=zoho_wins".into(), "note".into()],
            record_errors: vec![RecordError { side: Provider::Google, record_id: "people/c9".into(), code: "FAILED_PRECONDITION".into() }],
        }
    }

    #[test]
    fn the_report_sums_the_last_24_hours_and_names_the_last_run() {
        let now = 10 * DAY_MS;
        let runs = [run(now - 1000, RunOutcome::Success, 2), run(now - DAY_MS / 2, RunOutcome::Partial, 3), run(now - 2 * DAY_MS, RunOutcome::Success, 100)];
        let cursors = Cursors { updated_at: now - 60_000, first_sync_done: true, ..Default::default() };
        let r = build_report(&connection(), &runs, &cursors, now);
        assert_eq!(r.state, SyncState::Idle);
        assert_eq!(r.last_24h.runs, 2);
        assert_eq!(r.last_24h.zoho.created, 5, "the run two days ago is not in the last 24 hours");
        assert_eq!(r.last_run.as_ref().map(|l| l.zoho.created), Some(2));
        assert_eq!(r.conflicts, ["conflict zoho_id=7 field=Phone policy=zoho_wins"]);
        assert_eq!(r.errors[0].record_id, "people/c9");
        assert_eq!(r.cursors_age_seconds, Some(60));
        assert_eq!(r.next_run_at, Some(now - 1000 + 3_600_000));
    }

    #[test]
    fn the_state_says_running_blocked_reconnect_or_disabled() {
        let now = 10 * DAY_MS;
        let c = connection();
        let state = |runs: &[RunRecord], c: &Connection| build_report(c, runs, &Cursors::default(), now).state;
        assert_eq!(state(&[], &c), SyncState::Idle);
        assert_eq!(state(&[run(now - 1000, RunOutcome::Running, 0)], &c), SyncState::Running);
        assert_eq!(state(&[run(now - RUN_STALE_MS - 1, RunOutcome::Running, 0)], &c), SyncState::Idle, "a dead run is not running forever");
        assert_eq!(state(&[run(now - 1000, RunOutcome::BlockedMassDelete, 0)], &c), SyncState::BlockedByMassDeleteGuard);
        assert_eq!(state(&[run(now - 1000, RunOutcome::ReconnectNeeded, 0)], &c), SyncState::ReconnectNeeded);
        let mut off = c.clone();
        off.enabled = false;
        assert_eq!(state(&[], &off), SyncState::Disabled);
    }

    #[test]
    fn the_page_escapes_what_it_shows() {
        let mut c = connection();
        c.settings.google_group = Some("contactGroups/<script>".into());
        let html = render_html(&build_report(&c, &[], &Cursors::default(), 0));
        assert!(html.contains("contactGroups/&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
