//! The Google emulator's state: accounts with people and contact groups, OAuth grants, sync
//! epochs, and the knobs tests turn (consistency delay, per-contact faults, token expiry).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The account an authorization is approved for when the request names none.
pub const DEFAULT_ACCOUNT: &str = "user@example.com";
/// The OAuth client the emulator knows from the start.
pub const CLIENT_ID: &str = "emulator-google-client";
pub const CLIENT_SECRET: &str = "emulator-google-secret";
pub const CONTACTS_SCOPE: &str = "https://www.googleapis.com/auth/contacts";
pub const CONTACTS_READONLY_SCOPE: &str = "https://www.googleapis.com/auth/contacts.readonly";
pub const MY_CONTACTS: &str = "contactGroups/myContacts";
pub const STARRED: &str = "contactGroups/starred";

/// Fails the next `times` contacts in batch writes whose resource name or any email equals `matches`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactFault {
    pub matches: String,
    /// `google.rpc.Code` name, e.g. `INVALID_ARGUMENT` (default) or `FAILED_PRECONDITION`.
    #[serde(default = "invalid_argument")]
    pub status: String,
    #[serde(default = "one")]
    pub times: u32,
}

fn invalid_argument() -> String {
    "INVALID_ARGUMENT".into()
}
fn one() -> u32 {
    1
}

#[derive(Debug, Clone)]
pub(crate) struct StoredPerson {
    /// Person fields as written (no resourceName, etag or metadata).
    pub data: Value,
    pub etag: String,
    pub source_id: String,
    pub update_time: String,
    pub deleted: bool,
    /// Position in the account's change sequence; sync tokens are positions in it.
    pub changed_seq: u64,
    /// Eventual consistency: the change appears in incremental sync from this moment.
    pub visible_at: Instant,
    /// Eventual consistency: a new contact appears in full listings from this moment (its
    /// creation's `visible_at`; later edits do not move it).
    pub listed_from: Instant,
}

impl StoredPerson {
    pub fn memberships(&self) -> Vec<String> {
        group_names(&self.data)
    }

