//! The health event every function answers: `{"health": true}`.

use serde_json::{json, Value};

pub fn is_health_event(event: &Value) -> bool {
    event.get("health").and_then(Value::as_bool) == Some(true)
}

pub fn health_reply(function: &str) -> Value {
    json!({ "status": "ok", "function": function, "version": env!("CARGO_PKG_VERSION") })
}
