//! Writes: insert (`POST`), update (`PUT`), upsert (`POST /upsert`, duplicate check on Email)
//! and delete (`DELETE ?ids=`), ≤ 100 records, one result per record; 201/200 when all
//! succeed, 207 when mixed, 400 when all fail.

use super::api::{self, authorize, Need};
use super::fields::{self, Invalid};
use super::state::{ContactsPermissions, Record, ZohoOrg, Snapshot, Tombstone, ZohoState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

const MAX_BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Insert,
    Update,
    Upsert,
}

pub async fn insert(State(shared): State<Arc<ZohoOrg>>, headers: HeaderMap, body: Bytes) -> Response {
    write(&shared, &headers, &body, Kind::Insert)
}

pub async fn update(State(shared): State<Arc<ZohoOrg>>, headers: HeaderMap, body: Bytes) -> Response {
    write(&shared, &headers, &body, Kind::Update)
}

pub async fn upsert(State(shared): State<Arc<ZohoOrg>>, headers: HeaderMap, body: Bytes) -> Response {
    write(&shared, &headers, &body, Kind::Upsert)
}

fn record_error(code: &str, message: &str, details: Value) -> Value {
    json!({"code": code, "details": details, "message": message, "status": "error"})
}

fn from_invalid(invalid: Invalid) -> Value {
    record_error(invalid.code, invalid.message, invalid.details)
}

fn batch_status(results: &[Value], all_ok: StatusCode) -> StatusCode {
    let ok = results.iter().filter(|r| r.get("status").and_then(Value::as_str) == Some("success")).count();
    match ok {
        0 => StatusCode::BAD_REQUEST,
        n if n == results.len() => all_ok,
        _ => StatusCode::MULTI_STATUS,
    }
}

fn write(shared: &ZohoOrg, headers: &HeaderMap, body: &Bytes, kind: Kind) -> Response {
    let mut state = shared.lock();
    let need = match kind {
        Kind::Insert => Need::ContactsCreate,
        Kind::Update => Need::ContactsUpdate,
        Kind::Upsert => Need::ContactsUpsert,
    };
    let user_id = match authorize(&state, headers, need) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return api::error(StatusCode::BAD_REQUEST, "INVALID_DATA", "body", json!({}));
    };
    let Some(data) = body.get("data").and_then(Value::as_array).filter(|d| !d.is_empty()) else {
        return api::required_param_missing("data");
    };
    if data.len() > MAX_BATCH {
        return api::error(StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED", "Record count exceeded", json!({"limit": MAX_BATCH}));
    }
    if kind == Kind::Upsert {
        let checks = body.get("duplicate_check_fields").and_then(Value::as_array);
        // Email is the Contacts system duplicate-check field and the only unique field we model.
        if checks.is_some_and(|c| c.iter().any(|f| f.as_str() != Some("Email"))) {
            return api::invalid_param("duplicate_check_fields", "invalid data");
        }
    }
    let perms = state.permissions(&user_id);
    let results: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(i, item)| one_record(&mut state, &user_id, perms, kind, i, item).unwrap_or_else(|e| e))
        .collect();
    let inserted = results.iter().any(|r| r.get("message").and_then(Value::as_str) == Some("record added"));
    let all_ok = if inserted { StatusCode::CREATED } else { StatusCode::OK };
    (batch_status(&results, all_ok), Json(json!({"data": results}))).into_response()
}

