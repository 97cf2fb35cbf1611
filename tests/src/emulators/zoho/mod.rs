//! A stateful emulator of Zoho Accounts OAuth and the Zoho CRM v8 API for Contacts, on one
//! port (it is both the `accounts-server` and the `api_domain` it hands out).
//!
//! Built from `../shared/reference/zoho-crm-api-facts.md` and the v8 OAS files. Each user has
//! their own book of Contacts, tombstones and custom views; the profile decides view / create /
//! edit / delete. The clock can be moved forward so nothing in a test has to sleep.
//!
//! Default OAuth client: [`DEFAULT_CLIENT_ID`] / [`DEFAULT_CLIENT_SECRET`] (any http(s)
//! redirect URI). Tokens from the command line, without a browser:
//!
//! ```text
//! curl -s -X POST http://127.0.0.1:8072/__emulator/zoho/users/admin@zoho.emulator.test/tokens
//! # or the real flow: the auth URL answers 302 with ?code=...&accounts-server=...
//! curl -si 'http://127.0.0.1:8072/oauth/v2/auth?client_id=emulator-zoho-client&response_type=code&redirect_uri=http://localhost/cb&scope=ZohoCRM.modules.contacts.ALL&access_type=offline&prompt=consent&state=x' | grep -i location
//! curl -s -X POST http://127.0.0.1:8072/oauth/v2/token -d grant_type=authorization_code \
//!   -d client_id=emulator-zoho-client -d client_secret=emulator-zoho-secret -d redirect_uri=http://localhost/cb -d code=<code>
//! ```
//!
//! Semantics chosen where Zoho's docs are silent: `If-Modified-Since` is strict (records with
//! `Modified_Time` > the header); token errors are HTTP 200 with `{"error": ...}`; upsert
//! answers 201 when it inserted any record and 200 otherwise.

// Handlers return `Result<_, Response>`: the error is the finished Zoho answer, sent as is.
#![allow(clippy::result_large_err)]

mod api;
mod control;
mod fields;
mod library;
mod oauth;
mod records;
mod settings;
mod state;
mod writes;

pub use library::{IssuedTokens, NewUser, ZohoEmulatorError, ADMIN_PROFILE_ID, READ_ONLY_PROFILE_ID};
pub use state::{ContactsPermissions, ListCall, RecordFailure, ViewFilter, ZohoOrg};

use super::common::{control_routes, observe, serve, Control};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use state::{OAuthClient, ZohoState};
use std::ops::Deref;
use std::sync::Arc;

pub const DEFAULT_CLIENT_ID: &str = "emulator-zoho-client";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-zoho-secret";
/// Every scope the emulator knows, comma-separated as `/oauth/v2/auth` takes them.
pub const ALL_SCOPES: &str =
    "ZohoCRM.modules.contacts.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.custom_views.READ,ZohoCRM.users.READ,ZohoCRM.settings.profiles.READ";

/// A running Zoho emulator. Derefs to [`ZohoOrg`] for the library methods
/// (`add_user`, `add_contacts`, `edit_contact`, `add_view`, `advance_clock`, ...).
#[derive(Clone)]
pub struct ZohoEmulator {
    pub base_url: String,
    pub port: u16,
    pub control: Arc<Control>,
    org: Arc<ZohoOrg>,
}

impl Deref for ZohoEmulator {
    type Target = ZohoOrg;
    fn deref(&self) -> &ZohoOrg {
        &self.org
    }
}

