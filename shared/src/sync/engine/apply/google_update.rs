//! The Google update step of a wave: field updates and Zoho id stamps, merged into one
//! `batchUpdateContacts` body per person and sent in batches of 200.

use super::{Applied, Applier, Stop, Wave, GOOGLE_WRITE_BATCH};
use crate::contact::FieldChanges;
use crate::mapping::{google, Mapping};
use crate::store::Provider;
use crate::sync::engine::people::People;
use crate::sync::engine::ports::RecordFailure;
use crate::sync::Action;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One person's write: (unit, person, field changes, Zoho id to stamp, how many of the unit's
/// writes it covers).
type PersonWrite = (usize, String, Option<FieldChanges>, Option<String>, usize);

impl Applier<'_> {
    /// Field updates and Zoho ids written onto people (a new pair, or a person just created in
    /// Zoho: the pair is then found again after a crash or a lost link), in batches of 200.
    /// The stamp after a create in Zoho is best effort: its failure is reported, the link saved.
    pub(super) async fn update_google(&self, wave: &mut Wave<'_>, people: &mut People, applied: &mut Applied) -> Result<(), Stop> {
        let mut writes: Vec<PersonWrite> = Vec::new();
        for (i, unit) in wave.units.iter().enumerate() {
            let state = &wave.states[i];
            let mut target: Option<String> = None;
            let (mut changes, mut stamp, mut stamp_counts) = (None, None, false);
            for action in &unit.actions {
                match action {
                    Action::UpdateGoogle { google_resource_name, changes: c, .. } => {
                        target = Some(google_resource_name.clone());
                        changes = Some(c.clone());
                    }
                    Action::StampZohoId { zoho_id, google_resource_name } => {
                        target = Some(google_resource_name.clone());
                        stamp = Some(zoho_id.clone());
                        stamp_counts = true;
                    }
                    Action::CreateInZoho { google_resource_name, .. } if !state.failed => {
                        if let Some(written) = &state.zoho_written {
                            target = Some(google_resource_name.clone());
                            stamp = Some(written.id.clone());
                        }
                    }
                    _ => {}
                }
            }
            if let Some(rn) = target {
                let counts = usize::from(changes.is_some()) + usize::from(stamp_counts);
                writes.push((i, rn, changes, stamp, counts));
            }
        }
        // People the feed did not bring (a Zoho edit to a linked contact unchanged in Google, a
        // pair matched through a look-up): read by name, not with a full listing.
        if writes.iter().any(|(_, rn, _, _, _)| !people.contains(rn)) {
            self.before_call()?;
            people.read(self.google, writes.iter().map(|(_, rn, _, _, _)| rn.as_str())).await.map_err(Stop::Api)?;
        }
        let mut bodies: Vec<(usize, String, google::PersonUpdate, Value, bool, usize)> = Vec::new();
        for (i, rn, changes, stamp, counts) in writes {
            let is_update = changes.is_some();
            let Some(existing) = people.get(&rn) else {
                wave.fail_or_note(i, counts > 0, Provider::Google, &rn, &RecordFailure::new("NOT_FOUND"), applied);
                continue;
            };
            let update = person_update(&existing, changes.as_ref(), stamp.as_deref(), self.mapping);
            if update.update_person_fields.is_empty() {
                wave.succeeded_n(i, counts);
                continue;
            }
            bodies.push((i, rn, update, existing, is_update, counts));
        }
        for chunk in bodies.chunks(GOOGLE_WRITE_BATCH) {
            self.before_call()?;
            let (batch, mask) = merge_updates(chunk.iter().map(|(_, rn, update, existing, _, _)| (rn.as_str(), update, existing)));
            let mut results = self.google.update_contacts(&batch, &mask).await.map_err(Stop::Api)?;
            for (i, rn, _, _, is_update, counts) in chunk {
                match results.remove(rn) {
                    Some(Ok(person)) => {
                        wave.states[*i].google_etag_after = google::etag(&person).map(str::to_string);
                        people.remember(&person);
                        wave.succeeded_n(*i, *counts);
                        if *is_update {
                            applied.google.updated += 1;
                        }
                    }
                    Some(Err(f)) => wave.fail_or_note(*i, *counts > 0, Provider::Google, rn, &f, applied),
                    None => wave.fail_or_note(*i, *counts > 0, Provider::Google, rn, &RecordFailure::new("NO_RESULT"), applied),
                }
            }
        }
        Ok(())
    }
}

/// The update of one person: mapped field changes, the Zoho id stamp, or both in one body.
pub fn person_update(existing: &Value, changes: Option<&FieldChanges>, stamp: Option<&str>, mapping: &Mapping) -> google::PersonUpdate {
    let mut update = match changes {
        Some(changes) => google::update_body(existing, changes, mapping),
        None => google::PersonUpdate { person: Value::Object(Default::default()), update_person_fields: String::new() },
    };
    let Some(zoho_id) = stamp else { return update };
    let stamped = google::stamp_zoho_id(existing, zoho_id);
    if update.update_person_fields.is_empty() {
        return stamped;
    }
    if let (Value::Object(person), Some(ids)) = (&mut update.person, stamped.person.get("externalIds")) {
        person.insert("externalIds".into(), ids.clone());
    }
    let mut fields: BTreeSet<&str> = update.update_person_fields.split(',').collect();
    fields.insert("externalIds");
    update.update_person_fields = fields.into_iter().collect::<Vec<_>>().join(",");
    update
}

/// One `batchUpdateContacts` body for people needing different masks: the union of the masks,
/// with every masked field the update does not set copied from the person as read (a masked
/// field left out would be cleared).
pub fn merge_updates<'u>(updates: impl Iterator<Item = (&'u str, &'u google::PersonUpdate, &'u Value)> + Clone) -> (BTreeMap<String, Value>, String) {
    let fields: BTreeSet<&str> = updates.clone().flat_map(|(_, u, _)| u.update_person_fields.split(',')).filter(|f| !f.is_empty()).collect();
    let mut batch = BTreeMap::new();
    for (rn, update, existing) in updates {
        let mut person = update.person.clone();
        if let Value::Object(obj) = &mut person {
            for field in &fields {
                if !obj.contains_key(*field) {
                    if let Some(value) = existing.get(*field) {
                        obj.insert(field.to_string(), value.clone());
                    }
                }
            }
        }
        batch.insert(rn.to_string(), person);
    }
    (batch, fields.into_iter().collect::<Vec<_>>().join(","))
}
