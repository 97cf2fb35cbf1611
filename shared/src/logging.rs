//! JSON logs for Lambda (CloudWatch) and plain logs for local runs.
//!
//! Nothing logged here may hold a token, a secret or contact data: log ids and counts only.

use tracing_subscriber::{fmt, EnvFilter};

/// JSON lines on stdout, level from `RUST_LOG` (default `info`). Safe to call twice.
pub fn init_json() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Human-readable logs on stderr for the local CLI and the emulators.
pub fn init_plain() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
