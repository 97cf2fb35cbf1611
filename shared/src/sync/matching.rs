//! Contacts without a link: relink by the Zoho id stored on the person, match by email, or create.
//!
//! Order of preference for an unlinked, in-scope contact:
//! 1. [`pair_by_stored_id`]: a Google person carrying a Zoho id (crash recovery) pairs with that
//!    Zoho record when it was seen this tick, in the list and unlinked. A person carrying the id
//!    of a record linked to another person (a copy) or outside the list is skipped; one carrying
//!    the id of a deleted record or one not seen this tick may still match by email but is never
//!    created in Zoho (it was synced once; its record is gone or out of reach).
//!    A pair whose field merge would write an email onto a side where another contact holds it
//!    (now, after this tick's planned writes, on a link, or in a planned create) is not made:
//!    the person is skipped as `EmailTaken` (two contacts with one email is the duplicate the
//!    product must not make; which contact the user meant is theirs to decide). Its record stays
//!    unlinked: it may still match by email (e.g. the person now holding that email), but is not
//!    created in Google, where the skipped person already stands for it
//!    (`ZohoIdOnSkippedPerson`).
//! 2. [`pair_by_pending_create`]: a person whose create in Zoho was sent but never linked (it has
//!    no email, and a crash came before its link and its Zoho id stamp were saved) pairs with the
//!    unlinked Zoho record without an email whose mapped-field hashes equal the marker's: that
//!    record is the create (rule 7). Ties go in id order. A pair that would write an email another
//!    contact holds is not made (as above); both then go on as ordinary unlinked contacts.
//! 3. [`pair_by_email`]: Zoho `Email` ⇄ Google work email, trimmed and lower-cased. When several
//!    contacts share an email, they pair in id order (Zoho ids and resourceNames compared by
//!    length then text: the oldest first); those left over on the longer side are skipped as
//!    `EmailTaken`, never created.
//! 4. Create on the other side, unless that side will hold the email after this tick anyway (a
//!    linked or paired contact, a contact outside the group/list, one skipped above, a link):
//!    that would be a duplicate, and on Zoho the upsert on `Email` would overwrite the holder.
//!    A Zoho record whose id a person outside the group carries is not created again either.
//!    Contacts without an email are never matched, only created (and linked by id).

use super::model::{Action, GoogleChange, Side, SkipReason, Skipped, Unit, ZohoChange};
use super::plan::{GoogleSeen, Seen, ZohoSeen};
use super::resolve::Flows;
use crate::contact::EMAIL_KEY;
use crate::store::{normalize_email, PendingCreate};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Ids in creation order: shorter first, then by text (Zoho ids and person ids are numeric).
pub(super) fn id_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Unlinked, in-scope contacts still to place.
pub(super) struct Pools<'a> {
    zoho: BTreeMap<&'a str, &'a ZohoChange>,
    google: Vec<&'a GoogleChange>,
    never_create_in_zoho: BTreeSet<&'a str>,
    never_create_in_google: BTreeSet<&'a str>,
}

/// Contacts already placed this tick (paired by stored id, or created again after their delete
/// lost to an edit).
#[derive(Debug, Default)]
pub(super) struct Consumed {
    pub zoho_ids: BTreeSet<String>,
    pub resource_names: BTreeSet<String>,
}

impl<'a> Pools<'a> {
    /// Takes out contacts already given a create.
    pub fn remove(&mut self, consumed: &Consumed) {
        self.zoho.retain(|id, _| !consumed.zoho_ids.contains(*id));
        self.google.retain(|p| !consumed.resource_names.contains(&p.resource_name));
    }

