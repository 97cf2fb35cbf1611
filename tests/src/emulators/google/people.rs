//! People API handlers: `people/me/connections` and the batch contact writes.

use super::render::{
    api_error, contact_status, invalid_argument, parse_mask, render_person, unauthenticated,
    PERSON_FIELDS, SINGLETON_FIELDS, UPDATABLE_FIELDS,
};
use super::state::{
    group_names, normalize_memberships, GoogleState, Inner, Snapshot, CONTACTS_READONLY_SCOPE,
    CONTACTS_SCOPE, MY_CONTACTS, STARRED,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

type Params = Query<HashMap<String, String>>;

/// The account behind the bearer token; 401 for a missing, unknown or expired token, 403 when
/// the token lacks the scope (`write` needs `contacts`, reads also accept `contacts.readonly`).
pub(crate) fn authorize(
    inner: &mut Inner,
    headers: &HeaderMap,
    write: bool,
) -> Result<String, Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthenticated)?;
    let grant = inner
        .access_tokens
        .get(token)
        .filter(|g| g.expires_at > Instant::now())
        .ok_or_else(unauthenticated)?;
    let scopes: Vec<&str> = grant.scopes.split_whitespace().collect();
    let allowed =
        scopes.contains(&CONTACTS_SCOPE) || (!write && scopes.contains(&CONTACTS_READONLY_SCOPE));
    if !allowed {
        return Err(api_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
            Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
        ));
    }
    Ok(grant.account.clone())
}

macro_rules! try_response {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

fn sync_token(epoch: u64, seq: u64) -> String {
    format!("emu-sync~{epoch}~{seq}")
}

fn parse_sync_token(token: &str) -> Option<(u64, u64)> {
    let mut parts = token.strip_prefix("emu-sync~")?.split('~');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// `GET /v1/people/me/connections`
pub async fn list_connections(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, false));
    let Some(mask) = q.get("personFields").filter(|m| !m.is_empty()) else {
        return invalid_argument("personFields mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people.connections/list.");
    };
    let fields = match parse_mask(mask, PERSON_FIELDS) {
        Ok(fields) => fields,
        Err(bad) => {
            return invalid_argument(&format!("Invalid personFields mask path: \"{bad}\"."))
        }
    };
    let page_size = match q.get("pageSize").map(|s| s.parse::<usize>()) {
        None | Some(Ok(0)) => 100,
        Some(Ok(n)) if n <= 1000 => n,
        _ => return invalid_argument("Page size must be between 1 and 1000."),
    };
    let wants_sync_token =
        q.get("requestSyncToken").is_some_and(|v| v == "true") || q.contains_key("syncToken");
    let request_key = format!(
        "{account}|{mask}|{}",
        q.get("syncToken").map(String::as_str).unwrap_or("")
    );

    let (snapshot_id, offset) = match q.get("pageToken").filter(|t| !t.is_empty()) {
        Some(token) => {
            let Some((id, offset)) = token
                .split_once('@')
                .and_then(|(id, o)| Some((id.to_string(), o.parse::<usize>().ok()?)))
            else {
                return invalid_argument("Page token is invalid.");
            };
            match inner.snapshots.get(&id) {
                Some(s) if s.request_key == request_key => (id, offset),
                _ => {
                    return invalid_argument("Page token is invalid or does not match the request.")
                }
            }
        }
        None => {
            let snapshot = try_response!(take_snapshot(
                &mut inner,
                &account,
                q.get("syncToken").map(String::as_str),
                wants_sync_token,
                request_key
            ));
            let id = uuid::Uuid::new_v4().simple().to_string();
            inner.snapshots.insert(id.clone(), snapshot);
            (id, 0)
        }
    };
    let Some(snapshot) = inner.snapshots.get(&snapshot_id).cloned() else {
        return invalid_argument("Page token is invalid.");
    };
    let end = (offset + page_size).min(snapshot.names.len());
    let acc = inner.account(&snapshot.account);
    let connections: Vec<Value> = snapshot.names[offset.min(end)..end]
        .iter()
        .filter_map(|rn| acc.people.get(rn).map(|p| render_person(rn, p, &fields)))
        .collect();
    let mut body = json!({ "connections": connections, "totalItems": snapshot.names.len(), "totalPeople": snapshot.names.len() });
    if end < snapshot.names.len() {
        body["nextPageToken"] = json!(format!("{snapshot_id}@{end}"));
    } else {
        inner.snapshots.remove(&snapshot_id);
        if let Some(token) = snapshot.sync_token {
            body["nextSyncToken"] = json!(token);
        }
    }
    Json(body).into_response()
}

