//! What tests (and the control routes) do to the emulated org directly: add users, seed and
//! change records "as a user in the Zoho UI would", define custom views, move the clock, turn
//! on eventual consistency or per-record failures, and mint tokens without a browser.

use super::oauth;
use super::state::{
    random_hex, Book, ContactsPermissions, ListCall, Profile, RecordFailure, RefreshToken, User, View, ViewFilter, ZohoOrg, ZohoState,
};
use super::{records, writes, ALL_SCOPES};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{OffsetDateTime, UtcOffset};

pub const ADMIN_PROFILE_ID: &str = "5725767000000026011";
pub const READ_ONLY_PROFILE_ID: &str = "5725767000000026014";

#[derive(Debug, thiserror::Error)]
pub enum ZohoEmulatorError {
    #[error("no emulated Zoho user {0}")]
    UnknownUser(String),
    #[error("no record {0} for that user")]
    UnknownRecord(String),
    #[error("no custom view {0} for that user")]
    UnknownView(String),
    #[error("the emulator refused the record: {0}")]
    Rejected(Value),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    #[serde(default = "default_first_name")]
    pub first_name: String,
    #[serde(default = "default_last_name")]
    pub last_name: String,
    #[serde(default = "full_permissions")]
    pub permissions: ContactsPermissions,
    /// Minutes east of UTC for the user's time zone (Zoho shows times in it).
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

fn default_first_name() -> String {
    "Emulated".into()
}
fn default_last_name() -> String {
    "User".into()
}
fn full_permissions() -> ContactsPermissions {
    ContactsPermissions::ALL
}

impl NewUser {
    pub fn new(email: &str) -> Self {
        NewUser {
            email: email.into(),
            first_name: default_first_name(),
            last_name: default_last_name(),
            permissions: ContactsPermissions::ALL,
            utc_offset_minutes: 0,
        }
    }

    pub fn read_only(mut self) -> Self {
        self.permissions = ContactsPermissions::READ_ONLY;
        self
    }
}

/// A refresh token and an access token minted as if the user had consented.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedTokens {
    pub refresh_token: String,
    pub access_token: String,
    pub api_domain: String,
}

pub(super) fn default_profiles(state: &mut ZohoState) {
    for (id, name, contacts) in
        [(ADMIN_PROFILE_ID, "Administrator", ContactsPermissions::ALL), (READ_ONLY_PROFILE_ID, "Read Only", ContactsPermissions::READ_ONLY)]
    {
        state.profiles.insert(id.into(), Profile { id: id.into(), name: name.into(), contacts });
    }
}

fn profile_for(state: &mut ZohoState, permissions: ContactsPermissions) -> String {
    if let Some(p) = state.profiles.values().find(|p| p.contacts == permissions) {
        return p.id.clone();
    }
    let id = state.next_id();
    state.profiles.insert(id.clone(), Profile { id: id.clone(), name: format!("Custom {}", state.profiles.len()), contacts: permissions });
    id
}

fn user_id(state: &ZohoState, user: &str) -> Result<String, ZohoEmulatorError> {
    state.find_user(user).map(|u| u.id.clone()).ok_or_else(|| ZohoEmulatorError::UnknownUser(user.into()))
}

/// Every field of the current version, as the API would render it with all fields requested.
fn full_record(state: &ZohoState, user_id: &str, id: &str) -> Option<Value> {
    let record = state.books.get(user_id)?.records.get(id)?;
    let mut wanted: Vec<String> = super::fields::CONTACT_FIELDS.iter().map(|f| f.api_name.to_string()).collect();
    let extra: Vec<String> = record.current.fields.keys().filter(|k| !wanted.contains(k)).cloned().collect();
    wanted.extend(extra);
    Some(records::render(state, user_id, record, &record.current, &wanted))
}

