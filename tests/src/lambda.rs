//! A local Lambda Runtime API (the `2018-06-01` interface `lambda_runtime` polls), so tests and
//! benchmarks run the real function binaries and invoke them the way Lambda does.
//!
//! One [`LambdaProcess`] is one warm execution environment: the binary starts once (a cold
//! start), then serves invocations one at a time. Its stdout and stderr are kept so tests can
//! check what it logs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// What an invocation returned: the response document, or the error document the runtime posted.
pub type InvocationResult = Result<Value, Value>;

struct Pending {
    request_id: String,
    payload: Vec<u8>,
    deadline_ms: u64,
}

#[derive(Default)]
struct Shared {
    waiting: Mutex<HashMap<String, oneshot::Sender<InvocationResult>>>,
    init_error: Mutex<Option<Value>>,
    first_poll: Mutex<Option<Instant>>,
}

struct RuntimeState {
    shared: Arc<Shared>,
    next: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
}

pub struct LambdaProcess {
    child: tokio::process::Child,
    sender: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
    logs: Arc<Mutex<Vec<String>>>,
    /// The stdout/stderr readers; they end at EOF, once the process has exited.
    readers: Vec<tokio::task::JoinHandle<()>>,
    started: Instant,
    timeout: Duration,
    counter: u64,
}

/// Path of a workspace binary built by `cargo build --bins` (the Makefile does it before tests).
pub fn workspace_binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(path.exists(), "{} is missing: run `cargo build --bins` (make test does)", path.display());
    path
}

impl LambdaProcess {
    /// Starts `binary` against a fresh Runtime API, with `env` added to its environment.
    pub async fn start(binary: PathBuf, env: &[(String, String)]) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel(16);
        let shared = Arc::new(Shared::default());
        let state = Arc::new(RuntimeState { shared: shared.clone(), next: tokio::sync::Mutex::new(receiver) });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("function").to_string();
        let mut command = tokio::process::Command::new(&binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn()?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect_lines(out, logs.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect_lines(err, logs.clone()));
        }
        Ok(LambdaProcess { child, sender, shared, logs, readers, started, timeout: Duration::from_secs(120), counter: 0 })
    }

    /// Lambda's deadline for each invocation (the function sees it as its remaining time).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends one event and waits for the function's answer.
    pub async fn invoke(&mut self, event: &Value) -> InvocationResult {
        self.counter += 1;
        let request_id = format!("req-{}-{}", std::process::id(), self.counter);
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.waiting).insert(request_id.clone(), tx);
        let deadline_ms = epoch_ms() + self.timeout.as_millis() as u64;
        let payload = serde_json::to_vec(event).unwrap_or_default();
        if self.sender.send(Pending { request_id, payload, deadline_ms }).await.is_err() {
            return Err(serde_json::json!({"errorType": "Harness", "errorMessage": "runtime API closed"}));
        }
        tokio::select! {
            result = rx => result.unwrap_or_else(|_| Err(serde_json::json!({"errorType": "Harness", "errorMessage": "no answer"}))),
            status = self.child.wait() => {
                // Let the readers drain what the process wrote before it exited.
                for reader in self.readers.drain(..) {
                    let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
                }
                Err(serde_json::json!({
                    "errorType": "Harness",
                    "errorMessage": format!("function exited: {status:?}; init error: {:?}", lock(&self.shared.init_error)),
                }))
            }
            _ = tokio::time::sleep(self.timeout + Duration::from_secs(5)) => {
                Err(serde_json::json!({"errorType": "Harness", "errorMessage": "invocation timed out"}))
            }
        }
    }

    /// Time from process start to its first poll for an event (the cold start).
    pub fn cold_start(&self) -> Option<Duration> {
        lock(&self.shared.first_poll).map(|t| t.duration_since(self.started))
    }

    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs).clone()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

fn collect_lines<R: tokio::io::AsyncRead + Unpin + Send + 'static>(reader: R, logs: Arc<Mutex<Vec<String>>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            lock(&logs).push(line);
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn next(State(state): State<Arc<RuntimeState>>) -> Response {
    lock(&state.shared.first_poll).get_or_insert_with(Instant::now);
    let Some(pending) = state.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", pending.request_id);
    set("lambda-runtime-deadline-ms", pending.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:local".into());
    set("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into());
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, pending.payload).into_response()
}

fn finish(state: &RuntimeState, id: &str, result: InvocationResult) -> StatusCode {
    match lock(&state.shared.waiting).remove(id) {
        Some(tx) => {
            let _ = tx.send(result);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn respond(State(state): State<Arc<RuntimeState>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&state, &id, Ok(parse(&body)))
}

async fn fail(State(state): State<Arc<RuntimeState>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&state, &id, Err(parse(&body)))
}

async fn init_error(State(state): State<Arc<RuntimeState>>, body: Bytes) -> StatusCode {
    *lock(&state.shared.init_error) = Some(parse(&body));
    StatusCode::ACCEPTED
}
