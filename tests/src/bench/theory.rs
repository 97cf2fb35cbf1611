//! What a scenario's work costs at best (full pages, full batches) and what a naive sync without
//! batching would spend: computed from the work, never run.
//!
//! The work is what had to be read (records and people listed) and what had to be written,
//! the writes taken from a plan of the whole scenario ([`Work::add_plan`], unlimited budget).

use shared::sync::{Action, Plan};
use std::collections::BTreeSet;

pub const ZOHO_PAGE: u64 = 200;
pub const ZOHO_WRITE: u64 = 100;
pub const GOOGLE_PAGE: u64 = 1000;
pub const GOOGLE_WRITE: u64 = 200;
pub const GOOGLE_DELETE: u64 = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Work {
    /// Connections (each needs one access token per provider and one listing per side at least).
    pub connections: u64,
    /// Zoho records and Google people that must be read (the whole list / account on a first
    /// sync; the changed ones on an incremental tick).
    pub zoho_read: u64,
    pub google_read: u64,
    pub zoho_create: u64,
    pub zoho_update: u64,
    pub zoho_delete: u64,
    pub google_create: u64,
    /// People written to (field updates and Zoho-id stamps of one person are one body).
    pub google_update: u64,
    pub google_delete: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cost {
    /// (what, calls), in report order.
    pub parts: Vec<(&'static str, u64)>,
}

impl Cost {
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|(_, n)| n).sum()
    }

    /// Calls without the OAuth token refreshes.
    pub fn data_calls(&self) -> u64 {
        self.parts.iter().filter(|(what, _)| !what.starts_with("token")).map(|(_, n)| n).sum()
    }
}

fn batches(n: u64, size: u64) -> u64 {
    n.div_ceil(size)
}

impl Work {
    /// The writes of a plan (creates, updates, deletes; stamps of Zoho ids on people).
    pub fn add_plan(&mut self, plan: &Plan) {
        let mut people: BTreeSet<&str> = BTreeSet::new();
        for action in plan.actions() {
            match action {
                Action::CreateInGoogle { .. } => self.google_create += 1,
                // The new record's id is stamped on the person afterwards.
                Action::CreateInZoho { google_resource_name, .. } => {
                    self.zoho_create += 1;
                    people.insert(google_resource_name);
                }
                Action::UpdateZoho { .. } => self.zoho_update += 1,
                Action::DeleteZoho { .. } => self.zoho_delete += 1,
                Action::DeleteGoogle { .. } => self.google_delete += 1,
                Action::UpdateGoogle { google_resource_name, .. } | Action::StampZohoId { google_resource_name, .. } => {
                    people.insert(google_resource_name);
                }
                Action::Link(_) | Action::UpdateLink(_) | Action::Unlink { .. } => {}
            }
        }
        self.google_update += people.len() as u64;
    }

    /// Full pages and full batches; one listing call per side even when nothing changed; one
    /// access token per provider and connection.
    pub fn minimum(&self) -> Cost {
        let c = self.connections.max(1);
        let parts = vec![
            ("token refresh (Google + Zoho)", 2 * c),
            ("Zoho list (pages of 200)", batches(self.zoho_read, ZOHO_PAGE).max(c)),
            ("Google list (pages of 1000)", batches(self.google_read, GOOGLE_PAGE).max(c)),
            ("Zoho create (100)", batches(self.zoho_create, ZOHO_WRITE)),
            ("Zoho update (100)", batches(self.zoho_update, ZOHO_WRITE)),
            ("Zoho delete (100)", batches(self.zoho_delete, ZOHO_WRITE)),
            ("Google create (200)", batches(self.google_create, GOOGLE_WRITE)),
            ("Google update (200)", batches(self.google_update, GOOGLE_WRITE)),
            ("Google delete (500)", batches(self.google_delete, GOOGLE_DELETE)),
        ];
        Cost { parts: parts.into_iter().filter(|(_, n)| *n > 0).collect() }
    }

    /// One call per contact read and per contact written (no pages, no batches); still one
    /// listing call per side when nothing changed, and the same token refreshes.
    pub fn naive(&self) -> Cost {
        let c = self.connections.max(1);
        let parts = vec![
            ("token refresh (Google + Zoho)", 2 * c),
            ("Zoho reads (1 per record)", self.zoho_read.max(c)),
            ("Google reads (1 per person)", self.google_read.max(c)),
            ("Zoho writes (1 per record)", self.zoho_create + self.zoho_update + self.zoho_delete),
            ("Google writes (1 per person)", self.google_create + self.google_update + self.google_delete),
        ];
        Cost { parts: parts.into_iter().filter(|(_, n)| *n > 0).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_uses_full_pages_and_batches() {
        let work = Work { connections: 1, zoho_read: 10_000, google_read: 10_000, zoho_create: 5_000, google_create: 5_000, google_update: 10_000, zoho_update: 2_500, ..Work::default() };
        let min = work.minimum();
        // 2 tokens + 50 + 10 pages + 50 + 25 Zoho writes + 25 + 50 Google writes
        assert_eq!(min.total(), 2 + 50 + 10 + 50 + 25 + 25 + 50);
        assert_eq!(min.data_calls(), min.total() - 2);
        assert_eq!(work.naive().total(), 2 + 10_000 + 10_000 + 7_500 + 15_000);
    }

    #[test]
    fn an_idle_tick_still_lists_each_side_once() {
        let work = Work { connections: 100, ..Work::default() };
        assert_eq!(work.minimum().total(), 400);
        assert_eq!(work.naive().total(), 400);
    }
}
