//! Zoho's side of the connect flow across data centres: the consent URL, checking the
//! `accounts-server` the callback names (a forged one would receive our client secret and the
//! user's code), the code exchange on that server, and the `api_domain` it answers with.

use crate::config;
use crate::oauth::{exchange_code, OAuthError, TokenEndpoint, TokenResponse};
use url::Url;

/// Zoho Accounts hosts of the data centres the official v8 SDK knows (US, EU, IN, AU, CN, JP,
/// SA, CA). UK is listed by Zoho Accounts but its host is unconfirmed, so it is not accepted.
pub const ACCOUNTS_HOSTS: &[&str] = &[
    "accounts.zoho.com",
    "accounts.zoho.eu",
    "accounts.zoho.in",
    "accounts.zoho.com.au",
    "accounts.zoho.com.cn",
    "accounts.zoho.jp",
    "accounts.zoho.sa",
    "accounts.zohocloud.ca",
];

/// The API domains of those data centres (`www.`; each also has `sandbox.` and `developer.`).
const API_DOMAIN_SUFFIXES: &[&str] = &["zohoapis.com", "zohoapis.eu", "zohoapis.in", "zohoapis.com.au", "zohoapis.com.cn", "zohoapis.jp", "zohoapis.sa", "zohoapis.ca"];
const API_DOMAIN_PREFIXES: &[&str] = &["www", "sandbox", "developer"];

