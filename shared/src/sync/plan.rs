//! [`plan`]: from what both sides reported and the links, the actions of one tick.

use super::matching::{id_order, pair_by_email, pair_by_pending_create, pair_by_stored_id, Consumed, EmailsAfter, Pools};
use super::model::*;
use super::resolve::{resolve, Flows, Resolution};
use crate::contact::{field_hash, field_hashes, Contact};
use crate::store::Link;
use std::collections::BTreeMap;

pub(super) enum ZohoSeen<'a> {
    Record(&'a ZohoChange),
    Tombstone,
}

pub(super) enum GoogleSeen<'a> {
    Record(&'a GoogleChange),
    Tombstone,
}

impl<'a> ZohoSeen<'a> {
    pub fn record(&self) -> Option<&'a ZohoChange> {
        match self {
            ZohoSeen::Record(r) => Some(r),
            ZohoSeen::Tombstone => None,
        }
    }
}

impl<'a> GoogleSeen<'a> {
    pub fn record(&self) -> Option<&'a GoogleChange> {
        match self {
            GoogleSeen::Record(p) => Some(p),
            GoogleSeen::Tombstone => None,
        }
    }
}

/// Everything seen this tick, by id. A tombstone wins over a record with the same id.
pub(super) struct Seen<'a> {
    pub zoho: BTreeMap<&'a str, ZohoSeen<'a>>,
    pub google: BTreeMap<&'a str, GoogleSeen<'a>>,
    pub links_by_zoho: BTreeMap<&'a str, &'a Link>,
    pub links_by_google: BTreeMap<&'a str, &'a Link>,
}

impl<'a> Seen<'a> {
    fn index(input: &'a PlanInput) -> Seen<'a> {
        let mut zoho = BTreeMap::new();
        for r in &input.zoho_changes {
            zoho.entry(r.id.as_str()).or_insert(ZohoSeen::Record(r));
        }
        let mut google = BTreeMap::new();
        for p in &input.google_changes {
            google.entry(p.resource_name.as_str()).or_insert(GoogleSeen::Record(p));
        }
        if !input.first_sync {
            for id in &input.zoho_tombstones {
                zoho.insert(id.as_str(), ZohoSeen::Tombstone);
            }
            for rn in &input.google_tombstones {
                google.insert(rn.as_str(), GoogleSeen::Tombstone);
            }
        }
        // One link per id on each side; a link contradicting an earlier one is ignored.
        let mut links_by_zoho = BTreeMap::new();
        let mut links_by_google = BTreeMap::new();
        for link in &input.links {
            let (z, g) = (link.zoho_id.as_str(), link.google_resource_name.as_str());
            if !links_by_zoho.contains_key(z) && !links_by_google.contains_key(g) {
                links_by_zoho.insert(z, link);
                links_by_google.insert(g, link);
            }
        }
        Seen { zoho, google, links_by_zoho, links_by_google }
    }
}

struct Planner<'a> {
    input: &'a PlanInput,
    flows: Flows,
}

