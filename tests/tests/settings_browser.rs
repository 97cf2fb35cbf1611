//! The settings page in a real browser: headless Chromium, driven by Playwright
//! (`tests/browser/settings_flow.cjs`), against the oauth-callback handlers served by the local
//! HTTP adapter, with the Google and Zoho emulators and moto (DynamoDB + Secrets Manager).
//!
//! The user connects both accounts through the emulators' consent pages, chooses settings
//! (first with a mistake), saves, presses "Sync now" and sees the status; screenshots of each
//! step go to `target/screenshots/settings-browser/`. Afterwards this test checks what the user
//! would notice outside the page: the connection's schedule, and the Zoho contacts of the chosen
//! list now in the chosen Google group.
//!
//! Needs `scripts/browser-deps.sh` (Chromium, playwright-core) and moto
//! (`scripts/with-moto.sh cargo test -p sync-tests --test settings_browser`).

use serde_json::json;
use shared::connect::api_tokens::ApiTokens;
use shared::secrets::SecretsManagerVault;
use shared::settings::Frequency;
use shared::store::{ConnectionStore, StateStore};
use shared::sync::engine::tick::SyncEnvironment;
use shared::sync_trigger::{InProcessSyncTrigger, SyncTrigger};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use sync_tests::aws::{fresh_table, moto_endpoint, sdk_config};
use sync_tests::emulators::google::{GoogleEmulator, DEFAULT_ACCOUNT};
use sync_tests::emulators::zoho::{NewUser, ViewFilter, ZohoEmulator};
use sync_tests::local_http::{emulator_config, serve, step_client, LocalApp};

const SESSION_KEY: &str = "browser-test-session-key";
const GROUP_NAME: &str = "Clients";
const VIEW_NAME: &str = "Synced with Google";
/// The whole browser flow; it takes a few seconds when healthy.
const BROWSER_TIME: Duration = Duration::from_secs(180);

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where `scripts/browser-deps.sh` puts Playwright's driver library.
fn playwright_core() -> PathBuf {
    let module = workspace_root().join(".tools/browser/node_modules/playwright-core");
    assert!(
        module.join("package.json").exists() && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Chromium and playwright-core: run scripts/browser-deps.sh (make test does)"
    );
    module
}

#[tokio::test]
async fn a_user_connects_chooses_settings_saves_and_syncs_in_a_real_browser() {
    let playwright = playwright_core();
    let google = GoogleEmulator::start(0).await.expect("google emulator");
    let zoho = ZohoEmulator::start(0).await.expect("zoho emulator");
    // The consent page approves for the first Zoho user and Google's default account.
    let owner = "owner@zoho.example";
    zoho.add_user(NewUser::new(owner));
    let contacts = [("Ada", "Lovelace", "ada@example.com", "Google Sync"), ("Grace", "Hopper", "grace@example.com", "Google Sync"), ("Alan", "Turing", "alan@example.com", "Web")];
    let records: Vec<_> = contacts.iter().map(|(f, l, e, s)| json!({"First_Name": f, "Last_Name": l, "Email": e, "Lead_Source": s})).collect();
    zoho.add_contacts(owner, &records).expect("seed zoho contacts");
    let filter = ViewFilter::Criteria { field: "Lead_Source".into(), comparator: "equal".into(), value: json!("Google Sync") };
    zoho.add_view(owner, VIEW_NAME, filter).expect("zoho view");
    let group = google.state.create_group(DEFAULT_ACCOUNT, GROUP_NAME);

    let table = fresh_table().await;
    let store: Arc<dyn StateStore> = Arc::new(table.store.clone());
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto_endpoint()).await);
    let prefix = format!("zcs-{}/tokens/", uuid::Uuid::new_v4().simple());
    let vault = Arc::new(SecretsManagerVault::new(secrets, prefix));
    let (google_url, zoho_url) = (google.base_url.clone(), zoho.base_url.clone());
    let server = serve(0, |base_url| {
        let config = emulator_config(base_url, &google_url, &zoho_url, SESSION_KEY);
        let env = SyncEnvironment {
            http: step_client(),
            app: config.app.clone(),
            google: config.google.clone(),
            zoho_accounts_url: zoho_url.clone(),
            zoho_api_url: zoho_url.clone(),
            zoho_overrides: config.zoho_overrides.clone(),
        };
        let sync: Arc<dyn SyncTrigger> =
            Arc::new(InProcessSyncTrigger { store: store.clone(), vault: vault.clone(), env: Arc::new(env), run_time: Duration::from_secs(60) });
        LocalApp { store: store.clone(), vault: vault.clone(), http: step_client(), config, sync, api_tokens: ApiTokens::new() }
    })
    .await
    .expect("local server");

    let shots = workspace_root().join("target/screenshots/settings-browser");
    let _ = std::fs::remove_dir_all(&shots);
    let script = workspace_root().join("tests/browser/settings_flow.cjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .env("BASE_URL", &server.base_url)
        .env("SHOTS_DIR", &shots)
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("CHROMIUM", "/usr/bin/chromium")
        .env("GROUP_NAME", GROUP_NAME)
        .env("VIEW_NAME", VIEW_NAME)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(BROWSER_TIME, run).await.expect("the browser flow finishes").expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser flow failed (screenshots in {}):\n{stderr}", shots.display());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the flow reports what it saw");
    let screenshots = report["screenshots"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(screenshots, 6, "one screenshot per step: {report}");
    for shot in report["screenshots"].as_array().into_iter().flatten() {
        let file = PathBuf::from(shot.as_str().unwrap_or_default());
        assert!(file.metadata().map(|m| m.len() > 1000).unwrap_or(false), "{} was written", file.display());
    }

    // What was saved: the connection is on the 15-minute schedule with the chosen scope.
    let on_15m = table.store.list_connections_by_frequency(Frequency::Min15).await.expect("list");
    assert_eq!(on_15m.len(), 1, "the connection moved to the 15-minute schedule");
    let connection = &on_15m[0];
    assert_eq!(connection.settings.google_group.as_deref(), Some(group.as_str()));
    assert!(table.store.list_connections_by_frequency(Frequency::Hour1).await.expect("list").is_empty());

    // What "sync now" did: the two contacts of the Zoho list are in the Google group; the one
    // outside the list is not in Google at all.
    let people = google.state.people(DEFAULT_ACCOUNT);
    let in_group: Vec<String> = people
        .iter()
        .filter(|p| p["memberships"].to_string().contains(&group))
        .flat_map(|p| p["emailAddresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["value"].as_str().map(str::to_lowercase))
        .collect();
    assert!(in_group.contains(&"ada@example.com".to_string()) && in_group.contains(&"grace@example.com".to_string()), "{in_group:?}");
    assert!(!people.iter().any(|p| p.to_string().contains("alan@example.com")), "a contact outside the list is not synced");
}
