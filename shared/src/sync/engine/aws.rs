//! What the deployed tick needs, built from the Lambda environment once per cold start:
//! the DynamoDB store, the Secrets Manager token vault and the app's OAuth clients.

use super::tick::SyncEnvironment;
use crate::config::{self, MissingEnv};
use crate::secrets::{AppSecrets, SecretError, SecretsManagerVault};
use crate::store::dynamo::DynamoStore;
use crate::store::StoreError;

pub struct AwsDeps {
    pub store: DynamoStore,
    pub vault: SecretsManagerVault,
    pub env: SyncEnvironment,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Env(#[from] MissingEnv),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

impl AwsDeps {
    /// `STATE_TABLE`, `SECRET_PREFIX`, `APP_SECRET_ID` and the base URL overrides ([`config`]).
    pub async fn from_env() -> Result<Self, SetupError> {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config::require(config::STATE_TABLE)?);
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        let app = AppSecrets::load(&secrets, &config::require(config::APP_SECRET_ID)?).await?;
        let vault = SecretsManagerVault::new(secrets, config::require(config::SECRET_PREFIX)?);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SetupError::Http(e.to_string()))?;
        Ok(AwsDeps { store, vault, env: SyncEnvironment::from_env(http, app) })
    }
}
