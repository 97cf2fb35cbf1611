//! The emulator's state: one org with OAuth clients, profiles and users; per user a "book" of
//! Contacts, tombstones and custom views; the OAuth grants and tokens; and the knobs tests turn.
//! Everything sits behind one mutex and no handler awaits while holding it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

/// Zoho's record ids are ~19-digit numeric strings; ours count up from a realistic prefix.
const ID_BASE: u64 = 5_725_767_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContactsPermissions {
    pub view: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
}

impl ContactsPermissions {
    pub const ALL: Self = Self { view: true, create: true, edit: true, delete: true };
    pub const READ_ONLY: Self = Self { view: true, create: false, edit: false, delete: false };
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub contacts: ContactsPermissions,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub zuid: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub profile_id: String,
    /// Zoho writes every date-time in the user's time zone.
    pub utc_offset: UtcOffset,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_string()
    }
}

/// One version of a record as the list endpoints show it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub fields: Map<String, Value>,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub modified_by: String,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub owner: String,
    pub current: Snapshot,
    /// What lists still show while the latest write has not "reached the index" (eventual consistency).
    pub previous: Option<Snapshot>,
    pub visible_at: OffsetDateTime,
}

impl Record {
    /// The version list and deleted feeds show at `now`; `None` for a create not yet visible.
    pub fn listed(&self, now: OffsetDateTime) -> Option<&Snapshot> {
        if now >= self.visible_at {
            Some(&self.current)
        } else {
            self.previous.as_ref()
        }
    }

    pub fn email_matches(&self, email: &str) -> bool {
        self.current.fields.get("Email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email))
    }
}

#[derive(Debug, Clone)]
pub struct Tombstone {
    pub id: String,
    pub display_name: Option<String>,
    pub deleted_time: OffsetDateTime,
    /// `recycle` (API and UI deletes) or `permanent`.
    pub kind: String,
    pub deleted_by: Option<String>,
    pub created_by: Option<String>,
}

/// Which records a custom view returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ViewFilter {
    All,
    /// A one-condition criteria as the OAS `Criteria` schema carries it (`equal`, `not_equal`,
    /// `contains`, `starts_with`), compared case-insensitively on the string value.
    Criteria { field: String, comparator: String, value: Value },
    /// An explicit membership set tests can change (stands in for tags, lists, owners...).
    Members { ids: BTreeSet<String> },
}

impl ViewFilter {
    pub fn admits(&self, id: &str, fields: &Map<String, Value>) -> bool {
        match self {
            ViewFilter::All => true,
            ViewFilter::Members { ids } => ids.contains(id),
            ViewFilter::Criteria { field, comparator, value } => {
                let have = fields.get(field).map(value_text).unwrap_or_default().to_lowercase();
                let want = value_text(value).to_lowercase();
                match comparator.as_str() {
                    "equal" | "equals" => have == want,
                    "not_equal" => have != want,
                    "contains" => have.contains(&want),
                    "starts_with" => have.starts_with(&want),
                    _ => false,
                }
            }
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct View {
    pub id: String,
    pub name: String,
    pub system_name: Option<String>,
    pub filter: ViewFilter,
}

#[derive(Debug, Default)]
pub struct Book {
    pub records: BTreeMap<String, Record>,
    pub tombstones: Vec<Tombstone>,
    pub views: Vec<View>,
}

#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub secret: String,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub with_refresh_token: bool,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub issued_at: OffsetDateTime,
    /// When each access token minted from it by a refresh was issued (the 10-per-10-minutes rule).
    pub refreshes: Vec<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub user_id: String,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A `page_token` handed out in `info.next_page_token`: a keyset cursor bound to the user and
/// the query it came from.
#[derive(Debug, Clone)]
pub struct PageToken {
    pub user_id: String,
    pub query_key: String,
    /// Sort key (unix seconds, or 0 when sorting by id) and id of the last record served.
    pub after: (i64, u64),
    pub served: usize,
    pub page: u32,
    pub expires_at: OffsetDateTime,
}

/// A per-record failure injected into the next write batches that carry a record with this email.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordFailure {
    pub email: String,
    /// Zoho error code, e.g. `INVALID_DATA`, `RECORD_LOCKED`.
    pub code: String,
    #[serde(default = "default_failure_message")]
    pub message: String,
    #[serde(default = "one")]
    pub times: u32,
}

fn default_failure_message() -> String {
    "injected failure".to_string()
}

fn one() -> u32 {
    1
}

/// How one call to `GET /crm/v8/Contacts` paginated, for tests that check the client's manners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListCall {
    pub page: Option<u32>,
    pub used_page_token: bool,
    pub per_page: usize,
    pub cvid: Option<String>,
    pub if_modified_since: bool,
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct ZohoState {
    pub base_url: String,
    /// Added to the real clock: tests move time forward instead of sleeping.
    pub clock_offset: Duration,
    pub clients: BTreeMap<String, OAuthClient>,
    pub profiles: BTreeMap<String, Profile>,
    /// In creation order: the first is who approves `/oauth/v2/auth` when no account is named.
    pub users: Vec<User>,
    pub books: HashMap<String, Book>,
    pub grants: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub access_tokens: HashMap<String, AccessToken>,
    /// (client, user) pairs that consented once: later offline grants without `prompt=consent`
    /// get no refresh token, as with the real service.
    pub consented: HashSet<(String, String)>,
    pub page_tokens: HashMap<String, PageToken>,
    pub consistency_lag: Duration,
    pub record_failures: Vec<RecordFailure>,
    pub list_calls: Vec<ListCall>,
    next_id: u64,
}

impl ZohoState {
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc() + self.clock_offset;
        now.replace_nanosecond(0).unwrap_or(now)
    }

    pub fn next_id(&mut self) -> String {
        self.next_id += 1;
        (ID_BASE + self.next_id).to_string()
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Finds a user by email (case-insensitive) or id.
    pub fn find_user(&self, key: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == key || u.email.eq_ignore_ascii_case(key))
    }

    pub fn permissions(&self, user_id: &str) -> ContactsPermissions {
        self.user(user_id)
            .and_then(|u| self.profiles.get(&u.profile_id))
            .map(|p| p.contacts)
            .unwrap_or_default()
    }

    pub fn book_mut(&mut self, user_id: &str) -> &mut Book {
        self.books.entry(user_id.to_string()).or_default()
    }

    pub fn minified_user(&self, user_id: &str) -> Value {
        match self.user(user_id) {
            Some(u) => serde_json::json!({"name": u.full_name(), "id": u.id, "email": u.email}),
            None => Value::Null,
        }
    }

    /// Formats a time the way Zoho shows it to this user: `2023-05-10T01:10:47-07:00`.
    pub fn format_for(&self, user_id: &str, at: OffsetDateTime) -> String {
        let offset = self.user(user_id).map(|u| u.utc_offset).unwrap_or(UtcOffset::UTC);
        format_time(at.to_offset(offset))
    }
}

pub fn format_time(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]");
    at.format(&format).unwrap_or_default()
}

/// Parses an ISO 8601 date-time with offset (what `If-Modified-Since` carries).
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The emulated Zoho org behind one mutex; the library methods for tests live in `library.rs`.
pub struct ZohoOrg {
    state: Mutex<ZohoState>,
}

impl ZohoOrg {
    pub fn new(state: ZohoState) -> Self {
        ZohoOrg { state: Mutex::new(state) }
    }

    pub fn lock(&self) -> MutexGuard<'_, ZohoState> {
        // A panicking handler must not wedge the emulator for the rest of a test.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
