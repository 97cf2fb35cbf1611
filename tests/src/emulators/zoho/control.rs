//! `/__emulator/zoho/*`: the library methods over HTTP, for the CLI, the local run and
//! tests in other processes. `{user}` is the user's email or id.
//!
//! - `POST   /__emulator/zoho/users` [`NewUser`] → `{"id"}`
//! - `PUT    /__emulator/zoho/users/{user}/permissions` `{"view","create","edit","delete"}`
//! - `GET    /__emulator/zoho/users/{user}/contacts` → every contact, all fields
//! - `POST   /__emulator/zoho/users/{user}/contacts` one record or an array → `{"ids"}`
//! - `PATCH  /__emulator/zoho/users/{user}/contacts/{id}` fields to change (bumps Modified_Time)
//! - `DELETE /__emulator/zoho/users/{user}/contacts/{id}[?permanent=true]`
//! - `POST   /__emulator/zoho/users/{user}/views` `{"name", "filter": ViewFilter}` → `{"id"}`
//! - `PUT    /__emulator/zoho/users/{user}/views/{cvid}` `ViewFilter`, e.g. `{"kind":"members","ids":[...]}`
//! - `POST   /__emulator/zoho/users/{user}/tokens` → `{"refresh_token","access_token","api_domain"}`
//! - `POST   /__emulator/zoho/clock` `{"advance_secs": 3600}`
//! - `POST   /__emulator/zoho/consistency_lag` `{"millis": 5000}`
//! - `POST   /__emulator/zoho/record_failures` [`RecordFailure`]
//! - `DELETE /__emulator/zoho/access_tokens` (every access token expires now)
//! - `GET    /__emulator/zoho/list_calls`

use super::library::{NewUser, ZohoEmulatorError};
use super::state::{ContactsPermissions, RecordFailure, ViewFilter, ZohoOrg};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Org = State<Arc<ZohoOrg>>;

fn answer<T: serde::Serialize>(result: Result<T, ZohoEmulatorError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e @ ZohoEmulatorError::Rejected(_)) => (StatusCode::BAD_REQUEST, Json(json!({"error": e.to_string()}))).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

#[derive(Deserialize)]
struct NewView {
    name: String,
    filter: ViewFilter,
}

#[derive(Deserialize)]
struct Clock {
    advance_secs: u64,
}

#[derive(Deserialize)]
struct Lag {
    millis: u64,
}

async fn add_contacts(State(org): Org, Path(user): Path<String>, Json(body): Json<Value>) -> Response {
    let list = match body {
        Value::Array(items) => items,
        one => vec![one],
    };
    answer(org.add_contacts(&user, &list).map(|ids| json!({"ids": ids})))
}

async fn delete_contact(State(org): Org, Path((user, id)): Path<(String, String)>, Query(q): Query<HashMap<String, String>>) -> Response {
    let permanent = q.get("permanent").is_some_and(|v| v == "true");
    answer(org.delete_contact(&user, &id, permanent).map(|()| json!({})))
}

pub fn routes(org: Arc<ZohoOrg>) -> Router {
    Router::new()
        .route("/__emulator/zoho/users", post(|State(org): Org, Json(u): Json<NewUser>| async move { Json(json!({"id": org.add_user(u)})) }))
        .route(
            "/__emulator/zoho/users/{user}/permissions",
            put(|State(org): Org, Path(user): Path<String>, Json(p): Json<ContactsPermissions>| async move {
                answer(org.set_permissions(&user, p).map(|()| json!({})))
            }),
        )
        .route(
            "/__emulator/zoho/users/{user}/contacts",
            post(add_contacts).get(|State(org): Org, Path(user): Path<String>| async move { answer(org.contacts(&user)) }),
        )
        .route(
            "/__emulator/zoho/users/{user}/contacts/{id}",
            patch(|State(org): Org, Path((user, id)): Path<(String, String)>, Json(p): Json<Value>| async move {
                answer(org.edit_contact(&user, &id, &p).map(|()| json!({})))
            })
            .delete(delete_contact),
        )
        .route(
            "/__emulator/zoho/users/{user}/views",
            post(|State(org): Org, Path(user): Path<String>, Json(v): Json<NewView>| async move {
                answer(org.add_view(&user, &v.name, v.filter).map(|id| json!({"id": id})))
            }),
        )
        .route(
            "/__emulator/zoho/users/{user}/views/{cvid}",
            put(|State(org): Org, Path((user, cvid)): Path<(String, String)>, Json(f): Json<ViewFilter>| async move {
                answer(org.set_view_filter(&user, &cvid, f).map(|()| json!({})))
            }),
        )
        .route("/__emulator/zoho/users/{user}/tokens", post(|State(org): Org, Path(user): Path<String>| async move { answer(org.issue_tokens(&user)) }))
        .route(
            "/__emulator/zoho/clock",
            post(|State(org): Org, Json(c): Json<Clock>| async move {
                org.advance_clock(Duration::from_secs(c.advance_secs));
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__emulator/zoho/consistency_lag",
            post(|State(org): Org, Json(l): Json<Lag>| async move {
                org.set_consistency_lag(Duration::from_millis(l.millis));
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__emulator/zoho/record_failures",
            post(|State(org): Org, Json(f): Json<RecordFailure>| async move {
                org.fail_records(f);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__emulator/zoho/access_tokens",
            axum::routing::delete(|State(org): Org| async move {
                org.expire_access_tokens();
                StatusCode::NO_CONTENT
            }),
        )
        .route("/__emulator/zoho/list_calls", axum::routing::get(|State(org): Org| async move { Json(org.list_calls()) }))
        .with_state(org)
}
