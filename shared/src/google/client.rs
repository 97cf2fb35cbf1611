//! The People API client core: bearer auth with one refresh on 401, retries, the deadline, and
//! one write at a time per user (Google: "Mutate requests for the same user should be sent
//! sequentially to avoid increased latency and failures").

use super::error::{api_error, GoogleError};
use crate::http::{fetch_with_retry, RetryPolicy};
use crate::oauth::AccessTokenCache;
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A People API client for one connected Google account.
pub struct GoogleClient {
    http: reqwest::Client,
    people_url: String,
    tokens: Arc<AccessTokenCache>,
    retry: RetryPolicy,
    deadline: Option<Instant>,
    writes: Mutex<()>,
}

/// Whether a call changes data (and so waits for the per-user write lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl GoogleClient {
    /// `people_url` is the API root (`https://people.googleapis.com`, or an emulator's).
    pub fn new(http: reqwest::Client, people_url: &str, tokens: Arc<AccessTokenCache>) -> Self {
        GoogleClient {
            http,
            people_url: people_url.trim_end_matches('/').to_string(),
            tokens,
            retry: RetryPolicy::default(),
            deadline: None,
            writes: Mutex::new(()),
        }
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// No request is started, and no retry wait begun, that would end after `deadline`
    /// (e.g. the Lambda's deadline minus time to save progress).
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn tokens(&self) -> &Arc<AccessTokenCache> {
        &self.tokens
    }

    /// Sends one API call and decodes the success body. `endpoint` names the method in errors.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        access: Access,
    ) -> Result<T, GoogleError> {
        let (status, bytes) = self.send(method, path, query, body, access).await?;
        if !status.is_success() {
            return Err(api_error(endpoint, status.as_u16(), &bytes));
        }
        let bytes = if bytes.is_empty() {
            b"{}".to_vec()
        } else {
            bytes
        };
        serde_json::from_slice(&bytes).map_err(|e| GoogleError::Malformed {
            endpoint,
            // Position and category only: serde's text can quote the offending value.
            detail: format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        })
    }

    /// Sends with auth; on 401 refreshes the token once and sends again.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        access: Access,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), GoogleError> {
        let _write_turn = match access {
            Access::Write => Some(self.writes.lock().await),
            Access::Read => None,
        };
        let url = format!("{}{}", self.people_url, path);
        for refreshed in [false, true] {
            let token = self.tokens.get().await?;
            let build = || {
                let request = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(&token)
                    .query(query);
                match body {
                    Some(json) => request.json(json),
                    None => request,
                }
            };
            let fetched = fetch_with_retry(&self.http, build, &self.retry, self.deadline).await?;
            if fetched.status == reqwest::StatusCode::UNAUTHORIZED {
                if refreshed {
                    return Err(GoogleError::Unauthenticated);
                }
                tracing::info!(path, "access token rejected; refreshing once");
                self.tokens.invalidate_token(&token).await;
                continue;
            }
            return Ok((fetched.status, fetched.body));
        }
        Err(GoogleError::Unauthenticated)
    }
}
