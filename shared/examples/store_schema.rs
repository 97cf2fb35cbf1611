//! Prints the store's table schema and each function's environment variables as JSON, for
//! `make infra-check` to compare with `infra/`.

fn main() {
    let env: serde_json::Map<String, serde_json::Value> = ["oauth-callback", "sync-tick", "sync-status"]
        .into_iter()
        .map(|f| (f.to_string(), serde_json::json!(shared::config::env_vars_for(f))))
        .collect();
    let frequencies: Vec<&str> = shared::settings::Frequency::ALL.iter().map(|f| f.key()).collect();
    let out = serde_json::json!({
        "table": shared::store::schema::table_schema(),
        "environment": env,
        "frequencies": frequencies,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}
