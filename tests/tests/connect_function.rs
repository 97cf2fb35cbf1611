//! The oauth-callback binary through the Lambda Runtime API, with API Gateway v2 events, against
//! the emulators' OAuth endpoints and moto (DynamoDB + Secrets Manager): the happy path, every
//! rejection (each leaving the stored state exactly as it was), disconnect and reconnect.

use serde_json::Value;
use shared::oauth::{refresh, TokenEndpoint};
use shared::store::{ConnectionStore, OAuthState, OAuthStateStore, Provider};
use std::collections::BTreeMap;
use sync_tests::apigw;
use sync_tests::aws::{fresh_table, TestTable};
use sync_tests::functions::{function_env, PUBLIC_BASE_URL, SESSION_KEY};
use sync_tests::emulators::google::{self, GoogleEmulator};
use sync_tests::emulators::zoho::{self, NewUser, ZohoEmulator};
use sync_tests::lambda::{workspace_binary, LambdaProcess};

const PUBLIC: &str = PUBLIC_BASE_URL;

struct World {
    table: TestTable,
    secrets: aws_sdk_secretsmanager::Client,
    prefix: String,
    google: GoogleEmulator,
    zoho: ZohoEmulator,
    function: LambdaProcess,
    /// Every response body, to check none carries a token, code or secret.
    bodies: Vec<String>,
    codes: Vec<String>,
}

async fn world() -> World {
    let table = fresh_table().await;
    let google = GoogleEmulator::start(0).await.unwrap();
    let zoho = ZohoEmulator::start(0).await.unwrap();
    zoho.add_user(NewUser::new("owner@zoho.example"));
    zoho.add_user(NewUser::new("viewer@zoho.example").read_only());
    let env = function_env(&table.table, &google.base_url, &zoho.base_url).await;
    let function = LambdaProcess::start(workspace_binary("oauth-callback"), &env.vars).await.unwrap();
    World { table, secrets: env.secrets, prefix: env.secret_prefix, google, zoho, function, bodies: Vec::new(), codes: Vec::new() }
}

struct Reply {
    status: i64,
    location: String,
    cookies: Vec<String>,
    body: String,
}

impl World {
    async fn call(&mut self, method: &str, path_and_query: &str, cookie: Option<&str>, body: Option<&str>) -> Reply {
        let cookies: Vec<&str> = cookie.into_iter().collect();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let reply = self.function.invoke(&apigw::event(method, path_and_query, &headers, &cookies, body)).await.expect("function answered");
        let r = Reply {
            status: reply["statusCode"].as_i64().unwrap_or(0),
            location: reply["headers"]["location"].as_str().unwrap_or("").to_string(),
            cookies: reply["cookies"].as_array().map(|a| a.iter().filter_map(|c| c.as_str().map(String::from)).collect()).unwrap_or_default(),
            body: reply["body"].as_str().unwrap_or("").to_string(),
        };
        self.bodies.push(r.body.clone());
        r
    }

