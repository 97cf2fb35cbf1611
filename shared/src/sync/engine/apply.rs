//! Applying a plan's units: writes in API-sized batches, then the links of the units whose writes
//! all succeeded (rule 6: a link is saved only after the writes it covers).
//!
//! Units go in waves of [`WAVE`]; in each wave: Zoho deletes, Google deletes, Zoho updates, Zoho
//! upserts, Google creates, Google updates (with the Zoho ids stamped on people just created in
//! Zoho), then the wave's links.
//!
//! Rule 7 for a person without an email: its Zoho create has no email to upsert on, and until
//! the link is saved and the id stamped nothing leads back to it. So a [`PendingCreate`] marker
//! (the person's resourceName and the hashes sent) is saved before the create is sent, and
//! deleted once the person's link is saved; a tick after a crash in between finds the record by
//! the marker (the planner's pairing by pending create). A record's failure fails only its unit (retried next tick); a
//! whole-call failure, a store failure or the deadline stops the run after saving what is done.

mod google_update;

pub use google_update::{merge_updates, person_update};

use super::people::People;
use super::ports::*;
use crate::mapping::{google, zoho, Mapping};
use crate::store::{EpochMillis, Link, PendingCreate, Provider, RecordError, SideCounts, StateStore, StoreError};
use crate::sync::{Action, PendingLink, Side, UnlinkReason, Unit};
use serde_json::Value;
use std::collections::BTreeSet;
use tokio::time::Instant;

/// Units per wave: a multiple of every batch size (Google deletes 500, Google creates/updates 200,
/// Zoho writes 100), so only the last wave of a tick sends partial batches.
pub const WAVE: usize = 1000;
pub const GOOGLE_WRITE_BATCH: usize = crate::google::BATCH_CREATE_MAX;
pub const GOOGLE_DELETE_BATCH: usize = crate::google::BATCH_DELETE_MAX;
pub const ZOHO_BATCH: usize = crate::zoho::BATCH_MAX;
/// How long a pending create marker is kept unsettled: far longer than the longest schedule (24 h)
/// and an outage or a paused connection, so the tick after a crash still finds it.
pub const PENDING_CREATE_TTL_MS: EpochMillis = 30 * 24 * 60 * 60 * 1000;
/// No API call is started this close to the deadline: saving links and the run needs the time.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Why applying stopped before the end.
#[derive(Debug)]
pub enum Stop {
    Deadline,
    Api(PortError),
    Store(StoreError),
}

#[derive(Debug, Default)]
pub struct Applied {
    pub zoho: SideCounts,
    pub google: SideCounts,
    pub record_errors: Vec<RecordError>,
    pub stopped: Option<Stop>,
}

pub struct Applier<'a> {
    pub google: &'a dyn GooglePort,
    pub zoho: &'a dyn ZohoPort,
    pub store: &'a dyn StateStore,
    pub connection_id: &'a str,
    pub group: Option<&'a str>,
    pub mapping: &'a Mapping,
    /// Zoho ids linked before this tick: all of them when `links_complete`, otherwise those the
    /// tick read (an upserted id outside them is then looked up in the store).
    pub linked_zoho_ids: &'a BTreeSet<String>,
    pub links_complete: bool,
    /// resourceNames with a pending create marker from an earlier tick (deleted once linked).
    pub pending_resource_names: &'a BTreeSet<String>,
    pub deadline: Instant,
    pub now: EpochMillis,
}

/// Progress of one unit within its wave.
#[derive(Debug, Default, Clone)]
struct UnitState {
    writes_left: usize,
    failed: bool,
    created_person: Option<Value>,
    zoho_written: Option<ZohoWritten>,
    google_etag_after: Option<String>,
    zoho_modified_after: Option<String>,
}

impl UnitState {
    fn done(&self) -> bool {
        !self.failed && self.writes_left == 0
    }
}

struct Wave<'w> {
    units: &'w [Unit],
    states: Vec<UnitState>,
}

impl<'w> Wave<'w> {
    /// (unit index, value) for each action `pick` selects.
    fn pick<T>(&self, pick: impl Fn(&Action) -> Option<T>) -> Vec<(usize, T)> {
        self.units.iter().enumerate().flat_map(|(i, u)| u.actions.iter().filter_map(&pick).map(move |t| (i, t))).collect()
    }

    fn succeeded(&mut self, i: usize) {
        self.succeeded_n(i, 1);
    }

    fn succeeded_n(&mut self, i: usize, writes: usize) {
        self.states[i].writes_left = self.states[i].writes_left.saturating_sub(writes);
    }

    fn failed(&mut self, i: usize, side: Provider, record_id: &str, failure: &RecordFailure, applied: &mut Applied) {
        self.fail_or_note(i, true, side, record_id, failure, applied);
    }