impl ZohoEmulator {
    /// Serves an empty org (the default client and the Administrator / Read Only profiles, no
    /// users) on `127.0.0.1:port`; 0 picks a free port.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let mut state = ZohoState::default();
        state.clients.insert(DEFAULT_CLIENT_ID.into(), OAuthClient { secret: DEFAULT_CLIENT_SECRET.into() });
        library::default_profiles(&mut state);
        let org = Arc::new(ZohoOrg::new(state));
        let control = Control::new();
        let running = serve(router(org.clone(), control.clone()), port).await?;
        org.lock().base_url = running.base_url.clone();
        Ok(ZohoEmulator { base_url: running.base_url, port: running.port, control, org })
    }

    /// Sample data for the local run and `make emulators`; see [`SampleSeed`].
    pub fn seed_sample(&self) -> Result<SampleSeed, ZohoEmulatorError> {
        let admin = "admin@zoho.emulator.test";
        let viewer = "viewer@zoho.emulator.test";
        self.add_user(NewUser { first_name: "Asha".into(), last_name: "Admin".into(), utc_offset_minutes: 330, ..NewUser::new(admin) });
        self.add_user(NewUser { first_name: "Vik".into(), last_name: "Viewer".into(), utc_offset_minutes: -420, ..NewUser::new(viewer).read_only() });
        let people = [
            ("Ada", "Lovelace", "ada@example.com", "+44 20 7946 0001", "Analytical Engines", true),
            ("Grace", "Hopper", "grace@example.com", "+1 202 555 0101", "Navy", true),
            ("Alan", "Turing", "alan@example.com", "+44 20 7946 0002", "Bletchley", true),
            ("Katherine", "Johnson", "katherine@example.com", "+1 757 555 0102", "NASA", true),
            ("Edsger", "Dijkstra", "edsger@example.com", "+31 20 555 0103", "TU Eindhoven", false),
            ("Barbara", "Liskov", "barbara@example.com", "+1 617 555 0104", "MIT", false),
        ];
        let contacts: Vec<_> = people
            .iter()
            .map(|(first, last, email, phone, dept, synced)| {
                json!({"First_Name": first, "Last_Name": last, "Email": email, "Phone": phone, "Department": dept,
                       "Lead_Source": if *synced { "Google Sync" } else { "Web Site" }})
            })
            .collect();
        self.add_contacts(admin, &contacts)?;
        self.add_contacts(viewer, &contacts[..2])?;
        let filter = ViewFilter::Criteria { field: "Lead_Source".into(), comparator: "equal".into(), value: json!("Google Sync") };
        let admin_view = self.add_view(admin, "Synced with Google", filter.clone())?;
        let viewer_view = self.add_view(viewer, "Synced with Google", filter)?;
        Ok(SampleSeed { admin: admin.into(), viewer: viewer.into(), admin_view, viewer_view })
    }
}

/// What [`ZohoEmulator::seed_sample`] created: an admin (UTC+05:30) with six contacts, four in
/// the "Synced with Google" view, and a read-only viewer (UTC-07:00) with two.
#[derive(Debug, Clone)]
pub struct SampleSeed {
    pub admin: String,
    pub viewer: String,
    pub admin_view: String,
    pub viewer_view: String,
}

/// Every answer carries the org's clock (moved by tests) in `Date`, as Zoho's servers send
/// theirs: the sync sets its change cursor from it, not from its own clock.
async fn stamp_date(axum::extract::State(org): axum::extract::State<Arc<ZohoOrg>>, request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut response = next.run(request).await;
    let now = org.lock().now();
    let stamp = httpdate::fmt_http_date(std::time::SystemTime::from(now));
    if let Ok(value) = axum::http::HeaderValue::from_str(&stamp) {
        response.headers_mut().insert(axum::http::header::DATE, value);
    }
    response
}

fn router(org: Arc<ZohoOrg>, control: Arc<Control>) -> Router {
    let api = Router::new()
        .route("/oauth/v2/auth", get(oauth::authorize))
        .route("/oauth/v2/token", post(oauth::token))
        .route("/oauth/v2/token/revoke", post(oauth::revoke))
        .route("/crm/v8/Contacts", get(records::list).post(writes::insert).put(writes::update).delete(writes::delete))
        .route("/crm/v8/Contacts/deleted", get(records::deleted))
        .route("/crm/v8/Contacts/upsert", post(writes::upsert))
        .route("/crm/v8/settings/custom_views", get(settings::custom_views))
        .route("/crm/v8/settings/custom_views/{id}", get(settings::custom_view))
        .route("/crm/v8/settings/fields", get(settings::fields))
        .route("/crm/v8/settings/profiles", get(settings::profiles))
        .route("/crm/v8/settings/profiles/{id}", get(settings::profile))
        .route("/crm/v8/users", get(settings::users))
        .route_layer(from_fn_with_state(control.clone(), observe))
        .route_layer(from_fn_with_state(org.clone(), stamp_date))
        .with_state(org.clone());
    api.merge(control_routes(control)).merge(control::routes(org)).fallback(|| async { api::not_found() })
}