    pub fn new(seen: &Seen<'a>) -> Pools<'a> {
        let zoho = seen
            .zoho
            .iter()
            .filter_map(|(id, z)| match z {
                ZohoSeen::Record(r) if r.in_scope && !seen.links_by_zoho.contains_key(id) => Some((*id, *r)),
                _ => None,
            })
            .collect();
        let mut google: Vec<&GoogleChange> = seen
            .google
            .iter()
            .filter_map(|(rn, g)| match g {
                GoogleSeen::Record(p) if p.in_group && !seen.links_by_google.contains_key(rn) => Some(*p),
                _ => None,
            })
            .collect();
        google.sort_by(|a, b| id_order(&a.resource_name, &b.resource_name));
        Pools { zoho, google, never_create_in_zoho: BTreeSet::new(), never_create_in_google: BTreeSet::new() }
    }
}

/// What [`pair_by_stored_id`] placed: one unit per pair (already added to the [`EmailsAfter`]).
#[derive(Debug, Default)]
pub(super) struct StoredIdPairs {
    pub units: Vec<Unit>,
    pub skipped: Vec<Skipped>,
    pub paired: Consumed,
}

/// Pairs persons with the record whose id they carry; `new_pair` plans a pair's unit, which is
/// kept only when it writes no email another contact holds (see the module docs).
pub(super) fn pair_by_stored_id<'a>(
    seen: &Seen<'a>,
    pools: &mut Pools<'a>,
    after: &mut EmailsAfter,
    new_pair: impl Fn(&ZohoChange, &GoogleChange) -> Unit,
) -> StoredIdPairs {
    let mut out = StoredIdPairs::default();
    let mut rest = Vec::new();
    for person in std::mem::take(&mut pools.google) {
        let Some(zoho_id) = person.zoho_id.as_deref() else {
            rest.push(person);
            continue;
        };
        let deleted_now = matches!(seen.zoho.get(zoho_id), Some(ZohoSeen::Tombstone)) || after.gone.contains(&format!("z:{zoho_id}"));
        let reason = if seen.links_by_zoho.contains_key(zoho_id) && !deleted_now {
            SkipReason::ZohoIdLinkedElsewhere
        } else if let Some(record) = pools.zoho.get(zoho_id).copied() {
            let unit = new_pair(record, person);
            if after.writes_held_email(seen, &unit) {
                pools.never_create_in_google.insert(record.id.as_str());
                SkipReason::EmailTaken
            } else {
                pools.zoho.remove(zoho_id);
                after.add(&unit);
                out.paired.zoho_ids.insert(record.id.clone());
                out.paired.resource_names.insert(person.resource_name.clone());
                out.units.push(unit);
                continue;
            }
        } else {
            match seen.zoho.get(zoho_id).filter(|_| !deleted_now) {
                // A stale id (the record is gone, or not seen): the person may match by email.
                None | Some(ZohoSeen::Tombstone) => {
                    pools.never_create_in_zoho.insert(person.resource_name.as_str());
                    rest.push(person);
                    continue;
                }
                Some(ZohoSeen::Record(r)) if r.in_scope => SkipReason::ZohoIdLinkedElsewhere,
                Some(ZohoSeen::Record(_)) => SkipReason::ZohoIdNotSyncable,
            }
        };
        out.skipped.push(Skipped { side: Side::Google, id: person.resource_name.clone(), reason });
    }
    pools.google = rest;
    out
}

/// Pairs each pending create's person, if still unlinked and in the group, with the unlinked
/// Zoho record without an email whose hashes (`hashes_of`) equal the marker's; `pair` plans the
/// pair's unit from the marker's hashes as base. Markers go in resourceName order, records in
/// id order, so the same input pairs the same way.
pub(super) fn pair_by_pending_create<'a>(
    seen: &Seen<'a>,
    pools: &mut Pools<'a>,
    after: &mut EmailsAfter,
    pending: &'a [PendingCreate],
    hashes_of: impl Fn(&ZohoChange) -> BTreeMap<String, String>,
    pair: impl Fn(&ZohoChange, &GoogleChange, &PendingCreate) -> Unit,
) -> StoredIdPairs {
    let mut out = StoredIdPairs::default();
    let mut markers: Vec<&PendingCreate> = pending.iter().collect();
    markers.sort_by(|a, b| id_order(&a.google_resource_name, &b.google_resource_name));
    for marker in markers {
        let Some(at) = pools.google.iter().position(|p| p.resource_name == marker.google_resource_name) else { continue };
        let mut candidates: Vec<&ZohoChange> =
            pools.zoho.values().copied().filter(|r| r.contact.email().is_none() && hashes_of(r) == marker.field_hashes).collect();
        candidates.sort_by(|a, b| id_order(&a.id, &b.id));
        let Some(record) = candidates.first().copied() else { continue };
        let person = pools.google[at];
        let unit = pair(record, person, marker);
        if after.writes_held_email(seen, &unit) {
            continue;
        }
        pools.zoho.remove(record.id.as_str());
        pools.google.remove(at);
        after.add(&unit);
        out.paired.zoho_ids.insert(record.id.clone());
        out.paired.resource_names.insert(person.resource_name.clone());
        out.units.push(unit);
    }
    out
}

