//! OAuth refresh tokens and the app's own credentials, kept in Secrets Manager (one secret per
//! connection and provider) or, for the local run, in files under a private folder.
//!
//! [`Secret`] never prints its value: `Debug` and `Display` are redacted, so a token cannot
//! reach a log line or an error message by accident.

use crate::store::Provider;
use async_trait::async_trait;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that sends it to its provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret store unavailable ({operation}): {detail}")]
    Unavailable { operation: &'static str, detail: String },
    #[error("secret {name} is malformed: {detail}")]
    Malformed { name: String, detail: String },
}

impl SecretError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SecretError::Unavailable { .. })
    }
}

/// The refresh tokens of connections.
#[async_trait]
pub trait TokenVault: Send + Sync {
    async fn get_token(&self, connection_id: &str, provider: Provider) -> Result<Option<Secret>, SecretError>;
    /// Stores the token, replacing an earlier one (a reconnect).
    async fn put_token(&self, connection_id: &str, provider: Provider, token: &Secret) -> Result<(), SecretError>;
    async fn delete_token(&self, connection_id: &str, provider: Provider) -> Result<(), SecretError>;
}

/// The secret name for one connection's token: `<prefix><connection id>/<provider>`.
pub fn token_secret_name(prefix: &str, connection_id: &str, provider: Provider) -> String {
    let provider = match provider {
        Provider::Zoho => "zoho",
        Provider::Google => "google",
    };
    format!("{prefix}{connection_id}/{provider}")
}

pub struct SecretsManagerVault {
    client: Client,
    prefix: String,
    kms_key_id: Option<String>,
}

impl SecretsManagerVault {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        SecretsManagerVault { client, prefix: prefix.into(), kms_key_id: None }
    }

    /// Encrypts the secrets this vault creates with a customer-managed key.
    pub fn with_kms_key(mut self, kms_key_id: Option<String>) -> Self {
        self.kms_key_id = kms_key_id.filter(|k| !k.is_empty());
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn unavailable<E, R>(operation: &'static str, e: SdkError<E, R>) -> SecretError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let detail = match &e {
        SdkError::ServiceError(se) => se.err().code().unwrap_or("unknown").to_string(),
        other => aws_sdk_secretsmanager::error::DisplayErrorContext(other).to_string(),
    };
    SecretError::Unavailable { operation, detail }
}

fn has_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, code: &str) -> bool {
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some(code))
}

#[async_trait]
impl TokenVault for SecretsManagerVault {
    async fn get_token(&self, connection_id: &str, provider: Provider) -> Result<Option<Secret>, SecretError> {
        let name = token_secret_name(&self.prefix, connection_id, provider);
        match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) => Ok(out.secret_string.map(Secret)),
            Err(e) if has_code(&e, "ResourceNotFoundException") => Ok(None),
            Err(e) => Err(unavailable("get token", e)),
        }
    }

    async fn put_token(&self, connection_id: &str, provider: Provider, token: &Secret) -> Result<(), SecretError> {
        let name = token_secret_name(&self.prefix, connection_id, provider);
        // A reconnect replaces the value of the existing secret; a first connect creates it.
        match self.client.put_secret_value().secret_id(&name).secret_string(token.expose()).send().await {
            Ok(_) => Ok(()),
            Err(e) if has_code(&e, "ResourceNotFoundException") => {
                self.client
                    .create_secret()
                    .name(&name)
                    .set_kms_key_id(self.kms_key_id.clone())
                    .secret_string(token.expose())
                    .send()
                    .await
                    .map_err(|e| unavailable("create token secret", e))?;
                Ok(())
            }
            Err(e) => Err(unavailable("put token", e)),
        }
    }

    async fn delete_token(&self, connection_id: &str, provider: Provider) -> Result<(), SecretError> {
        let name = token_secret_name(&self.prefix, connection_id, provider);
        // Without a recovery window, so that reconnecting can create the secret again at once.
        match self.client.delete_secret().secret_id(&name).force_delete_without_recovery(true).send().await {
            Ok(_) => Ok(()),
            Err(e) if has_code(&e, "ResourceNotFoundException") => Ok(()),
            Err(e) => Err(unavailable("delete token", e)),
        }
    }
}

/// Tokens as files with mode 0600 in a private folder: the local run's stand-in for Secrets
/// Manager (the deployed functions never use it).
pub struct FileVault {
    dir: PathBuf,
}

