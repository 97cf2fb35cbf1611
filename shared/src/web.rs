//! A small HTTP request/response model for the HTTP-facing functions, converted from and to API
//! Gateway HTTP API (payload format 2.0) events, so handlers are plain functions that tests and
//! the local HTTP adapter call the same way Lambda does.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub cookies: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebError {
    #[error("the event is not an API Gateway HTTP API (payload 2.0) request: {0}")]
    NotAnHttpEvent(String),
    #[error("the request body is not valid base64 UTF-8")]
    BadBody,
}

impl WebRequest {
    pub fn get(path: &str) -> Self {
        WebRequest { method: "GET".into(), path: path.into(), ..Default::default() }
    }

    pub fn from_event(event: serde_json::Value) -> Result<Self, WebError> {
        let event: ApiGatewayV2httpRequest =
            serde_json::from_value(event).map_err(|e| WebError::NotAnHttpEvent(e.classify_short()))?;
        Self::from_apigw(event)
    }

    pub fn from_apigw(event: ApiGatewayV2httpRequest) -> Result<Self, WebError> {
        let method = event.request_context.http.method.as_str().to_string();
        let path = event.raw_path.clone().unwrap_or_else(|| "/".into());
        let query = event
            .raw_query_string
            .as_deref()
            .map(parse_form)
            .unwrap_or_default();
        let headers = event
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
            .collect();
        let mut cookies = BTreeMap::new();
        for c in event.cookies.unwrap_or_default() {
            if let Some((k, v)) = c.split_once('=') {
                cookies.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let body = match event.body {
            None => String::new(),
            Some(b) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(WebError::BadBody)?,
            Some(b) => b,
        };
        Ok(WebRequest { method, path, query, headers, cookies, body })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
    }

    /// A browser asking for a page (rather than a script asking for JSON).
    pub fn wants_html(&self) -> bool {
        self.header("accept").is_some_and(|a| a.contains("text/html"))
    }

    /// An `application/x-www-form-urlencoded` body, parsed.
    pub fn form(&self) -> BTreeMap<String, String> {
        parse_form(&self.body)
    }
}

pub fn parse_form(s: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

trait ClassifyShort {
    fn classify_short(&self) -> String;
}

impl ClassifyShort for serde_json::Error {
    // serde's messages can quote input; keep only the category and position.
    fn classify_short(&self) -> String {
        format!("{:?} error at line {} column {}", self.classify(), self.line(), self.column())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `Set-Cookie` values.
    pub cookies: Vec<String>,
    pub body: String,
}

impl WebResponse {
    pub fn new(status: u16, content_type: &str, body: String) -> Self {
        WebResponse {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("cache-control".into(), "no-store".into()),
                ("x-content-type-options".into(), "nosniff".into()),
            ],
            cookies: Vec::new(),
            body,
        }
    }

    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
        WebResponse::new(status, "application/json", body)
    }

    pub fn html(status: u16, body: String) -> Self {
        let mut r = WebResponse::new(status, "text/html; charset=utf-8", body);
        r.headers.push(("content-security-policy".into(), "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'".into()));
        r
    }

    pub fn redirect(location: &str) -> Self {
        let mut r = WebResponse::new(302, "text/plain", String::new());
        r.headers.push(("location".into(), location.into()));
        r
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn into_apigw(self) -> ApiGatewayV2httpResponse {
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                headers.append(k, v);
            }
        }
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = headers;
        response.cookies = self.cookies;
        response.body = Some(Body::Text(self.body));
        response
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A minimal page around `body` (no scripts, inline style only).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title><style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}\
         .error{{color:#a00}}</style></head><body>{}</body></html>",
        escape(title),
        body
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(extra: serde_json::Value) -> serde_json::Value {
        let mut e = json!({
            "version": "2.0", "routeKey": "GET /status", "rawPath": "/status",
            "rawQueryString": "connection=abc&x=1%202",
            "headers": {"Authorization": "Bearer t0k", "accept": "text/html,application/xhtml+xml"},
            "cookies": ["a=1", "session=xyz"],
            "requestContext": {"http": {"method": "GET", "path": "/status", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                               "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "requestId": "r",
                               "routeKey": "GET /status", "stage": "$default", "time": "t", "timeEpoch": 0},
            "isBase64Encoded": false
        });
        if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            for (k, v) in x {
                e.insert(k.clone(), v.clone());
            }
        }
        e
    }

    #[test]
    fn an_api_gateway_v2_event_becomes_a_request() {
        let r = WebRequest::from_event(event(json!({}))).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/status");
        assert_eq!(r.query.get("x").map(String::as_str), Some("1 2"));
        assert_eq!(r.bearer_token(), Some("t0k"));
        assert_eq!(r.cookies.get("session").map(String::as_str), Some("xyz"));
        assert!(r.wants_html());
        let b64 = WebRequest::from_event(event(json!({"body": "YT0xJmI9Mg==", "isBase64Encoded": true}))).unwrap();
        assert_eq!(b64.form().get("b").map(String::as_str), Some("2"));
    }

    #[test]
    fn a_non_http_event_is_a_clear_error() {
        let err = WebRequest::from_event(json!({"frequency": "1h"})).unwrap_err();
        assert!(matches!(err, WebError::NotAnHttpEvent(_)));
        let bad = WebRequest::from_event(event(json!({"body": "%%%", "isBase64Encoded": true})));
        assert_eq!(bad, Err(WebError::BadBody));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