/// Plans one tick. Pure: the same input gives the same plan.
///
/// Units come in this order: linked pairs (by Zoho id), pairs by stored id, pairs by pending
/// create, pairs by email, creates in Google, creates in Zoho. A contact whose link is dropped this tick (its partner left
/// the scope, or was deleted and the delete is not propagated or lost to an edit) is treated as
/// unlinked in the same pass, so it can pair or be created again in a later unit. Creates rely on
/// the emails the earlier units leave (an upsert on `Email` must not land on a record whose email
/// an update is about to change), so the executor applies every earlier unit's writes and link
/// removals before the creates; batching within that order is fine.
pub fn plan(input: &PlanInput) -> Plan {
    let planner = Planner { input, flows: Flows::new(&input.settings, &input.permissions) };
    let mut seen = Seen::index(input);
    let known_links = seen.links_by_zoho.len();
    let mut units: Vec<Unit> = Vec::new();
    let mut recreate: Vec<(usize, Side, &Link)> = Vec::new();

    let links: Vec<&Link> = seen.links_by_zoho.values().copied().collect();
    for link in links {
        let z = seen.zoho.get(link.zoho_id.as_str());
        let g = seen.google.get(link.google_resource_name.as_str());
        let Some(unit) = planner.linked(link, z, g) else { continue };
        if unit.actions.iter().any(|a| matches!(a, Action::Unlink { .. })) {
            if let Some(c) = unit.conflicts.iter().find(|c| c.rule == ConflictRule::DeleteLosesToEdit) {
                recreate.push((units.len(), c.winner, link));
            }
            seen.links_by_zoho.remove(link.zoho_id.as_str());
            seen.links_by_google.remove(link.google_resource_name.as_str());
        }
        units.push(unit);
    }

    let mut after = EmailsAfter::default();
    units.iter().for_each(|u| after.add(u));
    let mut pools = Pools::new(&seen);
    let by_id = pair_by_stored_id(&seen, &mut pools, &mut after, |z, g| planner.new_pair(z, g));
    let (mut paired, mut skipped) = (by_id.paired, by_id.skipped);
    units.extend(by_id.units);
    let mapping = &input.mapping;
    let by_marker = pair_by_pending_create(
        &seen,
        &mut pools,
        &mut after,
        &input.pending_creates,
        |r| field_hashes(&r.contact, mapping.keys()),
        |z, g, marker| planner.pair(z, g, Some(&marker.field_hashes)),
    );
    paired.zoho_ids.extend(by_marker.paired.zoho_ids);
    paired.resource_names.extend(by_marker.paired.resource_names);
    units.extend(by_marker.units);
    recreate.retain(|(_, _, l)| !paired.zoho_ids.contains(&l.zoho_id) && !paired.resource_names.contains(&l.google_resource_name));
    let recreated = planner.recreate(&seen, &mut after, &mut units, recreate);
    pools.remove(&recreated);
    let pairing = pair_by_email(&seen, pools, &after, &planner.flows, |p| planner.missing_required(&p.contact));
    skipped.extend(pairing.skipped);
    let new_units = pairing
        .pairs
        .iter()
        .map(|(z, g)| planner.new_pair(z, g))
        .chain(pairing.create_in_google.iter().map(|z| planner.create_in_google(z)))
        .chain(pairing.create_in_zoho.iter().map(|g| planner.create_in_zoho(g)));
    units.extend(new_units);

    let deletes = units.iter().filter(|u| u.deletes()).count();
    let links = input.total_links.max(known_links);
    if planner.mass_delete_blocked(deletes, links) {
        return Plan {
            units: Vec::new(),
            skipped,
            remaining: Remaining::default(),
            outcome: PlanOutcome::BlockedMassDelete { deletes, links },
        };
    }

    let later = units.split_off(units.len().min(input.budget));
    let mut remaining = Remaining::default();
    for unit in &later {
        let (zoho_ids, resource_names) = unit.ids();
        remaining.zoho_ids.extend(zoho_ids);
        remaining.google_resource_names.extend(resource_names);
    }
    remaining.zoho_ids.sort_by(|a, b| id_order(a, b));
    remaining.zoho_ids.dedup();
    remaining.google_resource_names.sort_by(|a, b| id_order(a, b));
    remaining.google_resource_names.dedup();
    let outcome = if later.is_empty() { PlanOutcome::Complete } else { PlanOutcome::BudgetExhausted };
    Plan { units, skipped, remaining, outcome }
}

impl<'a> Planner<'a> {
    fn mass_delete_blocked(&self, deletes: usize, links: usize) -> bool {
        let s = &self.input.settings;
        deletes > 0
            && deletes >= s.mass_delete_min_count as usize
            && deletes.saturating_mul(100) > usize::from(s.mass_delete_percent).saturating_mul(links)
    }

    fn missing_required(&self, contact: &Contact) -> bool {
        self.input.mapping.fields().iter().any(|f| f.zoho_required && contact.get(&f.zoho).is_empty())
    }

