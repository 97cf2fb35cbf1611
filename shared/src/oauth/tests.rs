//! Token client and cache against a scripted loopback HTTP server (counts requests, keeps bodies).

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers each request with the next scripted (status, body); the last one repeats.
struct ScriptedServer {
    url: String,
    requests: Arc<AtomicUsize>,
    bodies: Arc<StdMutex<Vec<String>>>,
}

impl ScriptedServer {
    async fn start(script: Vec<(u16, &'static str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/token", listener.local_addr().expect("addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(StdMutex::new(Vec::new()));
        let (count, seen) = (requests.clone(), bodies.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let (status, body) = script[n.min(script.len() - 1)];
                let seen = seen.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    seen.lock().unwrap().push(request);
                    // Slow enough that concurrent cache callers really overlap.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        ScriptedServer {
            url,
            requests,
            bodies,
        }
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn endpoint(&self) -> TokenEndpoint {
        TokenEndpoint {
            token_url: self.url.clone(),
            client_id: "cid".into(),
            client_secret: "csecret".into(),
            redirect_uri: "https://app.example/cb".into(),
        }
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.read(&mut buf).await {
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0usize);
            if data.len() >= end + 4 + length {
                return text[end + 4..].to_string();
            }
        }
    }
    String::new()
}

const GOOD: &str = r#"{"access_token":"at-1","expires_in":3599,"scope":"https://www.googleapis.com/auth/contacts","token_type":"Bearer","id_token":"ignored"}"#;

#[tokio::test]
async fn code_exchange_sends_the_pkce_verifier_and_reads_zoho_fields() {
    let server = ScriptedServer::start(vec![(
        200,
        r#"{"access_token":"1000.a","refresh_token":"1000.r","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":3600,"extra":1}"#,
    )])
    .await;
    let token = exchange_code(
        &reqwest::Client::new(),
        &server.endpoint(),
        "code-1",
        Some("verifier-1"),
    )
    .await
    .unwrap();
    assert_eq!(token.access_token, "1000.a");
    assert_eq!(token.refresh_token.as_deref(), Some("1000.r"));
    assert_eq!(token.api_domain.as_deref(), Some("https://www.zohoapis.eu"));
    assert_eq!(token.expires_in, 3600);
    let body = server.bodies.lock().unwrap()[0].clone();
    assert!(body.contains("grant_type=authorization_code"), "{body}");
    assert!(body.contains("code_verifier=verifier-1"), "{body}");
    assert!(
        body.contains("redirect_uri=https%3A%2F%2Fapp.example%2Fcb"),
        "{body}"
    );
}

#[tokio::test]
async fn google_invalid_grant_means_reconnect_and_is_not_retried() {
    let server = ScriptedServer::start(vec![(
        400,
        r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
    )])
    .await;
    let err = refresh(&reqwest::Client::new(), &server.endpoint(), "rt")
        .await
        .unwrap_err();
    assert!(err.needs_reconnect(), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn zoho_error_with_http_200_means_reconnect() {
    let server = ScriptedServer::start(vec![(200, r#"{"error":"invalid_code"}"#)]).await;
    let err = refresh(&reqwest::Client::new(), &server.endpoint(), "rt")
        .await
        .unwrap_err();
    assert!(
        matches!(err, OAuthError::ReconnectNeeded { ref code } if code == "invalid_code"),
        "{err}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn zoho_throttle_is_reported_as_retryable_later() {
    let server = ScriptedServer::start(vec![(
        200,
        r#"{"error_description":"You have made too many requests continuously.","error":"Access Denied","status":"failure"}"#,
    )])
    .await;
    let err = refresh(&reqwest::Client::new(), &server.endpoint(), "rt")
        .await
        .unwrap_err();
    assert!(
        matches!(err, OAuthError::Throttled { .. }) && err.is_retryable(),
        "{err}"
    );
}

#[tokio::test]
async fn legacy_zoho_milliseconds_expiry_is_read_from_expires_in_sec() {
    let server = ScriptedServer::start(vec![(
        200,
        r#"{"access_token":"a","expires_in":3600000,"expires_in_sec":3600}"#,
    )])
    .await;
    let token = refresh(&reqwest::Client::new(), &server.endpoint(), "rt")
        .await
        .unwrap();
    assert_eq!(token.expires_in, 3600);
}

#[tokio::test]
async fn token_endpoint_outage_is_retried() {
    let server = ScriptedServer::start(vec![(503, "{}"), (200, GOOD)]).await;
    let token = refresh(&reqwest::Client::new(), &server.endpoint(), "rt")
        .await
        .unwrap();
    assert_eq!(token.access_token, "at-1");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh_and_the_token_is_cached() {
    let server = ScriptedServer::start(vec![(200, GOOD)]).await;
    let cache = Arc::new(AccessTokenCache::new(
        reqwest::Client::new(),
        server.endpoint(),
        "rt".into(),
    ));
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), "at-1");
    }
    for _ in 0..5 {
        cache.get().await.unwrap();
    }
    assert_eq!(server.count(), 1, "one refresh for all callers");
}

#[tokio::test]
async fn invalidating_the_rejected_token_refreshes_once() {
    let server = ScriptedServer::start(vec![
        (200, GOOD),
        (200, r#"{"access_token":"at-2","expires_in":3599}"#),
    ])
    .await;
    let cache = AccessTokenCache::new(reqwest::Client::new(), server.endpoint(), "rt".into());
    let first = cache.get().await.unwrap();
    cache.invalidate_token(&first).await;
    assert_eq!(cache.get().await.unwrap(), "at-2");
    // A second request that was rejected with the old token must not cause another refresh.
    cache.invalidate_token(&first).await;
    assert_eq!(cache.get().await.unwrap(), "at-2");
    assert_eq!(server.count(), 2);
    cache.invalidate().await;
    cache.get().await.unwrap();
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn a_rotated_refresh_token_replaces_the_old_one() {
    let server = ScriptedServer::start(vec![(
        200,
        r#"{"access_token":"a","expires_in":3600,"refresh_token":"rt-2"}"#,
    )])
    .await;
    let cache = AccessTokenCache::new(reqwest::Client::new(), server.endpoint(), "rt-1".into());
    cache.get().await.unwrap();
    assert_eq!(cache.refresh_token().await, "rt-2");
}

#[test]
fn tokens_are_refreshed_a_minute_before_expiry() {
    let now = Instant::now();
    assert_eq!(refresh_deadline(now, 3600), now + Duration::from_secs(3540));
    assert_eq!(
        refresh_deadline(now, 60),
        now + Duration::from_secs(30),
        "short-lived tokens use half their life"
    );
}

#[test]
fn pkce_challenge_matches_rfc7636_appendix_b() {
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let pair = Pkce::generate();
    assert_eq!(pair.verifier.len(), 43);
    assert_eq!(pair.challenge, pkce_challenge(&pair.verifier));
    assert_ne!(pair.verifier, Pkce::generate().verifier);
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let endpoint = TokenEndpoint {
        token_url: "u".into(),
        client_id: "c".into(),
        client_secret: "s3cret".into(),
        redirect_uri: "r".into(),
    };
    assert!(!format!("{endpoint:?}").contains("s3cret"));
    let token = TokenResponse {
        access_token: "ya29.secret".into(),
        refresh_token: Some("1//secret".into()),
        expires_in: 1,
        scope: None,
        token_type: None,
        api_domain: None,
    };
    assert!(!format!("{token:?}").contains("secret\""));
    assert!(!format!("{token:?}").contains("ya29"));
}
