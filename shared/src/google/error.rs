//! What can go wrong talking to the People API, and Google's error body (`google.rpc.Status`).

use crate::http::HttpError;
use crate::oauth::OAuthError;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// Getting an access token failed; `ReconnectNeeded` inside means the user must connect again.
    #[error("Google sign-in: {0}")]
    Auth(#[from] OAuthError),
    #[error("Google People API: {0}")]
    Http(#[from] HttpError),
    /// A fresh access token was rejected too (401 twice): the grant is no longer good.
    #[error("Google rejected a freshly refreshed access token; the user should connect again")]
    Unauthenticated,
    /// The sync token is older than Google keeps (HTTP 400 or 410, reason `EXPIRED_SYNC_TOKEN`):
    /// the caller must do a full sync. Retrying the same request will not help.
    #[error("Google's sync token expired; a full sync is needed")]
    SyncTokenExpired,
    /// A contact group with this name exists already (HTTP 409).
    #[error("a Google contact group with this name already exists")]
    GroupAlreadyExists,
    /// Any other API refusal. The message is left out: it can quote contact data.
    #[error("Google People API {endpoint} answered HTTP {http_status} {status}{}; {}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(), if is_retryable_http(*http_status) { "retrying later may help" } else { "retrying will not help" })]
    Api {
        endpoint: &'static str,
        http_status: u16,
        status: String,
        reason: Option<String>,
    },
    /// A success answer that does not have the documented shape.
    #[error("Google People API {endpoint} sent an answer that could not be read ({detail}); retrying will not help")]
    Malformed {
        endpoint: &'static str,
        detail: String,
    },
}

fn is_retryable_http(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

impl GoogleError {
    pub fn is_retryable(&self) -> bool {
        match self {
            GoogleError::Auth(e) => e.is_retryable(),
            GoogleError::Http(e) => e.is_retryable(),
            GoogleError::Api { http_status, .. } => is_retryable_http(*http_status),
            _ => false,
        }
    }

    /// The user has to go through the connect flow again (grant revoked, or scopes missing).
    pub fn needs_reconnect(&self) -> bool {
        match self {
            GoogleError::Auth(e) => e.needs_reconnect(),
            GoogleError::Unauthenticated => true,
            GoogleError::Api { reason, .. } => {
                reason.as_deref() == Some("ACCESS_TOKEN_SCOPE_INSUFFICIENT")
            }
            _ => false,
        }
    }
}

/// `{"error": {"code", "message", "status", "details": [{"@type", "reason", ...}]}}`
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: RpcStatus,
}

/// `google.rpc.Status` as JSON (also the per-contact `status` in batch answers).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct RpcStatus {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}

impl RpcStatus {
    pub fn reason(&self) -> Option<String> {
        self.details
            .iter()
            .find_map(|d| d.get("reason").and_then(|r| r.as_str()).map(str::to_string))
    }
}

/// Reads an error answer; an unreadable body still yields the HTTP status.
pub(crate) fn api_error(endpoint: &'static str, http_status: u16, body: &[u8]) -> GoogleError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    if is_expired_sync_token(http_status, &parsed.error) {
        return GoogleError::SyncTokenExpired;
    }
    GoogleError::Api {
        endpoint,
        http_status,
        status: parsed
            .error
            .status
            .clone()
            .unwrap_or_else(|| String::from("UNKNOWN")),
        reason: parsed.error.reason(),
    }
}

/// Live Google answers 400 (status INVALID_ARGUMENT or FAILED_PRECONDITION), the guide says 410;
/// the reason `EXPIRED_SYNC_TOKEN`, or failing that the message, is what identifies it.
fn is_expired_sync_token(http_status: u16, status: &RpcStatus) -> bool {
    if http_status != 400 && http_status != 410 {
        return false;
    }
    status.reason().as_deref() == Some("EXPIRED_SYNC_TOKEN")
        || status.message.contains("Sync token is expired")
        || (http_status == 410
            && status.details.is_empty()
            && status.message.to_ascii_lowercase().contains("sync token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_sync_token_is_recognised_as_400_or_410() {
        let live = br#"{"error":{"code":400,"message":"Sync token is expired. Clear local cache and retry call without the sync token.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"EXPIRED_SYNC_TOKEN","domain":"people.googleapis.com"}]}}"#;
        assert!(matches!(
            api_error("connections.list", 400, live),
            GoogleError::SyncTokenExpired
        ));
        let documented = br#"{"error":{"code":410,"message":"x","status":"FAILED_PRECONDITION","details":[{"reason":"EXPIRED_SYNC_TOKEN"}]}}"#;
        assert!(matches!(
            api_error("connections.list", 410, documented),
            GoogleError::SyncTokenExpired
        ));
        let other = br#"{"error":{"code":400,"message":"personFields mask is required.","status":"INVALID_ARGUMENT"}}"#;
        assert!(matches!(
            api_error("connections.list", 400, other),
            GoogleError::Api {
                http_status: 400,
                ..
            }
        ));
    }

    #[test]
    fn error_text_carries_status_and_reason_but_not_the_message() {
        let body = br#"{"error":{"code":403,"message":"secret@example.com","status":"PERMISSION_DENIED","details":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}"#;
        let err = api_error("connections.list", 403, body);
        let text = err.to_string();
        assert!(
            text.contains("PERMISSION_DENIED") && text.contains("ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
            "{text}"
        );
        assert!(!text.contains("secret@example.com"));
        assert!(err.needs_reconnect() && !err.is_retryable());
    }
}
