//! Refresh tokens in Secrets Manager (moto_server through the real SDK): one secret per
//! connection and provider under the prefix, a reconnect replaces the value, a disconnect removes
//! it and a later reconnect can create it again.

use shared::secrets::{token_secret_name, AppSecrets, Secret, SecretsManagerVault, TokenVault};
use shared::store::Provider;
use sync_tests::aws::{moto_endpoint, sdk_config};

async fn vault(prefix: &str) -> SecretsManagerVault {
    let config = sdk_config(&moto_endpoint()).await;
    SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(&config), prefix)
}

#[tokio::test]
async fn tokens_are_stored_replaced_and_deleted_per_connection_and_provider() {
    let prefix = format!("zcs-{}/tokens/", uuid::Uuid::new_v4().simple());
    let vault = vault(&prefix).await;
    assert_eq!(vault.get_token("c1", Provider::Google).await.unwrap(), None);

    vault.put_token("c1", Provider::Google, &Secret::new("g-refresh-1")).await.unwrap();
    vault.put_token("c1", Provider::Zoho, &Secret::new("z-refresh-1")).await.unwrap();
    vault.put_token("c1", Provider::Google, &Secret::new("g-refresh-2")).await.unwrap();
    assert_eq!(vault.get_token("c1", Provider::Google).await.unwrap(), Some(Secret::new("g-refresh-2")));
    assert_eq!(vault.get_token("c1", Provider::Zoho).await.unwrap(), Some(Secret::new("z-refresh-1")));
    assert_eq!(vault.get_token("c2", Provider::Zoho).await.unwrap(), None);

    // The secrets are exactly one per connection and provider, under the prefix.
    let listed = vault.client().list_secrets().send().await.unwrap();
    let mut names: Vec<String> = listed
        .secret_list()
        .iter()
        .filter_map(|s| s.name().map(String::from))
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    assert_eq!(names, [token_secret_name(&prefix, "c1", Provider::Google), token_secret_name(&prefix, "c1", Provider::Zoho)]);

    vault.delete_token("c1", Provider::Google).await.unwrap();
    vault.delete_token("c1", Provider::Google).await.unwrap();
    assert_eq!(vault.get_token("c1", Provider::Google).await.unwrap(), None);
    vault.put_token("c1", Provider::Google, &Secret::new("g-refresh-3")).await.unwrap();
    assert_eq!(vault.get_token("c1", Provider::Google).await.unwrap(), Some(Secret::new("g-refresh-3")));
}

#[tokio::test]
async fn the_app_secret_loads_and_an_unset_one_says_how_to_set_it() {
    let config = sdk_config(&moto_endpoint()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("zcs-{}/app", uuid::Uuid::new_v4().simple());
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"google_client_id":"g","google_client_secret":"gs","zoho_client_id":"z","zoho_client_secret":"zs","session_key":"k"}"#)
        .send()
        .await
        .unwrap();
    let app = AppSecrets::load(&client, &name).await.unwrap();
    assert_eq!(app.google_client_id, "g");
    assert_eq!(app.zoho_client_secret.expose(), "zs");

    let missing = AppSecrets::load(&client, "zcs-does-not-exist/app").await.unwrap_err();
    assert!(missing.to_string().contains("ResourceNotFound"), "{missing}");
}

#[tokio::test]
async fn new_token_secrets_are_encrypted_with_the_configured_key() {
    let prefix = format!("zcs-{}/tokens/", uuid::Uuid::new_v4().simple());
    let vault = vault(&prefix).await.with_kms_key(Some("arn:aws:kms:us-east-1:000000000000:key/zcs-secrets".into()));
    vault.put_token("c1", Provider::Zoho, &Secret::new("z")).await.unwrap();
    let described = vault
        .client()
        .describe_secret()
        .secret_id(token_secret_name(&prefix, "c1", Provider::Zoho))
        .send()
        .await
        .unwrap();
    assert_eq!(described.kms_key_id(), Some("arn:aws:kms:us-east-1:000000000000:key/zcs-secrets"));
}