/// The people a listing covers: all live contacts, or the changes after a sync token that are
/// already visible (tombstones included). The next token stops before the first change not yet
/// visible, so a delayed change is delivered later rather than skipped.
fn take_snapshot(
    inner: &mut Inner,
    account: &str,
    sync_token: Option<&str>,
    wants_sync_token: bool,
    request_key: String,
) -> Result<Snapshot, Response> {
    let expired_status = inner.expired_sync_status;
    let acc = inner.account(account);
    let now = Instant::now();
    let (names, watermark) = match sync_token {
        None => {
            let names = acc
                .people
                .iter()
                .filter(|(_, p)| !p.deleted && p.listed_from <= now)
                .map(|(rn, _)| rn.clone())
                .collect();
            (names, acc.seq)
        }
        Some(token) => {
            let Some((epoch, since)) = parse_sync_token(token) else {
                return Err(invalid_argument("Sync token is invalid."));
            };
            if epoch != acc.sync_epoch || since > acc.seq {
                let http = StatusCode::from_u16(expired_status).unwrap_or(StatusCode::BAD_REQUEST);
                return Err(api_error(
                    http,
                    "FAILED_PRECONDITION",
                    "Sync token is expired. Clear local cache and retry call without the sync token.",
                    Some("EXPIRED_SYNC_TOKEN"),
                ));
            }
            let first_hidden = acc
                .people
                .values()
                .filter(|p| p.changed_seq > since && p.visible_at > now)
                .map(|p| p.changed_seq)
                .min();
            let mut changed: Vec<_> = acc
                .people
                .iter()
                .filter(|(_, p)| p.changed_seq > since && p.visible_at <= now)
                .map(|(rn, p)| (p.changed_seq, rn.clone()))
                .collect();
            changed.sort();
            (
                changed.into_iter().map(|(_, rn)| rn).collect(),
                first_hidden.map_or(acc.seq, |s| s - 1),
            )
        }
    };
    let sync_token = wants_sync_token.then(|| sync_token_for(acc.sync_epoch, watermark));
    Ok(Snapshot {
        account: account.to_string(),
        names,
        sync_token,
        request_key,
    })
}

fn sync_token_for(epoch: u64, seq: u64) -> String {
    sync_token(epoch, seq)
}

/// Checks a person's fields for a create or an update: singletons, and groups a contact may join.
fn validate_person(inner: &mut Inner, account: &str, person: &Value) -> Result<(), &'static str> {
    for field in SINGLETON_FIELDS {
        if person
            .get(*field)
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1)
        {
            return Err("Cannot have more than one item in a singleton field (names, biographies, birthdays, genders) per source.");
        }
    }
    let acc = inner.account(account);
    for group in group_names(person) {
        let addable = group == MY_CONTACTS
            || group == STARRED
            || acc.groups.get(&group).is_some_and(|g| !g.system);
        if !addable {
            return Err("Contact group membership is invalid: the group does not exist or cannot have members added.");
        }
    }
    Ok(())
}

fn read_fields(mask: Option<&Value>) -> Result<Vec<String>, Response> {
    let mask = mask.and_then(Value::as_str).unwrap_or("");
    parse_mask(mask, PERSON_FIELDS)
        .map_err(|bad| invalid_argument(&format!("Invalid readMask path: \"{bad}\".")))
}

fn emails_of(person: &Value) -> Vec<String> {
    person
        .get("emailAddresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("value")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /v1/people:batchCreateContacts`
pub async fn batch_create(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, true));
    let Some(contacts) = body
        .get("contacts")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    else {
        return invalid_argument("contacts must not be empty.");
    };
    if contacts.len() > 200 {
        return invalid_argument("Too many contacts in the request. The maximum is 200.");
    }
    let fields = try_response!(read_fields(body.get("readMask")));
    let mut created = Vec::new();
    for contact in contacts {
        let mut person = contact.get("contactPerson").cloned().unwrap_or(json!({}));
        if let Some(status) = inner.take_contact_fault(None, &emails_of(&person)) {
            created.push(contact_status(&status, "Injected contact failure."));
            continue;
        }
        if let Err(message) = validate_person(&mut inner, &account, &person) {
            created.push(contact_status("INVALID_ARGUMENT", message));
            continue;
        }
        for key in ["resourceName", "etag", "metadata"] {
            if let Some(object) = person.as_object_mut() {
                object.remove(key);
            }
        }
        let rn = inner.create_person(&account, person);
        let stored = inner.account(&account).people[&rn].clone();
        let rendered = if fields.is_empty() {
            json!({ "resourceName": rn, "etag": stored.etag })
        } else {
            render_person(&rn, &stored, &fields)
        };
        created.push(json!({ "person": rendered, "httpStatusCode": 200, "status": {} }));
    }
    Json(json!({ "createdPeople": created })).into_response()
}