    /// Reports the failure; fails the unit only when `fails_unit`.
    fn fail_or_note(&mut self, i: usize, fails_unit: bool, side: Provider, record_id: &str, failure: &RecordFailure, applied: &mut Applied) {
        self.states[i].failed |= fails_unit;
        let counts = match side {
            Provider::Zoho => &mut applied.zoho,
            Provider::Google => &mut applied.google,
        };
        counts.errors += 1;
        applied.record_errors.push(RecordError { side, record_id: record_id.to_string(), code: failure.code.clone() });
    }
}

impl<'a> Applier<'a> {
    pub async fn apply(&self, units: &[Unit], people: &mut People) -> Applied {
        let mut applied = Applied::default();
        for chunk in units.chunks(WAVE) {
            let states = chunk.iter().map(|u| UnitState { writes_left: u.actions.iter().filter(|a| is_write(a)).count(), ..UnitState::default() }).collect();
            let mut wave = Wave { units: chunk, states };
            let written = self.write(&mut wave, people, &mut applied).await;
            let saved = self.save_links(&wave, &mut applied).await;
            if let Err(stop) = written.and(saved) {
                applied.stopped = Some(stop);
                break;
            }
        }
        applied
    }

    fn before_call(&self) -> Result<(), Stop> {
        if Instant::now() + DEADLINE_MARGIN >= self.deadline {
            return Err(Stop::Deadline);
        }
        Ok(())
    }

    async fn write(&self, wave: &mut Wave<'_>, people: &mut People, applied: &mut Applied) -> Result<(), Stop> {
        self.delete_in_zoho(wave, applied).await?;
        self.delete_in_google(wave, applied).await?;
        // Updates first: an email a record gives up this tick is free before an upsert on it.
        self.update_zoho(wave, applied).await?;
        self.create_in_zoho(wave, applied).await?;
        self.create_in_google(wave, people, applied).await?;
        self.update_google(wave, people, applied).await
    }

    async fn delete_in_zoho(&self, wave: &mut Wave<'_>, applied: &mut Applied) -> Result<(), Stop> {
        let items = wave.pick(|a| match a {
            Action::DeleteZoho { zoho_id, .. } => Some(zoho_id.clone()),
            _ => None,
        });
        for chunk in items.chunks(ZOHO_BATCH) {
            self.before_call()?;
            let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
            let results = self.zoho.delete_contacts(&ids).await.map_err(Stop::Api)?;
            for (k, (i, id)) in chunk.iter().enumerate() {
                match results.get(k) {
                    // Zoho answers INVALID_DATA for an id it no longer has: already deleted.
                    Some(Ok(())) => {
                        wave.succeeded(*i);
                        applied.zoho.deleted += 1;
                    }
                    Some(Err(f)) if f.code == "INVALID_DATA" => wave.succeeded(*i),
                    Some(Err(f)) => wave.failed(*i, Provider::Zoho, id, f, applied),
                    None => wave.failed(*i, Provider::Zoho, id, &RecordFailure::new("NO_RESULT"), applied),
                }
            }
        }
        Ok(())
    }

    async fn delete_in_google(&self, wave: &mut Wave<'_>, applied: &mut Applied) -> Result<(), Stop> {
        let items = wave.pick(|a| match a {
            Action::DeleteGoogle { google_resource_name, .. } => Some(google_resource_name.clone()),
            _ => None,
        });
        for chunk in items.chunks(GOOGLE_DELETE_BATCH) {
            self.before_call()?;
            let names: Vec<String> = chunk.iter().map(|(_, rn)| rn.clone()).collect();
            self.google.delete_contacts(&names).await.map_err(Stop::Api)?;
            for (i, _) in chunk {
                wave.succeeded(*i);
                applied.google.deleted += 1;
            }
        }
        Ok(())
    }

