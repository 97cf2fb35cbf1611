//! Google's OAuth endpoints: consent (approved at once for a test account), token, revoke.
//!
//! `GET /o/oauth2/v2/auth` extras for tests: `login_hint` or `emulator_account` picks the account
//! (default [`DEFAULT_ACCOUNT`]); `emulator_deny=1` answers `error=access_denied`; `emulator_scopes`
//! (space-separated) replaces the granted scopes, as a user unticking a box would.

use super::state::{AccessGrant, AuthCode, GoogleState, Inner, RefreshGrant, DEFAULT_ACCOUNT};
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Params = HashMap<String, String>;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn redirect_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request (redirect_uri is not a URL)",
        )
            .into_response();
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

/// `GET /o/oauth2/v2/auth`
pub async fn authorize(State(state): State<Arc<GoogleState>>, Query(q): Query<Params>) -> Response {
    let mut inner = state.lock();
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    if !inner.clients.contains_key(&client_id) {
        return (
            StatusCode::UNAUTHORIZED,
            "Error 401: invalid_client. The OAuth client was not found.",
        )
            .into_response();
    }
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| !r.is_empty()).cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request. Missing required parameter: redirect_uri",
        )
            .into_response();
    };
    let state_param = q.get("state").cloned().unwrap_or_default();
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if !state_param.is_empty() {
            pairs.push(("state", state_param.clone()));
        }
        pairs
    };
    let reply = |pairs: Vec<(&'static str, String)>| {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect_to(&redirect_uri, &borrowed)
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return reply(with_state(vec![(
            "error",
            "unsupported_response_type".into(),
        )]));
    }
    let Some(scope) = q.get("scope").filter(|s| !s.trim().is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request. Missing required parameter: scope",
        )
            .into_response();
    };
    if q.get("emulator_deny")
        .is_some_and(|v| v == "1" || v == "true")
    {
        return reply(with_state(vec![("error", "access_denied".into())]));
    }
    let challenge = q.get("code_challenge").filter(|c| !c.is_empty()).map(|c| {
        (
            c.clone(),
            q.get("code_challenge_method")
                .cloned()
                .unwrap_or_else(|| "plain".into()),
        )
    });
    if challenge
        .as_ref()
        .is_some_and(|(_, m)| m != "S256" && m != "plain")
    {
        return reply(with_state(vec![("error", "invalid_request".into())]));
    }
    let account = q
        .get("emulator_account")
        .or(q.get("login_hint"))
        .cloned()
        .unwrap_or_else(|| DEFAULT_ACCOUNT.into());
    let scopes = q.get("emulator_scopes").unwrap_or(scope).clone();
    inner.account(&account);
    let code = format!("4/0Emu{}", uuid::Uuid::new_v4().simple());
    inner.codes.insert(
        code.clone(),
        AuthCode {
            account,
            client_id,
            redirect_uri: redirect_uri.clone(),
            scopes: scopes.clone(),
            challenge,
            offline: q.get("access_type").is_some_and(|a| a == "offline"),
            used: false,
            expires_at: Instant::now() + Duration::from_secs(600),
        },
    );
    reply(with_state(vec![
        ("code", code),
        ("scope", scopes),
        ("authuser", "0".into()),
        ("prompt", "consent".into()),
    ]))
}

/// Issues an access token (and a refresh token when `offline`): the token endpoint's answer.
pub(crate) fn issue_tokens(
    inner: &mut Inner,
    account: &str,
    client_id: &str,
    scopes: &str,
    offline: bool,
) -> Value {
    let refresh_token = offline.then(|| {
        let token = format!("1//emu-{}", uuid::Uuid::new_v4().simple());
        inner.refresh_tokens.insert(
            token.clone(),
            RefreshGrant {
                account: account.into(),
                client_id: client_id.into(),
                scopes: scopes.into(),
            },
        );
        token
    });
    let mut body = issue_access_token(inner, account, scopes, refresh_token.clone());
    if let Some(token) = refresh_token {
        body["refresh_token"] = json!(token);
    }
    body
}

fn issue_access_token(
    inner: &mut Inner,
    account: &str,
    scopes: &str,
    refresh_token: Option<String>,
) -> Value {
    let token = format!("ya29.emu-{}", uuid::Uuid::new_v4().simple());
    let lifetime = inner.access_token_lifetime;
    inner.access_tokens.insert(
        token.clone(),
        AccessGrant {
            account: account.into(),
            scopes: scopes.into(),
            expires_at: Instant::now() + lifetime,
            refresh_token,
        },
    );
    json!({ "access_token": token, "expires_in": lifetime.as_secs(), "scope": scopes, "token_type": "Bearer" })
}

/// `POST /token` (form): `authorization_code` and `refresh_token` grants.
pub async fn token(State(state): State<Arc<GoogleState>>, Form(form): Form<Params>) -> Response {
    let mut inner = state.lock();
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    match inner.clients.get(&client_id) {
        None => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            )
        }
        Some(secret) if form.get("client_secret") != Some(secret) => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized")
        }
        Some(_) => {}
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(&mut inner, &client_id, &form),
        Some("refresh_token") => {
            let token = form.get("refresh_token").cloned().unwrap_or_default();
            match inner.refresh_tokens.get(&token).cloned() {
                Some(grant) if grant.client_id == client_id => Json(issue_access_token(
                    &mut inner,
                    &grant.account,
                    &grant.scopes,
                    Some(token),
                ))
                .into_response(),
                Some(_) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "Unauthorized",
                ),
                None => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                ),
            }
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        ),
    }
}

fn exchange_code(inner: &mut Inner, client_id: &str, form: &Params) -> Response {
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = inner.codes.get(&code).cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Malformed auth code.",
        );
    };
    if grant.used {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Code was already redeemed.",
        );
    }
    if grant.expires_at < Instant::now() || grant.client_id != client_id {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "Bad Request",
        );
    }
    if let Some((challenge, method)) = &grant.challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Missing code verifier.",
            );
        };
        let computed = if method == "S256" {
            shared::oauth::pkce_challenge(verifier)
        } else {
            verifier.clone()
        };
        if &computed != challenge {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid code verifier.",
            );
        }
    }
    if let Some(stored) = inner.codes.get_mut(&code) {
        stored.used = true;
    }
    Json(issue_tokens(
        inner,
        &grant.account,
        client_id,
        &grant.scopes,
        grant.offline,
    ))
    .into_response()
}

/// `POST /revoke` with `token=` (form or query): a refresh token also takes its access tokens.
pub async fn revoke(
    State(state): State<Arc<GoogleState>>,
    Query(q): Query<Params>,
    body: String,
) -> Response {
    let form: Params = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let Some(token) = form.get("token").or(q.get("token")).cloned() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token",
        );
    };
    let mut inner = state.lock();
    if inner.refresh_tokens.remove(&token).is_some() {
        inner
            .access_tokens
            .retain(|_, g| g.refresh_token.as_deref() != Some(token.as_str()));
        return Json(json!({})).into_response();
    }
    if inner.access_tokens.remove(&token).is_some() {
        return Json(json!({})).into_response();
    }
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_token",
        "Token expired or revoked",
    )
}
