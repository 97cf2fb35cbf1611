//! The Google people a tick has read, by resourceName. Updates are merged into the person as read
//! (so list items outside the mapping survive); a person the incremental feed did not bring is
//! read with one full listing per tick at most.
//!
//! The People API's `people:batchGet` (200 per call) would be cheaper than a full listing; the
//! client and the emulator do not offer it yet, and the swap is local to [`People::load_all`].

use super::fetch::list_all_people;
use super::ports::{GooglePort, PortError};
use crate::mapping::google;
use serde_json::Value;
use std::collections::BTreeMap;

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

    /// The former name of [`People::matching`].
    pub fn with_emails<'a>(&'a self, lookup: &'a super::input::Lookup, mapping: &'a crate::mapping::Mapping) -> impl Iterator<Item = &'a Value> + 'a {
        self.matching(lookup, mapping)
    }
}