impl ZohoOrg {
    /// Adds a user (with the "All Contacts" system view); the first user added is the one
    /// `/oauth/v2/auth` approves for when no `emulator_account` is given. Returns the user id.
    pub fn add_user(&self, new: NewUser) -> String {
        let mut state = self.lock();
        if let Some(existing) = state.find_user(&new.email) {
            return existing.id.clone();
        }
        let id = state.next_id();
        let profile_id = profile_for(&mut state, new.permissions);
        let utc_offset = UtcOffset::from_whole_seconds(new.utc_offset_minutes * 60).unwrap_or(UtcOffset::UTC);
        let zuid = (700_000_000 + state.users.len() as u64).to_string();
        state.users.push(User { id: id.clone(), zuid, email: new.email, first_name: new.first_name, last_name: new.last_name, profile_id, utc_offset });
        let view_id = state.next_id();
        state.books.insert(
            id.clone(),
            Book { views: vec![View { id: view_id, name: "All Contacts".into(), system_name: Some("ALLVIEWS".into()), filter: ViewFilter::All }], ..Book::default() },
        );
        id
    }

    /// Changes what the user's profile allows on Contacts.
    pub fn set_permissions(&self, user: &str, permissions: ContactsPermissions) -> Result<(), ZohoEmulatorError> {
        let mut state = self.lock();
        let id = user_id(&state, user)?;
        let profile_id = profile_for(&mut state, permissions);
        if let Some(u) = state.users.iter_mut().find(|u| u.id == id) {
            u.profile_id = profile_id;
        }
        Ok(())
    }

    /// Creates contacts as the user would in the Zoho UI (same validation as the API).
    pub fn add_contacts(&self, user: &str, contacts: &[Value]) -> Result<Vec<String>, ZohoEmulatorError> {
        let mut state = self.lock();
        let uid = user_id(&state, user)?;
        let mut ids = Vec::new();
        for (i, contact) in contacts.iter().enumerate() {
            let input = contact.as_object().cloned().unwrap_or_default();
            let details = writes::create_record(&mut state, &uid, i, &input).map_err(ZohoEmulatorError::Rejected)?;
            ids.extend(details.get("id").and_then(Value::as_str).map(String::from));
        }
        Ok(ids)
    }

    /// Edits a contact as a user in the Zoho UI would: `Modified_Time` moves to "now".
    pub fn edit_contact(&self, user: &str, id: &str, patch: &Value) -> Result<(), ZohoEmulatorError> {
        let mut state = self.lock();
        let uid = user_id(&state, user)?;
        let input: Map<String, Value> = patch.as_object().cloned().unwrap_or_default();
        writes::update_record(&mut state, &uid, 0, id, &input).map(|_| ()).map_err(|e| {
            if e.get("code").and_then(Value::as_str) == Some("INVALID_DATA") && e.pointer("/details/id").is_some() {
                ZohoEmulatorError::UnknownRecord(id.into())
            } else {
                ZohoEmulatorError::Rejected(e)
            }
        })
    }

    /// Deletes a contact from the UI (to the recycle bin, or permanently), leaving a tombstone.
    pub fn delete_contact(&self, user: &str, id: &str, permanent: bool) -> Result<(), ZohoEmulatorError> {
        let mut state = self.lock();
        let uid = user_id(&state, user)?;
        writes::delete_record(&mut state, &uid, id, permanent).then_some(()).ok_or_else(|| ZohoEmulatorError::UnknownRecord(id.into()))
    }

    /// The user's current contacts with every field (ignores eventual-consistency lag).
    pub fn contacts(&self, user: &str) -> Result<Vec<Value>, ZohoEmulatorError> {
        let state = self.lock();
        let uid = user_id(&state, user)?;
        let ids: Vec<String> = state.books.get(&uid).map(|b| b.records.keys().cloned().collect()).unwrap_or_default();
        Ok(ids.iter().filter_map(|id| full_record(&state, &uid, id)).collect())
    }

