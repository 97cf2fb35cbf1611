//! Reads: `GET /crm/v8/Contacts` (fields, cvid, If-Modified-Since, page ≤ 10 × 200, then
//! `page_token`; 204 empty, 304 not modified) and `GET /crm/v8/Contacts/deleted`.

use super::api::{self, authorize, Need};
use super::fields;
use super::state::{parse_time, random_hex, ListCall, PageToken, Record, ZohoOrg, Snapshot, ZohoState};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

const MAX_PER_PAGE: usize = 200;
const MAX_FIELDS: usize = 50;
/// Records reachable with `page`; past this `page_token` is mandatory.
const DISCRETE_LIMIT: usize = 2_000;
const TOKEN_LIMIT: usize = 100_000;
const TOKEN_TTL: Duration = Duration::hours(24);
const RECYCLE_RETENTION: Duration = Duration::days(60);
const PERMANENT_RETENTION: Duration = Duration::days(120);

type Params = HashMap<String, String>;

/// One record as the API returns it: `id` plus the requested fields (null when empty).
pub fn render(state: &ZohoState, user_id: &str, record: &Record, snap: &Snapshot, wanted: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(record.id.clone()));
    for name in wanted {
        let value = match name.as_str() {
            "id" => continue,
            "Full_Name" => {
                let part = |k: &str| snap.fields.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                Value::String(format!("{} {}", part("First_Name"), part("Last_Name")).trim().to_string())
            }
            "Created_Time" => Value::String(state.format_for(user_id, snap.created)),
            "Modified_Time" => Value::String(state.format_for(user_id, snap.modified)),
            "Owner" | "Created_By" => state.minified_user(&record.owner),
            "Modified_By" => state.minified_user(&snap.modified_by),
            other => snap.fields.get(other).cloned().unwrap_or(Value::Null),
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

fn if_modified_since(headers: &HeaderMap) -> Result<Option<OffsetDateTime>, Response> {
    match headers.get("if-modified-since") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(parse_time)
            .map(Some)
            .ok_or_else(|| api::error(StatusCode::BAD_REQUEST, "INVALID_DATA", "invalid data", json!({"header": "If-Modified-Since"}))),
    }
}

fn per_page(q: &Params) -> Result<usize, Response> {
    match q.get("per_page") {
        None => Ok(MAX_PER_PAGE),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| api::invalid_param("per_page", "per_page should be between 1 and 200")),
    }
}

fn ambiguity(message: &str) -> Response {
    api::error(StatusCode::BAD_REQUEST, "AMBIGUITY_DURING_PROCESSING", message, json!({}))
}

pub async fn list(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<Params>, headers: HeaderMap) -> Response {
    let mut state = shared.lock();
    let response = match authorize(&state, &headers, Need::ContactsRead) {
        Ok(user_id) => list_for(&mut state, &user_id, &q, &headers).unwrap_or_else(|r| r),
        Err(r) => r,
    };
    let call = ListCall {
        page: q.get("page").and_then(|p| p.parse().ok()),
        used_page_token: q.contains_key("page_token"),
        per_page: q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(MAX_PER_PAGE),
        cvid: q.get("cvid").cloned(),
        if_modified_since: headers.contains_key("if-modified-since"),
        status: response.status().as_u16(),
    };
    state.list_calls.push(call);
    response
}

