//! The HTTP-facing connect flow behind API Gateway (HTTP API, payload 2.0): OAuth start and
//! callback for Zoho and Google, the connection page, disconnect, and the settings page (whose
//! "sync now" invokes the sync-tick function asynchronously). Parse the event, call
//! `shared::connect`, map the result. Clients and secrets are loaded once per cold start.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::config;
use shared::connect::api_tokens::ApiTokens;
use shared::connect::{ConnectConfig, Connector};
use shared::secrets::{AppSecrets, SecretsManagerVault};
use shared::store::dynamo::DynamoStore;
use shared::sync_trigger::LambdaSyncTrigger;
use shared::web::WebRequest;

const FUNCTION: &str = "oauth-callback";

struct Deps {
    store: DynamoStore,
    vault: SecretsManagerVault,
    http: reqwest::Client,
    config: ConnectConfig,
    sync: LambdaSyncTrigger,
    api_tokens: ApiTokens,
}

async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    if shared::health::is_health_event(&event.payload) {
        return Ok(shared::health::health_reply(FUNCTION));
    }
    let request = WebRequest::from_event(event.payload)?;
    let connector = Connector {
        store: &deps.store,
        vault: &deps.vault,
        http: &deps.http,
        config: &deps.config,
        sync: &deps.sync,
        api_tokens: &deps.api_tokens,
    };
    let response = connector.handle(&request, shared::store::now_millis()).await;
    tracing::info!(method = %request.method, path = %request.path, status = response.status, "request");
    Ok(serde_json::to_value(response.into_apigw())?)
}

async fn cold_start() -> Result<Deps, Error> {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config::require(config::STATE_TABLE)?);
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let app = AppSecrets::load(&secrets, &config::require(config::APP_SECRET_ID)?).await?;
    let vault = SecretsManagerVault::new(secrets, config::require(config::SECRET_PREFIX)?)
        .with_kms_key(std::env::var(config::SECRET_KMS_KEY_ID).ok());
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let sync = LambdaSyncTrigger::from_env(aws_sdk_lambda::Client::new(&aws));
    Ok(Deps { store, vault, http, config: ConnectConfig::from_env(app)?, sync, api_tokens: ApiTokens::new() })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init_json();
    let deps = cold_start().await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event| async move { handle(deps, event).await })).await
}
