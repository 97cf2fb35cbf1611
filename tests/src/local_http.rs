//! A small HTTP server in front of the HTTP-facing function's handlers, for the browser test and
//! the local run: each request becomes a [`WebRequest`] (as API Gateway's payload 2.0 would give
//! it), goes to [`Connector::handle`] (or the status handler for `/status`), and the
//! [`WebResponse`] goes back with its headers and `Set-Cookie`s.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use shared::connect::api_tokens::ApiTokens;
use shared::connect::{ConnectConfig, Connector};
use shared::secrets::TokenVault;
use shared::store::{now_millis, StateStore};
use shared::sync_trigger::SyncTrigger;
use shared::web::{parse_form, WebRequest, WebResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Form posts and callbacks are small; a bigger body is refused.
const MAX_BODY: usize = 256 * 1024;

/// What the served function uses, as the Lambda's cold start would build it.
pub struct LocalApp {
    pub store: Arc<dyn StateStore>,
    pub vault: Arc<dyn TokenVault>,
    pub http: reqwest::Client,
    pub config: ConnectConfig,
    pub sync: Arc<dyn SyncTrigger>,
    pub api_tokens: ApiTokens,
}

pub struct LocalServer {
    /// `http://127.0.0.1:<port>`: what `PUBLIC_BASE_URL` must be for the OAuth redirects.
    pub base_url: String,
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves on `127.0.0.1:port` (0 picks a free one). `build` gets the server's base URL, because
/// the app's redirect URIs are made from it.
pub async fn serve(port: u16, build: impl FnOnce(&str) -> LocalApp) -> std::io::Result<LocalServer> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let base_url = format!("http://127.0.0.1:{port}");
    let app = Arc::new(build(&base_url));
    let router = Router::new().fallback(handle).with_state(app);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "local HTTP server stopped");
        }
    });
    Ok(LocalServer { base_url, port, task })
}

/// The request as the function sees it: lower-cased headers, cookies from the `Cookie`
/// header, the query and body as text.
pub async fn web_request(request: Request) -> Result<WebRequest, StatusCode> {
    let (parts, body) = request.into_parts();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
        .collect();
    let mut cookies = BTreeMap::new();
    for header in parts.headers.get_all(axum::http::header::COOKIE) {
        for pair in header.to_str().unwrap_or_default().split(';') {
            if let Some((k, v)) = pair.split_once('=') {
                cookies.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
    let body = String::from_utf8(bytes.to_vec()).map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(WebRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(parse_form).unwrap_or_default(),
        headers,
        cookies,
        body,
    })
}

pub fn http_response(web: WebResponse) -> Response {
    let mut response = Response::new(Body::from(web.body));
    *response.status_mut() = StatusCode::from_u16(web.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in &web.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    }
    for cookie in &web.cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(axum::http::header::SET_COOKIE, value);
        }
    }
    response
}

async fn handle(State(app): State<Arc<LocalApp>>, request: Request) -> Response {
    let request = match web_request(request).await {
        Ok(r) => r,
        Err(status) => return status.into_response(),
    };
    let now = now_millis();
    let response = if request.path == "/status" {
        // Behind API Gateway this path goes to the sync-status function.
        match shared::status::handle_status(&request, app.store.as_ref(), now).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "status failed");
                WebResponse::json(503, &serde_json::json!({"error": "unavailable"}))
            }
        }
    } else {
        let connector = Connector {
            store: app.store.as_ref(),
            vault: app.vault.as_ref(),
            http: &app.http,
            config: &app.config,
            sync: app.sync.as_ref(),
            api_tokens: &app.api_tokens,
        };
        connector.handle(&request, now).await
    };
    http_response(response)
}

/// The connect configuration for an app served at `public_base_url` whose Google and Zoho are
/// the emulators (their default OAuth clients), signing sessions with `session_key`.
pub fn emulator_config(public_base_url: &str, google_url: &str, zoho_url: &str, session_key: &str) -> ConnectConfig {
    use crate::emulators::{google, zoho};
    let app = serde_json::json!({
        "google_client_id": google::CLIENT_ID, "google_client_secret": google::CLIENT_SECRET,
        "zoho_client_id": zoho::DEFAULT_CLIENT_ID, "zoho_client_secret": zoho::DEFAULT_CLIENT_SECRET,
        "session_key": session_key,
    });
    let app = shared::secrets::AppSecrets::parse("local app", &app.to_string()).unwrap_or_else(|e| panic!("the emulator app secret is valid: {e}"));
    ConnectConfig {
        public_base_url: public_base_url.trim_end_matches('/').to_string(),
        google: shared::google::GoogleUrls::all_at(google_url),
        zoho_accounts_url: zoho_url.to_string(),
        zoho_overrides: (Some(zoho_url.to_string()), Some(zoho_url.to_string())),
        app,
    }
}

/// An HTTP client for talking to the server as a browser would, one step at a time: no
/// redirects followed, no cookie jar (tests pass the session cookie themselves).
pub fn step_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_else(|e| panic!("HTTP client: {e}"))
}
