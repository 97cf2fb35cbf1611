//! HTTP plumbing shared by the Google and Zoho clients: bounded retries with exponential backoff
//! and jitter for throttling (429), server errors (500/502/503/504) and broken connections,
//! honouring `Retry-After`, and never sleeping past the caller's deadline (a Lambda that sleeps
//! past its deadline is killed and loses the work of the whole tick).
//!
//! The backoff schedule comes from `backon`; the loop is ours because the wait also depends on the
//! response (`Retry-After`) and on the deadline, which `backon`'s retry wrapper cannot see.

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How often and how long to retry one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries, the first one included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles on each further retry (plus up to 100% jitter).
    pub base_delay: Duration,
    /// Cap on one wait. A `Retry-After` longer than this is not waited out: the request fails
    /// with the retry-after in the error, so the caller can carry the work to its next run.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Google's guidance is truncated exponential backoff with a 32 s cap; five tries spread over
    /// roughly 8-15 s ride out a per-minute quota without burning a Lambda's whole budget.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(32),
        }
    }
}

impl RetryPolicy {
    /// The waits before retry 1, 2, ... (`max_attempts - 1` of them), with jitter, capped.
    pub fn backoff_delays(&self) -> impl Iterator<Item = Duration> {
        let max_delay = self.max_delay;
        ExponentialBuilder::default()
            .with_jitter()
            .with_factor(2.0)
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
            // backon's jitter is added after its cap; keep the documented bound.
            .map(move |d| d.min(max_delay))
    }
}

/// Why a request finally failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No usable answer: connection refused/reset, timeout, or the body broke off mid-stream.
    #[error("{endpoint}: no answer from the server ({detail}) after {attempts} attempt(s); retrying later may help")]
    Transport {
        endpoint: String,
        detail: String,
        attempts: u32,
    },
    /// The server kept answering with a retryable status until the attempts ran out, or asked
    /// for a longer wait (`Retry-After`) than the policy allows.
    #[error("{endpoint}: HTTP {status} after {attempts} attempt(s); retrying later may help")]
    Status {
        endpoint: String,
        status: u16,
        retry_after: Option<Duration>,
        attempts: u32,
    },
    /// The next try (or the wait before it) would end after the caller's deadline.
    #[error("{endpoint}: stopped after {attempts} attempt(s) because the deadline would pass; the work should be carried to the next run")]
    Deadline {
        endpoint: String,
        attempts: u32,
        retry_after: Option<Duration>,
    },
    /// The request could not be built or sent at all (bad URL, bad header): retrying cannot help.
    #[error("{endpoint}: the request is invalid ({detail}); retrying will not help")]
    InvalidRequest { endpoint: String, detail: String },
}

impl HttpError {
    /// Whether the same request may succeed later (now or on a later run).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, HttpError::InvalidRequest { .. })
    }

    /// How many requests were sent before giving up.
    pub fn attempts(&self) -> u32 {
        match self {
            HttpError::Transport { attempts, .. }
            | HttpError::Status { attempts, .. }
            | HttpError::Deadline { attempts, .. } => *attempts,
            HttpError::InvalidRequest { .. } => 0,
        }
    }
}

/// Statuses worth another try: throttling and transient server trouble.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 §10.2.3); `None` if absent or unreadable.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = date - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// What to do after a retryable failure.
#[derive(Debug, PartialEq, Eq)]
enum NextStep {
    Wait(Duration),
    GiveUp(GiveUpReason),
}

#[derive(Debug, PartialEq, Eq)]
enum GiveUpReason {
    AttemptsExhausted,
    RetryAfterTooLong,
    Deadline,
}

/// Pure decision: the backoff wait (None once attempts are used up), the server's `Retry-After`,
/// the policy cap and the deadline. The server's wait wins over a shorter backoff.
fn next_step(
    backoff: Option<Duration>,
    retry_after: Option<Duration>,
    policy: &RetryPolicy,
    now: Instant,
    deadline: Option<Instant>,
) -> NextStep {
    let Some(backoff) = backoff else {
        return NextStep::GiveUp(GiveUpReason::AttemptsExhausted);
    };
    let wait = retry_after.map_or(backoff, |ra| ra.max(backoff));
    if let Some(deadline) = deadline {
        if now + wait >= deadline {
            return NextStep::GiveUp(GiveUpReason::Deadline);
        }
    }
    if retry_after.is_some_and(|ra| ra > policy.max_delay) {
        return NextStep::GiveUp(GiveUpReason::RetryAfterTooLong);
    }
    NextStep::Wait(wait)
}

