//! Contacts without a link: relink by the Zoho id stored on the person, match by email, or create.
//!
//! Order of preference for an unlinked, in-scope contact:
//! 1. A Google person carrying a Zoho id (crash recovery) pairs with that Zoho record when it was
//!    seen this tick, in the list and unlinked. A person carrying the id of a record linked to
//!    another person (a copy), deleted, or outside the list is skipped; one carrying an id not
//!    seen this tick may still match by email but is never created in Zoho (it was synced once).
//! 2. Email match (Zoho `Email` ⇄ Google work email, trimmed, lower-cased). When several contacts
//!    on one side share an email, the smallest id pairs (Zoho ids and resourceNames compared by
//!    length then text: the oldest record) and the others are skipped as `EmailTaken`.
//! 3. Create on the other side, unless another contact already holds the email there (a link,
//!    a contact outside the group/list, or a contact excluded above): that would be a duplicate,
//!    and on Zoho the upsert on `Email` would overwrite the holder. Contacts without an email are
//!    never matched, only created (and linked by id).

use super::model::{GoogleChange, SkipReason, Skipped, ZohoChange, Side};
use super::plan::{Seen, ZohoSeen, GoogleSeen};
use super::resolve::Flows;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub(super) struct Pairing<'a> {
    pub pairs: Vec<(&'a ZohoChange, &'a GoogleChange)>,
    pub create_in_google: Vec<&'a ZohoChange>,
    pub create_in_zoho: Vec<&'a GoogleChange>,
    pub skipped: Vec<Skipped>,
}

/// Ids in creation order: shorter first, then by text (Zoho ids and person ids are numeric).
pub(super) fn id_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

pub(super) fn pair_up<'a>(seen: &Seen<'a>, flows: &Flows, required_missing: impl Fn(&GoogleChange) -> bool) -> Pairing<'a> {
    let mut out = Pairing::default();
    let mut zoho_pool: BTreeMap<&str, &ZohoChange> = seen
        .zoho
        .iter()
        .filter_map(|(id, z)| match z {
            ZohoSeen::Record(r) if r.in_scope && !seen.links_by_zoho.contains_key(id) => Some((*id, *r)),
            _ => None,
        })
        .collect();
    let mut google_pool: Vec<&GoogleChange> = seen
        .google
        .iter()
        .filter_map(|(rn, g)| match g {
            GoogleSeen::Record(p) if p.in_group && !seen.links_by_google.contains_key(rn) => Some(*p),
            _ => None,
        })
        .collect();
    google_pool.sort_by(|a, b| id_order(&a.resource_name, &b.resource_name));

    // 1. Zoho id stored on the person.
    let mut never_create_in_zoho = BTreeSet::new();
    let mut by_email_google = Vec::new();
    for person in google_pool {
        let Some(zoho_id) = person.zoho_id.as_deref() else {
            by_email_google.push(person);
            continue;
        };
        let skip_reason = if seen.links_by_zoho.contains_key(zoho_id) {
            Some(SkipReason::ZohoIdLinkedElsewhere)
        } else if let Some(record) = zoho_pool.remove(zoho_id) {
            out.pairs.push((record, person));
            continue;
        } else {
            match seen.zoho.get(zoho_id) {
                None => {
                    never_create_in_zoho.insert(person.resource_name.as_str());
                    by_email_google.push(person);
                    continue;
                }
                Some(ZohoSeen::Record(r)) if r.in_scope => Some(SkipReason::ZohoIdLinkedElsewhere),
                Some(_) => Some(SkipReason::ZohoIdNotSyncable),
            }
        };
        if let Some(reason) = skip_reason {
            out.skipped.push(Skipped { side: Side::Google, id: person.resource_name.clone(), reason });
        }
    }

    // 2. Email match. Emails held outside the pools count as taken.
    let mut by_email_zoho: Vec<&ZohoChange> = zoho_pool.into_values().collect();
    by_email_zoho.sort_by(|a, b| id_order(&a.id, &b.id));
    let in_zoho_pool: BTreeSet<&str> = by_email_zoho.iter().map(|z| z.id.as_str()).collect();
    let in_google_pool: BTreeSet<&str> = by_email_google.iter().map(|g| g.resource_name.as_str()).collect();
    let link_emails = seen.links_by_zoho.values().filter_map(|l| l.email.clone());
    let taken_in_zoho: BTreeSet<String> = link_emails
        .clone()
        .chain(seen.zoho.iter().filter(|(id, _)| !in_zoho_pool.contains(*id)).filter_map(|(_, z)| z.record()?.contact.email()))
        .collect();
    let taken_in_google: BTreeSet<String> = link_emails
        .chain(seen.google.iter().filter(|(rn, _)| !in_google_pool.contains(*rn)).filter_map(|(_, g)| g.record()?.contact.email()))
        .collect();

    let mut zoho_by_email: BTreeMap<String, Vec<&ZohoChange>> = BTreeMap::new();
    for record in by_email_zoho {
        match record.contact.email() {
            Some(email) => zoho_by_email.entry(email).or_default().push(record),
            None => out.create_in_google.push(record),
        }
    }
    let mut google_by_email: BTreeMap<String, Vec<&GoogleChange>> = BTreeMap::new();
    for person in by_email_google {
        match person.contact.email() {
            Some(email) => google_by_email.entry(email).or_default().push(person),
            None => out.create_in_zoho.push(person),
        }
    }
    let emails: BTreeSet<String> = zoho_by_email.keys().chain(google_by_email.keys()).cloned().collect();
    for email in emails {
        let zs = zoho_by_email.remove(&email).unwrap_or_default();
        let gs = google_by_email.remove(&email).unwrap_or_default();
        let (z_rest, g_rest) = match (zs.split_first(), gs.split_first()) {
            (Some((z, z_rest)), Some((g, g_rest))) => {
                out.pairs.push((z, g));
                (z_rest, g_rest)
            }
            (Some((z, z_rest)), None) => {
                if taken_in_google.contains(&email) {
                    (zs.as_slice(), &[][..])
                } else {
                    out.create_in_google.push(z);
                    (z_rest, &[][..])
                }
            }
            (None, Some((g, g_rest))) => {
                if taken_in_zoho.contains(&email) {
                    (&[][..], gs.as_slice())
                } else {
                    out.create_in_zoho.push(g);
                    (&[][..], g_rest)
                }
            }
            (None, None) => continue,
        };
        if flows.google_write {
            out.skipped.extend(z_rest.iter().map(|z| Skipped { side: Side::Zoho, id: z.id.clone(), reason: SkipReason::EmailTaken }));
        }
        if flows.zoho_create {
            out.skipped.extend(g_rest.iter().map(|g| Skipped { side: Side::Google, id: g.resource_name.clone(), reason: SkipReason::EmailTaken }));
        }
    }

    // 3. What may be created.
    if !flows.google_write {
        out.create_in_google.clear();
    }
    let creatable = std::mem::take(&mut out.create_in_zoho);
    if flows.zoho_create {
        for person in creatable {
            let reason = if never_create_in_zoho.contains(person.resource_name.as_str()) {
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