fn one_record(state: &mut ZohoState, user_id: &str, perms: ContactsPermissions, kind: Kind, i: usize, item: &Value) -> Result<Value, Value> {
    let Some(input) = item.as_object() else {
        return Err(record_error("INVALID_DATA", "invalid data", json!({"json_path": format!("$.data[{i}]")})));
    };
    if let Some(email) = input.get("Email").and_then(Value::as_str) {
        take_injected_failure(state, email)?;
    }
    match kind {
        Kind::Insert => create_record(state, user_id, i, input).map(|d| success("record added", d, None)),
        Kind::Update => {
            let Some(id) = input.get("id").and_then(Value::as_str) else {
                return Err(record_error("MANDATORY_NOT_FOUND", "required field not found", json!({"api_name": "id", "json_path": format!("$.data[{i}].id")})));
            };
            update_record(state, user_id, i, id, input).map(|d| success("record updated", d, None))
        }
        Kind::Upsert => {
            let email = input.get("Email").and_then(Value::as_str).filter(|e| !e.is_empty());
            let existing = email.and_then(|e| find_by_email(state, user_id, e, None));
            match existing {
                Some(id) if perms.edit => update_record(state, user_id, i, &id, input).map(|d| success("record updated", d, Some("update"))),
                None if perms.create => create_record(state, user_id, i, input).map(|d| success("record added", d, Some("insert"))),
                Some(_) => Err(record_error("NO_PERMISSION", "permission denied", json!({"permissions": ["Crm_Implied_Edit_Contacts"]}))),
                None => Err(record_error("NO_PERMISSION", "permission denied", json!({"permissions": ["Crm_Implied_Create_Contacts"]}))),
            }
        }
    }
}

fn success(message: &str, details: Value, action: Option<&str>) -> Value {
    let mut out = json!({"code": "SUCCESS", "details": details, "message": message, "status": "success"});
    if let (Some(action), Some(obj)) = (action, out.as_object_mut()) {
        obj.insert("action".into(), json!(action));
        obj.insert("duplicate_field".into(), if action == "update" { json!("Email") } else { Value::Null });
    }
    out
}

fn take_injected_failure(state: &mut ZohoState, email: &str) -> Result<(), Value> {
    let Some(index) = state.record_failures.iter().position(|f| f.email.eq_ignore_ascii_case(email)) else {
        return Ok(());
    };
    let rule = &mut state.record_failures[index];
    let error = record_error(&rule.code, &rule.message, json!({}));
    rule.times = rule.times.saturating_sub(1);
    if rule.times == 0 {
        state.record_failures.remove(index);
    }
    Err(error)
}

fn find_by_email(state: &ZohoState, user_id: &str, email: &str, except: Option<&str>) -> Option<String> {
    let book = state.books.get(user_id)?;
    book.records.values().find(|r| Some(r.id.as_str()) != except && r.email_matches(email)).map(|r| r.id.clone())
}

fn check_unique_email(state: &ZohoState, user_id: &str, i: usize, fields: &Map<String, Value>, except: Option<&str>) -> Result<(), Value> {
    let Some(email) = fields.get("Email").and_then(Value::as_str).filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    match find_by_email(state, user_id, email, except) {
        None => Ok(()),
        Some(dup) => Err(record_error(
            "DUPLICATE_DATA",
            "duplicate data",
            json!({
                "api_name": "Email",
                "json_path": format!("$.data[{i}].Email"),
                "duplicate_record": {"id": dup, "module": {"api_name": "Contacts", "id": "5725767000000002175"}, "Owner": state.minified_user(user_id)},
            }),
        )),
    }
}

fn mandatory_last_name(i: usize) -> Value {
    record_error("MANDATORY_NOT_FOUND", "required field not found", json!({"api_name": "Last_Name", "json_path": format!("$.data[{i}].Last_Name")}))
}

fn has_text(fields: &Map<String, Value>, name: &str) -> bool {
    fields.get(name).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty())
}

fn write_details(state: &ZohoState, user_id: &str, record: &Record) -> Value {
    json!({
        "Modified_Time": state.format_for(user_id, record.current.modified),
        "Modified_By": state.minified_user(&record.current.modified_by),
        "Created_Time": state.format_for(user_id, record.current.created),
        "id": record.id,
        "Created_By": state.minified_user(&record.owner),
        "$approval_state": "approved",
    })
}

