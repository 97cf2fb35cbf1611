//! The environment the function binaries read (`shared::config::env_vars_for`), pointed at moto
//! and the emulators, with the app secret created in moto's Secrets Manager.

use crate::aws::{moto_endpoint, sdk_config};
use crate::emulators::{google, zoho};

pub const PUBLIC_BASE_URL: &str = "https://sync.example.test";
pub const SESSION_KEY: &str = "test-session-key-7d1f";

pub struct FunctionEnv {
    pub vars: Vec<(String, String)>,
    /// `SECRET_PREFIX`: token secrets are named `<prefix><connection>/<provider>`.
    pub secret_prefix: String,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// Creates a fresh app secret (the emulators' default OAuth clients) and returns the variables
/// for a function on `table`, with both providers at the emulators' base URLs.
pub async fn function_env(table: &str, google_url: &str, zoho_url: &str) -> FunctionEnv {
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto_endpoint()).await);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let secret_prefix = format!("zcs-{run}/tokens/");
    let app_secret = format!("zcs-{run}/app");
    let app = serde_json::json!({
        "google_client_id": google::CLIENT_ID, "google_client_secret": google::CLIENT_SECRET,
        "zoho_client_id": zoho::DEFAULT_CLIENT_ID, "zoho_client_secret": zoho::DEFAULT_CLIENT_SECRET,
        "session_key": SESSION_KEY,
    });
    secrets
        .create_secret()
        .name(&app_secret)
        .secret_string(app.to_string())
        .send()
        .await
        .expect("create the app secret in moto");
    let vars = [
        ("STATE_TABLE", table),
        ("SECRET_PREFIX", secret_prefix.as_str()),
        ("APP_SECRET_ID", app_secret.as_str()),
        ("PUBLIC_BASE_URL", PUBLIC_BASE_URL),
        ("GOOGLE_OAUTH_URL", google_url),
        ("GOOGLE_TOKEN_URL", google_url),
        ("GOOGLE_PEOPLE_URL", google_url),
        ("ZOHO_ACCOUNTS_URL", zoho_url),
        ("ZOHO_API_URL", zoho_url),
        ("AWS_ENDPOINT_URL", moto_endpoint().as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    FunctionEnv { vars, secret_prefix, secrets }
}