impl FileVault {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, SecretError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| io("create token folder", e))?;
        Ok(FileVault { dir })
    }

    fn path(&self, connection_id: &str, provider: Provider) -> PathBuf {
        let name = token_secret_name("", connection_id, provider).replace('/', "__");
        self.dir.join(name)
    }
}

fn io(operation: &'static str, e: std::io::Error) -> SecretError {
    SecretError::Unavailable { operation, detail: e.kind().to_string() }
}

#[async_trait]
impl TokenVault for FileVault {
    async fn get_token(&self, connection_id: &str, provider: Provider) -> Result<Option<Secret>, SecretError> {
        match std::fs::read_to_string(self.path(connection_id, provider)) {
            Ok(v) => Ok(Some(Secret(v))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read token", e)),
        }
    }

    async fn put_token(&self, connection_id: &str, provider: Provider, token: &Secret) -> Result<(), SecretError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(self.path(connection_id, provider))
            .map_err(|e| io("write token", e))?;
        file.write_all(token.expose().as_bytes()).map_err(|e| io("write token", e))
    }

    async fn delete_token(&self, connection_id: &str, provider: Provider) -> Result<(), SecretError> {
        match std::fs::remove_file(self.path(connection_id, provider)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("delete token", e)),
        }
    }
}

/// The app's own credentials: the OAuth clients registered with Google and Zoho and the key
/// that signs session cookies. One JSON secret named by `APP_SECRET_ID`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppSecrets {
    pub google_client_id: String,
    pub google_client_secret: Secret,
    pub zoho_client_id: String,
    pub zoho_client_secret: Secret,
    pub session_key: Secret,
}

impl AppSecrets {
    pub fn parse(name: &str, json: &str) -> Result<Self, SecretError> {
        // serde's message names the missing field, never a value.
        serde_json::from_str(json).map_err(|e| SecretError::Malformed {
            name: name.to_string(),
            detail: format!("expected JSON with google_client_id, google_client_secret, zoho_client_id, zoho_client_secret, session_key ({})", e.classify_name()),
        })
    }

    pub async fn load(client: &Client, secret_id: &str) -> Result<Self, SecretError> {
        let out = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| unavailable("get app secret", e))?;
        let json = out.secret_string.ok_or_else(|| SecretError::Malformed {
            name: secret_id.to_string(),
            detail: "the secret has no string value; set it with `aws secretsmanager put-secret-value`".into(),
        })?;
        AppSecrets::parse(secret_id, &json)
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not valid JSON",
            serde_json::error::Category::Data => "a field is missing or has the wrong type",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("1000.abcdef.refresh");
        assert!(!format!("{s:?} {s}").contains("abcdef"));
        let app = AppSecrets::parse(
            "app",
            r#"{"google_client_id":"g","google_client_secret":"gsecret","zoho_client_id":"z","zoho_client_secret":"zsecret","session_key":"k3y"}"#,
        )
        .unwrap();
        let printed = format!("{app:?}");
        assert!(!printed.contains("gsecret") && !printed.contains("zsecret") && !printed.contains("k3y"));
    }

    #[test]
    fn a_malformed_app_secret_says_what_is_expected_without_echoing_it() {
        let err = AppSecrets::parse("app", r#"{"google_client_id":"g","google_client_secret":"topsecret"}"#).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("zoho_client_id"), "{msg}");
        assert!(!msg.contains("topsecret"), "{msg}");
    }

    #[tokio::test]
    async fn the_file_vault_replaces_and_deletes_tokens() {
        let dir = std::env::temp_dir().join(format!("vault-{}", uuid::Uuid::new_v4()));
        let vault = FileVault::new(&dir).unwrap();
        assert_eq!(vault.get_token("c1", Provider::Zoho).await.unwrap(), None);
        vault.put_token("c1", Provider::Zoho, &Secret::new("one")).await.unwrap();
        vault.put_token("c1", Provider::Zoho, &Secret::new("two")).await.unwrap();
        assert_eq!(vault.get_token("c1", Provider::Zoho).await.unwrap(), Some(Secret::new("two")));
        assert_eq!(vault.get_token("c1", Provider::Google).await.unwrap(), None);
        vault.delete_token("c1", Provider::Zoho).await.unwrap();
        assert_eq!(vault.get_token("c1", Provider::Zoho).await.unwrap(), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