/// A whole answer, body included, read under the retry loop.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Outcome of one try, as the retry loop sees it.
enum Attempt<T> {
    Done(T),
    RetryableStatus {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    BrokenConnection(String),
    Invalid(String),
    DeadlinePassed,
}

/// Sends the request `build` makes, retrying as `policy` says. Returns the response for any
/// status that is not retried (2xx, 4xx other than 429, ...) so the caller can read API errors;
/// fails only when retries are used up, the deadline would pass, or the request is invalid.
///
/// A body that breaks off after the headers is not seen here (the body is not read): use
/// [`fetch_with_retry`] when that must be retried too.
pub async fn send_with_retry(
    client: &reqwest::Client,
    build: impl Fn() -> reqwest::RequestBuilder,
    policy: &RetryPolicy,
    deadline: Option<Instant>,
) -> Result<reqwest::Response, HttpError> {
    retry_loop(&build, policy, deadline, |request| async move {
        match client.execute(request).await {
            Ok(response) => classify_status(response),
            Err(e) => classify_transport(e, deadline),
        }
    })
    .await
}

/// Like [`send_with_retry`], and also reads the body, retrying when the connection drops
/// mid-body (the server had not finished answering, so nothing is known to have happened).
pub async fn fetch_with_retry(
    client: &reqwest::Client,
    build: impl Fn() -> reqwest::RequestBuilder,
    policy: &RetryPolicy,
    deadline: Option<Instant>,
) -> Result<Fetched, HttpError> {
    retry_loop(&build, policy, deadline, |request| async move {
        let response = match client.execute(request).await {
            Ok(response) => match classify_status(response) {
                Attempt::Done(response) => response,
                Attempt::RetryableStatus {
                    status,
                    retry_after,
                } => {
                    return Attempt::RetryableStatus {
                        status,
                        retry_after,
                    }
                }
                Attempt::BrokenConnection(d) => return Attempt::BrokenConnection(d),
                Attempt::Invalid(d) => return Attempt::Invalid(d),
                Attempt::DeadlinePassed => return Attempt::DeadlinePassed,
            },
            Err(e) => return classify_transport(e, deadline),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => Attempt::Done(Fetched {
                status,
                headers,
                body: body.to_vec(),
            }),
            Err(e) => classify_transport(e, deadline),
        }
    })
    .await
}

fn classify_status(response: reqwest::Response) -> Attempt<reqwest::Response> {
    if is_retryable_status(response.status()) {
        Attempt::RetryableStatus {
            status: response.status(),
            retry_after: parse_retry_after(response.headers()),
        }
    } else {
        Attempt::Done(response)
    }
}

fn classify_transport<T>(error: reqwest::Error, deadline: Option<Instant>) -> Attempt<T> {
    if error.is_builder() {
        return Attempt::Invalid(describe(&error));
    }
    if error.is_timeout() && deadline.is_some_and(|d| Instant::now() >= d) {
        return Attempt::DeadlinePassed;
    }
    Attempt::BrokenConnection(describe(&error))
}

/// The error's kind without its URL: query strings can carry sync or page tokens.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "connection dropped while reading the answer"
    } else if error.is_builder() {
        "could not build the request"
    } else {
        "connection error"
    };
    kind.to_string()
}

