//! The Google people a tick has read, by resourceName. Updates are merged into the person as read
//! (so list items outside the mapping survive). People the incremental feed did not bring are
//! read by name with `people:batchGet` ([`People::read`], 200 per call); a full listing
//! ([`People::find`], at most once per tick) is only for finding people by email or by the
//! Zoho id they carry before a create (rule 7).
//!
//! People are kept as compact JSON text, not as parsed `Value`s (several times larger): a first
//! sync keeps every person of the group until its writes are done.
//!
//! Why not `people:searchContacts` for those look-ups: it is served from a cache that needs a
//! warm-up request and lags writes (see the facts file, "Eventual consistency"), it matches
//! prefixes of several fields and returns at most 30 results, and it cannot search
//! `externalIds`. A person created just before a crash could be missed, and the retry would
//! create a duplicate: exactly what the look-up is there to prevent.

use super::fetch::list_all_people;
use super::ports::{GooglePort, PersonRead, PortError};
use crate::google::BATCH_GET_MAX;
use crate::mapping::google;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What [`People::read`] learnt beyond the people it found.
#[derive(Debug, Default)]
pub struct Reads {
    /// Names Google says do not exist (deleted contacts).
    pub not_found: BTreeSet<String>,
    /// Names Google answered with another error: whether they exist is unknown.
    pub unanswered: usize,
}

#[derive(Debug, Default)]
pub struct People {
    known: BTreeMap<String, Box<str>>,
    /// A full listing was read this tick: every live person then is in `known`.
    complete: bool,
}

impl People {
    /// `complete`: the people remembered next are a full listing.
    pub fn new(complete: bool) -> Self {
        People { known: BTreeMap::new(), complete }
    }

    pub fn set_complete(&mut self, complete: bool) {
        self.complete = complete;
    }

    pub fn get(&self, resource_name: &str) -> Option<Value> {
        self.known.get(resource_name).and_then(|text| serde_json::from_str(text).ok())
    }

    pub fn contains(&self, resource_name: &str) -> bool {
        self.known.contains_key(resource_name)
    }

    /// Keeps the person as read or as a write returned it (its new etag).
    pub fn remember(&mut self, person: &Value) {
        if let Ok(rn) = google::resource_name(person) {
            self.keep(rn.to_string(), person);
        }
    }

    fn keep(&mut self, resource_name: String, person: &Value) {
        if let Ok(text) = serde_json::to_string(person) {
            self.known.insert(resource_name, text.into_boxed_str());
        }
    }

    /// Reads with `people:batchGet` the named people not read yet this tick (also after a full
    /// listing: a listing may miss a person that exists). A name Google could not answer for
    /// stays unknown.
    pub async fn read(&mut self, port: &dyn GooglePort, resource_names: impl IntoIterator<Item = &str>) -> Result<Reads, PortError> {
        let wanted: BTreeSet<String> = resource_names.into_iter().filter(|rn| !self.known.contains_key(*rn)).map(str::to_string).collect();
        let wanted: Vec<String> = wanted.into_iter().collect();
        let mut reads = Reads::default();
        for chunk in wanted.chunks(BATCH_GET_MAX) {
            let answers = port.get_people(chunk).await?;
            for rn in chunk {
                match answers.get(rn) {
                    // Kept under the name asked for: links and plans use that one.
                    Some(PersonRead::Found(person)) => self.keep(rn.clone(), person),
                    Some(PersonRead::NotFound) => drop(reads.not_found.insert(rn.clone())),
                    Some(PersonRead::Failed(_)) | None => reads.unanswered += 1,
                }
            }
        }
        Ok(reads)
    }

    /// The people `lookup` asks for: from what is known when the tick's feed was a full listing,
    /// otherwise from a full listing (keeping only the people found; a tick asks once).
    pub async fn find(&mut self, port: &dyn GooglePort, lookup: &super::input::Lookup, mapping: &crate::mapping::Mapping) -> Result<Vec<Value>, PortError> {
        if self.complete {
            return Ok(self.known.values().filter_map(|text| serde_json::from_str::<Value>(text).ok()).filter(|p| lookup.wants(p, mapping)).collect());
        }
        let mut found = Vec::new();
        list_all_people(port, None, &mut |person| {
            if !google::is_deleted(&person) && lookup.wants(&person, mapping) {
                found.push(person);
            }
        })
        .await?;
        for person in &found {
            // What this tick already read (or wrote) is at least as new.
            if let Ok(rn) = google::resource_name(person) {
                if !self.known.contains_key(rn) {
                    self.keep(rn.to_string(), person);
                }
            }
        }
        let found = found.into_iter().filter_map(|p| google::resource_name(&p).ok().and_then(|rn| self.get(rn))).collect();
        Ok(found)
    }
}
