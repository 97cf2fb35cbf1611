//! Connecting accounts: the OAuth start and callback routes for Zoho and Google, the overview
//! page and disconnect, and the settings page ([`settings_page`]: `/settings`, `/sync-now`). Behind API Gateway in the oauth-callback function; every handler takes a
//! [`WebRequest`] and returns a [`WebResponse`].
//!
//! Order of a connect: Zoho first (it says who the user is: the connection id is derived from
//! the Zoho data centre and user id, so connecting again finds the same connection and its
//! links), then Google. Every error path answers with a short page that says what went wrong
//! and what to do, and stores nothing. A `state` is one-time (consumed by a conditional delete)
//! and expires after ten minutes.

pub mod api_tokens;
pub mod session;
pub mod settings_page;

use crate::google::{grants_contacts_scope, GoogleUrls};
use crate::oauth::{exchange_code, revoke, AccessTokenCache, Pkce};
use crate::secrets::{AppSecrets, Secret, SecretError, TokenVault};
use crate::settings::{Direction, Settings};
use crate::status::{new_token, token_hash};
use crate::store::{Connection, EpochMillis, OAuthState, Provider, StateStore, StoreError, ZohoPermissions};
use crate::sync_trigger::SyncTrigger;
use api_tokens::ApiTokens;
use crate::web::{escape, page, WebRequest, WebResponse};
use crate::zoho::{self as zoho_accounts, ZohoApp, ZohoClient};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Where the connect flow sends users and which clients it uses.
#[derive(Clone)]
pub struct ConnectConfig {
    /// Public base URL of the HTTP API, without a trailing slash.
    pub public_base_url: String,
    pub google: GoogleUrls,
    /// The Zoho accounts server the consent starts at (Zoho sends users of other data centres on).
    pub zoho_accounts_url: String,
    /// `ZOHO_ACCOUNTS_URL` / `ZOHO_API_URL` when set: the only non-Zoho hosts accepted.
    pub zoho_overrides: (Option<String>, Option<String>),
    pub app: AppSecrets,
}

impl ConnectConfig {
    pub fn from_env(app: AppSecrets) -> Result<Self, crate::config::MissingEnv> {
        use crate::config;
        let public_base_url = config::require(config::PUBLIC_BASE_URL)?.trim_end_matches('/').to_string();
        Ok(ConnectConfig {
            public_base_url,
            google: GoogleUrls::from_env(),
            zoho_accounts_url: config::env_or(config::ZOHO_ACCOUNTS_URL, config::DEFAULT_ZOHO_ACCOUNTS_URL),
            zoho_overrides: zoho_accounts::configured_overrides(),
            app,
        })
    }

    fn redirect_uri(&self, provider: Provider) -> String {
        match provider {
            Provider::Zoho => format!("{}/oauth/zoho/callback", self.public_base_url),
            Provider::Google => format!("{}/oauth/google/callback", self.public_base_url),
        }
    }

    /// Cookies are `Secure` except on a plain-http local base URL.
    fn secure_cookies(&self) -> bool {
        !self.public_base_url.starts_with("http://")
    }

    fn session_key(&self) -> &[u8] {
        self.app.session_key.expose().as_bytes()
    }
}

