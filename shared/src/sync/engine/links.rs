//! The links a tick reads. A tick that lists everything (a first sync, an expired Google sync
//! token) or may delete enough to trip the mass-delete guard reads all of the connection's
//! links; any other tick reads only the links of what its feeds brought: by Zoho id, by
//! resourceName, and by email where an email may be taken (a contact without a link, or whose
//! email is not the one its link holds). An idle tick reads none. When the emails to look up
//! are too many, one read of all links is cheaper than a query per email.

use crate::store::{Link, StateStore, StoreError};
use crate::sync::{GoogleChange, ZohoChange};
use std::collections::{BTreeMap, BTreeSet};

/// Above this many emails to look up (a query each), all links are read instead.
pub const EMAIL_LOOKUPS_MAX: usize = 50;

/// Links read so far, and what was asked for.
#[derive(Debug, Default)]
pub struct TickLinks {
    by_zoho: BTreeMap<String, Link>,
    /// Every link of the connection is in `by_zoho`.
    complete: bool,
    asked_zoho: BTreeSet<String>,
    asked_names: BTreeSet<String>,
    asked_emails: BTreeSet<String>,
}

impl TickLinks {
    pub async fn all(store: &dyn StateStore, connection_id: &str) -> Result<TickLinks, StoreError> {
        let links = store.all_links(connection_id).await?;
        Ok(TickLinks { by_zoho: links.into_iter().map(|l| (l.zoho_id.clone(), l)).collect(), complete: true, ..TickLinks::default() })
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    pub fn is_empty(&self) -> bool {
        self.by_zoho.is_empty()
    }

    pub fn into_links(self) -> Vec<Link> {
        self.by_zoho.into_values().collect()
    }

    pub fn links(&self) -> impl Iterator<Item = &Link> {
        self.by_zoho.values()
    }

    pub fn is_linked_resource_name(&self, resource_name: &str) -> bool {
        self.by_zoho.values().any(|l| l.google_resource_name == resource_name)
    }

    /// Reads the links of these records and people (and of their tombstones), then of the emails
    /// they may take. Falls back to reading all links when the emails are too many.
    pub async fn cover(
        &mut self,
        store: &dyn StateStore,
        connection_id: &str,
        zoho: &[ZohoChange],
        zoho_tombstones: &[String],
        google: &[GoogleChange],
        google_tombstones: &[String],
    ) -> Result<(), StoreError> {
        if self.complete {
            return Ok(());
        }
        let zoho_ids: BTreeSet<String> = zoho
            .iter()
            .map(|z| z.id.clone())
            .chain(zoho_tombstones.iter().cloned())
            .chain(google.iter().filter_map(|g| g.zoho_id.clone()))
            .filter(|id| !self.asked_zoho.contains(id))
            .collect();
        let names: BTreeSet<String> =
            google.iter().map(|g| g.resource_name.clone()).chain(google_tombstones.iter().cloned()).filter(|rn| !self.asked_names.contains(rn)).collect();
        let zoho_ids: Vec<String> = zoho_ids.into_iter().collect();
        let names: Vec<String> = names.into_iter().collect();
        if !zoho_ids.is_empty() {
            self.add(store.links_by_zoho_ids(connection_id, &zoho_ids).await?);
        }
        if !names.is_empty() {
            self.add(store.links_by_resource_names(connection_id, &names).await?);
        }
        self.asked_zoho.extend(zoho_ids);
        self.asked_names.extend(names);

        let by_name: BTreeMap<&str, &Link> = self.by_zoho.values().map(|l| (l.google_resource_name.as_str(), l)).collect();
        let mut emails = BTreeSet::new();
        for (email, link) in zoho.iter().map(|z| (z.contact.email(), self.by_zoho.get(&z.id))).chain(google.iter().map(|g| (g.contact.email(), by_name.get(g.resource_name.as_str()).copied()))) {
            let Some(email) = email else { continue };
            if link.is_none_or(|l| l.email.as_deref() != Some(email.as_str())) && !self.asked_emails.contains(&email) {
                emails.insert(email);
            }
        }
        if emails.is_empty() {
            return Ok(());
        }
        if self.asked_emails.len() + emails.len() > EMAIL_LOOKUPS_MAX {
            *self = TickLinks::all(store, connection_id).await?;
            return Ok(());
        }
        let emails: Vec<String> = emails.into_iter().collect();
        self.add(store.links_by_emails(connection_id, &emails).await?);
        self.asked_emails.extend(emails);
        Ok(())
    }

    fn add(&mut self, links: Vec<Link>) {
        for link in links {
            self.by_zoho.insert(link.zoho_id.clone(), link);
        }
    }
}
