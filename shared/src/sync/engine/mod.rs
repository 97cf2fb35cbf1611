//! The imperative shell around [`crate::sync::plan`]: one connection's tick.
//!
//! ```text
//! run_connection(ports, store, connection, deadline, now) -> ConnectionRun
//!   lease with the cursors (rule 8) → both feeds ([`fetch`]) → the links they need ([`links`]) and pending creates
//!   → look up people by email (rule 7) → after a full listing, read missing linked people by name (rule 4)
//!   → plan → apply in batches, links after their writes ([`apply`]) → run record, lease release and cursors in one write (rule 6)
//! ```
//! An idle tick therefore costs two store requests (the lease, the final write) besides its
//! share of the schedule's query; the "running" run record is written only when there is work.
//! Cursors move only when the plan was complete, nothing stopped the run, and no record failed
//! for the first time: a failed record is listed (and retried) again next tick; one that fails
//! twice in a row no longer holds the cursors back (it stays in the status and is retried when it
//! changes). Work the budget or the deadline left over is found again from the same cursors.

pub mod adapters;
pub mod apply;
pub mod aws;
pub mod fetch;
pub mod input;
pub mod links;
pub mod people;
pub mod ports;
pub mod tick;

use crate::mapping::{Mapping, MappingError};
use crate::store::{Connection, EpochMillis, PendingCreate, RecordError, RunOutcome, RunRecord, StateStore, StoreError};
use std::collections::BTreeSet;
use crate::sync::{plan, PlanInput, PlanOutcome};
use apply::{Applier, Stop};
use links::TickLinks;
use people::People;
use ports::{GooglePort, PortError, ZohoPort};
use tokio::time::Instant;

/// A lease outlives the deadline by this much, so a run that overruns a little keeps it.
const LEASE_GRACE_MS: i64 = 60_000;

#[derive(Clone, Copy)]
pub struct SyncPorts<'a> {
    pub google: &'a dyn GooglePort,
    pub zoho: &'a dyn ZohoPort,
}

/// What happened to one connection this tick.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionRun {
    Ran(RunRecord),
    /// Another run holds the lease (a tick delivered twice): nothing was read or written.
    SkippedLeaseHeld { until: EpochMillis },
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the connection's field mapping is invalid ({0}); fix the settings, retrying will not help")]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, EngineError::Port(PortError::ReconnectNeeded { .. }))
    }
}

/// Syncs one connection. Never panics on what the APIs or the store answer; failures end up in
/// the run record (saved when the store allows).
pub async fn run_connection(ports: SyncPorts<'_>, store: &dyn StateStore, connection: &Connection, deadline: Instant, now: EpochMillis) -> ConnectionRun {
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let mut run = RunRecord {
        connection_id: connection.id.clone(),
        run_id: run_id.clone(),
        started_at: now,
        ended_at: None,
        outcome: RunOutcome::Running,
        zoho: Default::default(),
        google: Default::default(),
        last_error: None,
        log: Vec::new(),
        record_errors: Vec::new(),
    };
    let started = Instant::now();
    let remaining = deadline.saturating_duration_since(started).as_millis() as i64;
    let cursors = match store.acquire_lease(&connection.id, &run_id, now + remaining + LEASE_GRACE_MS, now).await {
        Ok(Ok(lease)) => lease.cursors,
        Ok(Err(crate::store::LeaseError::Held { expires_at })) => return ConnectionRun::SkippedLeaseHeld { until: expires_at },
        Err(e) => {
            run.outcome = RunOutcome::Failed;
            run.last_error = Some(e.to_string());
            run.ended_at = Some(now);
            return ConnectionRun::Ran(run);
        }
    };
    let result = Tick { ports, store, connection, deadline, now }.sync(&mut run, &cursors).await;
    let next_cursors = match result {
        Ok(next) => next,
        Err(e) => {
            run.outcome = if e.needs_reconnect() { RunOutcome::ReconnectNeeded } else { RunOutcome::Failed };
            run.last_error = Some(e.to_string());
            None
        }
    };
    run.ended_at = Some(now + started.elapsed().as_millis() as i64);
    match store.finish_run(&run, &run_id, next_cursors.as_ref()).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(connection = %connection.id, "the lease expired during the run and another run took it; the cursors were left to it"),
        Err(e) => tracing::warn!(connection = %connection.id, error = %e, "could not save the run record and release the lease; the lease expires on its own"),
    }
    tracing::info!(connection = %connection.id, outcome = ?run.outcome, errors = run.record_errors.len(), "connection synced");
    ConnectionRun::Ran(run)
}

