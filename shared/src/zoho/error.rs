//! What can go wrong talking to Zoho CRM, and Zoho's error body (`API_Exception`:
//! `{"code","details","message","status":"error"}`). Messages are left out of our errors:
//! `details` and messages can quote record values.

use crate::http::HttpError;
use crate::oauth::OAuthError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ZohoError {
    /// Getting an access token failed; `ReconnectNeeded` inside means the user must connect again.
    #[error("Zoho sign-in: {0}")]
    Auth(#[from] OAuthError),
    #[error("Zoho CRM API: {0}")]
    Http(#[from] HttpError),
    /// A freshly refreshed access token was rejected too (401 twice): the grant is no longer good.
    #[error("Zoho rejected a freshly refreshed access token; the user should connect again")]
    Unauthenticated,
    /// The token lacks a scope this call needs (401 `OAUTH_SCOPE_MISMATCH`): connect again with
    /// the scopes in [`super::SCOPES`].
    #[error("Zoho CRM {endpoint}: the connection lacks a needed scope; the user should connect again")]
    ScopeMismatch { endpoint: &'static str },
    /// The user's profile does not allow this (403 `NO_PERMISSION`), e.g. a read-only user writing.
    #[error("Zoho CRM {endpoint}: the user's Zoho profile does not allow this ({}); retrying will not help", permissions.join(", "))]
    NoPermission { endpoint: &'static str, permissions: Vec<String> },
    /// A `page_token` is older than 24 hours: start the listing again from the first page.
    #[error("Zoho CRM page token expired; the listing must start again")]
    PageTokenExpired,
    /// Any other refusal, with Zoho's code and the parameter or field it names, if any.
    #[error("Zoho CRM {endpoint} answered HTTP {http_status} {code}{}; {}", subject.as_deref().map(|s| format!(" ({s})")).unwrap_or_default(), if is_retryable_http(*http_status) { "retrying later may help" } else { "retrying will not help" })]
    Api { endpoint: &'static str, http_status: u16, code: String, subject: Option<String> },
    /// A success answer that does not have the documented shape.
    #[error("Zoho CRM {endpoint} sent an answer that could not be read ({detail}); retrying will not help")]
    Malformed { endpoint: &'static str, detail: String },
}

fn is_retryable_http(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

impl ZohoError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ZohoError::Auth(e) => e.is_retryable(),
            ZohoError::Http(e) => e.is_retryable(),
            ZohoError::Api { http_status, .. } => is_retryable_http(*http_status),
            ZohoError::PageTokenExpired => true,
            _ => false,
        }
    }

    /// The user has to go through the connect flow again (grant revoked, or scopes missing).
    pub fn needs_reconnect(&self) -> bool {
        match self {
            ZohoError::Auth(e) => e.needs_reconnect(),
            ZohoError::Unauthenticated | ZohoError::ScopeMismatch { .. } => true,
            _ => false,
        }
    }
}

/// Zoho's `API_Exception`, top-level or per record.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct ApiException {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub details: Value,
}

impl ApiException {
    /// The field or parameter the error is about (`api_name`, `param_name`, `param`, `header`).
    pub fn subject(&self) -> Option<String> {
        ["api_name", "param_name", "param", "header"]
            .iter()
            .find_map(|k| self.details.get(*k).and_then(Value::as_str))
            .map(str::to_string)
    }
}

/// Reads a top-level error answer; an unreadable body still yields the HTTP status.
pub(crate) fn api_error(endpoint: &'static str, http_status: u16, body: &[u8]) -> ZohoError {
    let parsed: ApiException = serde_json::from_slice(body).unwrap_or_default();
    match parsed.code.as_str() {
        "OAUTH_SCOPE_MISMATCH" => ZohoError::ScopeMismatch { endpoint },
        "NO_PERMISSION" => ZohoError::NoPermission {
            endpoint,
            permissions: parsed
                .details
                .get("permissions")
                .and_then(Value::as_array)
                .map(|p| p.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
        },
        "EXPIRED_VALUE" if parsed.subject().as_deref() == Some("page_token") => ZohoError::PageTokenExpired,
        _ => ZohoError::Api {
            endpoint,
            http_status,
            code: if parsed.code.is_empty() { String::from("UNKNOWN") } else { parsed.code.clone() },
            subject: parsed.subject(),
        },
    }
}

/// Decode errors name the position and category only: serde's text can quote record values.
pub(crate) fn malformed(endpoint: &'static str, e: &serde_json::Error) -> ZohoError {
    ZohoError::Malformed { endpoint, detail: format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_and_scope_errors_are_recognised() {
        let body = br#"{"code":"NO_PERMISSION","details":{"permissions":["Crm_Implied_Create_Contacts"]},"message":"permission denied","status":"error"}"#;
        let err = api_error("Contacts.insert", 403, body);
        assert!(matches!(&err, ZohoError::NoPermission { permissions, .. } if permissions == &["Crm_Implied_Create_Contacts"]));
        assert!(!err.is_retryable() && !err.needs_reconnect());
        let scope = br#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#;
        assert!(api_error("Contacts.list", 401, scope).needs_reconnect());
    }

    #[test]
    fn error_text_names_code_and_field_but_not_the_message() {
        let body = br#"{"code":"INVALID_DATA","details":{"api_name":"Email"},"message":"secret@example.com is bad","status":"error"}"#;
        let text = api_error("Contacts.list", 400, body).to_string();
        assert!(text.contains("INVALID_DATA") && text.contains("Email"), "{text}");
        assert!(!text.contains("secret@example.com"), "{text}");
        let expired = br#"{"code":"EXPIRED_VALUE","details":{"param_name":"page_token"},"message":"The token given has expired","status":"error"}"#;
        assert!(matches!(api_error("Contacts.list", 400, expired), ZohoError::PageTokenExpired));
    }
}
