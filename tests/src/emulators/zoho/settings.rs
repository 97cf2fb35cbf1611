//! Metadata: custom views (list and one), Contacts fields, users (`type=CurrentUser`) and
//! profiles with `permissions_details` (not in the v8 OAS files we hold; shaped after the v8
//! profiles docs: one entry per module permission with `name`, `module`, `enabled`).

use super::api::{self, authorize, Need};
use super::fields::{metadata, CONTACT_FIELDS};
use super::state::{Profile, ZohoOrg, User, View, ViewFilter, ZohoState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::UtcOffset;

type Params = HashMap<String, String>;

const CONTACTS_MODULE_ID: &str = "5725767000000002175";

fn view_json(state: &ZohoState, user_id: &str, view: &View, is_default: bool, full: bool) -> Value {
    let system = view.system_name.is_some();
    let mut out = json!({
        "display_value": view.name,
        "created_time": Value::Null,
        "system_name": view.system_name,
        "created_by": if system { Value::Null } else { state.minified_user(user_id) },
        "default": is_default,
        "modified_time": Value::Null,
        "name": view.name,
        "system_defined": system,
        "modified_by": Value::Null,
        "id": view.id,
        "category": if system { "public_views" } else { "created_by_me" },
        "last_accessed_time": Value::Null,
        "locked": false,
        "favorite": Value::Null,
        "module": {"api_name": "Contacts", "id": CONTACTS_MODULE_ID},
        "offline": false,
        "access_type": if system { "public" } else { "only_to_me" },
    });
    if full {
        if let Some(obj) = out.as_object_mut() {
            let criteria = match &view.filter {
                ViewFilter::Criteria { field, comparator, value } => json!({
                    "comparator": comparator, "field": {"api_name": field, "id": Value::Null}, "value": value,
                    "group_operator": Value::Null, "group": Value::Null
                }),
                _ => Value::Null,
            };
            obj.insert("criteria".into(), criteria);
            obj.insert("fields".into(), json!([{"api_name": "Full_Name", "id": Value::Null, "_pin": false}, {"api_name": "Email", "id": Value::Null, "_pin": false}]));
            obj.insert("sort_by".into(), Value::Null);
            obj.insert("sort_order".into(), Value::Null);
            obj.insert("shared_to".into(), Value::Null);
        }
    }
    out
}

pub async fn custom_views(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<Params>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    let user_id = match authorize(&state, &headers, Need::CustomViews) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = api::require_contacts_module(q.get("module").map(String::as_str)) {
        return r;
    }
    let views = state.books.get(&user_id).map(|b| b.views.clone()).unwrap_or_default();
    let default_id = views.first().map(|v| v.id.clone());
    let list: Vec<Value> = views.iter().enumerate().map(|(i, v)| view_json(&state, &user_id, v, i == 0, false)).collect();
    let info = json!({
        "per_page": list.len(), "default": default_id, "count": list.len(),
        "translation": {"public_views": "Public Views", "other_users_views": "Other Users' Views", "shared_with_me": "ZohoOrg With Me", "created_by_me": "Created By Me"},
        "page": 1, "more_records": false,
    });
    Json(json!({"custom_views": list, "info": info})).into_response()
}

pub async fn custom_view(State(shared): State<Arc<ZohoOrg>>, Path(id): Path<String>, Query(q): Query<Params>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    let user_id = match authorize(&state, &headers, Need::CustomViews) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = api::require_contacts_module(q.get("module").map(String::as_str)) {
        return r;
    }
    let views = state.books.get(&user_id).map(|b| b.views.clone()).unwrap_or_default();
    match views.iter().position(|v| v.id == id) {
        Some(i) => Json(json!({"custom_views": [view_json(&state, &user_id, &views[i], i == 0, true)]})).into_response(),
        None => api::error(StatusCode::BAD_REQUEST, "INVALID_DATA", "the id given seems to be invalid", json!({"id": id})),
    }
}

pub async fn fields(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<Params>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    if let Err(r) = authorize(&state, &headers, Need::Fields) {
        return r;
    }
    if let Err(r) = api::require_contacts_module(q.get("module").map(String::as_str)) {
        return r;
    }
    let list: Vec<Value> = CONTACT_FIELDS.iter().enumerate().map(|(i, f)| metadata(i, f)).collect();
    Json(json!({"fields": list})).into_response()
}

fn time_zone_name(offset: UtcOffset) -> String {
    if offset == UtcOffset::UTC {
        "UTC".into()
    } else {
        let (h, m, _) = offset.as_hms();
        format!("GMT{}{:02}:{:02}", if offset.is_negative() { '-' } else { '+' }, h.abs(), m.abs())
    }
}

fn user_json(state: &ZohoState, user: &User) -> Value {
    let profile = state.profiles.get(&user.profile_id);
    json!({
        "id": user.id,
        "full_name": user.full_name(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "status": "active",
        "profile": {"name": profile.map(|p| p.name.clone()), "id": user.profile_id},
        "role": {"name": "CEO", "id": "5725767000000026005"},
        "time_zone": time_zone_name(user.utc_offset),
        "locale": "en_US",
        "zuid": user.zuid,
        "confirm": true,
        "Modified_Time": Value::Null,
    })
}

pub async fn users(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<Params>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    let user_id = match authorize(&state, &headers, Need::Users) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let list: Vec<Value> = match q.get("type").map(String::as_str).unwrap_or("AllUsers") {
        "CurrentUser" => state.user(&user_id).map(|u| vec![user_json(&state, u)]).unwrap_or_default(),
        "AllUsers" | "ActiveUsers" | "ConfirmedUsers" | "ActiveConfirmedUsers" => state.users.iter().map(|u| user_json(&state, u)).collect(),
        "AdminUsers" | "ActiveConfirmedAdmins" => state
            .users
            .iter()
            .filter(|u| state.profiles.get(&u.profile_id).is_some_and(|p| p.name == "Administrator"))
            .map(|u| user_json(&state, u))
            .collect(),
        "DeactiveUsers" | "NotConfirmedUsers" | "DeletedUsers" => Vec::new(),
        _ => return api::invalid_param("type", "invalid data"),
    };
    if list.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let info = json!({"per_page": 200, "count": list.len(), "page": 1, "more_records": false});
    Json(json!({"users": list, "info": info})).into_response()
}

fn profile_json(profile: &Profile) -> Value {
    let p = profile.contacts;
    let entry = |n: u64, action: &str, module: &str, enabled: bool| {
        json!({
            "id": (5_725_767_000_000_030_000u64 + n).to_string(),
            "name": format!("Crm_Implied_{action}_{module}"),
            "display_label": action,
            "module": module,
            "enabled": enabled,
        })
    };
    json!({
        "id": profile.id,
        "name": profile.name,
        "display_label": profile.name,
        "description": Value::Null,
        "custom": profile.name != "Administrator" && profile.name != "Standard",
        "default": false,
        "created_time": Value::Null,
        "modified_time": Value::Null,
        "permissions_details": [
            entry(1, "View", "Leads", true),
            entry(2, "Create", "Leads", true),
            entry(11, "View", "Contacts", p.view),
            entry(12, "Create", "Contacts", p.create),
            entry(13, "Edit", "Contacts", p.edit),
            entry(14, "Delete", "Contacts", p.delete),
            entry(15, "Export", "Contacts", p.view),
        ],
    })
}

pub async fn profiles(State(shared): State<Arc<ZohoOrg>>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    if let Err(r) = authorize(&state, &headers, Need::Profiles) {
        return r;
    }
    let list: Vec<Value> = state.profiles.values().map(profile_json).collect();
    Json(json!({"profiles": list})).into_response()
}

pub async fn profile(State(shared): State<Arc<ZohoOrg>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    if let Err(r) = authorize(&state, &headers, Need::Profiles) {
        return r;
    }
    match state.profiles.get(&id) {
        Some(p) => Json(json!({"profiles": [profile_json(p)]})).into_response(),
        None => api::error(StatusCode::BAD_REQUEST, "INVALID_DATA", "the id given seems to be invalid", json!({"id": id})),
    }
}
