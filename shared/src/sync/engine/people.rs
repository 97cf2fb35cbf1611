//! The Google people a tick has read, by resourceName. Updates are merged into the person as read
//! (so list items outside the mapping survive). People the incremental feed did not bring are
//! read by name with `people:batchGet` ([`People::read`], 200 per call); a full listing
//! ([`People::load_all`], at most once per tick) is only for finding people by email or by the
//! Zoho id they carry before a create (rule 7).
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
    known: BTreeMap<String, Value>,
    /// Every live person of the account is in `known` (a full listing was read this tick).
    complete: bool,
}

impl People {
    pub fn new(known: BTreeMap<String, Value>, complete: bool) -> Self {
        People { known, complete }
    }

    pub fn get(&self, resource_name: &str) -> Option<&Value> {
        self.known.get(resource_name)
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Keeps the person as a write returned it (its new etag).
    pub fn remember(&mut self, person: &Value) {
        if let Ok(rn) = google::resource_name(person) {
            self.known.insert(rn.to_string(), person.clone());
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
                    Some(PersonRead::Found(person)) => {
                        // Kept under the name asked for: links and plans use that one.
                        self.known.insert(rn.clone(), person.clone());
                    }
                    Some(PersonRead::NotFound) => drop(reads.not_found.insert(rn.clone())),
                    Some(PersonRead::Failed(_)) | None => reads.unanswered += 1,
                }
            }
        }
        Ok(reads)
    }

    /// Reads every person once; later calls do nothing.
    pub async fn load_all(&mut self, port: &dyn GooglePort) -> Result<(), PortError> {
        if self.complete {
            return Ok(());
        }
        let (listed, _) = list_all_people(port, None).await?;
        for person in listed.iter().filter(|p| !google::is_deleted(p)) {
            if let Ok(rn) = google::resource_name(person) {
                // What this tick already read (or wrote) is at least as new.
                self.known.entry(rn.to_string()).or_insert_with(|| person.clone());
            }
        }
        self.complete = true;
        Ok(())
    }

    /// People the lookup asks for.
    pub fn matching<'a>(&'a self, lookup: &'a super::input::Lookup, mapping: &'a crate::mapping::Mapping) -> impl Iterator<Item = &'a Value> + 'a {
        self.known.values().filter(move |p| lookup.wants(p, mapping))
    }
}