    /// Follows a redirect to a provider's consent page (which approves without a person) and
    /// returns the callback path and query it sends the browser back to.
    async fn consent(&mut self, provider_url: &str, extra: &str) -> String {
        let url = format!("{provider_url}{extra}");
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let reply = http.get(&url).send().await.unwrap();
        assert_eq!(reply.status().as_u16(), 302, "consent page redirects back");
        let back = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(PUBLIC), "the provider redirects to our callback: {back}");
        if let Some(code) = back.query_pairs().find(|(k, _)| k == "code") {
            self.codes.push(code.1.into_owned());
        }
        format!("{}?{}", back.path(), back.query().unwrap_or(""))
    }

    /// Everything stored, except one-time OAuth states (consuming one is the point of a callback).
    async fn snapshot(&self) -> (Vec<String>, BTreeMap<String, String>) {
        let scan = self.table.store.client().scan().table_name(&self.table.table).send().await.unwrap();
        let mut items: Vec<String> = scan
            .items()
            .iter()
            .map(|i| format!("{:?}", i.iter().collect::<BTreeMap<_, _>>()))
            .filter(|i| !i.contains("OAUTH#"))
            .collect();
        items.sort();
        let mut secrets = BTreeMap::new();
        for s in self.secrets.list_secrets().send().await.unwrap().secret_list() {
            let name = s.name().unwrap_or_default().to_string();
            if name.starts_with(&self.prefix) {
                let v = self.secrets.get_secret_value().secret_id(&name).send().await.ok().and_then(|v| v.secret_string).unwrap_or_default();
                secrets.insert(name, v);
            }
        }
        (items, secrets)
    }

    /// Connects Zoho for `zoho_account`; returns the session cookie and where we were sent next.
    async fn connect_zoho(&mut self, zoho_account: &str) -> (String, Reply) {
        let start = self.call("GET", "/oauth/zoho/start", None, None).await;
        assert_eq!(start.status, 302);
        assert!(start.location.starts_with(&self.zoho.base_url), "{}", start.location);
        let callback = self.consent(&start.location, &format!("&emulator_account={zoho_account}")).await;
        let reply = self.call("GET", &callback, None, None).await;
        assert_eq!(reply.status, 302, "{}", reply.body);
        let cookie = reply.cookies.iter().find(|c| c.starts_with("zcs_session=")).expect("session cookie").clone();
        assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Lax"), "{cookie}");
        let cookie = cookie.split(';').next().unwrap().to_string();
        (cookie, reply)
    }
}

