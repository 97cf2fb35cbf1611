//! The links a tick reads. A tick that lists everything (a first sync, an expired Google sync
//! token) or may delete enough to trip the mass-delete guard reads all of the connection's
//! links; any other tick reads only the links of what its feeds brought: by Zoho id, by
//! resourceName, and by email where an email may be taken (a contact without a link, or whose
//! email is not the one its link holds). An idle tick reads none. When the keys or emails to look
//! up are too many, one read of all links is cheaper.

use crate::store::{Link, StateStore, StoreError};
use crate::sync::{GoogleChange, ZohoChange};
use std::collections::{BTreeMap, BTreeSet};

/// Above this many emails to look up (a query each), all links are read instead.
pub const EMAIL_LOOKUPS_MAX: usize = 50;
/// Above this many ids and resourceNames, all links are read instead: a key read costs a read
/// unit (two for a resourceName, through its pointer), a listing a quarter unit per link, so
/// for a feed this large (the echo of a first sync) one listing is the cheaper read.
pub const KEY_LOOKUPS_MAX: usize = 2_000;

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
        if self.asked_zoho.len() + self.asked_names.len() + zoho_ids.len() + names.len() > KEY_LOOKUPS_MAX {
            *self = TickLinks::all(store, connection_id).await?;
            return Ok(());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Contact;
    use crate::store::sqlite::SqliteStore;
    use crate::store::LinkStore;

    fn link(i: usize) -> Link {
        Link {
            connection_id: "c".into(),
            zoho_id: format!("z{i}"),
            google_resource_name: format!("people/c{i}"),
            email: Some(format!("p{i}@example.com")),
            field_hashes: Default::default(),
            zoho_modified_time: None,
            google_etag: None,
            updated_at: 0,
        }
    }

    fn change(i: usize, email: &str) -> ZohoChange {
        ZohoChange { id: format!("z{i}"), modified_time: None, in_scope: true, contact: Contact::new().with(crate::contact::EMAIL_KEY, email) }
    }

    async fn store_with(links: usize) -> SqliteStore {
        let store = SqliteStore::in_memory().expect("store");
        store.save_links(&(0..links).map(link).collect::<Vec<_>>()).await.expect("links");
        store
    }

    #[tokio::test]
    async fn a_small_feed_reads_only_its_links_and_those_holding_its_new_emails() {
        let store = store_with(10).await;
        let mut links = TickLinks::default();
        // z1 is unchanged; z2 takes p3's email; z99 is new with p4's email.
        let zoho = [change(1, "p1@example.com"), change(2, "p3@example.com"), change(99, "p4@example.com")];
        links.cover(&store, "c", &zoho, &[], &[], &[]).await.expect("cover");
        let found: BTreeSet<String> = links.links().map(|l| l.zoho_id.clone()).collect();
        assert_eq!(found, ["z1", "z2", "z3", "z4"].map(String::from).into());
        assert!(!links.is_complete());
    }

    #[tokio::test]
    async fn a_feed_larger_than_the_key_limit_reads_every_link() {
        let store = store_with(5).await;
        let zoho: Vec<ZohoChange> = (100..100 + KEY_LOOKUPS_MAX + 1).map(|i| change(i, "")).collect();
        let mut links = TickLinks::default();
        links.cover(&store, "c", &zoho, &[], &[], &[]).await.expect("cover");
        assert!(links.is_complete());
        assert_eq!(links.into_links().len(), 5, "the links none of the records name are read too");
    }

    #[tokio::test]
    async fn more_new_emails_than_the_limit_read_every_link() {
        let store = store_with(5).await;
        let zoho: Vec<ZohoChange> = (100..100 + EMAIL_LOOKUPS_MAX + 1).map(|i| change(i, &format!("new{i}@example.com"))).collect();
        let mut links = TickLinks::default();
        links.cover(&store, "c", &zoho, &[], &[], &[]).await.expect("cover");
        assert!(links.is_complete());
    }
}
