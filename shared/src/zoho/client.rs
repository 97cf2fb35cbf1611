//! The Zoho CRM client core: `Zoho-oauthtoken` auth with one refresh on 401, retries within
//! the caller's deadline, and Zoho's answer shapes (204/304 without a body, 207 mixed).

use super::error::{api_error, malformed, ZohoError};
use crate::http::{fetch_with_retry, RetryPolicy};
use crate::oauth::AccessTokenCache;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tokio::time::Instant;

/// A Zoho CRM v8 client for one connected user, at their data centre's `api_domain`.
pub struct ZohoClient {
    http: reqwest::Client,
    api_domain: String,
    tokens: Arc<AccessTokenCache>,
    retry: RetryPolicy,
    deadline: Option<Instant>,
}

/// One request as the client sends it.
pub(crate) struct Call<'a> {
    pub endpoint: &'static str,
    pub method: Method,
    pub path: &'a str,
    pub query: &'a [(&'a str, String)],
    /// Zoho's `If-Modified-Since` (ISO 8601 with offset).
    pub if_modified_since: Option<String>,
    pub body: Option<&'a serde_json::Value>,
}

/// An answer that was not retried.
pub(crate) struct Answer {
    pub status: StatusCode,
    /// Zoho's clock (the `Date` header), which `Modified_Time` and `If-Modified-Since` follow.
    pub server_time: Option<time::OffsetDateTime>,
    pub body: Vec<u8>,
}

impl<'a> Call<'a> {
    pub fn get(endpoint: &'static str, path: &'a str, query: &'a [(&'a str, String)]) -> Self {
        Call { endpoint, method: Method::GET, path, query, if_modified_since: None, body: None }
    }
}

impl ZohoClient {
    /// `api_domain` is the validated `api_domain` of the user's token response (see
    /// [`super::validate_api_domain`]); the client appends `/crm/v8/...`.
    pub fn new(http: reqwest::Client, api_domain: &str, tokens: Arc<AccessTokenCache>) -> Self {
        ZohoClient {
            http,
            api_domain: api_domain.trim_end_matches('/').to_string(),
            tokens,
            retry: RetryPolicy::default(),
            deadline: None,
        }
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// No request is started, and no retry wait begun, that would end after `deadline`.
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn tokens(&self) -> &Arc<AccessTokenCache> {
        &self.tokens
    }

    /// Sends a call and decodes a success body; `None` for 204 and 304 (no body).
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<Option<T>, ZohoError> {
        let endpoint = call.endpoint;
        let Answer { status, body: bytes, .. } = self.send(call).await?;
        if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(api_error(endpoint, status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| malformed(endpoint, &e))
    }

    /// Sends with auth; on 401 `INVALID_TOKEN` refreshes the token once and sends again.
    /// Returns any status that is not retried, with its body.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Answer, ZohoError> {
        let url = format!("{}{}", self.api_domain, call.path);
        for refreshed in [false, true] {
            let token = self.tokens.get().await?;
            let build = || {
                let mut request = self
                    .http
                    .request(call.method.clone(), &url)
                    .header(reqwest::header::AUTHORIZATION, format!("Zoho-oauthtoken {token}"))
                    .query(call.query);
                if let Some(since) = &call.if_modified_since {
                    request = request.header(reqwest::header::IF_MODIFIED_SINCE, since);
                }
                match call.body {
                    Some(json) => request.json(json),
                    None => request,
                }
            };
            let fetched = fetch_with_retry(&self.http, build, &self.retry, self.deadline).await?;
            if fetched.status == StatusCode::UNAUTHORIZED {
                let error = api_error(call.endpoint, 401, &fetched.body);
                if matches!(error, ZohoError::ScopeMismatch { .. }) {
                    return Err(error);
                }
                if refreshed {
                    return Err(ZohoError::Unauthenticated);
                }
                tracing::info!(endpoint = call.endpoint, "Zoho access token rejected; refreshing once");
                self.tokens.invalidate_token(&token).await;
                continue;
            }
            let server_time = fetched
                .headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .map(time::OffsetDateTime::from);
            return Ok(Answer { status: fetched.status, server_time, body: fetched.body });
        }
        Err(ZohoError::Unauthenticated)
    }
}
