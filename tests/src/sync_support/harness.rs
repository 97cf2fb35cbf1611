//! Both emulators, one Google account with a contact group and one Zoho user with a list, a
//! connection between them whose tokens came through the emulators' OAuth endpoints, and the
//! clients the engine runs with. Used by the `sync_*` tests and the local run.

use crate::emulators::google::{GoogleEmulator, CLIENT_ID, CLIENT_SECRET, DEFAULT_ACCOUNT};
use crate::emulators::zoho::{self, NewUser, ViewFilter, ZohoEmulator};
use async_trait::async_trait;
use serde_json::{json, Value};
use shared::google::{GoogleClient, GoogleUrls};
use shared::oauth::{exchange_code, Pkce};
use shared::secrets::{AppSecrets, Secret, SecretError, TokenVault};
use shared::settings::Settings;
use shared::store::{Connection, Provider, ZohoPermissions};
use shared::sync::engine::tick::{clients_for, SyncEnvironment};
use shared::zoho::ZohoClient;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::time::Instant;

pub const ZOHO_USER: &str = "admin@zoho.emulator.test";
/// The Zoho field the list is defined on: every record is in the list unless this field says
/// [`OUT_OF_LIST`]. (A list whose criteria records created by the sync do not meet would drop
/// them again at once: the product needs a "mark created records" setting for that case.)
pub const LIST_FIELD: &str = "Lead_Source";
pub const OUT_OF_LIST: &str = "Not synced";
pub const IN_LIST: &str = "Google Sync";
pub const GROUP_NAME: &str = "CRM Sync";
const REDIRECT_URI: &str = "http://localhost/callback";

/// Refresh tokens in memory (tests only).
#[derive(Default)]
pub struct MemoryVault {
    tokens: Mutex<BTreeMap<(String, String), String>>,
}

fn key(connection_id: &str, provider: Provider) -> (String, String) {
    (connection_id.to_string(), format!("{provider:?}"))
}

#[async_trait]
impl TokenVault for MemoryVault {
    async fn get_token(&self, connection_id: &str, provider: Provider) -> Result<Option<Secret>, SecretError> {
        Ok(self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&key(connection_id, provider)).map(|t| Secret::new(t.clone())))
    }
    async fn put_token(&self, connection_id: &str, provider: Provider, token: &Secret) -> Result<(), SecretError> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(key(connection_id, provider), token.expose().to_string());
        Ok(())
    }
    async fn delete_token(&self, connection_id: &str, provider: Provider) -> Result<(), SecretError> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&key(connection_id, provider));
        Ok(())
    }
}

pub struct SyncHarness {
    pub google: GoogleEmulator,
    pub zoho: ZohoEmulator,
    pub account: String,
    pub group: String,
    pub cvid: String,
    pub env: SyncEnvironment,
    pub connection: Connection,
}

pub fn app_secrets() -> AppSecrets {
    let json = json!({
        "google_client_id": CLIENT_ID, "google_client_secret": CLIENT_SECRET,
        "zoho_client_id": zoho::DEFAULT_CLIENT_ID, "zoho_client_secret": zoho::DEFAULT_CLIENT_SECRET,
        "session_key": "local-session-key-not-secret",
    });
    AppSecrets::parse("local", &json.to_string()).expect("app secrets")
}

impl SyncHarness {
    /// Emulators on free ports (or the given ones), an empty group and list, a two-way connection.
    pub async fn start_on(google_port: u16, zoho_port: u16) -> std::io::Result<Self> {
        let google = GoogleEmulator::start(google_port).await?;
        let zoho = ZohoEmulator::start(zoho_port).await?;
        let account = DEFAULT_ACCOUNT.to_string();
        let group = google.state.create_group(&account, GROUP_NAME);
        let user_id = zoho.add_user(NewUser::new(ZOHO_USER));
        let filter = ViewFilter::Criteria { field: LIST_FIELD.into(), comparator: "not_equal".into(), value: json!(OUT_OF_LIST) };
        let cvid = zoho.add_view(ZOHO_USER, "Synced with Google", filter).map_err(std::io::Error::other)?;
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(std::io::Error::other)?;
        let env = SyncEnvironment {
            http,
            app: app_secrets(),
            google: GoogleUrls::all_at(&google.base_url),
            zoho_accounts_url: zoho.base_url.clone(),
            zoho_api_url: zoho.base_url.clone(),
            zoho_overrides: (Some(zoho.base_url.clone()), Some(zoho.base_url.clone())),
        };
        let settings = Settings { google_group: Some(group.clone()), zoho_cvid: Some(cvid.clone()), ..Settings::default() };
        let connection = Connection {
            id: format!("emu-{user_id}"),
            zoho_user_id: user_id,
            google_email: account.clone(),
            frequency: settings.frequency,
            settings,
            enabled: true,
            zoho_permissions: ZohoPermissions::default(),
            zoho_accounts_server: Some(zoho.base_url.clone()),
            zoho_api_domain: Some(zoho.base_url.clone()),
            status_token_hash: None,
            reconnect_needed: false,
            created_at: 1,
            updated_at: 1,
        };
        Ok(SyncHarness { google, zoho, account, group, cvid, env, connection })
    }

