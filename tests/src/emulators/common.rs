//! What both emulators share: per-endpoint call counters, injected faults and latency, and the
//! `/__emulator/*` control routes that tests, benchmarks and the CLI use over HTTP.
//!
//! Endpoint keys are `"<METHOD> <route pattern>"`, e.g. `"GET /v1/people/me/connections"` or
//! `"POST /crm/v8/Contacts"`, as the router matched them.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One injected fault, applied to the next matching request instead of (or before) the real answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status (429, 500, 503, ...) and, for 429/503, an optional `Retry-After`.
    Status { status: u16, retry_after_secs: Option<u64> },
    /// Wait this long, then answer normally.
    Delay { millis: u64 },
    /// Close the connection without an answer.
    Drop,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// Endpoint key to match (`"POST /v1/people:batchCreateContacts"`), or `"*"` for any.
    pub endpoint: String,
    pub fault: Fault,
    /// How many matching requests get the fault.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default)]
pub struct Control {
    counters: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<VecDeque<FaultRule>>,
    latency: Mutex<Duration>,
}

impl Control {
    pub fn new() -> Arc<Self> {
        Arc::new(Control::default())
    }

    pub fn inject(&self, rule: FaultRule) {
        lock(&self.faults).push_back(rule);
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Latency added to every API call (not to control routes), for benchmarks.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        lock(&self.counters).clone()
    }

    pub fn count(&self, endpoint: &str) -> u64 {
        lock(&self.counters).get(endpoint).copied().unwrap_or(0)
    }

    pub fn total_calls(&self) -> u64 {
        lock(&self.counters).values().sum()
    }

    pub fn reset_counters(&self) {
        lock(&self.counters).clear();
    }

    fn take_fault(&self, endpoint: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|r| r.endpoint == "*" || r.endpoint == endpoint)?;
        let rule = faults.get_mut(index)?;
        let fault = rule.fault.clone();
        rule.times = rule.times.saturating_sub(1);
        if rule.times == 0 {
            faults.remove(index);
        }
        Some(fault)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in one handler must not wedge the emulator for the rest of a test.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Middleware for the API routes: counts the call, adds latency, applies the next fault.
/// Install with `router.route_layer(axum::middleware::from_fn_with_state(control, observe))`.
pub async fn observe(State(control): State<Arc<Control>>, request: Request, next: Next) -> Response {
    let pattern = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let endpoint = format!("{} {}", request.method(), pattern);
    *lock(&control.counters).entry(endpoint.clone()).or_insert(0) += 1;
    let latency = *lock(&control.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match control.take_fault(&endpoint) {
        None => next.run(request).await,
        Some(Fault::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(Fault::Status { status, retry_after_secs }) => fault_response(status, retry_after_secs),
        Some(Fault::Drop) => dropped_connection(),
    }
}

fn fault_response(status: u16, retry_after_secs: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "error": { "code": status.as_u16(), "message": "injected fault", "status": status.canonical_reason().unwrap_or("ERROR") }
    });
    let mut response = (status, Json(body)).into_response();
    if let Some(secs) = retry_after_secs {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert("retry-after", v);
        }
    }
    response
}

/// A response whose body fails mid-stream: hyper aborts the connection, which the client sees
/// as a dropped connection (no complete HTTP answer).
fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected drop"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-length", "1000")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[derive(Deserialize)]
struct LatencyBody {
    millis: u64,
}

/// `/__emulator/faults` (POST a [`FaultRule`], DELETE to clear), `/__emulator/counters`
/// (GET, DELETE to reset), `/__emulator/latency` (POST `{"millis": 50}`).
pub fn control_routes(control: Arc<Control>) -> Router {
    Router::new()
        .route(
            "/__emulator/faults",
            post(|State(c): State<Arc<Control>>, Json(rule): Json<FaultRule>| async move {
                c.inject(rule);
                StatusCode::NO_CONTENT
            })
            .delete(|State(c): State<Arc<Control>>| async move {
                c.clear_faults();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__emulator/counters",
            get(|State(c): State<Arc<Control>>| async move { Json(c.counters()) }).delete(
                |State(c): State<Arc<Control>>| async move {
                    c.reset_counters();
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/__emulator/latency",
            post(|State(c): State<Arc<Control>>, Json(b): Json<LatencyBody>| async move {
                c.set_latency(Duration::from_millis(b.millis));
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(control)
}

/// A running emulator on loopback; dropped with the test's runtime.
pub struct Running {
    pub base_url: String,
    pub port: u16,
}

/// Serves `router` on `127.0.0.1:port` (0 picks a free port) in the background.
pub async fn serve(router: Router, port: u16) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Running { base_url: format!("http://127.0.0.1:{port}"), port })
}
