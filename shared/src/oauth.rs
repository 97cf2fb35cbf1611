//! OAuth 2 token endpoint client for Google and Zoho: code exchange (with PKCE), refresh,
//! revocation, a lazily refreshing access-token cache, and PKCE S256 helpers.
//!
//! Hand-written rather than the `oauth2` crate: the wire format is three form posts, Zoho answers
//! errors with HTTP 200 (which `oauth2` would treat as a malformed success), Zoho adds `api_domain`,
//! and the requests must go through our retry/deadline loop and our `reqwest` version.

use crate::http::{fetch_with_retry, HttpError, RetryPolicy};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A provider's token endpoint and this app's client registration.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenEndpoint {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// A successful token answer. `api_domain` is Zoho's (the data centre's API host).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Granted scopes (Google: space-separated; users may untick some since granular consent).
    pub scope: Option<String>,
    pub token_type: Option<String>,
    pub api_domain: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .field("api_domain", &self.api_domain)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The grant (authorization code or refresh token) is invalid, expired, used or revoked
    /// (`invalid_grant`; Zoho `invalid_code`). Retrying cannot help: the user must connect again.
    #[error("the provider refused the grant ({code}); the user must connect the account again")]
    ReconnectNeeded { code: String },
    /// The provider does not accept this app's client id/secret (or redirect URI).
    #[error("the provider rejected the app's client registration ({code}); check the client id, secret and redirect URI")]
    ClientRejected { code: String },
    /// Zoho's token throttle ("Access Denied": more than 10 refreshes in 10 minutes).
    #[error("the token endpoint is throttling this app ({code}); retrying later may help")]
    Throttled { code: String },
    /// Any other refusal from the token endpoint.
    #[error(
        "the token endpoint refused the request (HTTP {status}, {code}); retrying will not help"
    )]
    Refused { status: u16, code: String },
    /// The answer was not a token response we can read.
    #[error("the token endpoint answered HTTP {status} with a body that is not a token response; retrying will not help")]
    Malformed { status: u16 },
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl OAuthError {
    pub fn is_retryable(&self) -> bool {
        match self {
            OAuthError::Throttled { .. } => true,
            OAuthError::Http(e) => e.is_retryable(),
            _ => false,
        }
    }

    pub fn needs_reconnect(&self) -> bool {
        matches!(self, OAuthError::ReconnectNeeded { .. })
    }
}

/// Retries for token calls: few and short, because a user may be waiting on the connect page.
fn token_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_secs(5),
    }
}

/// Exchanges an authorization code (with the PKCE verifier if the flow used one).
pub async fn exchange_code(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint,
    code: &str,
    pkce_verifier: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", endpoint.client_id.as_str()),
        ("client_secret", endpoint.client_secret.as_str()),
        ("redirect_uri", endpoint.redirect_uri.as_str()),
    ];
    if let Some(verifier) = pkce_verifier {
        form.push(("code_verifier", verifier));
    }
    post_token_form(http, &endpoint.token_url, &form).await
}

/// Gets a new access token. The answer usually has no `refresh_token` (keep the old one).
pub async fn refresh(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint,
    refresh_token: &str,
) -> Result<TokenResponse, OAuthError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", endpoint.client_id.as_str()),
        ("client_secret", endpoint.client_secret.as_str()),
    ];
    post_token_form(http, &endpoint.token_url, &form).await
}

/// Revokes a token (`POST revoke_url` with form `token=`; Google `https://oauth2.googleapis.com/revoke`,
/// Zoho `{accounts}/oauth/v2/token/revoke`). A token the provider no longer knows counts as revoked.
pub async fn revoke(
    http: &reqwest::Client,
    revoke_url: &str,
    token: &str,
) -> Result<(), OAuthError> {
    let form = [("token", token)];
    let fetched = fetch_with_retry(
        http,
        || http.post(revoke_url).form(&form),
        &token_retry_policy(),
        None,
    )
    .await?;
    let body: RawTokenBody = serde_json::from_slice(&fetched.body).unwrap_or_default();
    match (fetched.status.is_success(), body.error.as_deref()) {
        (true, None) | (_, Some("invalid_token")) => Ok(()),
        (_, Some(code)) => Err(classify_error(fetched.status.as_u16(), code)),
        (false, None) => Err(OAuthError::Refused {
            status: fetched.status.as_u16(),
            code: String::from("unknown"),
        }),
    }
}

/// Token endpoint body, success or error, every field optional (unknown fields ignored).
#[derive(Debug, Default, Deserialize)]
struct RawTokenBody {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    /// Legacy Zoho: when present, `expires_in` is in milliseconds and this is in seconds.
    expires_in_sec: Option<serde_json::Value>,
    scope: Option<String>,
    token_type: Option<String>,
    api_domain: Option<String>,
    error: Option<String>,
}

