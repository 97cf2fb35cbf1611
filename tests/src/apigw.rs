//! API Gateway HTTP API (payload format 2.0) events, as Lambda receives them.

use serde_json::{json, Value};

/// An event for `method path?query` with headers, cookies and an optional body.
pub fn event(method: &str, path_and_query: &str, headers: &[(&str, &str)], cookies: &[&str], body: Option<&str>) -> Value {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let headers: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.to_string()))).collect();
    let mut e = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "localhost", "domainPrefix": "local",
            "requestId": "req", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "25/Nov/2026:20:00:00 +0000",
            "timeEpoch": 1_795_000_000_000u64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "tests"}
        },
        "isBase64Encoded": false
    });
    if !cookies.is_empty() {
        e["cookies"] = json!(cookies);
    }
    if let Some(b) = body {
        e["body"] = json!(b);
    }
    e
}

pub fn get(path_and_query: &str, headers: &[(&str, &str)]) -> Value {
    event("GET", path_and_query, headers, &[], None)
}