/// Emails each side will hold once the actions planned so far are applied.
#[derive(Debug, Default)]
pub(super) struct EmailsAfter {
    zoho: BTreeMap<String, Option<String>>,
    google: BTreeMap<String, Option<String>>,
    links: BTreeMap<String, Option<String>>,
    gone: BTreeSet<String>,
    created_in_zoho: BTreeSet<String>,
    created_in_google: BTreeSet<String>,
}

impl EmailsAfter {
    pub fn add(&mut self, unit: &Unit) {
        let email_in = |changes: &crate::contact::FieldChanges| changes.get(EMAIL_KEY).map(|e| normalize_email(e));
        for action in &unit.actions {
            match action {
                Action::UpdateZoho { zoho_id, changes, .. } => {
                    if let Some(e) = email_in(changes) {
                        self.zoho.insert(zoho_id.clone(), e);
                    }
                }
                Action::UpdateGoogle { google_resource_name, changes, .. } => {
                    if let Some(e) = email_in(changes) {
                        self.google.insert(google_resource_name.clone(), e);
                    }
                }
                Action::DeleteZoho { zoho_id, .. } => {
                    self.gone.insert(format!("z:{zoho_id}"));
                    self.links.insert(zoho_id.clone(), None);
                }
                Action::DeleteGoogle { zoho_id, google_resource_name } => {
                    self.gone.insert(format!("g:{google_resource_name}"));
                    self.links.insert(zoho_id.clone(), None);
                }
                Action::Link(l) | Action::UpdateLink(l) => drop(self.links.insert(l.zoho_id.clone(), l.email.clone())),
                Action::CreateInZoho { contact, .. } => self.created_in_zoho.extend(contact.email()),
                Action::CreateInGoogle { contact, .. } => self.created_in_google.extend(contact.email()),
                Action::StampZohoId { .. } | Action::Unlink { .. } => {}
            }
        }
    }

    /// Whether `email` is on `side` before or after this tick's planned writes, or on a link.
    /// Used for creates placed before other units' writes, which must not depend on them.
    pub fn held_anytime(&self, seen: &Seen, side: Side, email: &str) -> bool {
        let is = |e: Option<String>| e.as_deref() == Some(email);
        let (before, after, created) = match side {
            Side::Zoho => (seen.zoho.values().any(|z| is(z.record().and_then(|r| r.contact.email()))), &self.zoho, &self.created_in_zoho),
            Side::Google => {
                (seen.google.values().any(|g| is(g.record().and_then(|p| p.contact.email()))), &self.google, &self.created_in_google)
            }
        };
        let on_links = seen.links_by_zoho.values().any(|l| is(l.email.clone())) || self.links.values().any(|e| is(e.clone()));
        before || on_links || after.values().any(|e| is(e.clone())) || created.contains(email)
    }

