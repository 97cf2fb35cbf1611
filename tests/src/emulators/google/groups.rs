//! Contact group handlers: list, get, create, members:modify.

use super::people::authorize;
use super::render::{api_error, invalid_argument, render_group};
use super::state::{
    group_names, membership, now_rfc3339, GoogleState, StoredGroup, MY_CONTACTS, STARRED,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

macro_rules! try_response {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Requested entity was not found.",
        None,
    )
}

/// `GET /v1/contactGroups`: system groups first, then user groups; page tokens are offsets.
pub async fn list(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, false));
    let page_size = match q.get("pageSize").map(|s| s.parse::<usize>()) {
        None | Some(Ok(0)) => 30,
        Some(Ok(n)) if n <= 1000 => n,
        _ => return invalid_argument("Page size must be between 1 and 1000."),
    };
    let offset = match q.get("pageToken").filter(|t| !t.is_empty()).map(|t| {
        t.strip_prefix("groups@")
            .and_then(|o| o.parse::<usize>().ok())
    }) {
        None => 0,
        Some(Some(offset)) => offset,
        Some(None) => return invalid_argument("Page token is invalid."),
    };
    let mut groups: Vec<(String, StoredGroup)> = inner
        .account(&account)
        .groups
        .iter()
        .map(|(k, g)| (k.clone(), g.clone()))
        .collect();
    groups.sort_by_key(|(rn, g)| (!g.system, rn.clone()));
    let total = groups.len();
    let end = (offset + page_size).min(total);
    let page: Vec<Value> = groups[offset.min(end)..end]
        .iter()
        .map(|(rn, g)| render_group(&mut inner, &account, rn, g, 0))
        .collect();
    let mut body = json!({ "contactGroups": page, "totalItems": total });
    if end < total {
        body["nextPageToken"] = json!(format!("groups@{end}"));
    } else {
        body["nextSyncToken"] = json!("emu-groups-sync");
    }
    Json(body).into_response()
}

/// `GET /v1/contactGroups/{id}` with `maxMembers` (default 0: no member names).
pub async fn get(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, false));
    let rn = format!("contactGroups/{id}");
    let max_members = q
        .get("maxMembers")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(0);
    let Some(group) = inner.account(&account).groups.get(&rn).cloned() else {
        return not_found();
    };
    Json(render_group(&mut inner, &account, &rn, &group, max_members)).into_response()
}

/// `POST /v1/contactGroups`: a taken name is 409 ALREADY_EXISTS.
pub async fn create(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, true));
    let Some(name) = body
        .pointer("/contactGroup/name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return invalid_argument("contactGroup.name is required.");
    };
    let name = name.to_string();
    if inner
        .account(&account)
        .groups
        .values()
        .any(|g| !g.system && g.name == name)
    {
        return api_error(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            "Contact group name already exists.",
            None,
        );
    }
    let rn = format!("contactGroups/{:x}", 0x3a5f_0000_0000u64 + inner.next_id());
    let group = StoredGroup {
        name,
        system: false,
        etag: inner.new_etag(),
        update_time: now_rfc3339(),
    };
    inner
        .account(&account)
        .groups
        .insert(rn.clone(), group.clone());
    Json(render_group(&mut inner, &account, &rn, &group, 0)).into_response()
}

/// `POST /v1/contactGroups/{id}/members:modify` (at most 1000 names added plus removed).
pub async fn modify_members(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, true));
    let rn = format!("contactGroups/{id}");
    let names = |key: &str| -> Vec<String> {
        body.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (to_add, to_remove) = (names("resourceNamesToAdd"), names("resourceNamesToRemove"));
    if to_add.len() + to_remove.len() > 1000 {
        return invalid_argument("Too many resource names. The total of added and removed resource names must be at most 1000.");
    }
    let Some(group) = inner.account(&account).groups.get(&rn).cloned() else {
        return not_found();
    };
    if !to_add.is_empty() && group.system && rn != MY_CONTACTS && rn != STARRED {
        return invalid_argument("Cannot add contacts to this system contact group.");
    }
    let mut not_found_names = Vec::new();
    let mut last_group = Vec::new();
    for (person_rn, adding) in to_add
        .iter()
        .map(|p| (p, true))
        .chain(to_remove.iter().map(|p| (p, false)))
    {
        let Some(person) = inner
            .account(&account)
            .people
            .get(person_rn)
            .filter(|p| !p.deleted)
            .cloned()
        else {
            not_found_names.push(person_rn.clone());
            continue;
        };
        let mut groups = group_names(&person.data);
        let member = groups.contains(&rn);
        match (adding, member) {
            (true, false) => groups.push(rn.clone()),
            (false, true) if groups.len() == 1 => {
                last_group.push(person_rn.clone());
                continue;
            }
            (false, true) => groups.retain(|g| g != &rn),
            _ => continue,
        }
        let mut data = person.data.clone();
        data["memberships"] = Value::Array(groups.iter().map(|g| membership(g)).collect());
        inner.put_person(&account, person_rn, data, false);
    }
    let mut out = json!({});
    if !not_found_names.is_empty() {
        out["notFoundResourceNames"] = json!(not_found_names);
    }
    if !last_group.is_empty() {
        out["canNotRemoveLastContactGroupResourceNames"] = json!(last_group);
    }
    Json(out).into_response()
}
