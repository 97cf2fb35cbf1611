//! Google's side of the connect flow: the consent URL (offline access, PKCE) and the token
//! endpoints, with base URLs from configuration so the emulator can stand in.

use crate::config;
use crate::oauth::{TokenEndpoint, PKCE_METHOD};

/// Read and write access to contacts and contact groups.
pub const CONTACTS_SCOPE: &str = "https://www.googleapis.com/auth/contacts";

/// Where the connect flow and the client talk to Google.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleUrls {
    /// Consent screen host (`https://accounts.google.com`); the path is `/o/oauth2/v2/auth`.
    pub oauth_url: String,
    /// Token host (`https://oauth2.googleapis.com`); paths `/token` and `/revoke`.
    pub token_url: String,
    /// People API root (`https://people.googleapis.com`).
    pub people_url: String,
}

impl GoogleUrls {
    /// From `GOOGLE_OAUTH_URL`, `GOOGLE_TOKEN_URL`, `GOOGLE_PEOPLE_URL`, else the real services.
    pub fn from_env() -> Self {
        GoogleUrls {
            oauth_url: config::env_or(config::GOOGLE_OAUTH_URL, config::DEFAULT_GOOGLE_OAUTH_URL),
            token_url: config::env_or(config::GOOGLE_TOKEN_URL, config::DEFAULT_GOOGLE_TOKEN_URL),
            people_url: config::env_or(
                config::GOOGLE_PEOPLE_URL,
                config::DEFAULT_GOOGLE_PEOPLE_URL,
            ),
        }
    }

    /// Every service at one root, as the emulator serves them.
    pub fn all_at(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/').to_string();
        GoogleUrls {
            oauth_url: base.clone(),
            token_url: base.clone(),
            people_url: base,
        }
    }

    pub fn token_endpoint(
        &self,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> TokenEndpoint {
        TokenEndpoint {
            token_url: format!("{}/token", self.token_url.trim_end_matches('/')),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            redirect_uri: redirect_uri.to_string(),
        }
    }

    pub fn revoke_url(&self) -> String {
        format!("{}/revoke", self.token_url.trim_end_matches('/'))
    }

    /// The consent URL. `access_type=offline` + `prompt=consent` so a refresh token is returned
    /// even when the user connected before (Google sends one only on a consent screen).
    pub fn authorization_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        pkce_challenge: &str,
        login_hint: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let mut url = url::Url::parse(&format!(
            "{}/o/oauth2/v2/auth",
            self.oauth_url.trim_end_matches('/')
        ))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", CONTACTS_SCOPE)
            .append_pair("state", state)
            .append_pair("code_challenge", pkce_challenge)
            .append_pair("code_challenge_method", PKCE_METHOD)
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("include_granted_scopes", "true");
        if let Some(hint) = login_hint {
            url.query_pairs_mut().append_pair("login_hint", hint);
        }
        Ok(url)
    }
}

/// Since granular consent a user can untick the contacts scope: check what was granted.
pub fn grants_contacts_scope(granted: Option<&str>) -> bool {
    granted.is_some_and(|s| s.split_whitespace().any(|scope| scope == CONTACTS_SCOPE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_url_asks_for_offline_access_with_pkce() {
        let urls = GoogleUrls::all_at("http://127.0.0.1:8071/");
        let url = urls
            .authorization_url("cid", "https://app/cb", "st", "chal", None)
            .unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/o/oauth2/v2/auth");
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["scope"], CONTACTS_SCOPE);
        assert_eq!(
            urls.token_endpoint("c", "s", "r").token_url,
            "http://127.0.0.1:8071/token"
        );
    }

    #[test]
    fn a_readonly_grant_is_not_enough() {
        assert!(grants_contacts_scope(Some(
            "openid https://www.googleapis.com/auth/contacts"
        )));
        assert!(!grants_contacts_scope(Some(
            "https://www.googleapis.com/auth/contacts.readonly"
        )));
        assert!(!grants_contacts_scope(None));
    }
}