    fn unit(&self, zoho_id: &str, resource_name: &str) -> Unit {
        Unit {
            zoho_id: Some(zoho_id.to_string()),
            google_resource_name: Some(resource_name.to_string()),
            actions: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    fn unlink(&self, link: &Link, reason: UnlinkReason) -> Unit {
        let mut unit = self.unit(&link.zoho_id, &link.google_resource_name);
        unit.actions.push(Action::Unlink {
            zoho_id: link.zoho_id.clone(),
            google_resource_name: link.google_resource_name.clone(),
            reason,
        });
        unit
    }

    fn linked(&self, link: &Link, z: Option<&ZohoSeen>, g: Option<&GoogleSeen>) -> Option<Unit> {
        let zr = z.and_then(ZohoSeen::record);
        let gr = g.and_then(GoogleSeen::record);
        let z_gone = matches!(z, Some(ZohoSeen::Tombstone));
        let g_gone = matches!(g, Some(GoogleSeen::Tombstone));
        if z_gone && g_gone {
            return Some(self.unlink(link, UnlinkReason::DeletedOnBothSides));
        }
        if zr.is_some_and(|r| !r.in_scope) {
            return Some(self.unlink(link, UnlinkReason::LeftZohoView));
        }
        if gr.is_some_and(|p| !p.in_group) {
            return Some(self.unlink(link, UnlinkReason::LeftGoogleGroup));
        }
        if z_gone {
            return Some(self.deleted_in_zoho(link, gr));
        }
        if g_gone {
            return Some(self.deleted_in_google(link, zr));
        }
        self.update_pair(link, zr, gr)
    }

    fn edited(link: &Link, contact: &Contact) -> bool {
        link.field_hashes.iter().any(|(key, base)| field_hash(contact.get(key)) != *base)
    }

    /// Rule 4: the delete loses to an edit that may flow back: the link is dropped and the edited
    /// contact is handled as unlinked (created again on the deleting side unless its email is
    /// taken there). Otherwise the delete is propagated or, when it may not be, the link dropped.
    fn deleted_in_zoho(&self, link: &Link, person: Option<&GoogleChange>) -> Unit {
        if person.is_some_and(|p| Self::edited(link, &p.contact) && self.flows.zoho_create) {
            let mut unit = self.unlink(link, UnlinkReason::DeletedInZoho);
            unit.conflicts.push(self.delete_lost(link, Side::Google));
            return unit;
        }
        if !self.flows.google_delete {
            return self.unlink(link, UnlinkReason::DeletedInZoho);
        }
        let mut unit = self.unit(&link.zoho_id, &link.google_resource_name);
        unit.actions.push(Action::DeleteGoogle { zoho_id: link.zoho_id.clone(), google_resource_name: link.google_resource_name.clone() });
        unit
    }

    fn deleted_in_google(&self, link: &Link, record: Option<&ZohoChange>) -> Unit {
        if record.is_some_and(|r| Self::edited(link, &r.contact) && self.flows.google_write) {
            let mut unit = self.unlink(link, UnlinkReason::DeletedInGoogle);
            unit.conflicts.push(self.delete_lost(link, Side::Zoho));
            return unit;
        }
        if !self.flows.zoho_delete {
            return self.unlink(link, UnlinkReason::DeletedInGoogle);
        }
        let mut unit = self.unit(&link.zoho_id, &link.google_resource_name);
        unit.actions.push(Action::DeleteZoho { zoho_id: link.zoho_id.clone(), google_resource_name: link.google_resource_name.clone() });
        unit
    }

    /// Creates again, in the unit of its `Unlink`, each contact whose edit beat a delete: unless
    /// its email is on the deleting side at any point of this tick (that would be a duplicate) or
    /// a field Zoho requires is empty. A person left out keeps the deleted record's id and is
    /// never created in Zoho later; a Zoho record left out is an ordinary unlinked record.
    fn recreate(&self, seen: &Seen, after: &mut EmailsAfter, units: &mut [Unit], survivors: Vec<(usize, Side, &Link)>) -> Consumed {
        let mut consumed = Consumed::default();
        for (at, winner, link) in survivors {
            let create = match winner {
                Side::Google => seen
                    .google
                    .get(link.google_resource_name.as_str())
                    .and_then(GoogleSeen::record)
                    .filter(|p| {
                        !self.missing_required(&p.contact) && !p.contact.email().is_some_and(|e| after.held_anytime(seen, Side::Zoho, &e))
                    })
                    .map(|p| self.create_in_zoho(p)),
                Side::Zoho => seen
                    .zoho
                    .get(link.zoho_id.as_str())
                    .and_then(ZohoSeen::record)
                    .filter(|r| !r.contact.email().is_some_and(|e| after.held_anytime(seen, Side::Google, &e)))
                    .map(|r| self.create_in_google(r)),
            };
            let Some(create) = create else { continue };
            after.add(&create);
            match winner {
                Side::Google => consumed.resource_names.insert(link.google_resource_name.clone()),
                Side::Zoho => consumed.zoho_ids.insert(link.zoho_id.clone()),
            };
            units[at].actions.extend(create.actions);
        }
        consumed
    }

    fn delete_lost(&self, link: &Link, winner: Side) -> ConflictDecision {
        ConflictDecision {
            zoho_id: link.zoho_id.clone(),
            google_resource_name: link.google_resource_name.clone(),
            field: None,
            winner,
            rule: ConflictRule::DeleteLosesToEdit,
        }
    }

    /// Writes for both sides of a pair and its new base state.
    fn sync_unit(&self, zoho_id: &str, resource_name: &str, etag: Option<String>, res: &Resolution) -> Unit {
        let mut unit = self.unit(zoho_id, resource_name);
        if !res.zoho_writes.is_empty() {
            unit.actions.push(Action::UpdateZoho {
                zoho_id: zoho_id.to_string(),
                google_resource_name: resource_name.to_string(),
                changes: res.zoho_writes.clone(),
            });
        }
        if !res.google_writes.is_empty() {
            unit.actions.push(Action::UpdateGoogle {
                zoho_id: zoho_id.to_string(),
                google_resource_name: resource_name.to_string(),
                etag,
                changes: res.google_writes.clone(),
            });
        }
        unit.conflicts = res
            .conflicts
            .iter()
            .map(|(field, winner, rule)| ConflictDecision {
                zoho_id: zoho_id.to_string(),
                google_resource_name: resource_name.to_string(),
                field: Some(field.clone()),
                winner: *winner,
                rule: *rule,
            })
            .collect();
        unit
    }

    fn update_pair(&self, link: &Link, record: Option<&ZohoChange>, person: Option<&GoogleChange>) -> Option<Unit> {
        let res =
            resolve(&self.input.mapping, &self.flows, Some(&link.field_hashes), record.map(|r| &r.contact), person.map(|p| &p.contact));
        let etag = person.and_then(|p| p.etag.clone()).or_else(|| link.google_etag.clone());
        let mut unit = self.sync_unit(&link.zoho_id, &link.google_resource_name, etag.clone(), &res);
        let email = res.zoho_email_after.clone().unwrap_or_else(|| link.email.clone());
        // Echo suppression: a new etag or Modified_Time alone does not touch the link.
        if res.hashes != link.field_hashes || email != link.email {
            unit.actions.push(Action::UpdateLink(Link {
                email,
                field_hashes: res.hashes.clone(),
                zoho_modified_time: record.and_then(|r| r.modified_time.clone()).or_else(|| link.zoho_modified_time.clone()),
                google_etag: etag,
                updated_at: self.input.now,
                ..link.clone()
            }));
        }
        (!unit.actions.is_empty()).then_some(unit)
    }

    fn new_pair(&self, record: &ZohoChange, person: &GoogleChange) -> Unit {
        self.pair(record, person, None)
    }

    /// A pair's first unit: field writes against `base` (none for a new match; a pending create's
    /// hashes for a create found again after a crash), the Zoho id stamp, the link.
    fn pair(&self, record: &ZohoChange, person: &GoogleChange, base: Option<&BTreeMap<String, String>>) -> Unit {
        let res = resolve(&self.input.mapping, &self.flows, base, Some(&record.contact), Some(&person.contact));
        let mut unit = self.sync_unit(&record.id, &person.resource_name, person.etag.clone(), &res);
        if person.zoho_id.as_deref() != Some(record.id.as_str()) {
            unit.actions.push(Action::StampZohoId { zoho_id: record.id.clone(), google_resource_name: person.resource_name.clone() });
        }
        unit.actions.push(Action::Link(Link {
            connection_id: self.input.connection_id.clone(),
            zoho_id: record.id.clone(),
            google_resource_name: person.resource_name.clone(),
            email: res.zoho_email_after.clone().flatten(),
            field_hashes: res.hashes.clone(),
            zoho_modified_time: record.modified_time.clone(),
            google_etag: person.etag.clone(),
            updated_at: self.input.now,
        }));
        unit
    }

    fn create_in_google(&self, record: &ZohoChange) -> Unit {
        let mapping = &self.input.mapping;
        let contact = record.contact.restricted(|k| mapping.spec(k).is_some());
        let link = PendingLink {
            email: contact.email(),
            field_hashes: field_hashes(&contact, mapping.keys()),
            zoho_modified_time: record.modified_time.clone(),
            google_etag: None,
        };
        Unit {
            zoho_id: Some(record.id.clone()),
            google_resource_name: None,
            actions: vec![Action::CreateInGoogle { zoho_id: record.id.clone(), contact, link }],
            conflicts: Vec::new(),
        }
    }

    /// Base hashes are those of what Zoho will hold: fields Zoho takes only by id hash as empty.
    fn create_in_zoho(&self, person: &GoogleChange) -> Unit {
        let mapping = &self.input.mapping;
        let contact = person.contact.restricted(|k| mapping.spec(k).is_some_and(|s| s.zoho_writable));
        let link = PendingLink {
            email: contact.email(),
            field_hashes: field_hashes(&contact, mapping.keys()),
            zoho_modified_time: None,
            google_etag: person.etag.clone(),
        };
        Unit {
            zoho_id: None,
            google_resource_name: Some(person.resource_name.clone()),
            actions: vec![Action::CreateInZoho { google_resource_name: person.resource_name.clone(), contact, link }],
            conflicts: Vec::new(),
        }
    }
}