    /// Whether one of `unit`'s updates writes an email that a contact other than the updated one
    /// holds on that side: now or after the writes planned so far, on a link, or in a create.
    pub fn writes_held_email(&self, seen: &Seen, unit: &Unit) -> bool {
        unit.actions.iter().any(|action| match action {
            Action::UpdateZoho { zoho_id, changes, .. } => changes
                .get(EMAIL_KEY)
                .and_then(|e| normalize_email(e))
                .is_some_and(|e| self.held_by_another(seen, Side::Zoho, zoho_id, &e)),
            Action::UpdateGoogle { google_resource_name, changes, .. } => changes
                .get(EMAIL_KEY)
                .and_then(|e| normalize_email(e))
                .is_some_and(|e| self.held_by_another(seen, Side::Google, google_resource_name, &e)),
            _ => false,
        })
    }

    fn held_by_another(&self, seen: &Seen, side: Side, except: &str, email: &str) -> bool {
        let is = |e: Option<String>| e.as_deref() == Some(email);
        let on_side = match side {
            Side::Zoho => seen.zoho.iter().filter(|(id, _)| **id != except && !self.gone.contains(&format!("z:{id}"))).any(|(id, z)| {
                is(self.zoho.get(*id).cloned().unwrap_or_else(|| z.record().and_then(|r| r.contact.email())))
            }),
            Side::Google => seen.google.iter().filter(|(rn, _)| **rn != except && !self.gone.contains(&format!("g:{rn}"))).any(|(rn, g)| {
                is(self.google.get(*rn).cloned().unwrap_or_else(|| g.record().and_then(|p| p.contact.email())))
            }),
        };
        let created = match side {
            Side::Zoho => &self.created_in_zoho,
            Side::Google => &self.created_in_google,
        };
        on_side || created.contains(email) || self.link_emails(seen).iter().any(|e| e == email)
    }

    fn taken_in_zoho(&self, seen: &Seen, pools: &Pools) -> BTreeSet<String> {
        let records = seen.zoho.iter().filter(|(id, _)| !pools.zoho.contains_key(*id) && !self.gone.contains(&format!("z:{id}")));
        let emails =
            records.filter_map(|(id, z)| self.zoho.get(*id).cloned().unwrap_or_else(|| z.record().and_then(|r| r.contact.email())));
        emails.chain(self.link_emails(seen)).chain(self.created_in_zoho.iter().cloned()).collect()
    }

    fn taken_in_google(&self, seen: &Seen, pools: &Pools) -> BTreeSet<String> {
        let in_pool: BTreeSet<&str> = pools.google.iter().map(|p| p.resource_name.as_str()).collect();
        let records = seen.google.iter().filter(|(rn, _)| !in_pool.contains(*rn) && !self.gone.contains(&format!("g:{rn}")));
        let emails =
            records.filter_map(|(rn, g)| self.google.get(*rn).cloned().unwrap_or_else(|| g.record().and_then(|p| p.contact.email())));
        emails.chain(self.link_emails(seen)).chain(self.created_in_google.iter().cloned()).collect()
    }

    fn link_emails(&self, seen: &Seen) -> Vec<String> {
        let existing = seen.links_by_zoho.values().filter_map(|l| self.links.get(&l.zoho_id).cloned().unwrap_or_else(|| l.email.clone()));
        existing.chain(self.links.values().flatten().cloned()).collect()
    }
}

#[derive(Debug, Default)]
pub(super) struct Pairing<'a> {
    pub pairs: Vec<(&'a ZohoChange, &'a GoogleChange)>,
    pub create_in_google: Vec<&'a ZohoChange>,
    pub create_in_zoho: Vec<&'a GoogleChange>,
    pub skipped: Vec<Skipped>,
}