fn query_param(location: &str, name: &str) -> String {
    url::Url::parse(location).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[tokio::test]
async fn connecting_both_accounts_stores_tokens_and_enables_the_connection() {
    let mut w = world().await;
    let (cookie, after_zoho) = w.connect_zoho("owner@zoho.example").await;
    assert_eq!(after_zoho.location, "/oauth/google/start");

    let start = w.call("GET", "/oauth/google/start", Some(&cookie), None).await;
    assert_eq!(start.status, 302);
    let consent = url::Url::parse(&start.location).unwrap();
    let q: BTreeMap<String, String> = consent.query_pairs().into_owned().collect();
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["include_granted_scopes"], "true");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].contains("auth/contacts"));
    let zoho_start = w.call("GET", "/oauth/zoho/start", None, None).await;
    assert_eq!(query_param(&zoho_start.location, "access_type"), "offline");
    assert_eq!(query_param(&zoho_start.location, "prompt"), "consent");
    assert!(query_param(&zoho_start.location, "scope").contains("ZohoCRM.settings.custom_views.READ"));

    let callback = w.consent(&start.location, "").await;
    let done = w.call("GET", &callback, Some(&cookie), None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("status-token"));

    let (_, secrets) = w.snapshot().await;
    assert_eq!(secrets.len(), 2, "one secret per provider: {:?}", secrets.keys());
    let connection_id = secrets.keys().next().unwrap().trim_start_matches(&w.prefix).split('/').next().unwrap().to_string();
    let connection = w.table.store.get_connection(&connection_id).await.unwrap().expect("connection saved");
    assert!(connection.enabled);
    assert!(connection.status_token_hash.is_some());
    assert_eq!(connection.zoho_api_domain.as_deref(), Some(w.zoho.base_url.as_str()));
    assert!(connection.zoho_permissions.create && connection.zoho_permissions.edit);

    // The stored refresh tokens work at the providers.
    let http = reqwest::Client::new();
    let google_token = secrets.iter().find(|(k, _)| k.ends_with("/google")).unwrap().1.clone();
    let google_endpoint = TokenEndpoint {
        token_url: format!("{}/token", w.google.base_url),
        client_id: google::CLIENT_ID.into(),
        client_secret: google::CLIENT_SECRET.into(),
        redirect_uri: format!("{PUBLIC}/oauth/google/callback"),
    };
    assert!(refresh(&http, &google_endpoint, &google_token).await.is_ok());
    let zoho_token = secrets.iter().find(|(k, _)| k.ends_with("/zoho")).unwrap().1.clone();
    let zoho_endpoint = TokenEndpoint {
        token_url: format!("{}/oauth/v2/token", w.zoho.base_url),
        client_id: zoho::DEFAULT_CLIENT_ID.into(),
        client_secret: zoho::DEFAULT_CLIENT_SECRET.into(),
        redirect_uri: format!("{PUBLIC}/oauth/zoho/callback"),
    };
    assert!(refresh(&http, &zoho_endpoint, &zoho_token).await.is_ok());

    // The overview page shows both accounts and offers disconnect with a CSRF token.
    let overview = w.call("GET", "/", Some(&cookie), None).await;
    assert!(overview.body.contains("id=\"zoho\">connected") && overview.body.contains("id=\"google\">connected"), "{}", overview.body);
    let csrf = overview.body.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();

    // Disconnect without the CSRF token is refused and changes nothing.
    let before = w.snapshot().await;
    let forged = w.call("POST", "/disconnect", Some(&cookie), Some("csrf=0000")).await;
    assert_eq!(forged.status, 403);
    assert_eq!(w.snapshot().await, before);

    let bye = w.call("POST", "/disconnect", Some(&cookie), Some(&format!("csrf={csrf}"))).await;
    assert_eq!(bye.status, 200, "{}", bye.body);
    let (_, secrets_after) = w.snapshot().await;
    assert!(secrets_after.is_empty(), "secrets deleted: {secrets_after:?}");
    let connection = w.table.store.get_connection(&connection_id).await.unwrap().unwrap();
    assert!(!connection.enabled);
    assert!(refresh(&http, &google_endpoint, &google_token).await.unwrap_err().needs_reconnect(), "revoked at Google");
    assert!(refresh(&http, &zoho_endpoint, &zoho_token).await.unwrap_err().needs_reconnect(), "revoked at Zoho");

    // Connecting again finds the same connection (its links are kept: no duplicates).
    let (cookie2, _) = w.connect_zoho("owner@zoho.example").await;
    let start = w.call("GET", "/oauth/google/start", Some(&cookie2), None).await;
    let callback = w.consent(&start.location, "").await;
    assert_eq!(w.call("GET", &callback, Some(&cookie2), None).await.status, 200);
    let (_, secrets) = w.snapshot().await;
    assert!(secrets.keys().all(|k| k.contains(&connection_id)), "same connection id after reconnect");
    assert!(w.table.store.get_connection(&connection_id).await.unwrap().unwrap().enabled);

    // Nothing secret in any response body or log line.
    let mut secret_values: Vec<String> = secrets.values().cloned().collect();
    secret_values.push(google_token);
    secret_values.push(zoho_token);
    secret_values.extend(w.codes.iter().cloned());
    secret_values.extend([google::CLIENT_SECRET.to_string(), zoho::DEFAULT_CLIENT_SECRET.to_string(), SESSION_KEY.to_string()]);
    let logs = w.function.logs().join("\n");
    for s in &secret_values {
        assert!(!logs.contains(s.as_str()), "a secret reached the logs");
        assert!(w.bodies.iter().all(|b| !b.contains(s.as_str())), "a secret reached a response body");
    }
    assert!(logs.contains("google connected"), "{logs}");
}

