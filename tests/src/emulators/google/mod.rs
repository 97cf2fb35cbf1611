//! Google emulator: OAuth (consent, token, revoke) and the People API endpoints the sync uses,
//! on one port, with per-account state and fault injection.
//!
//! Defaults: client id [`CLIENT_ID`] (`emulator-google-client`), secret [`CLIENT_SECRET`]
//! (`emulator-google-secret`), account [`DEFAULT_ACCOUNT`] (`user@example.com`).
//! A token from the command line: `curl 'http://127.0.0.1:8071/__emulator/token?account=user@example.com'`,
//! or the consent URL with `curl -i` (the `Location` header carries the code).
//!
//! Counters and faults use the endpoint keys of [`super::common`], e.g.
//! `"GET /v1/people/me/connections"`, `"GET /v1/people:batchGet"`, `"POST /v1/people:batchCreateContacts"`, `"POST /token"`,
//! `"POST /v1/contactGroups/{id}/members:modify"`.

// Handlers short-circuit with a finished HTTP answer as the error; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

mod api;
mod batch_get;
mod control;
mod groups;
mod oauth;
mod people;
mod render;
mod seed;
mod state;

pub use api::TokenGrant;
pub use seed::{sample_person, seed_sample, SAMPLE_GROUP_NAME};
pub use state::{
    ContactFault, GoogleState, CLIENT_ID, CLIENT_SECRET, CONTACTS_READONLY_SCOPE, CONTACTS_SCOPE,
    DEFAULT_ACCOUNT, MY_CONTACTS,
};

use super::common::{control_routes, observe, serve, Control};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// A running Google emulator.
pub struct GoogleEmulator {
    pub base_url: String,
    pub port: u16,
    pub state: Arc<GoogleState>,
    pub control: Arc<Control>,
}

impl GoogleEmulator {
    /// Serves on `127.0.0.1:port` (0 picks a free port) until the runtime ends.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let state = Arc::new(GoogleState::default());
        let control = Control::new();
        let running = serve(router(state.clone(), control.clone()), port).await?;
        Ok(GoogleEmulator {
            base_url: running.base_url,
            port: running.port,
            state,
            control,
        })
    }
}

/// The emulator's routes; API and OAuth routes are counted and take injected faults.
pub fn router(state: Arc<GoogleState>, control: Arc<Control>) -> Router {
    let api = Router::new()
        .route("/o/oauth2/v2/auth", get(oauth::authorize))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route("/v1/people/me/connections", get(people::list_connections))
        .route("/v1/people:batchGet", get(batch_get::batch_get))
        .route("/v1/people:batchCreateContacts", post(people::batch_create))
        .route("/v1/people:batchUpdateContacts", post(people::batch_update))
        .route("/v1/people:batchDeleteContacts", post(people::batch_delete))
        .route("/v1/contactGroups", get(groups::list).post(groups::create))
        .route("/v1/contactGroups/{id}", get(groups::get))
        .route(
            "/v1/contactGroups/{id}/members:modify",
            post(groups::modify_members),
        )
        .with_state(state.clone())
        .route_layer(axum::middleware::from_fn_with_state(
            control.clone(),
            observe,
        ));
    api.merge(control::routes(state))
        .merge(control_routes(control))
}
