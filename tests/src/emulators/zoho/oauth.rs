//! Zoho Accounts on the emulator's port: `/oauth/v2/auth` (approves without a person),
//! `/oauth/v2/token` (code and refresh grants, Zoho's 200-with-`error` bodies and its
//! 10-access-tokens-per-refresh-token-per-10-minutes limit) and `/oauth/v2/token/revoke`.

use super::state::{AccessToken, Grant, RefreshToken, ZohoOrg, ZohoState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::Duration;

/// Grant codes live 2 minutes (Zoho Accounts), access tokens 1 hour.
const CODE_TTL: Duration = Duration::minutes(2);
pub const ACCESS_TOKEN_TTL: Duration = Duration::hours(1);
const REFRESH_WINDOW: Duration = Duration::minutes(10);
const REFRESHES_PER_WINDOW: usize = 10;
const REFRESH_TOKENS_PER_USER: usize = 20;
const ACTIVE_ACCESS_TOKENS_PER_REFRESH_TOKEN: usize = 15;

type Params = HashMap<String, String>;

pub async fn authorize(State(shared): State<Arc<ZohoOrg>>, Query(q): Query<Params>) -> Response {
    let mut state = shared.lock();
    let Some(client_id) = q.get("client_id").filter(|c| state.clients.contains_key(*c)) else {
        return (StatusCode::BAD_REQUEST, "Invalid Client").into_response();
    };
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| r.starts_with("http://") || r.starts_with("https://")) else {
        return (StatusCode::BAD_REQUEST, "Invalid Redirect Uri").into_response();
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return (StatusCode::BAD_REQUEST, "Invalid response_type").into_response();
    }
    let mut back = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, "Invalid Redirect Uri").into_response(),
    };
    let state_param = q.get("state").cloned();
    let scopes: Vec<String> =
        q.get("scope").map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    let account = q.get("emulator_account").map(String::as_str);
    let user = match account {
        Some(key) => state.find_user(key).cloned(),
        None => state.users.first().cloned(),
    };
    let denied = q.get("emulator_deny").is_some_and(|v| v == "1" || v == "true");
    {
        let mut pairs = back.query_pairs_mut();
        if denied || scopes.is_empty() || user.is_none() {
            pairs.append_pair("error", if scopes.is_empty() { "invalid_scope" } else { "access_denied" });
        } else if let Some(user) = &user {
            let code = format!("1000.{}.{}", super::state::random_hex(16), super::state::random_hex(16));
            let offline = q.get("access_type").is_some_and(|a| a == "offline");
            let consent = q.get("prompt").is_some_and(|p| p == "consent");
            let pair = (client_id.clone(), user.id.clone());
            // Zoho returns a refresh token for an offline grant only on first consent or with prompt=consent.
            let with_refresh_token = offline && (consent || !state.consented.contains(&pair));
            state.consented.insert(pair);
            let expires_at = state.now() + CODE_TTL;
            state.grants.insert(
                code.clone(),
                Grant { client_id: client_id.clone(), user_id: user.id.clone(), redirect_uri: redirect_uri.clone(), scopes, with_refresh_token, expires_at },
            );
            pairs.append_pair("code", &code);
            pairs.append_pair("location", "us");
            pairs.append_pair("accounts-server", &state.base_url);
        }
        if let Some(s) = &state_param {
            pairs.append_pair("state", s);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

/// Parameters may come in the query string or the form body, as with Zoho.
fn merged_params(query: Params, body: &Bytes) -> Params {
    let mut params = query;
    for (k, v) in url::form_urlencoded::parse(body) {
        params.insert(k.into_owned(), v.into_owned());
    }
    params
}

/// Zoho answers token errors with HTTP 200 and a body without `access_token`.
fn token_error(error: &str) -> Response {
    (StatusCode::OK, Json(json!({"error": error}))).into_response()
}

fn throttled() -> Response {
    (
        StatusCode::OK,
        Json(json!({
            "error_description": "You have made too many requests continuously. Please try again after some time.",
            "error": "Access Denied",
            "status": "failure"
        })),
    )
        .into_response()
}

pub async fn token(State(shared): State<Arc<ZohoOrg>>, Query(query): Query<Params>, body: Bytes) -> Response {
    let params = merged_params(query, &body);
    let mut state = shared.lock();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let client_ok = state.clients.get(get("client_id")).is_some_and(|c| c.secret == get("client_secret"));
    if !client_ok {
        return token_error("invalid_client");
    }
    match get("grant_type") {
        "authorization_code" => exchange_code(&mut state, get("client_id"), get("code"), get("redirect_uri")),
        "refresh_token" => refresh(&mut state, get("client_id"), get("refresh_token")),
        _ => token_error("unsupported_grant_type"),
    }
}

fn exchange_code(state: &mut ZohoState, client_id: &str, code: &str, redirect_uri: &str) -> Response {
    // A code is single use: it leaves the table whether or not the exchange succeeds.
    let Some(grant) = state.grants.remove(code) else {
        return token_error("invalid_code");
    };
    if grant.client_id != client_id || state.now() >= grant.expires_at {
        return token_error("invalid_code");
    }
    if grant.redirect_uri != redirect_uri {
        return token_error("invalid_redirect_uri");
    }
    let refresh_token = grant.with_refresh_token.then(|| {
        let token = format!("1000.{}.{}", super::state::random_hex(16), super::state::random_hex(16));
        let now = state.now();
        state.refresh_tokens.insert(
            token.clone(),
            RefreshToken { client_id: client_id.to_string(), user_id: grant.user_id.clone(), scopes: grant.scopes.clone(), issued_at: now, refreshes: Vec::new() },
        );
        drop_oldest_refresh_tokens(state, client_id, &grant.user_id);
        token
    });
    let access = mint_access_token(state, &grant.user_id, refresh_token.clone(), grant.scopes.clone());
    let mut body = token_body(state, &access, &grant.scopes);
    if let (Some(token), Some(obj)) = (refresh_token, body.as_object_mut()) {
        obj.insert("refresh_token".into(), Value::String(token));
    }
    Json(body).into_response()
}

fn refresh(state: &mut ZohoState, client_id: &str, refresh_token: &str) -> Response {
    let now = state.now();
    let Some(stored) = state.refresh_tokens.get_mut(refresh_token) else {
        return token_error("invalid_code");
    };
    if stored.client_id != client_id {
        return token_error("invalid_code");
    }
    stored.refreshes.retain(|t| now - *t < REFRESH_WINDOW);
    if stored.refreshes.len() >= REFRESHES_PER_WINDOW {
        return throttled();
    }
    stored.refreshes.push(now);
    let (user_id, scopes) = (stored.user_id.clone(), stored.scopes.clone());
    let access = mint_access_token(state, &user_id, Some(refresh_token.to_string()), scopes.clone());
    Json(token_body(state, &access, &scopes)).into_response()
}

fn token_body(state: &ZohoState, access_token: &str, scopes: &[String]) -> Value {
    json!({
        "access_token": access_token,
        "scope": scopes.join(" "),
        "api_domain": state.base_url,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL.whole_seconds(),
    })
}

/// Issues an access token; beyond the per-refresh-token cap the oldest stops working.
pub fn mint_access_token(state: &mut ZohoState, user_id: &str, refresh_token: Option<String>, scopes: Vec<String>) -> String {
    let now = state.now();
    let token = format!("1000.{}.{}", super::state::random_hex(16), super::state::random_hex(16));
    if let Some(parent) = &refresh_token {
        let mut siblings: Vec<(String, time::OffsetDateTime)> = state
            .access_tokens
            .iter()
            .filter(|(_, a)| a.refresh_token.as_deref() == Some(parent.as_str()))
            .map(|(k, a)| (k.clone(), a.issued_at))
            .collect();
        siblings.sort_by_key(|(_, at)| *at);
        while siblings.len() >= ACTIVE_ACCESS_TOKENS_PER_REFRESH_TOKEN {
            let (oldest, _) = siblings.remove(0);
            state.access_tokens.remove(&oldest);
        }
    }
    state.access_tokens.insert(
        token.clone(),
        AccessToken { user_id: user_id.to_string(), refresh_token, scopes, issued_at: now, expires_at: now + ACCESS_TOKEN_TTL },
    );
    token
}

fn drop_oldest_refresh_tokens(state: &mut ZohoState, client_id: &str, user_id: &str) {
    let mut mine: Vec<(String, time::OffsetDateTime)> = state
        .refresh_tokens
        .iter()
        .filter(|(_, r)| r.client_id == client_id && r.user_id == user_id)
        .map(|(k, r)| (k.clone(), r.issued_at))
        .collect();
    mine.sort_by_key(|(_, at)| *at);
    while mine.len() > REFRESH_TOKENS_PER_USER {
        let (oldest, _) = mine.remove(0);
        revoke_refresh_token(state, &oldest);
    }
}

/// Revoking a refresh token also ends every access token minted from it.
pub fn revoke_refresh_token(state: &mut ZohoState, token: &str) -> bool {
    let existed = state.refresh_tokens.remove(token).is_some();
    state.access_tokens.retain(|_, a| a.refresh_token.as_deref() != Some(token));
    existed
}

pub async fn revoke(State(shared): State<Arc<ZohoOrg>>, Query(query): Query<Params>, body: Bytes) -> Response {
    let params = merged_params(query, &body);
    let mut state = shared.lock();
    let token = params.get("token").map(String::as_str).unwrap_or("");
    if token.is_empty() {
        return token_error("invalid_request");
    }
    revoke_refresh_token(&mut state, token);
    // Revoking is idempotent: an unknown token answers success too.
    Json(json!({"status": "success"})).into_response()
}
