//! Google-specific control routes (besides the common `/__emulator/{faults,counters,latency}`):
//!
//! | route | body / query | effect |
//! |---|---|---|
//! | `GET /__emulator/token` | `?account=&scope=` | issue tokens without the consent round trip |
//! | `POST /__emulator/google/expire-sync-tokens` | `{"account"?, "http_status"?: 400\|410}` | sync tokens so far expire |
//! | `POST /__emulator/google/expire-access-tokens` | | every access token answers 401 |
//! | `POST /__emulator/google/revoke-grants` | `{"account"}` | the user revoked the app |
//! | `POST /__emulator/google/consistency-delay` | `{"millis"}` | delay before writes show in sync (new contacts also in full listings; batchGet reads at once) |
//! | `POST /__emulator/google/access-token-lifetime` | `{"secs"}` | lifetime of new access tokens |
//! | `POST`/`DELETE /__emulator/google/contact-faults` | [`ContactFault`] | fail matching contacts in batches |
//! | `POST /__emulator/google/people` | `{"account"?, "people": [Person]}` | add contacts, returns names |
//! | `POST /__emulator/google/seed-sample` | `{"account"?}` | sample label and contacts |
//! | `GET /__emulator/google/state` | `?account=` | people and groups as stored |

use super::seed::seed_sample;
use super::state::{ContactFault, GoogleState, DEFAULT_ACCOUNT};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Shared = State<Arc<GoogleState>>;

#[derive(Deserialize, Default)]
struct AccountBody {
    account: Option<String>,
    http_status: Option<u16>,
    millis: Option<u64>,
    secs: Option<u64>,
    #[serde(default)]
    people: Vec<Value>,
}

fn account_of(body: &AccountBody) -> String {
    body.account
        .clone()
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string())
}

/// Accepts an empty body as `{}` so `curl -X POST` works without `-d`.
fn parse(body: &str) -> Result<AccountBody, Response> {
    if body.trim().is_empty() {
        return Ok(AccountBody::default());
    }
    serde_json::from_str(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad control body: {e}")).into_response())
}

macro_rules! body_or_400 {
    ($body:expr) => {
        match parse(&$body) {
            Ok(b) => b,
            Err(r) => return r,
        }
    };
}

pub fn routes(state: Arc<GoogleState>) -> Router {
    Router::new()
        .route("/__emulator/token", get(|State(s): Shared, Query(q): Query<HashMap<String, String>>| async move {
            let account = q.get("account").map(String::as_str).unwrap_or(DEFAULT_ACCOUNT);
            Json(s.issue_tokens(account, q.get("scope").map(String::as_str)))
        }))
        .route("/__emulator/google/expire-sync-tokens", post(|State(s): Shared, body: String| async move {
            let b = body_or_400!(body);
            s.expire_sync_tokens(b.account.as_deref(), b.http_status);
            StatusCode::NO_CONTENT.into_response()
        }))
        .route("/__emulator/google/expire-access-tokens", post(|State(s): Shared| async move {
            s.expire_access_tokens();
            StatusCode::NO_CONTENT
        }))
        .route("/__emulator/google/revoke-grants", post(|State(s): Shared, body: String| async move {
            let b = body_or_400!(body);
            s.revoke_grants(&account_of(&b));
            StatusCode::NO_CONTENT.into_response()
        }))
        .route("/__emulator/google/consistency-delay", post(|State(s): Shared, body: String| async move {
            let b = body_or_400!(body);
            s.set_consistency_delay(Duration::from_millis(b.millis.unwrap_or(0)));
            StatusCode::NO_CONTENT.into_response()
        }))
        .route("/__emulator/google/access-token-lifetime", post(|State(s): Shared, body: String| async move {
            let b = body_or_400!(body);
            s.set_access_token_lifetime(Duration::from_secs(b.secs.unwrap_or(3599)));
            StatusCode::NO_CONTENT.into_response()
        }))
        .route(
            "/__emulator/google/contact-faults",
            post(|State(s): Shared, Json(f): Json<ContactFault>| async move {
                s.fail_contact(f);
                StatusCode::NO_CONTENT
            })
            .delete(|State(s): Shared| async move {
                s.clear_contact_faults();
                StatusCode::NO_CONTENT
            }),
        )
        .route("/__emulator/google/people", post(|State(s): Shared, body: String| async move {
            let b = body_or_400!(body);
            let account = account_of(&b);
            Json(json!({ "resourceNames": s.seed_people(&account, b.people) })).into_response()
        }))
        .route("/__emulator/google/seed-sample", post(|State(s): Shared, body: String| async move {
            let b = body_or_400!(body);
            let account = account_of(&b);
            Json(json!({ "account": account, "group": seed_sample(&s, &account) })).into_response()
        }))
        .route("/__emulator/google/state", get(|State(s): Shared, Query(q): Query<HashMap<String, String>>| async move {
            let account = q.get("account").map(String::as_str).unwrap_or(DEFAULT_ACCOUNT);
            Json(json!({ "account": account, "people": s.people(account), "groups": s.groups(account) }))
        }))
        .with_state(state)
}
