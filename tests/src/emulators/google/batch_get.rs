//! `GET /v1/people:batchGet`: people by resourceName (at most 200), each answered on its own.
//! Read-your-writes (no consistency delay, unlike listings); a deleted or unknown contact is a
//! per-person `NOT_FOUND` status.

use super::people::authorize;
use super::render::{contact_status, invalid_argument, parse_mask, render_person, PERSON_FIELDS};
use super::state::GoogleState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// Google's maximum of resource names per call.
const MAX_NAMES: usize = 200;

pub async fn batch_get(
    State(state): State<Arc<GoogleState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut inner = state.lock();
    let account = match authorize(&mut inner, &headers, false) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let mask = pairs
        .iter()
        .find(|(k, _)| k == "personFields")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if mask.is_empty() {
        return invalid_argument("personFields mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/getBatchGet.");
    }
    let fields = match parse_mask(mask, PERSON_FIELDS) {
        Ok(fields) => fields,
        Err(bad) => {
            return invalid_argument(&format!("Invalid personFields mask path: \"{bad}\"."))
        }
    };
    let names: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "resourceNames")
        .map(|(_, v)| v.as_str())
        .collect();
    if names.is_empty() {
        return invalid_argument("resourceNames must not be empty.");
    }
    if names.len() > MAX_NAMES {
        return invalid_argument("Too many resource names in the request. The maximum is 200.");
    }
    if let Some(bad) = names.iter().find(|rn| !rn.starts_with("people/")) {
        return invalid_argument(&format!(
            "Resource name \"{bad}\" is not a valid person resource name."
        ));
    }
    let acc = inner.account(&account);
    let responses: Vec<Value> = names
        .iter()
        .map(|rn| match acc.people.get(*rn).filter(|p| !p.deleted) {
            Some(person) => json!({
                "person": render_person(rn, person, &fields),
                "requestedResourceName": rn,
                "httpStatusCode": 200,
                "status": {},
            }),
            None => {
                let mut answer = contact_status("NOT_FOUND", "Requested entity was not found.");
                answer["requestedResourceName"] = json!(rn);
                answer
            }
        })
        .collect();
    Json(json!({ "responses": responses })).into_response()
}