/// What a connect step needs; built once per cold start.
pub struct Connector<'a> {
    pub store: &'a dyn StateStore,
    pub vault: &'a dyn TokenVault,
    pub http: &'a reqwest::Client,
    pub config: &'a ConnectConfig,
    /// Starts a run for "sync now" on the settings page.
    pub sync: &'a dyn SyncTrigger,
    /// Access tokens the settings page reuses between requests (keep one per process).
    pub api_tokens: &'a ApiTokens,
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The user's request cannot succeed as sent: a page says what to do.
    #[error("{title}")]
    User { status: u16, title: &'static str, advice: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

fn user_error(status: u16, title: &'static str, advice: impl Into<String>) -> Failure {
    Failure::User { status, title, advice: advice.into() }
}

const START_AGAIN: &str = "<a href=\"/oauth/zoho/start\">Start connecting again</a>.";

fn message_page(status: u16, title: &str, body_html: &str) -> WebResponse {
    WebResponse::html(status, page(title, &format!("<h1>{}</h1>{body_html}", escape(title))))
}

/// Derives the connection id from who the user is at Zoho, so that connecting again (after a
/// disconnect, from another browser) finds the same connection and its links: no duplicates.
pub fn connection_id_for(accounts_host: &str, zoho_user_id: &str) -> String {
    let digest = Sha256::digest(format!("zoho|{accounts_host}|{zoho_user_id}").as_bytes());
    hex::encode(&digest[..12])
}

impl Connector<'_> {
    pub async fn handle(&self, request: &WebRequest, now: EpochMillis) -> WebResponse {
        let result = match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/") => self.overview(request, now).await,
            ("GET", "/oauth/zoho/start") => self.start_zoho(request, now).await,
            ("GET", "/oauth/zoho/callback") => self.zoho_callback(request, now).await,
            ("GET", "/oauth/google/start") => self.start_google(request, now).await,
            ("GET", "/oauth/google/callback") => self.google_callback(request, now).await,
            ("POST", "/disconnect") => self.disconnect(request, now).await,
            ("GET", "/settings") => self.settings_page(request, now).await,
            ("POST", "/settings") => self.save_settings(request, now).await,
            ("POST", "/sync-now") => self.sync_now(request, now).await,
            _ => Ok(message_page(404, "Not found", "<p>There is no such page. <a href=\"/\">Home</a>.</p>")),
        };
        match result {
            Ok(response) => response,
            Err(Failure::User { status, title, advice }) => {
                tracing::info!(path = %request.path, status, reason = title, "connect request refused");
                message_page(status, title, &format!("<p>{}</p><p>Nothing was saved.</p>", advice))
            }
            Err(e) => {
                tracing::error!(path = %request.path, error = %e, "connect request failed");
                message_page(503, "Temporarily unavailable", "<p>The service could not save your connection. Nothing was changed; please try again in a minute.</p>")
            }
        }
    }

    /// The connection of a valid session cookie, with the cookie's value.
    fn session(&self, request: &WebRequest, now: EpochMillis) -> Option<(String, String)> {
        let value = request.cookies.get(session::COOKIE)?;
        let id = session::verify_cookie(self.config.session_key(), value, now)?;
        Some((id, value.clone()))
    }

    async fn new_state(&self, provider: Provider, connection_id: Option<String>, pkce_verifier: Option<String>, now: EpochMillis) -> Result<String, Failure> {
        let state = new_token();
        self.store
            .put_oauth_state(&OAuthState { state: state.clone(), provider, connection_id, pkce_verifier, expires_at: now + STATE_TTL_MS })
            .await?;
        Ok(state)
    }

    /// Consumes the callback's state (once, whatever happens next) and checks it is for `provider`.
    async fn take_state(&self, request: &WebRequest, provider: Provider, now: EpochMillis) -> Result<OAuthState, Failure> {
        let Some(state) = request.query.get("state").filter(|s| !s.is_empty() && s.len() <= 200) else {
            return Err(user_error(400, "This sign-in link is incomplete", format!("The answer from the provider has no state. {START_AGAIN}")));
        };
        let taken = self.store.consume_oauth_state(state, now).await?;
        let state = taken.map_err(|_| {
            user_error(400, "This sign-in link has expired or was already used", format!("Sign-in links work once, for ten minutes. {START_AGAIN}"))
        })?;
        if state.provider != provider {
            return Err(user_error(400, "This sign-in link is for another provider", START_AGAIN));
        }
        if let Some(error) = request.query.get("error") {
            let advice = if error == "access_denied" {
                format!("You declined access, so the sync cannot run. {START_AGAIN}")
            } else {
                format!("The provider answered with an error ({}). {START_AGAIN}", escape(&error.chars().take(60).collect::<String>()))
            };
            return Err(user_error(400, "The provider did not grant access", advice));
        }
        Ok(state)
    }

    fn code<'r>(&self, request: &'r WebRequest) -> Result<&'r str, Failure> {
        request
            .query
            .get("code")
            .map(String::as_str)
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| user_error(400, "This sign-in answer has no code", START_AGAIN))
    }

    async fn start_zoho(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let connection = self.session(request, now).map(|(id, _)| id);
        let state = self.new_state(Provider::Zoho, connection, None, now).await?;
        let url = zoho_accounts::authorization_url(
            &self.config.zoho_accounts_url,
            &self.config.app.zoho_client_id,
            &self.config.redirect_uri(Provider::Zoho),
            &state,
        )
        .map_err(|_| user_error(500, "The Zoho accounts URL is misconfigured", "Ask your administrator to check ZOHO_ACCOUNTS_URL."))?;
        Ok(WebResponse::redirect(url.as_str()))
    }

    async fn zoho_callback(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        self.take_state(request, Provider::Zoho, now).await?;
        let code = self.code(request)?;
        let accounts_server = request.query.get("accounts-server").map(String::as_str).unwrap_or(&self.config.zoho_accounts_url);
        let redirect_uri = self.config.redirect_uri(Provider::Zoho);
        let app = ZohoApp {
            client_id: &self.config.app.zoho_client_id,
            client_secret: self.config.app.zoho_client_secret.expose(),
            redirect_uri: &redirect_uri,
        };
        let overrides = (self.config.zoho_overrides.0.as_deref(), self.config.zoho_overrides.1.as_deref());
        let grant = zoho_accounts::connect(self.http, &app, accounts_server, code, overrides).await.map_err(|e| match e {
            zoho_accounts::ConnectError::AccountsServer(_) => {
                user_error(400, "The Zoho data centre in this answer is not one of Zoho's", format!("The sign-in answer named an unknown Zoho accounts server, so it was refused. {START_AGAIN}"))
            }
            zoho_accounts::ConnectError::NoRefreshToken => {
                user_error(400, "Zoho did not allow offline access", format!("The sync needs offline access to run on a schedule. {START_AGAIN}"))
            }
            other => user_error(502, "Zoho sign-in failed", format!("Zoho did not accept the sign-in ({other}). {START_AGAIN}")),
        })?;
        let endpoint = zoho_accounts::token_endpoint(&grant.accounts_server, app.client_id, app.client_secret, app.redirect_uri);
        let tokens = Arc::new(AccessTokenCache::seeded(
            self.http.clone(),
            endpoint,
            grant.refresh_token.clone(),
            grant.tokens.access_token.clone(),
            grant.tokens.expires_in,
        ));
        let client = ZohoClient::new(self.http.clone(), grant.api_domain.as_str(), tokens.clone());
        let (user, permissions) = client
            .user_and_permissions()
            .await
            .map_err(|e| user_error(502, "Could not read your Zoho CRM profile", format!("Zoho answered: {e}. {START_AGAIN}")))?;
        let host = grant.accounts_server.host_str().unwrap_or_default().to_string();
        let id = connection_id_for(&host, &user.id);
        let permissions = ZohoPermissions { view: permissions.view, create: permissions.create, edit: permissions.edit, delete: permissions.delete };
        if !permissions.view {
            return Err(user_error(403, "Your Zoho CRM profile cannot view Contacts", "Ask your Zoho CRM administrator for View permission on Contacts, then connect again."));
        }

        self.vault.put_token(&id, Provider::Zoho, &Secret::new(grant.refresh_token.clone())).await?;
        // The settings page comes next: let it use the access token this exchange returned.
        self.api_tokens.insert(&id, Provider::Zoho, &grant.refresh_token, tokens);
        let google_connected = self.vault.get_token(&id, Provider::Google).await?.is_some();
        let existing = self.store.get_connection(&id).await?;
        let mut connection = existing.unwrap_or_else(|| Connection {
            id: id.clone(),
            zoho_user_id: user.id.clone(),
            google_email: String::new(),
            settings: Settings::default(),
            frequency: Settings::default().frequency,
            enabled: false,
            zoho_permissions: permissions,
            zoho_accounts_server: None,
            zoho_api_domain: None,
            status_token_hash: None,
            reconnect_needed: false,
            created_at: now,
            updated_at: now,
        });
        connection.zoho_permissions = permissions;
        if !(permissions.create && permissions.edit) {
            // Without write rights on Contacts only Zoho → Google is possible.
            connection.settings.direction = Direction::ZohoToGoogle;
        }
        connection.zoho_accounts_server = Some(grant.accounts_server.as_str().trim_end_matches('/').to_string());
        connection.zoho_api_domain = Some(grant.api_domain.as_str().trim_end_matches('/').to_string());
        connection.enabled = google_connected;
        connection.reconnect_needed = false;
        connection.updated_at = now;
        self.store.put_connection(&connection).await?;
        tracing::info!(connection = %id, "zoho connected");

        let cookie = session::issue(self.config.session_key(), &id, now);
        let mut response = WebResponse::redirect(if google_connected { "/" } else { "/oauth/google/start" });
        response.cookies.push(session::set_cookie(&cookie, self.config.secure_cookies()));
        Ok(response)
    }

    async fn start_google(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let Some((connection_id, _)) = self.session(request, now) else {
            return Err(user_error(401, "Connect Zoho CRM first", format!("Google is connected after Zoho CRM, in the same browser. {START_AGAIN}")));
        };
        let pkce = Pkce::generate();
        let state = self.new_state(Provider::Google, Some(connection_id), Some(pkce.verifier.clone()), now).await?;
        let url = self
            .config
            .google
            .authorization_url(&self.config.app.google_client_id, &self.config.redirect_uri(Provider::Google), &state, &pkce.challenge, None)
            .map_err(|_| user_error(500, "The Google sign-in URL is misconfigured", "Ask your administrator to check GOOGLE_OAUTH_URL."))?;
        Ok(WebResponse::redirect(url.as_str()))
    }

    async fn google_callback(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let state = self.take_state(request, Provider::Google, now).await?;
        let code = self.code(request)?;
        let session = self.session(request, now).map(|(id, _)| id);
        let Some(connection_id) = state.connection_id.filter(|id| session.as_deref() == Some(id.as_str())) else {
            // The state was issued to another browser's session: a forged or leaked callback.
            return Err(user_error(400, "This sign-in belongs to another session", format!("Finish connecting in the browser where you started. {START_AGAIN}")));
        };
        let Some(mut connection) = self.store.get_connection(&connection_id).await? else {
            return Err(user_error(400, "Connect Zoho CRM first", START_AGAIN));
        };
        let endpoint = self.config.google.token_endpoint(
            &self.config.app.google_client_id,
            self.config.app.google_client_secret.expose(),
            &self.config.redirect_uri(Provider::Google),
        );
        let tokens = exchange_code(self.http, &endpoint, code, state.pkce_verifier.as_deref())
            .await
            .map_err(|e| user_error(502, "Google sign-in failed", format!("Google did not accept the sign-in ({e}). {START_AGAIN}")))?;
        if !grants_contacts_scope(tokens.scope.as_deref()) {
            // The user unticked contacts: the grant is useless, so give it back.
            let token = tokens.refresh_token.as_deref().unwrap_or(&tokens.access_token);
            if let Err(e) = revoke(self.http, &self.config.google.revoke_url(), token).await {
                tracing::warn!(error = %e, "could not revoke a grant without the contacts scope");
            }
            return Err(user_error(400, "Google contacts access was not granted", "The sync needs \"See, edit, download and permanently delete your contacts\". Connect again and leave it ticked. <a href=\"/oauth/google/start\">Connect Google again</a>."));
        }
        let Some(refresh_token) = tokens.refresh_token else {
            return Err(user_error(400, "Google did not allow offline access", "<a href=\"/oauth/google/start\">Connect Google again</a>."));
        };
        self.vault.put_token(&connection_id, Provider::Google, &Secret::new(refresh_token)).await?;
        let status_token = new_token();
        connection.status_token_hash = Some(token_hash(&status_token));
        connection.enabled = true;
        connection.reconnect_needed = false;
        connection.updated_at = now;
        self.store.put_connection(&connection).await?;
        tracing::info!(connection = %connection_id, "google connected");
        let body = format!(
            "<h1>Connected</h1><p>Zoho CRM and Google are connected. Choose which contacts to sync next; they then sync every {}.</p>\
             <p>For scripts, your status token (shown once; keep it): <code id=\"status-token\">{}</code><br>\
             <code>curl -H 'Authorization: Bearer &lt;token&gt;' '{}/status?connection={}'</code></p>\
             <p><strong><a id=\"settings\" href=\"/settings\">Next: choose what to sync</a></strong></p><p><a href=\"/\">Your connection</a></p>",
            escape(connection.frequency.key()),
            escape(&status_token),
            escape(&self.config.public_base_url),
            escape(&connection_id),
        );
        Ok(WebResponse::html(200, page("Connected", &body)))
    }

    async fn overview(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let connection = match self.session(request, now) {
            Some((id, cookie)) => self.store.get_connection(&id).await?.map(|c| (c, cookie)),
            None => None,
        };
        let Some((connection, cookie)) = connection else {
            return Ok(message_page(200, "Zoho CRM ⇄ Google contacts sync", "<p><a id=\"connect\" href=\"/oauth/zoho/start\">Connect Zoho CRM and Google</a></p>"));
        };
        let google = self.vault.get_token(&connection.id, Provider::Google).await?.is_some();
        let zoho = self.vault.get_token(&connection.id, Provider::Zoho).await?.is_some();
        let csrf = session::csrf_token(self.config.session_key(), &cookie);
        let mark = |ok: bool| if ok { "connected" } else { "not connected" };
        let body = format!(
            "<h1>Your connection</h1><ul><li>Zoho CRM: <span id=\"zoho\">{}</span> (<a href=\"/oauth/zoho/start\">reconnect</a>)</li>\
             <li>Google: <span id=\"google\">{}</span> (<a href=\"/oauth/google/start\">reconnect</a>)</li>\
             <li>Sync: <span id=\"enabled\">{}</span>{}</li></ul>\
             <p><a id=\"settings\" href=\"/settings\">Settings, status and sync now</a></p>\
             <form method=\"post\" action=\"/disconnect\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Disconnect both accounts</button></form>",
            mark(zoho),
            mark(google),
            if connection.enabled { "on" } else { "off" },
            if connection.reconnect_needed { " — a provider refused our access: reconnect it" } else { "" },
            escape(&csrf),
        );
        Ok(WebResponse::html(200, page("Your connection", &body)))
    }

    async fn disconnect(&self, request: &WebRequest, now: EpochMillis) -> Result<WebResponse, Failure> {
        let Some((connection_id, cookie)) = self.session(request, now) else {
            return Err(user_error(401, "You are not signed in", "Open the page from the browser where you connected."));
        };
        let form = request.form();
        let csrf_ok = form.get("csrf").is_some_and(|t| session::verify_csrf(self.config.session_key(), &cookie, t));
        if !csrf_ok {
            return Err(user_error(403, "This form has expired", "<a href=\"/\">Reload your connection page</a> and try again."));
        }
        let Some(mut connection) = self.store.get_connection(&connection_id).await? else {
            return Err(user_error(404, "No such connection", START_AGAIN));
        };
        self.revoke_tokens(&connection).await?;
        for provider in [Provider::Zoho, Provider::Google] {
            self.vault.delete_token(&connection_id, provider).await?;
        }
        self.api_tokens.forget(&connection_id);
        // Links stay: connecting again picks up where this left off, without duplicates.
        connection.enabled = false;
        connection.status_token_hash = None;
        connection.updated_at = now;
        self.store.put_connection(&connection).await?;
        tracing::info!(connection = %connection_id, "disconnected");
        let mut response = message_page(200, "Disconnected", "<p>Both accounts are disconnected and their access revoked. Your sync history is kept; connecting again continues without duplicates.</p><p><a href=\"/oauth/zoho/start\">Connect again</a></p>");
        response.cookies.push(session::clear_cookie(self.config.secure_cookies()));
        Ok(response)
    }

    /// Revokes both refresh tokens at their providers. A provider that cannot be reached does
    /// not stop the disconnect: the token is deleted here either way.
    async fn revoke_tokens(&self, connection: &Connection) -> Result<(), Failure> {
        if let Some(token) = self.vault.get_token(&connection.id, Provider::Google).await? {
            if let Err(e) = revoke(self.http, &self.config.google.revoke_url(), token.expose()).await {
                tracing::warn!(connection = %connection.id, error = %e, "google revoke failed");
            }
        }
        if let (Some(token), Some(server)) = (
            self.vault.get_token(&connection.id, Provider::Zoho).await?,
            connection.zoho_accounts_server.as_deref().and_then(|s| url::Url::parse(s).ok()),
        ) {
            if let Err(e) = revoke(self.http, &zoho_accounts::revoke_url(&server), token.expose()).await {
                tracing::warn!(connection = %connection.id, error = %e, "zoho revoke failed");
            }
        }
        Ok(())
    }
}