fn list_for(state: &mut ZohoState, user_id: &str, q: &Params, headers: &HeaderMap) -> Result<Response, Response> {
    let wanted: Vec<String> =
        q.get("fields").map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default();
    if wanted.is_empty() {
        return Err(api::required_param_missing("fields"));
    }
    if wanted.len() > MAX_FIELDS {
        return Err(api::error(StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED", "Fields limit exceeded", json!({"limit": MAX_FIELDS})));
    }
    if let Some(bad) = wanted.iter().find(|f| !fields::is_readable(f)) {
        return Err(api::error(StatusCode::BAD_REQUEST, "INVALID_DATA", "invalid data", json!({"api_name": bad})));
    }
    let per_page = per_page(q)?;
    let page_token = q.get("page_token").cloned();
    if page_token.is_some() && q.contains_key("page") {
        return Err(ambiguity("page and page_token cannot be given together"));
    }
    let cvid = q.get("cvid").cloned();
    if cvid.is_some() && q.contains_key("sort_by") {
        return Err(ambiguity("cvid and sort_by cannot be given together"));
    }
    let sort_by = q.get("sort_by").cloned().unwrap_or_else(|| "id".into());
    if !["id", "Created_Time", "Modified_Time"].contains(&sort_by.as_str()) {
        return Err(api::invalid_param("sort_by", "invalid data"));
    }
    let descending = match q.get("sort_order").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(api::invalid_param("sort_order", "invalid data")),
    };
    let since = if_modified_since(headers)?;
    let query_key = format!(
        "{}|{}|{}|{}|{}|{}",
        wanted.join(","),
        cvid.as_deref().unwrap_or(""),
        sort_by,
        descending,
        per_page,
        since.map(|s| s.unix_timestamp()).unwrap_or(0)
    );
    let now = state.now();
    let view = match &cvid {
        None => None,
        Some(id) => {
            let views = state.books.get(user_id).map(|b| b.views.as_slice()).unwrap_or_default();
            Some(views.iter().find(|v| &v.id == id).map(|v| v.filter.clone()).ok_or_else(|| api::invalid_param("cvid", "the id given seems to be invalid"))?)
        }
    };

    // Where this page starts: an offset for `page`, a keyset position for `page_token`.
    let (page, start_after, served_before) = match &page_token {
        None => {
            let page: usize = match q.get("page") {
                None => 1,
                Some(p) => p.parse().ok().filter(|n| *n >= 1).ok_or_else(|| api::invalid_param("page", "invalid data"))?,
            };
            if page * per_page > DISCRETE_LIMIT {
                return Err(api::error(
                    StatusCode::BAD_REQUEST,
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    "You cannot fetch more than 2000 records without page_token",
                    json!({"limit": DISCRETE_LIMIT}),
                ));
            }
            (page as u32, None, (page - 1) * per_page)
        }
        Some(token) => {
            let stored = state.page_tokens.get(token).ok_or_else(|| api::invalid_param("page_token", "invalid data"))?;
            if stored.user_id != user_id {
                return Err(api::invalid_param("page_token", "invalid data"));
            }
            if now >= stored.expires_at {
                return Err(api::error(StatusCode::BAD_REQUEST, "EXPIRED_VALUE", "The token given has expired", json!({"param_name": "page_token"})));
            }
            if stored.query_key != query_key {
                return Err(api::error(StatusCode::BAD_REQUEST, "TOKEN_BOUND_DATA_MISMATCH", "the params do not match the token", json!({"param_name": "page_token"})));
            }
            if stored.served >= TOKEN_LIMIT {
                return Err(api::error(StatusCode::BAD_REQUEST, "PAGINATION_LIMIT_EXCEEDED", "pagination limit exceeded", json!({"limit": TOKEN_LIMIT})));
            }
            (stored.page, Some(stored.after), stored.served)
        }
    };

    let key_of = |r: &Record, s: &Snapshot| -> (i64, u64) {
        let primary = match sort_by.as_str() {
            "Modified_Time" => s.modified.unix_timestamp(),
            "Created_Time" => s.created.unix_timestamp(),
            _ => 0,
        };
        (primary, r.id.parse().unwrap_or(0))
    };
    let empty = Default::default();
    let records = state.books.get(user_id).map(|b| &b.records).unwrap_or(&empty);
    let mut rows: Vec<((i64, u64), &Record, &Snapshot)> = records
        .values()
        .filter_map(|r| {
            let snap = r.listed(now)?;
            let in_view = view.as_ref().is_none_or(|f| f.admits(&r.id, &snap.fields));
            let changed = since.is_none_or(|t| snap.modified > t);
            (in_view && changed).then(|| (key_of(r, snap), r, snap))
        })
        .collect();
    rows.sort_by_key(|(k, _, _)| *k);
    if descending {
        rows.reverse();
    }
    let start = match start_after {
        None => served_before,
        Some(after) => rows.iter().position(|(k, _, _)| if descending { *k < after } else { *k > after }).unwrap_or(rows.len()),
    };
    let slice = rows.get(start..).unwrap_or_default();
    let page_rows = &slice[..slice.len().min(per_page)];
    if page_rows.is_empty() {
        return Ok(if since.is_some() { StatusCode::NOT_MODIFIED.into_response() } else { StatusCode::NO_CONTENT.into_response() });
    }
    let more_records = slice.len() > per_page;
    let data: Vec<Value> = page_rows.iter().map(|(_, r, s)| render(state, user_id, r, s, &wanted)).collect();
    let last_key = page_rows.last().map(|(k, _, _)| *k).unwrap_or_default();
    let expires_at = now + TOKEN_TTL;
    let expiry_text = state.format_for(user_id, expires_at);
    let next_page_token = more_records.then(|| {
        let token = random_hex(20);
        state.page_tokens.insert(
            token.clone(),
            PageToken { user_id: user_id.to_string(), query_key, after: last_key, served: served_before + data.len(), page: page + 1, expires_at },
        );
        token
    });
    let info = json!({
        "call": false,
        "per_page": per_page,
        "next_page_token": next_page_token,
        "count": data.len(),
        "sort_by": if cvid.is_some() { "id".to_string() } else { sort_by },
        "page": page,
        "previous_page_token": null,
        "page_token_expiry": next_page_token.as_ref().map(|_| expiry_text),
        "sort_order": if descending { "desc" } else { "asc" },
        "email": false,
        "more_records": more_records,
    });
    Ok(Json(json!({"data": data, "info": info})).into_response())
}

pub async fn deleted(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<Params>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    let user_id = match authorize(&state, &headers, Need::ContactsRead) {
        Ok(u) => u,
        Err(r) => return r,
    };
    deleted_for(&state, &user_id, &q, &headers).unwrap_or_else(|r| r)
}

fn deleted_for(state: &ZohoState, user_id: &str, q: &Params, headers: &HeaderMap) -> Result<Response, Response> {
    let kind = q.get("type").map(String::as_str).unwrap_or("all");
    if !["all", "recycle", "permanent"].contains(&kind) {
        return Err(api::error(StatusCode::BAD_REQUEST, "PATTERN_NOT_MATCHED", "Please check whether the input values are correct", json!({"param_name": "type"})));
    }
    let per_page = per_page(q)?;
    let page: usize = match q.get("page") {
        None => 1,
        Some(p) => p.parse().ok().filter(|n| *n >= 1).ok_or_else(|| api::invalid_param("page", "invalid data"))?,
    };
    let since = if_modified_since(headers)?;
    let now = state.now();
    let mut rows: Vec<_> = state
        .books
        .get(user_id)
        .map(|b| b.tombstones.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| kind == "all" || t.kind == kind)
        .filter(|t| now - t.deleted_time < if t.kind == "permanent" { PERMANENT_RETENTION } else { RECYCLE_RETENTION })
        .filter(|t| since.is_none_or(|s| t.deleted_time > s))
        .collect();
    rows.sort_by_key(|t| std::cmp::Reverse((t.deleted_time, t.id.parse::<u64>().unwrap_or(0))));
    let start = (page - 1) * per_page;
    let slice = rows.get(start..).unwrap_or_default();
    let page_rows = &slice[..slice.len().min(per_page)];
    if page_rows.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let data: Vec<Value> = page_rows
        .iter()
        .map(|t| {
            let user = |id: &Option<String>| id.as_deref().map(|u| state.minified_user(u)).unwrap_or(Value::Null);
            json!({
                "deleted_by": user(&t.deleted_by),
                "id": t.id,
                "display_name": t.display_name,
                "type": t.kind,
                "created_by": user(&t.created_by),
                "deleted_time": state.format_for(user_id, t.deleted_time),
            })
        })
        .collect();
    let info = json!({"per_page": per_page, "count": data.len(), "page": page, "more_records": slice.len() > per_page});
    Ok(Json(json!({"data": data, "info": info})).into_response())
}