    async fn create_in_zoho(&self, wave: &mut Wave<'_>, applied: &mut Applied) -> Result<(), Stop> {
        let items = wave.pick(|a| match a {
            Action::CreateInZoho { google_resource_name, contact, link } => {
                Some((google_resource_name.clone(), (zoho::create_body(contact, self.mapping), link.email.is_none().then(|| link.field_hashes.clone()))))
            }
            _ => None,
        });
        for chunk in items.chunks(ZOHO_BATCH) {
            self.before_call()?;
            let markers: Vec<PendingCreate> = chunk
                .iter()
                .filter_map(|(_, (rn, (_, hashes)))| {
                    Some(PendingCreate {
                        connection_id: self.connection_id.to_string(),
                        google_resource_name: rn.clone(),
                        field_hashes: hashes.clone()?,
                        created_at: self.now,
                        expires_at: self.now + PENDING_CREATE_TTL_MS,
                    })
                })
                .collect();
            if !markers.is_empty() {
                self.store.save_pending_creates(&markers).await.map_err(Stop::Store)?;
            }
            let bodies: Vec<Value> = chunk.iter().map(|(_, (_, (body, _)))| body.clone()).collect();
            let results = self.zoho.upsert_contacts(&bodies).await.map_err(Stop::Api)?;
            let linked_elsewhere = self.linked_among(&results).await?;
            for (k, (i, (rn, _))) in chunk.iter().enumerate() {
                match results.get(k) {
                    // The upsert found a record another person is linked to (its email update
                    // failed, or the email is held twice): never link it a second time.
                    Some(Ok(w)) if self.linked_zoho_ids.contains(&w.id) || linked_elsewhere.contains(&w.id) => {
                        wave.failed(*i, Provider::Zoho, rn, &RecordFailure::new("EMAIL_HELD_BY_LINKED_RECORD"), applied)
                    }
                    Some(Ok(w)) if !w.id.is_empty() => {
                        wave.states[*i].zoho_written = Some(w.clone());
                        wave.succeeded(*i);
                        applied.zoho.created += 1;
                    }
                    Some(Err(f)) => wave.failed(*i, Provider::Zoho, rn, f, applied),
                    _ => wave.failed(*i, Provider::Zoho, rn, &RecordFailure::new("NO_ID_RETURNED"), applied),
                }
            }
        }
        Ok(())
    }

    /// Upserted ids linked before this tick that the tick did not read (only when it read some links).
    async fn linked_among(&self, results: &[RecordResult<ZohoWritten>]) -> Result<BTreeSet<String>, Stop> {
        if self.links_complete {
            return Ok(BTreeSet::new());
        }
        let unknown: Vec<String> = results.iter().filter_map(|r| r.as_ref().ok()).map(|w| w.id.clone()).filter(|id| !id.is_empty() && !self.linked_zoho_ids.contains(id)).collect();
        if unknown.is_empty() {
            return Ok(BTreeSet::new());
        }
        let links = self.store.links_by_zoho_ids(self.connection_id, &unknown).await.map_err(Stop::Store)?;
        Ok(links.into_iter().map(|l| l.zoho_id).collect())
    }

    async fn update_zoho(&self, wave: &mut Wave<'_>, applied: &mut Applied) -> Result<(), Stop> {
        let items = wave.pick(|a| match a {
            Action::UpdateZoho { zoho_id, changes, .. } => Some((zoho_id.clone(), zoho::write_body(changes, Some(zoho_id), self.mapping))),
            _ => None,
        });
        // A body with only the id changes nothing Zoho takes by value.
        let (empty, items): (Vec<_>, Vec<_>) = items.into_iter().partition(|(_, (_, body))| body.as_object().is_some_and(|o| o.len() <= 1));
        for (i, _) in empty {
            wave.succeeded(i);
        }
        for chunk in items.chunks(ZOHO_BATCH) {
            self.before_call()?;
            let bodies: Vec<Value> = chunk.iter().map(|(_, (_, body))| body.clone()).collect();
            let results = self.zoho.update_contacts(&bodies).await.map_err(Stop::Api)?;
            for (k, (i, (id, _))) in chunk.iter().enumerate() {
                match results.get(k) {
                    Some(Ok(w)) => {
                        wave.states[*i].zoho_modified_after = w.modified_time.clone();
                        wave.succeeded(*i);
                        applied.zoho.updated += 1;
                    }
                    Some(Err(f)) => wave.failed(*i, Provider::Zoho, id, f, applied),
                    None => wave.failed(*i, Provider::Zoho, id, &RecordFailure::new("NO_RESULT"), applied),
                }
            }
        }
        Ok(())
    }

    async fn create_in_google(&self, wave: &mut Wave<'_>, people: &mut People, applied: &mut Applied) -> Result<(), Stop> {
        let items = wave.pick(|a| match a {
            Action::CreateInGoogle { zoho_id, contact, .. } => Some((zoho_id.clone(), google::create_body(contact, Some(zoho_id), self.group, self.mapping))),
            _ => None,
        });
        for chunk in items.chunks(GOOGLE_WRITE_BATCH) {
            self.before_call()?;
            let bodies: Vec<Value> = chunk.iter().map(|(_, (_, body))| body.clone()).collect();
            let results = self.google.create_contacts(&bodies).await.map_err(Stop::Api)?;
            for (k, (i, (zoho_id, _))) in chunk.iter().enumerate() {
                match results.get(k) {
                    Some(Ok(person)) if google::resource_name(person).is_ok() => {
                        people.remember(person);
                        wave.states[*i].created_person = Some(person.clone());
                        wave.succeeded(*i);
                        applied.google.created += 1;
                    }
                    Some(Err(f)) => wave.failed(*i, Provider::Google, zoho_id, f, applied),
                    _ => wave.failed(*i, Provider::Google, zoho_id, &RecordFailure::new("NO_RESOURCE_NAME_RETURNED"), applied),
                }
            }
        }
        Ok(())
    }