async fn retry_loop<T, Try, Fut>(
    build: &impl Fn() -> reqwest::RequestBuilder,
    policy: &RetryPolicy,
    deadline: Option<Instant>,
    try_once: Try,
) -> Result<T, HttpError>
where
    Try: Fn(reqwest::Request) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut backoff = policy.backoff_delays();
    let mut attempts = 0u32;
    let mut endpoint = String::from("request");
    loop {
        let mut request = match build().build() {
            Ok(request) => request,
            Err(e) => {
                return Err(HttpError::InvalidRequest {
                    endpoint,
                    detail: describe(&e),
                })
            }
        };
        endpoint = endpoint_name(request.method(), request.url());
        if let Some(deadline) = deadline {
            // A reply that arrives after the deadline is of no use: bound the request by it.
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(HttpError::Deadline {
                    endpoint,
                    attempts,
                    retry_after: None,
                });
            }
            let timeout = request.timeout().map_or(remaining, |t| (*t).min(remaining));
            *request.timeout_mut() = Some(timeout);
        }
        attempts += 1;
        let (retry_after, failure) = match try_once(request).await {
            Attempt::Done(value) => return Ok(value),
            Attempt::Invalid(detail) => return Err(HttpError::InvalidRequest { endpoint, detail }),
            Attempt::DeadlinePassed => {
                return Err(HttpError::Deadline {
                    endpoint,
                    attempts,
                    retry_after: None,
                })
            }
            Attempt::RetryableStatus {
                status,
                retry_after,
            } => (
                retry_after,
                HttpError::Status {
                    endpoint: endpoint.clone(),
                    status: status.as_u16(),
                    retry_after,
                    attempts,
                },
            ),
            Attempt::BrokenConnection(detail) => (
                None,
                HttpError::Transport {
                    endpoint: endpoint.clone(),
                    detail,
                    attempts,
                },
            ),
        };
        match next_step(
            backoff.next(),
            retry_after,
            policy,
            Instant::now(),
            deadline,
        ) {
            NextStep::Wait(wait) => {
                tracing::warn!(endpoint = %endpoint, attempt = attempts, wait_ms = wait.as_millis() as u64, error = %failure, "retrying");
                tokio::time::sleep(wait).await;
            }
            NextStep::GiveUp(GiveUpReason::Deadline) => {
                return Err(HttpError::Deadline {
                    endpoint,
                    attempts,
                    retry_after,
                });
            }
            NextStep::GiveUp(_) => return Err(failure),
        }
    }
}

/// `"GET host/path"` without the query string (it can carry tokens).
fn endpoint_name(method: &Method, url: &reqwest::Url) -> String {
    format!("{} {}{}", method, url.host_str().unwrap_or(""), url.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
        for _ in 0..50 {
            let delays: Vec<_> = policy().backoff_delays().collect();
            assert_eq!(delays.len(), 3, "max_attempts 4 means 3 waits");
            let floors = [100, 200, 400];
            for (d, floor) in delays.iter().zip(floors) {
                assert!(
                    d.as_millis() >= floor && d.as_millis() < floor * 2,
                    "{d:?} not in [{floor}, {})",
                    floor * 2
                );
            }
        }
        let capped = RetryPolicy {
            max_attempts: 10,
            ..policy()
        };
        assert!(capped.backoff_delays().all(|d| d <= Duration::from_secs(1)));
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let p = RetryPolicy {
            max_attempts: 1,
            ..policy()
        };
        assert_eq!(p.backoff_delays().count(), 0);
    }

    #[test]
    fn retry_after_overrides_a_shorter_backoff() {
        let now = Instant::now();
        let step = next_step(
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(700)),
            &policy(),
            now,
            None,
        );
        assert_eq!(step, NextStep::Wait(Duration::from_millis(700)));
    }

    #[test]
    fn a_wait_past_the_deadline_gives_up_instead_of_sleeping() {
        let now = Instant::now();
        let deadline = Some(now + Duration::from_millis(500));
        let step = next_step(
            Some(Duration::from_millis(100)),
            Some(Duration::from_secs(1)),
            &policy(),
            now,
            deadline,
        );
        assert_eq!(step, NextStep::GiveUp(GiveUpReason::Deadline));
        let step = next_step(
            Some(Duration::from_millis(100)),
            None,
            &policy(),
            now,
            deadline,
        );
        assert_eq!(step, NextStep::Wait(Duration::from_millis(100)));
    }

    #[test]
    fn retry_after_longer_than_the_cap_is_not_waited_out() {
        let step = next_step(
            Some(Duration::from_millis(100)),
            Some(Duration::from_secs(120)),
            &policy(),
            Instant::now(),
            None,
        );
        assert_eq!(step, NextStep::GiveUp(GiveUpReason::RetryAfterTooLong));
    }

    #[test]
    fn attempts_exhausted_gives_up() {
        assert_eq!(
            next_step(None, None, &policy(), Instant::now(), None),
            NextStep::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_http_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            parse_retry_after(&headers),
            Some(Duration::ZERO),
            "a date in the past means retry now"
        );
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
    }

    #[test]
    fn only_throttling_and_transient_server_errors_are_retried() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 410, 501] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }
}