pub(super) fn pair_by_email<'a>(
    seen: &Seen<'a>,
    pools: Pools<'a>,
    after: &EmailsAfter,
    flows: &Flows,
    required_missing: impl Fn(&GoogleChange) -> bool,
) -> Pairing<'a> {
    let mut out = Pairing::default();
    let taken_in_zoho = after.taken_in_zoho(seen, &pools);
    let taken_in_google = after.taken_in_google(seen, &pools);
    let in_google_elsewhere: BTreeSet<&str> =
        seen.google.values().filter_map(|g| g.record()).filter(|p| !p.in_group).filter_map(|p| p.zoho_id.as_deref()).collect();

    let mut by_zoho_id: Vec<&ZohoChange> = pools.zoho.values().copied().collect();
    by_zoho_id.sort_by(|a, b| id_order(&a.id, &b.id));
    let mut zoho_by_email: BTreeMap<String, Vec<&ZohoChange>> = BTreeMap::new();
    let mut create_in_google = Vec::new();
    for record in by_zoho_id {
        match record.contact.email() {
            Some(email) => zoho_by_email.entry(email).or_default().push(record),
            None => create_in_google.push(record),
        }
    }
    let mut google_by_email: BTreeMap<String, Vec<&GoogleChange>> = BTreeMap::new();
    let mut create_in_zoho = Vec::new();
    for person in &pools.google {
        match person.contact.email() {
            Some(email) => google_by_email.entry(email).or_default().push(*person),
            None => create_in_zoho.push(*person),
        }
    }
    let emails: BTreeSet<String> = zoho_by_email.keys().chain(google_by_email.keys()).cloned().collect();
    for email in emails {
        let zs = zoho_by_email.remove(&email).unwrap_or_default();
        let gs = google_by_email.remove(&email).unwrap_or_default();
        let paired = zs.len().min(gs.len());
        out.pairs.extend(zs.iter().copied().zip(gs.iter().copied()));
        let (zs, gs) = (&zs[paired..], &gs[paired..]);
        let (z_rest, g_rest) = match (zs.split_first(), gs.split_first()) {
            (Some(_), Some(_)) => unreachable!("zip pairs the shorter side fully"),
            (Some(_), None) if paired > 0 || taken_in_google.contains(&email) => (zs, &[][..]),
            (Some((z, z_rest)), None) => {
                create_in_google.push(z);
                (z_rest, &[][..])
            }
            (None, Some(_)) if paired > 0 || taken_in_zoho.contains(&email) => (&[][..], gs),
            (None, Some((g, g_rest))) => {
                create_in_zoho.push(g);
                (&[][..], g_rest)
            }
            (None, None) => continue,
        };
        if flows.google_write {
            out.skipped.extend(z_rest.iter().map(|z| Skipped { side: Side::Zoho, id: z.id.clone(), reason: SkipReason::EmailTaken }));
        }
        if flows.zoho_create {
            out.skipped.extend(g_rest.iter().map(|g| Skipped {
                side: Side::Google,
                id: g.resource_name.clone(),
                reason: SkipReason::EmailTaken,
            }));
        }
    }

    if flows.google_write {
        for record in create_in_google {
            if in_google_elsewhere.contains(record.id.as_str()) {
                out.skipped.push(Skipped { side: Side::Zoho, id: record.id.clone(), reason: SkipReason::InGoogleOutsideGroup });
            } else if pools.never_create_in_google.contains(record.id.as_str()) {
                out.skipped.push(Skipped { side: Side::Zoho, id: record.id.clone(), reason: SkipReason::ZohoIdOnSkippedPerson });
            } else {
                out.create_in_google.push(record);
            }
        }
    }
    if flows.zoho_create {
        for person in create_in_zoho {
            let reason = if pools.never_create_in_zoho.contains(person.resource_name.as_str()) {
                Some(SkipReason::ZohoIdNotSyncable)
            } else if required_missing(person) {
                Some(SkipReason::MissingRequiredZohoField)
            } else {
                None
            };
            match reason {
                Some(reason) => out.skipped.push(Skipped { side: Side::Google, id: person.resource_name.clone(), reason }),
                None => out.create_in_zoho.push(person),
            }
        }
    }
    out.create_in_google.sort_by(|a, b| id_order(&a.id, &b.id));
    out.create_in_zoho.sort_by(|a, b| id_order(&a.resource_name, &b.resource_name));
    out.pairs.sort_by(|a, b| id_order(&a.0.id, &b.0.id));
    out
}