    /// Deletes, then saves, the links of the units whose writes all succeeded.
    async fn save_links(&self, wave: &Wave<'_>, applied: &mut Applied) -> Result<(), Stop> {
        let mut unlinked = Vec::new();
        let mut saves = Vec::new();
        // Pending create markers whose person gets its link now.
        let mut settled = Vec::new();
        for (unit, state) in wave.units.iter().zip(&wave.states) {
            if !state.done() {
                continue;
            }
            for action in &unit.actions {
                match action {
                    Action::Unlink { zoho_id, reason, .. } => {
                        unlinked.push(zoho_id.clone());
                        count_unlink(*reason, applied);
                    }
                    Action::DeleteGoogle { zoho_id, .. } | Action::DeleteZoho { zoho_id, .. } => unlinked.push(zoho_id.clone()),
                    Action::Link(link) if self.pending_resource_names.contains(&link.google_resource_name) => {
                        settled.push(link.google_resource_name.clone());
                        saves.push(self.saved(link, state));
                    }
                    Action::Link(link) | Action::UpdateLink(link) => saves.push(self.saved(link, state)),
                    Action::CreateInGoogle { zoho_id, link, .. } => {
                        let Some(rn) = state.created_person.as_ref().and_then(|p| google::resource_name(p).ok()) else { continue };
                        let etag = state.created_person.as_ref().and_then(|p| google::etag(p)).map(str::to_string);
                        saves.push(self.link(zoho_id, rn, link, link.zoho_modified_time.clone(), etag));
                    }
                    Action::CreateInZoho { google_resource_name, link, .. } => {
                        let Some(written) = &state.zoho_written else { continue };
                        let etag = state.google_etag_after.clone().or_else(|| link.google_etag.clone());
                        saves.push(self.link(&written.id, google_resource_name, link, written.modified_time.clone(), etag));
                        if link.email.is_none() {
                            settled.push(google_resource_name.clone());
                        }
                    }
                    Action::UpdateGoogle { .. } | Action::UpdateZoho { .. } | Action::StampZohoId { .. } => {}
                }
            }
            // A conflict counts on the side whose change lost.
            for conflict in &unit.conflicts {
                let loser = if conflict.winner == Side::Zoho { &mut applied.google } else { &mut applied.zoho };
                loser.conflicts += 1;
            }
        }
        if !unlinked.is_empty() {
            self.store.delete_links(self.connection_id, &unlinked).await.map_err(Stop::Store)?;
        }
        if !saves.is_empty() {
            self.store.save_links(&saves).await.map_err(Stop::Store)?;
        }
        // After the links: a marker left by a crash here is deleted by the next tick.
        if !settled.is_empty() {
            self.store.delete_pending_creates(self.connection_id, &settled).await.map_err(Stop::Store)?;
        }
        Ok(())
    }

    /// A planned link with the etag and `Modified_Time` this tick's writes returned.
    fn saved(&self, link: &Link, state: &UnitState) -> Link {
        Link {
            google_etag: state.google_etag_after.clone().or_else(|| link.google_etag.clone()),
            zoho_modified_time: state.zoho_modified_after.clone().or_else(|| link.zoho_modified_time.clone()),
            ..link.clone()
        }
    }

    fn link(&self, zoho_id: &str, resource_name: &str, pending: &PendingLink, modified: Option<String>, etag: Option<String>) -> Link {
        Link {
            connection_id: self.connection_id.to_string(),
            zoho_id: zoho_id.to_string(),
            google_resource_name: resource_name.to_string(),
            email: pending.email.clone(),
            field_hashes: pending.field_hashes.clone(),
            zoho_modified_time: modified,
            google_etag: etag,
            updated_at: self.now,
        }
    }
}

/// Writes the unit's link waits for. The Zoho id stamped on a new pair's person is one: without
/// it a lost link could not be recovered. (The stamp after a create in Zoho is not: the create
/// itself is counted, and its link must be saved even if the stamp fails.)
fn is_write(action: &Action) -> bool {
    action.writes_to().is_some() || matches!(action, Action::StampZohoId { .. })
}

fn count_unlink(reason: UnlinkReason, applied: &mut Applied) {
    match reason {
        UnlinkReason::LeftZohoView | UnlinkReason::DeletedInZoho => applied.zoho.unlinked += 1,
        UnlinkReason::LeftGoogleGroup | UnlinkReason::DeletedInGoogle => applied.google.unlinked += 1,
        UnlinkReason::DeletedOnBothSides => {
            applied.zoho.unlinked += 1;
            applied.google.unlinked += 1;
        }
    }
}