/// `POST /v1/people:batchUpdateContacts`
pub async fn batch_update(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, true));
    let Some(contacts) = body
        .get("contacts")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
    else {
        return invalid_argument("contacts must not be empty.");
    };
    if contacts.len() > 200 {
        return invalid_argument("Too many contacts in the request. The maximum is 200.");
    }
    let mask = body.get("updateMask").and_then(Value::as_str).unwrap_or("");
    let update_fields = match parse_mask(mask, UPDATABLE_FIELDS) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            return invalid_argument(
                "updateMask is required. Please specify one or more valid paths.",
            )
        }
        Err(bad) => return invalid_argument(&format!("Invalid updateMask path: \"{bad}\".")),
    };
    let fields = try_response!(read_fields(body.get("readMask")));
    let mut results = serde_json::Map::new();
    for (rn, person) in contacts {
        let outcome = update_one(&mut inner, &account, rn, person, &update_fields, &fields);
        results.insert(rn.clone(), outcome);
    }
    Json(json!({ "updateResult": results })).into_response()
}

fn update_one(
    inner: &mut Inner,
    account: &str,
    rn: &str,
    person: &Value,
    update_fields: &[String],
    fields: &[String],
) -> Value {
    let Some(current) = inner
        .account(account)
        .people
        .get(rn)
        .filter(|p| !p.deleted)
        .cloned()
    else {
        return contact_status("NOT_FOUND", "Requested entity was not found.");
    };
    if let Some(status) = inner.take_contact_fault(Some(rn), &current.emails()) {
        return contact_status(&status, "Injected contact failure.");
    }
    let given_etag = person.get("etag").and_then(Value::as_str).or_else(|| {
        person
            .pointer("/metadata/sources")?
            .as_array()?
            .iter()
            .find_map(|s| s.get("etag")?.as_str())
    });
    match given_etag {
        None => return contact_status("INVALID_ARGUMENT", "Request must set person.etag or person.metadata.sources.etag for the source that is being updated."),
        Some(etag) if etag != current.etag && etag.trim_start_matches('#') != current.etag.trim_start_matches('%') => {
            return contact_status("FAILED_PRECONDITION", "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.");
        }
        Some(_) => {}
    }
    if update_fields.iter().any(|f| f == "memberships") && group_names(person).is_empty() {
        return contact_status(
            "INVALID_ARGUMENT",
            "Updating memberships requires at least one contact group membership.",
        );
    }
    if let Err(message) = validate_person(inner, account, person) {
        return contact_status("INVALID_ARGUMENT", message);
    }
    let mut data = current.data.clone();
    for field in update_fields {
        match person.get(field.as_str()) {
            Some(value) => data[field.as_str()] = value.clone(),
            None => {
                if let Some(object) = data.as_object_mut() {
                    object.remove(field.as_str());
                }
            }
        }
    }
    normalize_memberships(&mut data);
    inner.put_person(account, rn, data, false);
    let stored = inner.account(account).people[rn].clone();
    let rendered = if fields.is_empty() {
        json!({ "resourceName": rn, "etag": stored.etag })
    } else {
        render_person(rn, &stored, fields)
    };
    json!({ "person": rendered, "requestedResourceName": rn, "httpStatusCode": 200, "status": {} })
}

/// `POST /v1/people:batchDeleteContacts`. Names already deleted or unknown are skipped
/// (assumption: Google's answer for them is not documented).
pub async fn batch_delete(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock();
    let account = try_response!(authorize(&mut inner, &headers, true));
    let Some(names) = body
        .get("resourceNames")
        .and_then(Value::as_array)
        .filter(|n| !n.is_empty())
    else {
        return invalid_argument("resourceNames must not be empty.");
    };
    if names.len() > 500 {
        return invalid_argument("Too many resource names in the request. The maximum is 500.");
    }
    for rn in names.iter().filter_map(Value::as_str) {
        let live = inner
            .account(&account)
            .people
            .get(rn)
            .filter(|p| !p.deleted)
            .map(|p| p.data.clone());
        if let Some(data) = live {
            inner.put_person(&account, rn, data, true);
        }
    }
    Json(json!({})).into_response()
}
