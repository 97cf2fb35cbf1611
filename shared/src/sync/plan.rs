//! [`plan`]: from what both sides reported and the links, the actions of one tick.

use super::matching::{id_order, pair_by_email, pair_by_stored_id, Consumed, EmailsAfter, Pools};
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
/// Order: linked pairs (by Zoho id), then new pairs, then creates in Google, then in Zoho. A
/// contact whose link is dropped this tick (its partner left the scope or was deleted without
/// the delete being propagated) is treated as unlinked in the same pass, and whatever that gives
/// joins the unit of the `Unlink`, after it.
pub fn plan(input: &PlanInput) -> Plan {
    let planner = Planner { input, flows: Flows::new(&input.settings, &input.permissions) };
    let mut seen = Seen::index(input);
    let mut units: Vec<Unit> = Vec::new();
    let mut survivor_unit: BTreeMap<String, usize> = BTreeMap::new();
    let mut consumed = Consumed::default();

    let links: Vec<&Link> = seen.links_by_zoho.values().copied().collect();
    for link in links {
        let z = seen.zoho.get(link.zoho_id.as_str());
        let g = seen.google.get(link.google_resource_name.as_str());
        let Some(unit) = planner.linked(&seen, link, z, g) else { continue };
        if unit.actions.iter().any(|a| matches!(a, Action::Unlink { .. })) {
            if unit.actions.iter().any(|a| matches!(a, Action::CreateInGoogle { .. } | Action::CreateInZoho { .. })) {
                consumed.zoho_ids.insert(link.zoho_id.clone());
                consumed.resource_names.insert(link.google_resource_name.clone());
            } else {
                survivor_unit.insert(zoho_key(&link.zoho_id), units.len());
                survivor_unit.insert(google_key(&link.google_resource_name), units.len());
            }
            seen.links_by_zoho.remove(link.zoho_id.as_str());
            seen.links_by_google.remove(link.google_resource_name.as_str());
        }
        units.push(unit);
    }

    let mut pools = Pools::new(&seen, &consumed);
    let (by_id, mut skipped) = pair_by_stored_id(&seen, &mut pools);
    for (z, g) in by_id {
        join_survivors(&mut units, &survivor_unit, planner.new_pair(z, g));
    }
    let mut after = EmailsAfter::default();
    units.iter().for_each(|u| after.add(u));
    let pairing = pair_by_email(&seen, pools, &after, &planner.flows, |p| planner.missing_required(&p.contact));
    skipped.extend(pairing.skipped);
    let new_units = pairing
        .pairs
        .iter()
        .map(|(z, g)| planner.new_pair(z, g))
        .chain(pairing.create_in_google.iter().map(|z| planner.create_in_google(z)))
        .chain(pairing.create_in_zoho.iter().map(|g| planner.create_in_zoho(g)));
    for unit in new_units {
        join_survivors(&mut units, &survivor_unit, unit);
    }
    units.retain(|u| !u.actions.is_empty());

    let deletes = units.iter().filter(|u| u.deletes()).count();
    let links = input.total_links.max(seen.links_by_zoho.len());
    if planner.mass_delete_blocked(deletes, links) {
        return Plan { units: Vec::new(), skipped, remaining: Remaining::default(), outcome: PlanOutcome::BlockedMassDelete { deletes, links } };
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

fn zoho_key(id: &str) -> String {
    format!("z:{id}")
}

fn google_key(resource_name: &str) -> String {
    format!("g:{resource_name}")
}

/// Appends `unit` to the unlink unit(s) of the contacts it involves, or adds it as its own.
fn join_survivors(units: &mut Vec<Unit>, survivor_unit: &BTreeMap<String, usize>, unit: Unit) {
    let mut at: Vec<usize> = [unit.zoho_id.as_deref().map(zoho_key), unit.google_resource_name.as_deref().map(google_key)]
        .into_iter()
        .flatten()
        .filter_map(|k| survivor_unit.get(&k).copied())
        .collect();
    at.sort_unstable();
    at.dedup();
    let Some(&first) = at.first() else {
        units.push(unit);
        return;
    };
    for &other in &at[1..] {
        let actions = std::mem::take(&mut units[other].actions);
        let conflicts = std::mem::take(&mut units[other].conflicts);
        units[first].actions.extend(actions);
        units[first].conflicts.extend(conflicts);
    }
    units[first].actions.extend(unit.actions);
    units[first].conflicts.extend(unit.conflicts);
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
        Unit { zoho_id: Some(zoho_id.to_string()), google_resource_name: Some(resource_name.to_string()), actions: Vec::new(), conflicts: Vec::new() }
    }

    fn unlink(&self, link: &Link, reason: UnlinkReason) -> Unit {
        let mut unit = self.unit(&link.zoho_id, &link.google_resource_name);
        unit.actions.push(Action::Unlink { zoho_id: link.zoho_id.clone(), google_resource_name: link.google_resource_name.clone(), reason });
        unit
    }

    fn linked(&self, seen: &Seen, link: &Link, z: Option<&ZohoSeen>, g: Option<&GoogleSeen>) -> Option<Unit> {
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
            return Some(self.deleted_in_zoho(seen, link, gr));
        }
        if g_gone {
            return Some(self.deleted_in_google(seen, link, zr));
        }
        self.update_pair(link, zr, gr)
    }

    fn edited(link: &Link, contact: &Contact) -> bool {
        link.field_hashes.iter().any(|(key, base)| field_hash(contact.get(key)) != *base)
    }

    /// Whether another contact on `side` (or another link) holds `email`: creating it again
    /// there would make a duplicate.
    fn email_held(seen: &Seen, side: Side, email: Option<String>, except: &Link) -> bool {
        let Some(email) = email else { return false };
        let by_link = seen.links_by_zoho.values().any(|l| l.zoho_id != except.zoho_id && l.email.as_deref() == Some(email.as_str()));
        let by_record = match side {
            Side::Zoho => seen.zoho.iter().any(|(id, z)| *id != except.zoho_id && z.record().and_then(|r| r.contact.email()) == Some(email.clone())),
            Side::Google => seen
                .google
                .iter()
                .any(|(rn, g)| *rn != except.google_resource_name && g.record().and_then(|p| p.contact.email()) == Some(email.clone())),
        };
        by_link || by_record
    }

    /// Rule 4: the delete loses to an edit that may flow back (the contact is created again);
    /// otherwise it is propagated or, when it may not be, the link is dropped.
    fn deleted_in_zoho(&self, seen: &Seen, link: &Link, person: Option<&GoogleChange>) -> Unit {
        if let Some(p) = person.filter(|p| Self::edited(link, &p.contact) && self.flows.zoho_create) {
            let mut unit = self.unlink(link, UnlinkReason::DeletedInZoho);
            if !self.missing_required(&p.contact) && !Self::email_held(seen, Side::Zoho, p.contact.email(), link) {
                unit.actions.extend(self.create_in_zoho(p).actions);
                unit.conflicts.push(self.delete_lost(link, Side::Google));
            }
            return unit;
        }
        if !self.flows.google_delete {
            return self.unlink(link, UnlinkReason::DeletedInZoho);
        }
        let mut unit = self.unit(&link.zoho_id, &link.google_resource_name);
        unit.actions.push(Action::DeleteGoogle { zoho_id: link.zoho_id.clone(), google_resource_name: link.google_resource_name.clone() });
        unit
    }

    fn deleted_in_google(&self, seen: &Seen, link: &Link, record: Option<&ZohoChange>) -> Unit {
        if let Some(r) = record.filter(|r| Self::edited(link, &r.contact) && self.flows.google_write) {
            let mut unit = self.unlink(link, UnlinkReason::DeletedInGoogle);
            if !Self::email_held(seen, Side::Google, r.contact.email(), link) {
                unit.actions.extend(self.create_in_google(r).actions);
                unit.conflicts.push(self.delete_lost(link, Side::Zoho));
            }
            return unit;
        }
        if !self.flows.zoho_delete {
            return self.unlink(link, UnlinkReason::DeletedInGoogle);
        }
        let mut unit = self.unit(&link.zoho_id, &link.google_resource_name);
        unit.actions.push(Action::DeleteZoho { zoho_id: link.zoho_id.clone(), google_resource_name: link.google_resource_name.clone() });
        unit
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
        let res = resolve(&self.input.mapping, &self.flows, Some(&link.field_hashes), record.map(|r| &r.contact), person.map(|p| &p.contact));
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
        let res = resolve(&self.input.mapping, &self.flows, None, Some(&record.contact), Some(&person.contact));
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
