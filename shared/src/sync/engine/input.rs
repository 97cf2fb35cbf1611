//! API JSON → the planner's input (pure).

use crate::mapping::{google, zoho, Mapping};
use crate::store::Link;
use crate::sync::{GoogleChange, ZohoChange};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What one tick saw, in the planner's terms (the JSON is not kept: see [`super::people`]).
#[derive(Debug, Default)]
pub struct Seen {
    pub zoho_changes: Vec<ZohoChange>,
    /// Position of each Zoho id in `zoho_changes`.
    zoho_at: BTreeMap<String, usize>,
    pub zoho_tombstones: Vec<String>,
    pub google_changes: Vec<GoogleChange>,
    pub google_tombstones: Vec<String>,
    /// resourceNames of the live people in `google_changes`.
    people: BTreeSet<String>,
    /// Records or people without an id (a malformed answer); counted, never planned.
    pub unreadable: usize,
}

impl Seen {
    /// Adds a Zoho record. A record seen again from the list replaces the first sighting (the
    /// all-Contacts listing comes first) and counts as in scope.
    pub fn add_zoho(&mut self, record: &Value, in_scope: bool, mapping: &Mapping) {
        let Ok(id) = zoho::record_id(record) else {
            self.unreadable += 1;
            return;
        };
        let change = ZohoChange {
            id: id.to_string(),
            modified_time: zoho::modified_time(record).map(str::to_string),
            in_scope,
            contact: zoho::contact_from_record(record, mapping),
        };
        match self.zoho_at.get(id) {
            Some(&at) => {
                let in_scope = in_scope || self.zoho_changes[at].in_scope;
                self.zoho_changes[at] = ZohoChange { in_scope, ..change };
            }
            None => {
                self.zoho_at.insert(change.id.clone(), self.zoho_changes.len());
                self.zoho_changes.push(change);
            }
        }
    }

    /// Adds a person (or its tombstone); a person already seen is not added twice. Whether it
    /// was a live person seen for the first time.
    pub fn add_person(&mut self, person: &Value, group: Option<&str>, mapping: &Mapping) -> bool {
        let Ok(rn) = google::resource_name(person) else {
            self.unreadable += 1;
            return false;
        };
        if google::is_deleted(person) {
            self.google_tombstones.push(rn.to_string());
            return false;
        }
        if !self.people.insert(rn.to_string()) {
            return false;
        }
        self.google_changes.push(GoogleChange {
            resource_name: rn.to_string(),
            etag: google::etag(person).map(str::to_string),
            in_group: group.is_none_or(|g| google::in_group(person, g)),
            zoho_id: google::zoho_id(person),
            contact: google::contact_from_person(person, mapping),
        });
        true
    }

    pub fn has_person(&self, resource_name: &str) -> bool {
        self.people.contains(resource_name)
    }

    /// What to look up in Google before in-scope, unlinked Zoho records are created there
    /// (rule 7): their ids (a person may carry one: created before a crash, or unlinked when the
    /// record left the list and now back) and their emails, unless a person seen this tick
    /// already has them. An incremental feed does not show unchanged people. A link with the
    /// email is no proof of a person holding it: it may be dropped this very tick.
    pub fn to_look_up<'a>(&self, links: impl Iterator<Item = &'a Link>) -> Lookup {
        let linked: BTreeSet<&str> = links.map(|l| l.zoho_id.as_str()).collect();
        let seen_emails: BTreeSet<String> = self.google_changes.iter().filter_map(|g| g.contact.email()).collect();
        let seen_ids: BTreeSet<&str> = self.google_changes.iter().filter_map(|g| g.zoho_id.as_deref()).collect();
        let mut lookup = Lookup::default();
        for z in self.zoho_changes.iter().filter(|z| z.in_scope && !linked.contains(z.id.as_str())) {
            if !seen_ids.contains(z.id.as_str()) {
                lookup.zoho_ids.insert(z.id.clone());
            }
            lookup.emails.extend(z.contact.email().filter(|e| !seen_emails.contains(e)));
        }
        lookup
    }
}

/// People to find in a full listing: by the Zoho id stored on them, or by email.
#[derive(Debug, Default)]
pub struct Lookup {
    pub zoho_ids: BTreeSet<String>,
    pub emails: BTreeSet<String>,
}

impl Lookup {
    pub fn is_empty(&self) -> bool {
        self.zoho_ids.is_empty() && self.emails.is_empty()
    }

    pub fn wants(&self, person: &Value, mapping: &Mapping) -> bool {
        google::zoho_id(person).is_some_and(|id| self.zoho_ids.contains(&id))
            || google::contact_from_person(person, mapping).email().is_some_and(|e| self.emails.contains(&e))
    }
}