    pub fn contact(&self, user: &str, id: &str) -> Result<Option<Value>, ZohoEmulatorError> {
        let state = self.lock();
        let uid = user_id(&state, user)?;
        Ok(full_record(&state, &uid, id))
    }

    /// Contacts whose `Email` matches (case-insensitive): more than one means a duplicate slipped in.
    pub fn contacts_with_email(&self, user: &str, email: &str) -> Result<Vec<Value>, ZohoEmulatorError> {
        Ok(self.contacts(user)?.into_iter().filter(|c| c.get("Email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email))).collect())
    }

    /// Adds a custom view for the user; returns its id (the `cvid`).
    pub fn add_view(&self, user: &str, name: &str, filter: ViewFilter) -> Result<String, ZohoEmulatorError> {
        let mut state = self.lock();
        let uid = user_id(&state, user)?;
        let id = state.next_id();
        state.book_mut(&uid).views.push(View { id: id.clone(), name: name.into(), system_name: None, filter });
        Ok(id)
    }

    /// Replaces a view's filter, e.g. a new membership set: records leave or join the list.
    pub fn set_view_filter(&self, user: &str, cvid: &str, filter: ViewFilter) -> Result<(), ZohoEmulatorError> {
        let mut state = self.lock();
        let uid = user_id(&state, user)?;
        let view = state.book_mut(&uid).views.iter_mut().find(|v| v.id == cvid).ok_or_else(|| ZohoEmulatorError::UnknownView(cvid.into()))?;
        view.filter = filter;
        Ok(())
    }

    /// Moves the emulator's clock forward (token expiry, Modified_Time, windows, lag).
    pub fn advance_clock(&self, by: std::time::Duration) {
        let mut state = self.lock();
        state.clock_offset += time::Duration::try_from(by).unwrap_or(time::Duration::ZERO);
    }

    pub fn now(&self) -> OffsetDateTime {
        self.lock().now()
    }

    /// Writes show up in list results only this long after they happen (0 = at once).
    pub fn set_consistency_lag(&self, lag: std::time::Duration) {
        self.lock().consistency_lag = time::Duration::try_from(lag).unwrap_or(time::Duration::ZERO);
    }

    /// The next writes carrying a record with this email fail for that record only.
    pub fn fail_records(&self, failure: RecordFailure) {
        self.lock().record_failures.push(failure);
    }

    /// Mints tokens (all scopes) as if the user had consented, for tests and the command line.
    pub fn issue_tokens(&self, user: &str) -> Result<IssuedTokens, ZohoEmulatorError> {
        let mut state = self.lock();
        let uid = user_id(&state, user)?;
        let refresh_token = format!("1000.{}.{}", random_hex(16), random_hex(16));
        let scopes: Vec<String> = ALL_SCOPES.split(',').map(String::from).collect();
        let now = state.now();
        let client_id = super::DEFAULT_CLIENT_ID.to_string();
        state.refresh_tokens.insert(refresh_token.clone(), RefreshToken { client_id, user_id: uid.clone(), scopes: scopes.clone(), issued_at: now, refreshes: Vec::new() });
        let access_token = oauth::mint_access_token(&mut state, &uid, Some(refresh_token.clone()), scopes);
        Ok(IssuedTokens { refresh_token, access_token, api_domain: state.base_url.clone() })
    }

    /// Every access token stops working now (as if an hour had passed for them), refresh tokens stay.
    pub fn expire_access_tokens(&self) {
        let mut state = self.lock();
        let now = state.now();
        for token in state.access_tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// Revokes a refresh token and its access tokens (the user disconnected the app in Zoho).
    pub fn revoke_refresh_token(&self, token: &str) {
        oauth::revoke_refresh_token(&mut self.lock(), token);
    }

    /// How each `GET /crm/v8/Contacts` call paginated, in order.
    pub fn list_calls(&self) -> Vec<ListCall> {
        self.lock().list_calls.clone()
    }
}