#[tokio::test]
async fn every_rejected_callback_stores_nothing() {
    let mut w = world().await;
    let empty = w.snapshot().await;

    // A provider error: the user declined at Zoho.
    let start = w.call("GET", "/oauth/zoho/start", None, None).await;
    let declined = w.consent(&start.location, "&emulator_deny=1").await;
    let r = w.call("GET", &declined, None, None).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("declined"), "{}", r.body);

    // A forged accounts-server: our client secret and the code must not go there.
    let start = w.call("GET", "/oauth/zoho/start", None, None).await;
    let callback = w.consent(&start.location, "").await;
    let forged = callback.replace(&url::form_urlencoded::byte_serialize(w.zoho.base_url.as_bytes()).collect::<String>(), "https%3A%2F%2Faccounts.zoho.com.evil.example");
    assert_ne!(forged, callback);
    let r = w.call("GET", &forged, None, None).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not one of Zoho"), "{}", r.body);
    // ... and the state it carried is spent: replaying the genuine answer fails too.
    let r = w.call("GET", &callback, None, None).await;
    assert_eq!(r.status, 400, "replayed state");

    // Missing, unknown and expired states.
    assert_eq!(w.call("GET", "/oauth/zoho/callback?code=abc", None, None).await.status, 400);
    assert_eq!(w.call("GET", "/oauth/zoho/callback?code=abc&state=never-issued", None, None).await.status, 400);
    w.table
        .store
        .put_oauth_state(&OAuthState { state: "old-state".into(), provider: Provider::Zoho, connection_id: None, pkce_verifier: None, expires_at: 1_000 })
        .await
        .unwrap();
    let r = w.call("GET", "/oauth/zoho/callback?code=abc&state=old-state", None, None).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("expired"));
    assert_eq!(w.snapshot().await, empty, "no rejected Zoho callback stored anything");

    // Google without Zoho first, and a Google callback from another browser's session.
    assert_eq!(w.call("GET", "/oauth/google/start", None, None).await.status, 401);
    let (cookie, _) = w.connect_zoho("owner@zoho.example").await;
    let after_zoho = w.snapshot().await;
    let start = w.call("GET", "/oauth/google/start", Some(&cookie), None).await;
    let callback = w.consent(&start.location, "").await;
    let r = w.call("GET", &callback, None, None).await;
    assert_eq!(r.status, 400, "a callback without the session that started it");
    let r = w.call("GET", &callback, Some(&cookie), None).await;
    assert_eq!(r.status, 400, "and its state is spent");

    // A grant without the contacts scope (the user unticked it).
    let start = w.call("GET", "/oauth/google/start", Some(&cookie), None).await;
    let narrowed = w.consent(&start.location, &format!("&emulator_scopes={}", google::CONTACTS_READONLY_SCOPE)).await;
    let r = w.call("GET", &narrowed, Some(&cookie), None).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("contacts access was not granted"), "{}", r.body);

    // The user declined at Google.
    let start = w.call("GET", "/oauth/google/start", Some(&cookie), None).await;
    let declined = w.consent(&start.location, "&emulator_deny=1").await;
    assert_eq!(w.call("GET", &declined, Some(&cookie), None).await.status, 400);
    assert_eq!(w.snapshot().await, after_zoho, "no rejected Google callback stored anything");

    // Not an API Gateway event at all: an invocation error, and the function keeps serving.
    assert!(w.function.invoke(&serde_json::json!({"frequency": "1h"})).await.is_err());
    assert_eq!(w.call("GET", "/", None, None).await.status, 200);
}

#[tokio::test]
async fn a_user_who_may_only_view_contacts_gets_zoho_to_google_only() {
    let mut w = world().await;
    let (_, _) = w.connect_zoho("viewer@zoho.example").await;
    let (items, secrets) = w.snapshot().await;
    assert_eq!(secrets.len(), 1);
    let id = secrets.keys().next().unwrap().trim_start_matches(&w.prefix).split('/').next().unwrap().to_string();
    let c = w.table.store.get_connection(&id).await.unwrap().unwrap();
    assert!(c.zoho_permissions.view && !c.zoho_permissions.create && !c.zoho_permissions.edit);
    assert_eq!(c.settings.direction, shared::settings::Direction::ZohoToGoogle);
    assert!(!c.enabled, "not enabled before Google is connected");
    assert!(items.iter().any(|i| i.contains("META")));
    let _: Option<Value> = None;
}
