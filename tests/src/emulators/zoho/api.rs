//! What every `/crm/v8` handler does first: authenticate the `Zoho-oauthtoken`, check the
//! token's scopes and the user's profile, and answer errors in Zoho's `API_Exception` shape.

use super::state::{ContactsPermissions, ZohoState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// A top-level Zoho error: `{"code","details","message","status":"error"}`.
pub fn error(status: StatusCode, code: &str, message: &str, details: Value) -> Response {
    (status, Json(json!({"code": code, "details": details, "message": message, "status": "error"}))).into_response()
}

pub fn invalid_token() -> Response {
    error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", "invalid oauth token", json!({}))
}

pub fn required_param_missing(param: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", json!({"param": param}))
}

pub fn invalid_param(param: &str, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "INVALID_DATA", message, json!({"param_name": param}))
}

pub fn no_permission(permission: &str) -> Response {
    error(StatusCode::FORBIDDEN, "NO_PERMISSION", "permission denied", json!({"permissions": [permission]}))
}

type PermissionCheck = fn(&ContactsPermissions) -> bool;

/// What a call needs: a scope (any of the listed, compared case-insensitively) and, for
/// record calls, a profile permission on Contacts.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    ContactsRead,
    ContactsCreate,
    ContactsUpdate,
    ContactsUpsert,
    ContactsDelete,
    Fields,
    CustomViews,
    Users,
    Profiles,
}

impl Need {
    fn scopes(self) -> &'static [&'static str] {
        match self {
            Need::ContactsRead => &["zohocrm.modules.contacts.all", "zohocrm.modules.contacts.read", "zohocrm.modules.all", "zohocrm.modules.read"],
            Need::ContactsCreate => &["zohocrm.modules.contacts.all", "zohocrm.modules.contacts.create", "zohocrm.modules.contacts.write", "zohocrm.modules.all", "zohocrm.modules.create", "zohocrm.modules.write"],
            Need::ContactsUpdate => &["zohocrm.modules.contacts.all", "zohocrm.modules.contacts.update", "zohocrm.modules.contacts.write", "zohocrm.modules.all", "zohocrm.modules.update", "zohocrm.modules.write"],
            Need::ContactsUpsert => &["zohocrm.modules.contacts.all", "zohocrm.modules.contacts.create", "zohocrm.modules.contacts.write", "zohocrm.modules.all", "zohocrm.modules.create", "zohocrm.modules.write"],
            Need::ContactsDelete => &["zohocrm.modules.contacts.all", "zohocrm.modules.contacts.delete", "zohocrm.modules.all", "zohocrm.modules.delete"],
            Need::Fields => &["zohocrm.settings.fields.read", "zohocrm.settings.fields.all", "zohocrm.settings.all", "zohocrm.settings.read"],
            Need::CustomViews => &["zohocrm.settings.custom_views.read", "zohocrm.settings.custom_views.all", "zohocrm.settings.all", "zohocrm.settings.read"],
            Need::Users => &["zohocrm.users.read", "zohocrm.users.all"],
            Need::Profiles => &["zohocrm.settings.profiles.read", "zohocrm.settings.profiles.all", "zohocrm.settings.all", "zohocrm.settings.read"],
        }
    }

    /// The profile permission the call needs and its name in `NO_PERMISSION` details.
    fn permission(self) -> Option<(PermissionCheck, &'static str)> {
        match self {
            Need::ContactsRead => Some((|p| p.view, "Crm_Implied_View_Contacts")),
            Need::ContactsCreate => Some((|p| p.create, "Crm_Implied_Create_Contacts")),
            Need::ContactsUpdate => Some((|p| p.edit, "Crm_Implied_Edit_Contacts")),
            // Upsert may update or insert; each record is checked again for the action it takes.
            Need::ContactsUpsert => Some((|p| p.create || p.edit, "Crm_Implied_Create_Contacts")),
            Need::ContactsDelete => Some((|p| p.delete, "Crm_Implied_Delete_Contacts")),
            _ => None,
        }
    }
}

/// Returns the calling user's id, or the error response Zoho would send.
pub fn authorize(state: &ZohoState, headers: &HeaderMap, need: Need) -> Result<String, Response> {
    let Some(header) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(error(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILURE", "Authentication failed", json!({})));
    };
    let Some(token) = header.strip_prefix("Zoho-oauthtoken ") else {
        return Err(error(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILURE", "Authentication failed", json!({})));
    };
    let Some(access) = state.access_tokens.get(token.trim()) else {
        return Err(invalid_token());
    };
    if state.now() >= access.expires_at {
        return Err(invalid_token());
    }
    let granted = access.scopes.iter().any(|s| need.scopes().contains(&s.to_ascii_lowercase().as_str()));
    if !granted {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "OAUTH_SCOPE_MISMATCH",
            "invalid oauth scope to access this URL",
            json!({}),
        ));
    }
    let user_id = access.user_id.clone();
    if let Some((allowed, name)) = need.permission() {
        if !allowed(&state.permissions(&user_id)) {
            return Err(no_permission(name));
        }
    }
    Ok(user_id)
}

/// `?module=Contacts` on the settings endpoints: missing → REQUIRED_PARAM_MISSING, other → INVALID_MODULE.
pub fn require_contacts_module(module: Option<&str>) -> Result<(), Response> {
    match module {
        None | Some("") => Err(required_param_missing("module")),
        Some(m) if m.eq_ignore_ascii_case("Contacts") => Ok(()),
        Some(_) => Err(error(StatusCode::BAD_REQUEST, "INVALID_MODULE", "The module name given seems to be invalid", json!({}))),
    }
}

pub fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
        json!({}),
    )
}