struct Tick<'a> {
    ports: SyncPorts<'a>,
    store: &'a dyn StateStore,
    connection: &'a Connection,
    deadline: Instant,
    now: EpochMillis,
}

/// The planner's input for `connection` as a tick would build it now: both feeds, the links,
/// the look-ups before creates. For benchmarks and diagnostics; it takes no lease and applies
/// nothing, but like a tick it drops pending-create markers whose person is already linked.
pub async fn plan_input(ports: SyncPorts<'_>, store: &dyn StateStore, connection: &Connection, deadline: Instant, now: EpochMillis) -> Result<PlanInput, EngineError> {
    let mut scratch = Vec::new();
    let cursors = store.get_cursors(&connection.id).await?;
    let gathered = Tick { ports, store, connection, deadline, now }.gather(&cursors, &mut scratch).await?;
    Ok(gathered.input)
}

/// What a tick read before planning.
struct Gathered {
    input: PlanInput,
    /// Every link of the connection is in `input.links`.
    links_complete: bool,
    /// The people read on the way; the applier reuses them.
    people: People,
    /// Where the cursors go once everything the feeds covered is applied and linked.
    next_cursors: crate::store::Cursors,
}

impl Tick<'_> {
    /// Everything the planner needs; notes for the run log go to `log`.
    async fn gather(&self, cursors: &crate::store::Cursors, log: &mut Vec<String>) -> Result<Gathered, EngineError> {
        let (conn, settings) = (self.connection, &self.connection.settings);
        let mapping = Mapping::from_settings(settings)?;
        let group = settings.google_group.as_deref();
        let first_sync = !cursors.first_sync_done;
        let mut seen = input::Seen::default();
        let mut people = People::new(false);

        let sync_token = if first_sync { None } else { cursors.google_sync_token.as_deref() };
        let google_feed = fetch::google_feed(self.ports.google, sync_token, &mut |person| {
            if seen.add_person(&person, group, &mapping) {
                people.remember(&person);
            }
        })
        .await?;
        people.set_complete(google_feed.full);
        if google_feed.token_expired {
            log.push("google sync token expired: full reconciliation through the links".into());
        }
        // A first sync that a crash or the budget cut short already has links: deletions since
        // then count (tombstones are read and applied), as on any later tick.
        let mut links = if first_sync { TickLinks::all(self.store, &conn.id).await? } else { TickLinks::default() };
        let fresh_start = first_sync && links.is_empty();
        let fields: Vec<String> = mapping.keys().map(str::to_string).collect();
        let zoho_feed = fetch::zoho_feed(self.ports.zoho, cursors, settings.zoho_cvid.as_deref(), &fields, first_sync, !fresh_start, &mut |record, in_scope| {
            seen.add_zoho(&record, in_scope, &mapping)
        })
        .await?;
        seen.zoho_tombstones = zoho_feed.tombstones.iter().map(|t| t.id.clone()).collect();

        // Enough tombstones to trip the mass-delete guard: it needs the count of all links.
        let tombstones = seen.zoho_tombstones.len() + seen.google_tombstones.len();
        let guard_may_trip = tombstones > 0 && tombstones >= settings.mass_delete_min_count as usize;
        if !links.is_complete() && (google_feed.full || guard_may_trip) {
            links = TickLinks::all(self.store, &conn.id).await?;
        }
        links.cover(self.store, &conn.id, &seen.zoho_changes, &seen.zoho_tombstones, &seen.google_changes, &seen.google_tombstones).await?;
        let pending_creates = self.pending_creates(&seen, &links).await?;
        let lookup = seen.to_look_up(links.links());
        // By email or stored Zoho id: only a full listing answers that (see `people` for why
        // not `people:searchContacts`).
        if !lookup.is_empty() {
            let found = people.find(self.ports.google, &lookup, &mapping).await?;
            let before = seen.google_changes.len();
            for person in &found {
                seen.add_person(person, group, &mapping);
            }
            // The people found may be linked, or hold emails, that the feeds did not bring.
            links.cover(self.store, &conn.id, &[], &[], &seen.google_changes[before..], &[]).await?;
        }
        if google_feed.full && !links.is_empty() {
            self.read_people_missing_from_listing(&links, &mapping, &mut seen, &mut people, log).await?;
        }
        if seen.unreadable > 0 {
            log.push(format!("skipped {} records without an id", seen.unreadable));
        }

        let next_cursors = fetch::advanced_cursors(cursors, &google_feed, &zoho_feed, self.now);
        let links_complete = links.is_complete();
        let links = links.into_links();
        let input = PlanInput {
            connection_id: conn.id.clone(),
            mapping: mapping.clone(),
            settings: settings.clone(),
            permissions: conn.zoho_permissions,
            first_sync: fresh_start,
            budget: settings.budget(first_sync) as usize,
            now: self.now,
            zoho_changes: seen.zoho_changes,
            zoho_tombstones: seen.zoho_tombstones,
            google_changes: seen.google_changes,
            google_tombstones: seen.google_tombstones,
            total_links: links.len(),
            links,
            pending_creates,
        };
        Ok(Gathered { input, links_complete, people, next_cursors })
    }

    /// Plans and applies; the cursors to save when the tick covered everything its feeds brought.
    async fn sync(&self, run: &mut RunRecord, cursors: &crate::store::Cursors) -> Result<Option<crate::store::Cursors>, EngineError> {
        let Gathered { input, links_complete, mut people, next_cursors } = self.gather(cursors, &mut run.log).await?;
        let (conn, mapping) = (self.connection, input.mapping.clone());
        let mapping = &mapping;
        let group = self.connection.settings.google_group.as_deref();
        let plan = plan(&input);
        run.log.extend(plan.log_lines());
        if let PlanOutcome::BlockedMassDelete { .. } = plan.outcome {
            run.outcome = RunOutcome::BlockedMassDelete;
            return Ok(None);
        }
        if !plan.units.is_empty() {
            // The status shows a run at work; an idle tick skips this write.
            self.store.put_run(run).await?;
        }

        let linked_zoho_ids = input.links.iter().map(|l| l.zoho_id.clone()).collect();
        let pending_resource_names = input.pending_creates.iter().map(|p| p.google_resource_name.clone()).collect();
        let applier = Applier {
            google: self.ports.google,
            zoho: self.ports.zoho,
            store: self.store,
            connection_id: &conn.id,
            group,
            mapping,
            linked_zoho_ids: &linked_zoho_ids,
            links_complete,
            pending_resource_names: &pending_resource_names,
            deadline: self.deadline,
            now: self.now,
        };
        // The plan carries what the writes need; the feeds' contacts can go before the writes.
        drop(input);
        let applied = applier.apply(&plan.units, &mut people).await;
        run.zoho = applied.zoho;
        run.google = applied.google;
        run.record_errors = applied.record_errors;
        match applied.stopped {
            Some(Stop::Api(e)) => return Err(e.into()),
            Some(Stop::Store(e)) => return Err(e.into()),
            Some(Stop::Deadline) => {
                run.log.push("deadline reached: the rest continues next tick".into());
                run.outcome = RunOutcome::Continued;
                return Ok(None);
            }
            None => {}
        }
        if plan.outcome == PlanOutcome::BudgetExhausted {
            let waiting = plan.remaining.zoho_ids.len().max(plan.remaining.google_resource_names.len());
            run.log.push(format!("budget reached: about {waiting} contacts continue next tick"));
            run.outcome = RunOutcome::Continued;
            return Ok(None);
        }
        run.outcome = if run.record_errors.is_empty() { RunOutcome::Success } else { RunOutcome::Partial };
        if self.holds_cursors(&run.run_id, &run.record_errors).await? {
            run.log.push(format!("{} records failed; they are read again next tick", run.record_errors.len()));
            return Ok(None);
        }
        Ok(Some(next_cursors))
    }

    /// The connection's pending creates in Zoho (rule 7, see [`apply`]), read only when the Zoho
    /// feed brought an unlinked record without an email (the only kind a marker pairs with). A
    /// marker whose person is already linked outlived its link's save (a crash in between): it
    /// is deleted, not planned.
    async fn pending_creates(&self, seen: &input::Seen, links: &TickLinks) -> Result<Vec<PendingCreate>, StoreError> {
        let linked_ids: BTreeSet<&str> = links.links().map(|l| l.zoho_id.as_str()).collect();
        if !seen.zoho_changes.iter().any(|z| z.in_scope && z.contact.email().is_none() && !linked_ids.contains(z.id.as_str())) {
            return Ok(Vec::new());
        }
        let mut pending = self.store.pending_creates(&self.connection.id, self.now).await?;
        let mut linked: BTreeSet<String> = links.links().map(|l| l.google_resource_name.clone()).collect();
        if !links.is_complete() {
            let unknown: Vec<String> = pending.iter().map(|p| p.google_resource_name.clone()).filter(|rn| !linked.contains(rn)).collect();
            if !unknown.is_empty() {
                linked.extend(self.store.links_by_resource_names(&self.connection.id, &unknown).await?.into_iter().map(|l| l.google_resource_name));
            }
        }
        let settled: Vec<String> = pending.iter().filter(|p| linked.contains(&p.google_resource_name)).map(|p| p.google_resource_name.clone()).collect();
        if !settled.is_empty() {
            self.store.delete_pending_creates(&self.connection.id, &settled).await?;
            pending.retain(|p| !linked.contains(&p.google_resource_name));
        }
        Ok(pending)
    }

    /// A full listing (an expired token, or a first sync resumed after a crash or the budget) has
    /// no tombstones, and a linked person it does not show may still exist (rule 4: a record
    /// missing from a page is not deleted; listings also lag writes). Those people are read by
    /// name: `NOT_FOUND` is a tombstone (then edit-wins and the mass-delete guard apply); a
    /// person found outside the group leaves the scope (unlink); one found in the group was just
    /// missed and counts as seen. One Google could not answer for stays as it is this tick.
    async fn read_people_missing_from_listing(&self, links: &TickLinks, mapping: &Mapping, seen: &mut input::Seen, people: &mut People, log: &mut Vec<String>) -> Result<(), PortError> {
        let tombstones: BTreeSet<&str> = seen.google_tombstones.iter().map(String::as_str).collect();
        let missing: Vec<String> = links
            .links()
            .map(|l| l.google_resource_name.as_str())
            .filter(|rn| !seen.has_person(rn) && !tombstones.contains(rn))
            .map(str::to_string)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let group = self.connection.settings.google_group.as_deref();
        let reads = people.read(self.ports.google, missing.iter().map(String::as_str)).await?;
        let mut found = 0;
        for rn in &missing {
            if let Some(person) = people.get(rn) {
                seen.add_person(&person, group, mapping);
                found += 1;
            }
        }
        seen.google_tombstones.extend(reads.not_found.iter().cloned());
        log.push(format!(
            "{} linked people missing from the full listing: {} deleted in Google, {found} still there, {} unanswered",
            missing.len(),
            reads.not_found.len(),
            reads.unanswered
        ));
        Ok(())
    }

    /// Whether a record failed that did not fail in the previous run (it gets one more read).
    async fn holds_cursors(&self, run_id: &str, errors: &[RecordError]) -> Result<bool, StoreError> {
        if errors.is_empty() {
            return Ok(false);
        }
        let runs = self.store.latest_runs(&self.connection.id, 2).await?;
        let previous = runs.iter().find(|r| r.run_id != run_id);
        Ok(errors.iter().any(|e| !previous.is_some_and(|p| p.record_errors.iter().any(|q| q.side == e.side && q.record_id == e.record_id))))
    }
}