    pub fn emails(&self) -> Vec<String> {
        self.data
            .get("emailAddresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("value")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) fn group_names(person: &Value) -> Vec<String> {
    person
        .get("memberships")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    m.pointer("/contactGroupMembership/contactGroupResourceName")?
                        .as_str()
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub(crate) struct StoredGroup {
    pub name: String,
    pub system: bool,
    pub etag: String,
    pub update_time: String,
}

#[derive(Debug, Default)]
pub(crate) struct Account {
    pub people: BTreeMap<String, StoredPerson>,
    pub groups: BTreeMap<String, StoredGroup>,
    pub seq: u64,
    /// Bumped to expire every sync token handed out so far.
    pub sync_epoch: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub account: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub challenge: Option<(String, String)>,
    pub offline: bool,
    pub used: bool,
    pub expires_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub account: String,
    pub client_id: String,
    pub scopes: String,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessGrant {
    pub account: String,
    pub scopes: String,
    pub expires_at: Instant,
    pub refresh_token: Option<String>,
}

/// A listing being paged through: the resource names in order and the sync position it ends at.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub account: String,
    pub names: Vec<String>,
    pub sync_token: Option<String>,
    pub request_key: String,
}

pub(crate) struct Inner {
    pub accounts: BTreeMap<String, Account>,
    pub clients: HashMap<String, String>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub access_tokens: HashMap<String, AccessGrant>,
    pub access_token_lifetime: Duration,
    pub consistency_delay: Duration,
    /// What an expired sync token answers: 400 (what Google does) or 410 (what its guide says).
    pub expired_sync_status: u16,
    pub contact_faults: Vec<ContactFault>,
    pub snapshots: HashMap<String, Snapshot>,
    pub next_id: u64,
}

/// Shared emulator state; every method takes the lock briefly.
pub struct GoogleState {
    inner: Mutex<Inner>,
}

impl Default for GoogleState {
    fn default() -> Self {
        let mut clients = HashMap::new();
        clients.insert(CLIENT_ID.to_string(), CLIENT_SECRET.to_string());
        GoogleState {
            inner: Mutex::new(Inner {
                accounts: BTreeMap::new(),
                clients,
                codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                access_tokens: HashMap::new(),
                access_token_lifetime: Duration::from_secs(3599),
                consistency_delay: Duration::ZERO,
                expired_sync_status: 400,
                contact_faults: Vec::new(),
                snapshots: HashMap::new(),
                next_id: 1,
            }),
        }
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

impl Inner {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// An opaque etag that changes on every write.
    pub fn new_etag(&mut self) -> String {
        let n = self.next_id();
        format!("%EgUBAj0FNy4aBAECBQciDGVtdS{n:016x}")
    }

    pub fn account(&mut self, email: &str) -> &mut Account {
        self.accounts.entry(email.to_string()).or_insert_with(|| {
            let mut account = Account::default();
            for (rn, name) in [(MY_CONTACTS, "myContacts"), (STARRED, "starred")] {
                account.groups.insert(
                    rn.to_string(),
                    StoredGroup {
                        name: name.into(),
                        system: true,
                        etag: "%EgMBAj0=".into(),
                        update_time: now_rfc3339(),
                    },
                );
            }
            account
        })
    }

    /// Writes a person (new or changed), giving it a new etag and change position.
    pub fn put_person(&mut self, account: &str, resource_name: &str, data: Value, deleted: bool) {
        let etag = self.new_etag();
        let visible_at = Instant::now() + self.consistency_delay;
        let acc = self.account(account);
        acc.seq += 1;
        let seq = acc.seq;
        let listed_from = acc.people.get(resource_name).map_or(visible_at, |p| p.listed_from);
        let source_id = resource_name.trim_start_matches("people/c").to_string();
        acc.people.insert(
            resource_name.to_string(),
            StoredPerson {
                data,
                etag,
                source_id: format!("{:x}", source_id.parse::<u64>().unwrap_or(0)),
                update_time: now_rfc3339(),
                deleted,
                changed_seq: seq,
                visible_at,
                listed_from,
            },
        );
    }

    /// A new contact: `people/c<19 digits>`, in myContacts when it names no group.
    pub fn create_person(&mut self, account: &str, mut data: Value) -> String {
        let id = 7_000_000_000_000_000_000u64 + self.next_id();
        let resource_name = format!("people/c{id}");
        if group_names(&data).is_empty() {
            data["memberships"] = json!([membership(MY_CONTACTS)]);
        }
        normalize_memberships(&mut data);
        self.put_person(account, &resource_name, data, false);
        resource_name
    }

    /// Takes a matching per-contact fault, if one is armed.
    pub fn take_contact_fault(
        &mut self,
        resource_name: Option<&str>,
        emails: &[String],
    ) -> Option<String> {
        let index = self.contact_faults.iter().position(|f| {
            resource_name == Some(f.matches.as_str())
                || emails.iter().any(|e| e.eq_ignore_ascii_case(&f.matches))
        })?;
        let fault = &mut self.contact_faults[index];
        fault.times = fault.times.saturating_sub(1);
        let status = fault.status.clone();
        if fault.times == 0 {
            self.contact_faults.remove(index);
        }
        Some(status)
    }
}

pub(crate) fn membership(group: &str) -> Value {
    json!({ "contactGroupMembership": {
        "contactGroupResourceName": group,
        "contactGroupId": group.trim_start_matches("contactGroups/"),
    }})
}

/// Memberships as Google returns them (with the deprecated `contactGroupId`).
pub(crate) fn normalize_memberships(person: &mut Value) {
    if person.get("memberships").is_some() {
        let groups = group_names(person);
        person["memberships"] = Value::Array(groups.iter().map(|g| membership(g)).collect());
    }
}

impl GoogleState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not wedge the emulator for the rest of a test.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