    pub async fn start() -> Self {
        Self::start_on(0, 0).await.expect("start emulators")
    }

    /// Connects both accounts the way a browser would (consent URL → code → token exchange),
    /// without a person: the emulators approve at once. Stores the refresh tokens in `vault`.
    pub async fn connect(&self, vault: &dyn TokenVault) -> Result<(), Box<dyn std::error::Error>> {
        let http = &self.env.http;
        let pkce = Pkce::generate();
        let consent = self.env.google.authorization_url(CLIENT_ID, REDIRECT_URI, "local", &pkce.challenge, Some(&self.account))?;
        let code = code_from_redirect(http, consent.as_str()).await?;
        let endpoint = self.env.google.token_endpoint(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI);
        let google = exchange_code(http, &endpoint, &code, Some(&pkce.verifier)).await?;
        let refresh = google.refresh_token.ok_or("Google sent no refresh token")?;
        vault.put_token(&self.connection.id, Provider::Google, &Secret::new(refresh)).await?;

        let mut consent = shared::zoho::authorization_url(&self.zoho.base_url, zoho::DEFAULT_CLIENT_ID, REDIRECT_URI, "local")?;
        consent.query_pairs_mut().append_pair("emulator_account", ZOHO_USER);
        let code = code_from_redirect(http, consent.as_str()).await?;
        let accounts = url::Url::parse(&self.zoho.base_url)?;
        let endpoint = shared::zoho::token_endpoint(&accounts, zoho::DEFAULT_CLIENT_ID, zoho::DEFAULT_CLIENT_SECRET, REDIRECT_URI);
        let zoho = exchange_code(http, &endpoint, &code, None).await?;
        let refresh = zoho.refresh_token.ok_or("Zoho sent no refresh token")?;
        vault.put_token(&self.connection.id, Provider::Zoho, &Secret::new(refresh)).await?;
        Ok(())
    }

    /// The connection's API clients, as the tick builds them.
    pub async fn clients(&self, vault: &dyn TokenVault, connection: &Connection) -> (GoogleClient, ZohoClient) {
        clients_for(&self.env, vault, connection, far_deadline()).await.expect("clients")
    }

    /// Adds people to the Google account, in the group when `in_group`; returns resourceNames.
    pub fn add_people(&self, people: Vec<Value>, in_group: bool) -> Vec<String> {
        let names = self.google.state.seed_people(&self.account, people);
        if in_group {
            self.google.state.add_to_group(&self.account, &self.group, &names);
        }
        names
    }

    /// Adds Zoho contacts, in the list when `in_list`; returns their ids.
    pub fn add_records(&self, records: &[Value], in_list: bool) -> Vec<String> {
        let records: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r[LIST_FIELD] = json!(if in_list { IN_LIST } else { OUT_OF_LIST });
                r
            })
            .collect();
        self.zoho.add_contacts(ZOHO_USER, &records).expect("add Zoho contacts")
    }
}

/// A deadline no test reaches.
pub fn far_deadline() -> Instant {
    Instant::now() + std::time::Duration::from_secs(600)
}

async fn code_from_redirect(http: &reqwest::Client, url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let answer = http.get(url).send().await?;
    let location = answer.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).ok_or("the consent URL did not redirect")?;
    let url = url::Url::parse(location)?;
    let code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string());
    Ok(code.ok_or("the redirect carried no code")?)
}

/// A Google person as a user would type it.
pub fn person(given: &str, family: &str, email: Option<&str>, phone: Option<&str>) -> Value {
    let mut p = json!({ "names": [{ "givenName": given, "familyName": family }] });
    if let Some(email) = email {
        p["emailAddresses"] = json!([{ "value": email, "type": "work" }]);
    }
    if let Some(phone) = phone {
        p["phoneNumbers"] = json!([{ "value": phone, "type": "work" }]);
    }
    p
}

/// A Zoho contact as a user would type it.
pub fn record(first: &str, last: &str, email: Option<&str>, phone: Option<&str>) -> Value {
    let mut r = json!({ "First_Name": first, "Last_Name": last });
    if let Some(email) = email {
        r["Email"] = json!(email);
    }
    if let Some(phone) = phone {
        r["Phone"] = json!(phone);
    }
    r
}