/// Creates a record in `user_id`'s book (also used by the library to seed and by "UI" edits).
pub fn create_record(state: &mut ZohoState, user_id: &str, i: usize, input: &Map<String, Value>) -> Result<Value, Value> {
    let fields = fields::validate(input, i).map_err(from_invalid)?;
    if !has_text(&fields, "Last_Name") {
        return Err(mandatory_last_name(i));
    }
    check_unique_email(state, user_id, i, &fields, None)?;
    let id = state.next_id();
    let now = state.now();
    let snapshot = Snapshot { fields, created: now, modified: now, modified_by: user_id.to_string() };
    let record = Record { id: id.clone(), owner: user_id.to_string(), current: snapshot, previous: None, visible_at: now + state.consistency_lag };
    let details = write_details(state, user_id, &record);
    state.book_mut(user_id).records.insert(id, record);
    Ok(details)
}

/// Updates a record as `actor` (the API caller, or the "UI" user), bumping `Modified_Time`.
pub fn update_record(state: &mut ZohoState, user_id: &str, i: usize, id: &str, input: &Map<String, Value>) -> Result<Value, Value> {
    let invalid_id = || record_error("INVALID_DATA", "the id given seems to be invalid", json!({"id": id}));
    if !state.books.get(user_id).is_some_and(|b| b.records.contains_key(id)) {
        return Err(invalid_id());
    }
    let fields = fields::validate(input, i).map_err(from_invalid)?;
    if fields.contains_key("Last_Name") && !has_text(&fields, "Last_Name") {
        return Err(mandatory_last_name(i));
    }
    check_unique_email(state, user_id, i, &fields, Some(id))?;
    let now = state.now();
    let lag = state.consistency_lag;
    let book = state.book_mut(user_id);
    let record = book.records.get_mut(id).ok_or_else(invalid_id)?;
    if now >= record.visible_at {
        record.previous = Some(record.current.clone());
    }
    for (k, v) in fields {
        record.current.fields.insert(k, v);
    }
    record.current.modified = now;
    record.current.modified_by = user_id.to_string();
    record.visible_at = now + lag;
    let record = record.clone();
    Ok(write_details(state, user_id, &record))
}

/// Moves a record to the recycle bin (or deletes it permanently), leaving a tombstone.
pub fn delete_record(state: &mut ZohoState, user_id: &str, id: &str, permanent: bool) -> bool {
    let now = state.now();
    let book = state.book_mut(user_id);
    let Some(record) = book.records.remove(id) else { return false };
    let name = |k: &str| record.current.fields.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let display_name = format!("{} {}", name("First_Name"), name("Last_Name")).trim().to_string();
    book.tombstones.push(Tombstone {
        id: id.to_string(),
        display_name: (!permanent).then_some(display_name),
        deleted_time: now,
        kind: if permanent { "permanent" } else { "recycle" }.to_string(),
        deleted_by: (!permanent).then(|| user_id.to_string()),
        created_by: (!permanent).then(|| record.owner.clone()),
    });
    true
}

pub async fn delete(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let mut state = shared.lock();
    let user_id = match authorize(&state, &headers, Need::ContactsDelete) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let ids: Vec<String> = q.get("ids").map(|s| s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect()).unwrap_or_default();
    if ids.is_empty() {
        return api::required_param_missing("ids");
    }
    if ids.len() > MAX_BATCH {
        return api::error(StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED", "Record count exceeded", json!({"limit": MAX_BATCH}));
    }
    let results: Vec<Value> = ids
        .iter()
        .map(|id| {
            let email = state.books.get(&user_id).and_then(|b| b.records.get(id)).and_then(|r| r.current.fields.get("Email")).and_then(Value::as_str).map(String::from);
            if let Some(Err(e)) = email.map(|e| take_injected_failure(&mut state, &e)) {
                return e;
            }
            if delete_record(&mut state, &user_id, id, false) {
                json!({"code": "SUCCESS", "details": {"id": id}, "message": "record deleted", "status": "success"})
            } else {
                record_error("INVALID_DATA", "record not deleted", json!({"id": id}))
            }
        })
        .collect();
    (batch_status(&results, StatusCode::OK), Json(json!({"data": results}))).into_response()
}
