//! What tests do to the emulator directly: seed accounts, people and groups, act as the user in
//! Google's own UI (edit, delete), read state, and turn the fault knobs.

use super::oauth::issue_tokens;
use super::render::{render_group, render_person, PERSON_FIELDS};
use super::state::{
    group_names, membership, normalize_memberships, now_rfc3339, ContactFault, GoogleState,
    StoredGroup, CLIENT_ID, CONTACTS_SCOPE,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Tokens handed out without the consent round trip.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
}

fn all_fields() -> Vec<String> {
    PERSON_FIELDS.iter().map(|f| f.to_string()).collect()
}

impl GoogleState {
    /// A refresh and an access token for `account` (scope `contacts` unless given), issued to
    /// the default client, as if the user had connected.
    pub fn issue_tokens(&self, account: &str, scopes: Option<&str>) -> TokenGrant {
        let mut inner = self.lock();
        inner.account(account);
        let scopes = scopes.unwrap_or(CONTACTS_SCOPE);
        let body = issue_tokens(&mut inner, account, CLIENT_ID, scopes, true);
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        TokenGrant {
            access_token: text("access_token"),
            refresh_token: text("refresh_token"),
            expires_in: body.get("expires_in").and_then(Value::as_u64).unwrap_or(0),
            scope: text("scope"),
        }
    }

    /// Registers another OAuth client.
    pub fn add_client(&self, client_id: &str, client_secret: &str) {
        self.lock()
            .clients
            .insert(client_id.into(), client_secret.into());
    }

    /// Adds contacts (Person JSON as a client would send it); returns their resource names.
    /// They count as changes for sync tokens taken earlier.
    pub fn seed_people(&self, account: &str, people: Vec<Value>) -> Vec<String> {
        let mut inner = self.lock();
        people
            .into_iter()
            .map(|p| inner.create_person(account, p))
            .collect()
    }

    /// Creates a user contact group (or returns the existing one of that name).
    pub fn create_group(&self, account: &str, name: &str) -> String {
        let mut inner = self.lock();
        if let Some((rn, _)) = inner
            .account(account)
            .groups
            .iter()
            .find(|(_, g)| !g.system && g.name == name)
        {
            return rn.clone();
        }
        let rn = format!("contactGroups/{:x}", 0x3a5f_0000_0000u64 + inner.next_id());
        let etag = inner.new_etag();
        inner.account(account).groups.insert(
            rn.clone(),
            StoredGroup {
                name: name.into(),
                system: false,
                etag,
                update_time: now_rfc3339(),
            },
        );
        rn
    }

    /// Adds people to a group, as the user would in Google Contacts.
    pub fn add_to_group(&self, account: &str, group: &str, people: &[String]) {
        for rn in people {
            self.edit_person(account, rn, |p| {
                let mut groups = group_names(p);
                if !groups.iter().any(|g| g == group) {
                    groups.push(group.to_string());
                }
                p["memberships"] = Value::Array(groups.iter().map(|g| membership(g)).collect());
            });
        }
    }

    /// Changes a contact as the user would in Google Contacts (new etag; shows in the sync feed).
    /// Returns false if there is no such live contact.
    pub fn edit_person(
        &self,
        account: &str,
        resource_name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> bool {
        let mut inner = self.lock();
        let Some(mut data) = inner
            .account(account)
            .people
            .get(resource_name)
            .filter(|p| !p.deleted)
            .map(|p| p.data.clone())
        else {
            return false;
        };
        edit(&mut data);
        normalize_memberships(&mut data);
        inner.put_person(account, resource_name, data, false);
        true
    }

    /// Deletes a contact as the user would; it leaves a tombstone for incremental sync.
    pub fn delete_person(&self, account: &str, resource_name: &str) -> bool {
        let mut inner = self.lock();
        let Some(data) = inner
            .account(account)
            .people
            .get(resource_name)
            .filter(|p| !p.deleted)
            .map(|p| p.data.clone())
        else {
            return false;
        };
        inner.put_person(account, resource_name, data, true);
        true
    }

    /// A live contact with every field, as the API would render it.
    pub fn person(&self, account: &str, resource_name: &str) -> Option<Value> {
        let mut inner = self.lock();
        let person = inner
            .account(account)
            .people
            .get(resource_name)
            .filter(|p| !p.deleted)?
            .clone();
        Some(render_person(resource_name, &person, &all_fields()))
    }

    /// Every live contact, rendered with every field.
    pub fn people(&self, account: &str) -> Vec<Value> {
        let mut inner = self.lock();
        let fields = all_fields();
        inner
            .account(account)
            .people
            .iter()
            .filter(|(_, p)| !p.deleted)
            .map(|(rn, p)| render_person(rn, p, &fields))
            .collect()
    }

    /// Every group with `memberCount` and all member names.
    pub fn groups(&self, account: &str) -> Vec<Value> {
        let mut inner = self.lock();
        let groups: Vec<_> = inner
            .account(account)
            .groups
            .iter()
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect();
        groups
            .iter()
            .map(|(rn, g)| render_group(&mut inner, account, rn, g, usize::MAX))
            .collect()
    }

    /// Makes every sync token handed out so far (for `account`, or all) expired. `http_status`
    /// chooses the answer: 400 (Google's live behaviour, the default) or 410 (its guide).
    pub fn expire_sync_tokens(&self, account: Option<&str>, http_status: Option<u16>) {
        let mut inner = self.lock();
        if let Some(status) = http_status {
            inner.expired_sync_status = status;
        }
        for (name, acc) in inner.accounts.iter_mut() {
            if account.is_none_or(|a| a == name) {
                acc.sync_epoch += 1;
            }
        }
    }

    /// Every access token issued so far stops working (401); refresh tokens still work.
    pub fn expire_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// The user revoked the app: refresh and access tokens of `account` stop working.
    pub fn revoke_grants(&self, account: &str) {
        let mut inner = self.lock();
        inner.refresh_tokens.retain(|_, g| g.account != account);
        inner.access_tokens.retain(|_, g| g.account != account);
    }

    /// Lifetime of access tokens issued from now on.
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.lock().access_token_lifetime = lifetime;
    }

    /// Writes appear in incremental sync only this long after they happen, and new contacts in
    /// full listings too (`people:batchGet` reads its writes at once).
    pub fn set_consistency_delay(&self, delay: Duration) {
        self.lock().consistency_delay = delay;
    }

    /// Ends the propagation delay for every write so far (deterministic tests of consistency).
    pub fn publish_pending_changes(&self) {
        let now = std::time::Instant::now();
        for account in self.lock().accounts.values_mut() {
            for person in account.people.values_mut() {
                person.visible_at = person.visible_at.min(now);
                person.listed_from = person.listed_from.min(now);
            }
        }
    }

    /// Fails the next matching contacts in batch writes (per contact, not the whole batch).
    pub fn fail_contact(&self, fault: ContactFault) {
        self.lock().contact_faults.push(fault);
    }

    pub fn clear_contact_faults(&self) {
        self.lock().contact_faults.clear();
    }
}
