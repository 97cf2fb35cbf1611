//! "Both sides agree": the checks every sync test ends with, on plain JSON from either the
//! emulators or the in-memory fake.

use serde_json::Value;
use shared::contact::Contact;
use shared::mapping::{google, zoho, Mapping};
use shared::store::Link;
use std::collections::{BTreeMap, BTreeSet};

/// Fields that flow one way only by design (Zoho takes `Account_Name` only as a lookup id).
const ONE_WAY_FIELDS: [&str; 1] = ["Account_Name"];

#[derive(Debug, Clone)]
pub struct SideRecord {
    pub id: String,
    pub in_scope: bool,
    pub contact: Contact,
    /// The Zoho id stored on a Google person.
    pub stamp: Option<String>,
}

pub fn google_side(people: &[Value], group: &str, mapping: &Mapping) -> Vec<SideRecord> {
    people
        .iter()
        .filter(|p| !google::is_deleted(p))
        .filter_map(|p| {
            Some(SideRecord { id: google::resource_name(p).ok()?.to_string(), in_scope: google::in_group(p, group), contact: google::contact_from_person(p, mapping), stamp: google::zoho_id(p) })
        })
        .collect()
}

pub fn zoho_side(records: &[Value], in_scope: impl Fn(&Value) -> bool, mapping: &Mapping) -> Vec<SideRecord> {
    records
        .iter()
        .filter_map(|r| Some(SideRecord { id: zoho::record_id(r).ok()?.to_string(), in_scope: in_scope(r), contact: zoho::contact_from_record(r, mapping), stamp: None }))
        .collect()
}

fn two_way(contact: &Contact) -> Contact {
    contact.restricted(|k| !ONE_WAY_FIELDS.contains(&k))
}

/// Emails held by more than one in-scope contact on a side.
pub fn duplicate_emails(side: &[SideRecord]) -> Vec<String> {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in side.iter().filter(|r| r.in_scope) {
        if let Some(e) = r.contact.email() {
            *count.entry(e).or_default() += 1;
        }
    }
    count.into_iter().filter(|(_, n)| *n > 1).map(|(e, _)| e).collect()
}

/// Ids of in-scope contacts whose mapped values equal an earlier one's on the same side: a copy,
/// which for contacts without an email no email check would notice. Only meaningful for
/// scenarios whose contacts all differ.
pub fn copies(side: &[SideRecord]) -> Vec<String> {
    let mut seen: Vec<Contact> = Vec::new();
    let mut out = Vec::new();
    for r in side.iter().filter(|r| r.in_scope) {
        let values = two_way(&r.contact);
        if seen.contains(&values) {
            out.push(r.id.clone());
        } else {
            seen.push(values);
        }
    }
    out
}

/// Every in-scope contact on both sides is linked one-to-one, the linked pairs hold the same
/// mapped values, and no email is held twice on a side. The error names ids, never values.
pub fn converged(google: &[SideRecord], zoho: &[SideRecord], links: &[Link]) -> Result<(), String> {
    converged_allowing(google, zoho, links, &BTreeSet::new())
}

/// Ids the planner reported as skipped in a run log (`skipped Google people/c1 reason=...`).
pub fn skipped_ids(log: &[String]) -> impl Iterator<Item = String> + '_ {
    log.iter().filter_map(|l| l.strip_prefix("skipped ")).filter_map(|rest| rest.split_whitespace().nth(1).map(str::to_string))
}

/// [`converged`], except that contacts in `skipped` (the planner said why) may stay unlinked:
/// a contact skipped because another held its email is revisited only when it changes.
pub fn converged_allowing(google: &[SideRecord], zoho: &[SideRecord], links: &[Link], skipped: &BTreeSet<String>) -> Result<(), String> {
    let dups: Vec<String> = duplicate_emails(google).into_iter().chain(duplicate_emails(zoho)).collect();
    if !dups.is_empty() {
        return Err(format!("{} emails are held twice on one side", dups.len()));
    }
    let g: BTreeMap<&str, &SideRecord> = google.iter().map(|r| (r.id.as_str(), r)).collect();
    let z: BTreeMap<&str, &SideRecord> = zoho.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut linked_g = BTreeSet::new();
    let mut linked_z = BTreeSet::new();
    for link in links {
        if !linked_g.insert(link.google_resource_name.as_str()) || !linked_z.insert(link.zoho_id.as_str()) {
            return Err(format!("link {} ⇄ {} is not one-to-one", link.zoho_id, link.google_resource_name));
        }
        let (Some(gr), Some(zr)) = (g.get(link.google_resource_name.as_str()), z.get(link.zoho_id.as_str())) else {
            return Err(format!("link {} ⇄ {} points at a missing contact", link.zoho_id, link.google_resource_name));
        };
        if two_way(&gr.contact) != two_way(&zr.contact) {
            let fields: Vec<&str> = gr.contact.iter().map(|(k, _)| k).chain(zr.contact.iter().map(|(k, _)| k)).filter(|k| gr.contact.get(k) != zr.contact.get(k)).collect();
            return Err(format!("pair {} ⇄ {} differs in {:?}", link.zoho_id, link.google_resource_name, fields));
        }
    }
    // Rule 5: a contact whose partner left the group or the list stays, unlinked. Its partner is
    // out of scope on the other side: same email, or tied by the Zoho id on the person.
    // A person carrying the id of a Zoho record that no longer exists was synced once and its
    // record is gone after the link was dropped: it is not created again.
    let partner_out_of_scope = |mine: &SideRecord, other_side: &[SideRecord], is_google: bool| {
        if skipped.contains(&mine.id) {
            return true;
        }
        let partner_gone = is_google && mine.stamp.as_deref().is_some_and(|s| !other_side.iter().any(|o| o.id == s));
        partner_gone || other_side.iter().any(|o| {
            !o.in_scope
                && ((mine.contact.email().is_some() && mine.contact.email() == o.contact.email())
                    || (is_google && mine.stamp.as_deref() == Some(o.id.as_str()))
                    || (!is_google && o.stamp.as_deref() == Some(mine.id.as_str())))
        })
    };
    let unlinked_g: Vec<&str> = google
        .iter()
        .filter(|r| r.in_scope && !linked_g.contains(r.id.as_str()) && !partner_out_of_scope(r, zoho, true))
        .map(|r| r.id.as_str())
        .collect();
    let unlinked_z: Vec<&str> = zoho
        .iter()
        .filter(|r| r.in_scope && !linked_z.contains(r.id.as_str()) && !partner_out_of_scope(r, google, false))
        .map(|r| r.id.as_str())
        .collect();
    if !unlinked_g.is_empty() || !unlinked_z.is_empty() {
        return Err(format!("not synced: google {unlinked_g:?}, zoho {unlinked_z:?}"));
    }
    Ok(())
}