/// Everything the sync needs: Contacts, the fields and views to offer, who the user is and what
/// their profile allows. Comma-separated as Zoho's consent URL takes them.
pub const SCOPES: &str = "ZohoCRM.modules.contacts.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.custom_views.READ,ZohoCRM.users.READ,ZohoCRM.settings.profiles.READ";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountsServerError {
    /// Not a URL, or not a bare `https://host` origin.
    #[error("the Zoho {what} is not a plain https origin; refusing it")]
    NotAnOrigin { what: &'static str },
    /// A well-formed origin that is not one of Zoho's data centres (nor the configured override).
    #[error("the Zoho {what} is not a known Zoho data centre; refusing it")]
    UnknownHost { what: &'static str },
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// Parses `value` as a bare origin (no user, path, query or fragment) and returns it.
fn parse_origin(value: &str, what: &'static str) -> Result<Url, AccountsServerError> {
    let url = Url::parse(value.trim()).map_err(|_| AccountsServerError::NotAnOrigin { what })?;
    let bare = url.username().is_empty()
        && url.password().is_none()
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.host_str().is_some();
    if !bare {
        return Err(AccountsServerError::NotAnOrigin { what });
    }
    Ok(url)
}

/// Accepts the callback's `accounts-server` only if it is one of Zoho's accounts hosts over
/// https on the default port, or exactly the configured override (`ZOHO_ACCOUNTS_URL`, which
/// is how tests and the local run point at the emulator).
pub fn validate_accounts_server(value: &str, configured_override: Option<&str>) -> Result<Url, AccountsServerError> {
    let what = "accounts server";
    let url = parse_origin(value, what)?;
    if let Some(Ok(allowed)) = configured_override.map(|o| parse_origin(o, what)) {
        if same_origin(&url, &allowed) {
            return Ok(url);
        }
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if url.scheme() == "https" && url.port().is_none() && ACCOUNTS_HOSTS.contains(&host.as_str()) {
        return Ok(url);
    }
    Err(AccountsServerError::UnknownHost { what })
}

/// Accepts the token response's `api_domain` only if it is a Zoho API host, or exactly the
/// configured override (`ZOHO_API_URL`): the access token is sent there.
pub fn validate_api_domain(value: &str, configured_override: Option<&str>) -> Result<Url, AccountsServerError> {
    let what = "API domain";
    let url = parse_origin(value, what)?;
    if let Some(Ok(allowed)) = configured_override.map(|o| parse_origin(o, what)) {
        if same_origin(&url, &allowed) {
            return Ok(url);
        }
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let known = host
        .split_once('.')
        .is_some_and(|(prefix, suffix)| API_DOMAIN_PREFIXES.contains(&prefix) && API_DOMAIN_SUFFIXES.contains(&suffix));
    if url.scheme() == "https" && url.port().is_none() && known {
        return Ok(url);
    }
    Err(AccountsServerError::UnknownHost { what })
}

/// The configured overrides: `ZOHO_ACCOUNTS_URL` and `ZOHO_API_URL` when set.
pub fn configured_overrides() -> (Option<String>, Option<String>) {
    let read = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    (read(config::ZOHO_ACCOUNTS_URL), read(config::ZOHO_API_URL))
}

fn origin_text(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// The consent URL on `accounts_url` (the configured accounts server; Zoho redirects users of
/// other data centres itself). `access_type=offline` + `prompt=consent`: Zoho sends a refresh
/// token only on the first consent otherwise.
pub fn authorization_url(accounts_url: &str, client_id: &str, redirect_uri: &str, state: &str) -> Result<Url, url::ParseError> {
    let mut url = Url::parse(&format!("{}/oauth/v2/auth", accounts_url.trim_end_matches('/')))?;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("state", state);
    Ok(url)
}

/// The token endpoint on a (validated) accounts server.
pub fn token_endpoint(accounts_server: &Url, client_id: &str, client_secret: &str, redirect_uri: &str) -> TokenEndpoint {
    TokenEndpoint {
        token_url: format!("{}/oauth/v2/token", origin_text(accounts_server)),
        client_id: client_id.to_string(),
        client_secret: client_secret.to_string(),
        redirect_uri: redirect_uri.to_string(),
    }
}

pub fn revoke_url(accounts_server: &Url) -> String {
    format!("{}/oauth/v2/token/revoke", origin_text(accounts_server))
}

/// A finished connect: the tokens and the data centre they belong to.
#[derive(Debug, Clone)]
pub struct ZohoGrant {
    pub tokens: TokenResponse,
    pub refresh_token: String,
    pub accounts_server: Url,
    pub api_domain: Url,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    AccountsServer(#[from] AccountsServerError),
    #[error("Zoho sign-in: {0}")]
    OAuth(#[from] OAuthError),
    /// Without a refresh token the sync stops after an hour; the user must consent again.
    #[error("Zoho sent no refresh token; the user must connect again and consent")]
    NoRefreshToken,
    #[error("Zoho's token answer has no api_domain; retrying will not help")]
    NoApiDomain,
}

/// Client registration for the code exchange.
#[derive(Clone)]
pub struct ZohoApp<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// The callback step: checks `accounts-server`, exchanges `code` there, checks `api_domain`.
pub async fn connect(
    http: &reqwest::Client,
    app: &ZohoApp<'_>,
    accounts_server: &str,
    code: &str,
    overrides: (Option<&str>, Option<&str>),
) -> Result<ZohoGrant, ConnectError> {
    let accounts_server = validate_accounts_server(accounts_server, overrides.0)?;
    let endpoint = token_endpoint(&accounts_server, app.client_id, app.client_secret, app.redirect_uri);
    let tokens = exchange_code(http, &endpoint, code, None).await?;
    let api_domain = validate_api_domain(tokens.api_domain.as_deref().ok_or(ConnectError::NoApiDomain)?, overrides.1)?;
    let refresh_token = tokens.refresh_token.clone().ok_or(ConnectError::NoRefreshToken)?;
    Ok(ZohoGrant { tokens, refresh_token, accounts_server, api_domain })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zoho_data_centre_is_accepted() {
        for host in ACCOUNTS_HOSTS {
            let url = validate_accounts_server(&format!("https://{host}"), None).expect(host);
            assert_eq!(url.host_str(), Some(*host));
        }
        assert!(validate_accounts_server("https://accounts.zoho.eu/", None).is_ok());
    }

    #[test]
    fn look_alikes_and_tricks_are_refused() {
        for forged in [
            "https://accounts.zoho.com.evil.example",
            "https://evil.example/accounts.zoho.com",
            "http://accounts.zoho.com",
            "https://accounts.zoho.com:8443",
            "https://user@accounts.zoho.com",
            "https://accounts.zoho.com/oauth/v2/token",
            "https://accounts.zoho.com?x=1",
            "https://accounts-zoho.com",
            "accounts.zoho.com",
            "",
        ] {
            assert!(validate_accounts_server(forged, None).is_err(), "{forged} was accepted");
        }
    }

    #[test]
    fn the_configured_override_is_accepted_only_exactly() {
        let emulator = Some("http://127.0.0.1:8072");
        assert!(validate_accounts_server("http://127.0.0.1:8072", emulator).is_ok());
        assert!(validate_accounts_server("http://127.0.0.1:8073", emulator).is_err());
        assert!(validate_accounts_server("http://127.0.0.1:8072", None).is_err());
    }

    #[test]
    fn api_domains_of_zoho_data_centres_are_accepted() {
        assert!(validate_api_domain("https://www.zohoapis.com", None).is_ok());
        assert!(validate_api_domain("https://www.zohoapis.com.au", None).is_ok());
        assert!(validate_api_domain("https://sandbox.zohoapis.eu", None).is_ok());
        assert!(validate_api_domain("https://www.zohoapis.com.evil.example", None).is_err());
        assert!(validate_api_domain("https://evil.zohoapis.com", None).is_err());
        assert!(validate_api_domain("http://127.0.0.1:9", Some("http://127.0.0.1:9")).is_ok());
    }

    #[test]
    fn consent_url_asks_for_offline_access_and_all_scopes() {
        let url = authorization_url("https://accounts.zoho.com", "cid", "https://app.example/cb", "st").expect("url");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q.get("access_type").map(String::as_str), Some("offline"));
        assert_eq!(q.get("prompt").map(String::as_str), Some("consent"));
        assert_eq!(q.get("scope").map(String::as_str), Some(SCOPES));
        assert_eq!(url.path(), "/oauth/v2/auth");
    }
}
