//! Configuration from the environment: every name a function reads is declared here, so that
//! `make infra-check` can compare them with the Lambda environments in `infra/`.

/// DynamoDB table (see [`crate::store::schema`]).
pub const STATE_TABLE: &str = crate::store::schema::TABLE_ENV;
/// Prefix of the per-connection token secrets: `<prefix><connection id>/<provider>`.
pub const SECRET_PREFIX: &str = "SECRET_PREFIX";
/// Secret (name or ARN) holding the OAuth client credentials and the session signing key as JSON:
/// `{"google_client_id", "google_client_secret", "zoho_client_id", "zoho_client_secret", "session_key"}`.
pub const APP_SECRET_ID: &str = "APP_SECRET_ID";
/// KMS key (id or ARN) that new token secrets are encrypted with; AWS's default key when unset.
pub const SECRET_KMS_KEY_ID: &str = "SECRET_KMS_KEY_ID";
/// Public base URL of the HTTP API (redirect URIs and links are built from it).
pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
/// Base URL overrides; the defaults are the real services.
pub const GOOGLE_OAUTH_URL: &str = "GOOGLE_OAUTH_URL";
pub const GOOGLE_TOKEN_URL: &str = "GOOGLE_TOKEN_URL";
pub const GOOGLE_PEOPLE_URL: &str = "GOOGLE_PEOPLE_URL";
pub const ZOHO_ACCOUNTS_URL: &str = "ZOHO_ACCOUNTS_URL";
pub const ZOHO_API_URL: &str = "ZOHO_API_URL";
/// Name or ARN of the sync-tick function that "sync now" on the settings page invokes
/// asynchronously with `{"connection_id": "<id>"}` (oauth-callback only).
pub const SYNC_TICK_FUNCTION: &str = "SYNC_TICK_FUNCTION";

pub const DEFAULT_GOOGLE_OAUTH_URL: &str = "https://accounts.google.com";
pub const DEFAULT_GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com";
pub const DEFAULT_GOOGLE_PEOPLE_URL: &str = "https://people.googleapis.com";
pub const DEFAULT_ZOHO_ACCOUNTS_URL: &str = "https://accounts.zoho.com";
pub const DEFAULT_ZOHO_API_URL: &str = "https://www.zohoapis.com";

const BASE_URLS: [&str; 5] = [GOOGLE_OAUTH_URL, GOOGLE_TOKEN_URL, GOOGLE_PEOPLE_URL, ZOHO_ACCOUNTS_URL, ZOHO_API_URL];

/// The environment variables each function reads (required ones first, then optional overrides).
pub fn env_vars_for(function: &str) -> Vec<&'static str> {
    let mut vars = match function {
        "oauth-callback" => vec![STATE_TABLE, SECRET_PREFIX, SECRET_KMS_KEY_ID, APP_SECRET_ID, PUBLIC_BASE_URL, SYNC_TICK_FUNCTION],
        "sync-tick" => vec![STATE_TABLE, SECRET_PREFIX, APP_SECRET_ID],
        "sync-status" => vec![STATE_TABLE, PUBLIC_BASE_URL],
        _ => return Vec::new(),
    };
    if function != "sync-status" {
        vars.extend(BASE_URLS);
    }
    vars
}

/// Reads an environment variable, falling back to `default`.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingEnv(pub &'static str);

pub fn require(name: &'static str) -> Result<String, MissingEnv> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or(MissingEnv(name))
}
