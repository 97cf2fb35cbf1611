//! Access tokens for the settings page, kept for the life of the process (a warm Lambda).
//!
//! Why: every page view and save lists the user's groups, views and fields with their own
//! tokens, and Zoho mints at most ten access tokens per refresh token per ten minutes. Reusing
//! one [`AccessTokenCache`] per connection and provider means a user clicking around the page
//! costs one refresh an hour instead of one per click. The Zoho callback seeds the cache with
//! the access token its code exchange returned.

use crate::oauth::AccessTokenCache;
use crate::store::Provider;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A warm Lambda serves many users; past this many entries the cache starts over.
const MAX_ENTRIES: usize = 500;

/// `(connection id, provider)` → (hash of the refresh token it was built from, the cache).
type Entries = HashMap<(String, &'static str), (String, Arc<AccessTokenCache>)>;

#[derive(Default)]
pub struct ApiTokens {
    entries: Mutex<Entries>,
}

fn key(connection_id: &str, provider: Provider) -> (String, &'static str) {
    let provider = match provider {
        Provider::Zoho => "zoho",
        Provider::Google => "google",
    };
    (connection_id.to_string(), provider)
}

/// Entries are keyed on the refresh token too, so a reconnect (a new refresh token) is never
/// served the old grant's access token.
fn fingerprint(refresh_token: &str) -> String {
    hex::encode(Sha256::digest(refresh_token.as_bytes()))
}

impl ApiTokens {
    pub fn new() -> Self {
        ApiTokens::default()
    }

    /// The cache for this connection's grant, or the one `build` makes (kept for next time).
    pub fn get_or_insert(
        &self,
        connection_id: &str,
        provider: Provider,
        refresh_token: &str,
        build: impl FnOnce() -> AccessTokenCache,
    ) -> Arc<AccessTokenCache> {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let print = fingerprint(refresh_token);
        if let Some((known, cache)) = entries.get(&key(connection_id, provider)) {
            if *known == print {
                return cache.clone();
            }
        }
        let cache = Arc::new(build());
        Self::put(&mut entries, connection_id, provider, print, cache.clone());
        cache
    }

    /// Keeps a cache that already holds a fresh access token (from a code exchange).
    pub fn insert(&self, connection_id: &str, provider: Provider, refresh_token: &str, cache: Arc<AccessTokenCache>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Self::put(&mut entries, connection_id, provider, fingerprint(refresh_token), cache);
    }

    /// Forgets a connection's tokens (after a disconnect).
    pub fn forget(&self, connection_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|(id, _), _| id != connection_id);
    }

    fn put(
        entries: &mut Entries,
        connection_id: &str,
        provider: Provider,
        print: String,
        cache: Arc<AccessTokenCache>,
    ) {
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key(connection_id, provider), (print, cache));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::TokenEndpoint;

    fn cache() -> AccessTokenCache {
        let endpoint = TokenEndpoint { token_url: "http://127.0.0.1:9/token".into(), client_id: "c".into(), client_secret: "s".into(), redirect_uri: String::new() };
        AccessTokenCache::new(reqwest::Client::new(), endpoint, "r".into())
    }

    #[test]
    fn a_connection_reuses_its_cache_until_its_refresh_token_changes() {
        let tokens = ApiTokens::new();
        let first = tokens.get_or_insert("c1", Provider::Zoho, "refresh-1", cache);
        let again = tokens.get_or_insert("c1", Provider::Zoho, "refresh-1", cache);
        assert!(Arc::ptr_eq(&first, &again), "the same grant reuses its access token");
        let google = tokens.get_or_insert("c1", Provider::Google, "refresh-1", cache);
        assert!(!Arc::ptr_eq(&first, &google), "providers are kept apart");
        let reconnected = tokens.get_or_insert("c1", Provider::Zoho, "refresh-2", cache);
        assert!(!Arc::ptr_eq(&first, &reconnected), "a new grant gets a new cache");
        tokens.forget("c1");
        let after_disconnect = tokens.get_or_insert("c1", Provider::Zoho, "refresh-2", cache);
        assert!(!Arc::ptr_eq(&reconnected, &after_disconnect));
    }
}
