//! Turning stored people and groups into the JSON the People API sends, and Google's error bodies.

use super::state::{Inner, StoredGroup, StoredPerson};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Fields `personFields` / `readMask` may name (discovery document).
pub const PERSON_FIELDS: &[&str] = &[
    "addresses",
    "ageRanges",
    "biographies",
    "birthdays",
    "calendarUrls",
    "clientData",
    "coverPhotos",
    "emailAddresses",
    "events",
    "externalIds",
    "genders",
    "imClients",
    "interests",
    "locales",
    "locations",
    "memberships",
    "metadata",
    "miscKeywords",
    "names",
    "nicknames",
    "occupations",
    "organizations",
    "phoneNumbers",
    "photos",
    "relations",
    "sipAddresses",
    "skills",
    "urls",
    "userDefined",
];
/// Fields `updatePersonFields` / `updateMask` may name.
pub const UPDATABLE_FIELDS: &[&str] = &[
    "addresses",
    "biographies",
    "birthdays",
    "calendarUrls",
    "clientData",
    "emailAddresses",
    "events",
    "externalIds",
    "genders",
    "imClients",
    "interests",
    "locales",
    "locations",
    "memberships",
    "miscKeywords",
    "names",
    "nicknames",
    "occupations",
    "organizations",
    "phoneNumbers",
    "relations",
    "sipAddresses",
    "urls",
    "userDefined",
];
/// A contact may have at most one of these.
pub const SINGLETON_FIELDS: &[&str] = &["names", "biographies", "birthdays", "genders"];

/// Parses a comma-separated mask (`person.names` style prefixes allowed); `Err` names a bad path.
pub fn parse_mask(mask: &str, allowed: &[&str]) -> Result<Vec<String>, String> {
    mask.split(',')
        .map(|p| p.trim().trim_start_matches("person.").to_string())
        .filter(|p| !p.is_empty())
        .map(|p| {
            if allowed.contains(&p.as_str()) {
                Ok(p)
            } else {
                Err(p)
            }
        })
        .collect()
}

pub fn render_person(resource_name: &str, person: &StoredPerson, fields: &[String]) -> Value {
    let mut out = json!({ "resourceName": resource_name, "etag": person.etag });
    let source = json!({
        "type": "CONTACT", "id": person.source_id, "etag": format!("#{}", person.etag.trim_start_matches('%')),
        "updateTime": person.update_time,
    });
    if person.deleted {
        out["metadata"] = json!({ "sources": [source], "deleted": true, "objectType": "PERSON" });
        return out;
    }
    for field in fields {
        if field == "metadata" {
            out["metadata"] = json!({ "sources": [source], "objectType": "PERSON" });
        } else if let Some(value) = person.data.get(field.as_str()) {
            out[field.as_str()] = with_item_metadata(value, &person.source_id);
        }
    }
    out
}

/// Every field item carries `metadata {primary, source}`; the first item is the primary one.
fn with_item_metadata(value: &Value, source_id: &str) -> Value {
    let Some(items) = value.as_array() else {
        return value.clone();
    };
    let items = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut item = item.clone();
            if item.is_object() {
                item["metadata"] =
                    json!({ "primary": i == 0, "source": { "type": "CONTACT", "id": source_id } });
            }
            item
        })
        .collect();
    Value::Array(items)
}

pub fn render_group(
    inner: &mut Inner,
    account: &str,
    resource_name: &str,
    group: &StoredGroup,
    max_members: usize,
) -> Value {
    let members: Vec<String> = inner
        .account(account)
        .people
        .iter()
        .filter(|(_, p)| !p.deleted && p.memberships().iter().any(|g| g == resource_name))
        .map(|(rn, _)| rn.clone())
        .collect();
    let mut out = json!({
        "resourceName": resource_name,
        "etag": group.etag,
        "metadata": { "updateTime": group.update_time },
        "groupType": if group.system { "SYSTEM_CONTACT_GROUP" } else { "USER_CONTACT_GROUP" },
        "name": group.name,
        "formattedName": if group.system && group.name == "myContacts" { "My Contacts".to_string() } else { group.name.clone() },
        "memberCount": members.len(),
    });
    if max_members > 0 && !members.is_empty() {
        out["memberResourceNames"] =
            json!(members.into_iter().take(max_members).collect::<Vec<_>>());
    }
    out
}

/// `google.rpc.Code` numbers for the names the emulator uses.
pub fn rpc_code(status: &str) -> i64 {
    match status {
        "INVALID_ARGUMENT" => 3,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "PERMISSION_DENIED" => 7,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "UNAUTHENTICATED" => 16,
        _ => 2,
    }
}

/// Google's JSON error: `{"error": {"code", "message", "status", "details"?}}`.
pub fn api_error(http: StatusCode, status: &str, message: &str, reason: Option<&str>) -> Response {
    let mut error = json!({ "code": http.as_u16(), "message": message, "status": status });
    if let Some(reason) = reason {
        error["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
        }]);
    }
    (http, Json(json!({ "error": error }))).into_response()
}

pub fn invalid_argument(message: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message, None)
}

pub fn unauthenticated() -> Response {
    let mut response = api_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        Some("ACCESS_TOKEN_TYPE_UNSUPPORTED"),
    );
    response.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static(
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ),
    );
    response
}

/// A per-contact failure inside a batch answer (`PersonResponse.status`).
pub fn contact_status(status: &str, message: &str) -> Value {
    let http = match status {
        "NOT_FOUND" => 404,
        "PERMISSION_DENIED" => 403,
        _ => 400,
    };
    json!({ "httpStatusCode": http, "status": { "code": rpc_code(status), "message": message } })
}