async fn post_token_form(
    http: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
) -> Result<TokenResponse, OAuthError> {
    let fetched = fetch_with_retry(
        http,
        || http.post(token_url).form(form),
        &token_retry_policy(),
        None,
    )
    .await?;
    let status = fetched.status.as_u16();
    let body: RawTokenBody =
        serde_json::from_slice(&fetched.body).map_err(|_| OAuthError::Malformed { status })?;
    // Zoho reports errors with HTTP 200, so the body decides, not the status.
    if let Some(code) = body.error.as_deref() {
        return Err(classify_error(status, code));
    }
    match (fetched.status.is_success(), body.access_token) {
        (true, Some(access_token)) if !access_token.is_empty() => Ok(TokenResponse {
            access_token,
            refresh_token: body.refresh_token.filter(|t| !t.is_empty()),
            expires_in: seconds(body.expires_in_sec.as_ref())
                .or(seconds(body.expires_in.as_ref()))
                .unwrap_or(3600),
            scope: body.scope,
            token_type: body.token_type,
            api_domain: body.api_domain,
        }),
        (true, _) => Err(OAuthError::Malformed { status }),
        (false, _) => Err(OAuthError::Refused {
            status,
            code: String::from("unknown"),
        }),
    }
}

fn seconds(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn classify_error(status: u16, code: &str) -> OAuthError {
    let code_owned = code.to_string();
    match code {
        "invalid_grant" | "invalid_code" => OAuthError::ReconnectNeeded { code: code_owned },
        "invalid_client"
        | "unauthorized_client"
        | "invalid_client_secret"
        | "redirect_uri_mismatch"
        | "invalid_redirect_uri" => OAuthError::ClientRejected { code: code_owned },
        "Access Denied" => OAuthError::Throttled { code: code_owned },
        _ => OAuthError::Refused {
            status,
            code: code_owned,
        },
    }
}

/// An access token cached for one connection, refreshed lazily shortly before it expires.
/// Concurrent callers share one refresh: the lock is held across it.
pub struct AccessTokenCache {
    http: reqwest::Client,
    endpoint: TokenEndpoint,
    state: Mutex<CacheState>,
}

struct CacheState {
    refresh_token: String,
    current: Option<CachedToken>,
    api_domain: Option<String>,
}

struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

/// Refresh this long before the provider's expiry, so a token never dies mid-request.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// When a token received at `now` that lives `expires_in` seconds should be replaced.
/// A token shorter-lived than twice the margin is used for half its life.
pub fn refresh_deadline(now: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in);
    let usable = if lifetime > EXPIRY_MARGIN * 2 {
        lifetime - EXPIRY_MARGIN
    } else {
        lifetime / 2
    };
    now + usable
}

impl AccessTokenCache {
    pub fn new(http: reqwest::Client, endpoint: TokenEndpoint, refresh_token: String) -> Self {
        AccessTokenCache {
            http,
            endpoint,
            state: Mutex::new(CacheState {
                refresh_token,
                current: None,
                api_domain: None,
            }),
        }
    }

    /// A valid access token, refreshing first if there is none or it is about to expire.
    pub async fn get(&self) -> Result<String, OAuthError> {
        let mut state = self.state.lock().await;
        if let Some(token) = &state.current {
            if Instant::now() < token.refresh_at {
                return Ok(token.access_token.clone());
            }
        }
        let received_at = Instant::now();
        let response = refresh(&self.http, &self.endpoint, &state.refresh_token).await?;
        if let Some(rotated) = response.refresh_token {
            state.refresh_token = rotated;
        }
        if response.api_domain.is_some() {
            state.api_domain = response.api_domain;
        }
        state.current = Some(CachedToken {
            access_token: response.access_token.clone(),
            refresh_at: refresh_deadline(received_at, response.expires_in),
        });
        Ok(response.access_token)
    }

    /// A cache that starts with the access token a code exchange just returned, so the first
    /// API calls after connecting do not spend one of Zoho's ten refreshes per ten minutes.
    pub fn seeded(
        http: reqwest::Client,
        endpoint: TokenEndpoint,
        refresh_token: String,
        access_token: String,
        expires_in: u64,
    ) -> Self {
        let current = Some(CachedToken {
            access_token,
            refresh_at: refresh_deadline(Instant::now(), expires_in),
        });
        AccessTokenCache {
            http,
            endpoint,
            state: Mutex::new(CacheState {
                refresh_token,
                current,
                api_domain: None,
            }),
        }
    }

    /// Forgets the cached access token (after a 401), so the next `get()` refreshes.
    pub async fn invalidate(&self) {
        self.state.lock().await.current = None;
    }

    /// Forgets the cached token only if it is still `rejected`: when several requests got a
    /// 401 with the same token, the first one to get here causes one refresh, not one each.
    pub async fn invalidate_token(&self, rejected: &str) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.access_token == rejected)
        {
            state.current = None;
        }
    }

    /// The refresh token in use: differs from the one given to `new` if the provider rotated it,
    /// in which case the caller should store it.
    pub async fn refresh_token(&self) -> String {
        self.state.lock().await.refresh_token.clone()
    }

    /// Zoho's API host from the last refresh, if the provider sent one.
    pub async fn api_domain(&self) -> Option<String> {
        self.state.lock().await.api_domain.clone()
    }
}

/// A PKCE pair (RFC 7636, method S256): keep `verifier` (in the OAuth state record), send `challenge`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"<redacted>")
            .field("challenge", &self.challenge)
            .finish()
    }
}

pub const PKCE_METHOD: &str = "S256";

impl Pkce {
    /// A fresh verifier of 32 random bytes (43 URL-safe characters) and its challenge.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = pkce_challenge(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// `BASE64URL(SHA256(verifier))` without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests;
