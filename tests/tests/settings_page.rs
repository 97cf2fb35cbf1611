//! The settings page over HTTP (the local adapter in front of `Connector::handle`), against the
//! Google and Zoho emulators, with the SQLite store and file vault so it runs without moto:
//! saving, validation errors next to their fields, CSRF, a read-only Zoho user, a new Google
//! group, and "sync now".

use async_trait::async_trait;
use shared::connect::api_tokens::ApiTokens;
use shared::connect::session;
use shared::secrets::{FileVault, Secret, TokenVault};
use shared::settings::{Direction, Frequency, Settings};
use shared::store::sqlite::SqliteStore;
use shared::store::{now_millis, Connection, ConnectionStore, Provider, StateStore, ZohoPermissions};
use shared::sync_trigger::{SyncTrigger, SyncTriggerError};
use std::sync::{Arc, Mutex};
use sync_tests::emulators::google::{GoogleEmulator, DEFAULT_ACCOUNT};
use sync_tests::emulators::zoho::{NewUser, ViewFilter, ZohoEmulator};
use sync_tests::local_http::{emulator_config, serve, step_client, LocalApp, LocalServer};

const SESSION_KEY: &str = "settings-page-test-key";

/// Remembers which connections "sync now" was asked for.
#[derive(Default)]
struct RecordingTrigger {
    requested: Mutex<Vec<String>>,
}

#[async_trait]
impl SyncTrigger for RecordingTrigger {
    async fn sync_now(&self, connection_id: &str) -> Result<(), SyncTriggerError> {
        self.requested.lock().unwrap_or_else(|p| p.into_inner()).push(connection_id.to_string());
        Ok(())
    }
}

struct World {
    google: GoogleEmulator,
    _zoho: ZohoEmulator,
    store: Arc<SqliteStore>,
    trigger: Arc<RecordingTrigger>,
    server: LocalServer,
    connection_id: String,
    cookie: String,
    /// The Zoho list ("Synced with Google") and the Google group ("Clients") the user has.
    view: String,
    group: String,
    _vault_dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A user who connected both accounts (tokens issued by the emulators, as the connect flow
/// would store them) and has not chosen settings yet.
async fn world(zoho_user: NewUser) -> World {
    let google = GoogleEmulator::start(0).await.expect("google emulator");
    let zoho = ZohoEmulator::start(0).await.expect("zoho emulator");
    let email = zoho_user.email.clone();
    let permissions = zoho_user.permissions;
    let zoho_user_id = zoho.add_user(zoho_user);
    let view = zoho.add_view(&email, "Synced with Google", ViewFilter::All).expect("view");
    let group = google.state.create_group(DEFAULT_ACCOUNT, "Clients");

    let store = Arc::new(SqliteStore::in_memory().expect("sqlite store"));
    let vault_dir = std::env::temp_dir().join(format!("settings-page-{}", uuid::Uuid::new_v4().simple()));
    let vault = Arc::new(FileVault::new(&vault_dir).expect("vault"));
    let connection_id = format!("conn-{}", uuid::Uuid::new_v4().simple());
    let zoho_tokens = zoho.issue_tokens(&email).expect("zoho tokens");
    let google_tokens = google.state.issue_tokens(DEFAULT_ACCOUNT, None);
    vault.put_token(&connection_id, Provider::Zoho, &Secret::new(zoho_tokens.refresh_token)).await.expect("store zoho token");
    vault.put_token(&connection_id, Provider::Google, &Secret::new(google_tokens.refresh_token)).await.expect("store google token");
    let now = now_millis();
    let read_only = !(permissions.create && permissions.edit);
    let settings = Settings { direction: if read_only { Direction::ZohoToGoogle } else { Direction::TwoWay }, ..Settings::default() };
    store
        .put_connection(&Connection {
            id: connection_id.clone(),
            zoho_user_id,
            google_email: DEFAULT_ACCOUNT.into(),
            frequency: settings.frequency,
            settings,
            enabled: true,
            zoho_permissions: ZohoPermissions { view: permissions.view, create: permissions.create, edit: permissions.edit, delete: permissions.delete },
            zoho_accounts_server: Some(zoho.base_url.clone()),
            zoho_api_domain: Some(zoho.base_url.clone()),
            status_token_hash: None,
            reconnect_needed: false,
            created_at: now,
            updated_at: now,
        })
        .await
        .expect("save connection");

    let trigger = Arc::new(RecordingTrigger::default());
    let (google_url, zoho_url) = (google.base_url.clone(), zoho.base_url.clone());
    let app_store: Arc<dyn StateStore> = store.clone();
    let app_trigger: Arc<dyn SyncTrigger> = trigger.clone();
    let server = serve(0, |base_url| LocalApp {
        store: app_store,
        vault,
        http: step_client(),
        config: emulator_config(base_url, &google_url, &zoho_url, SESSION_KEY),
        sync: app_trigger,
        api_tokens: ApiTokens::new(),
    })
    .await
    .expect("local server");
    let cookie = format!("{}={}", session::COOKIE, session::issue(SESSION_KEY.as_bytes(), &connection_id, now));
    World { google, _zoho: zoho, store, trigger, server, connection_id, cookie, view, group, _vault_dir: TempDir(vault_dir) }
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

impl World {
    async fn get(&self, path: &str) -> Page {
        let reply = step_client().get(format!("{}{path}", self.server.base_url)).header("cookie", &self.cookie).send().await.expect("GET");
        page(reply).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let reply = step_client().post(format!("{}{path}", self.server.base_url)).header("cookie", &self.cookie).form(form).send().await.expect("POST");
        page(reply).await
    }

    /// The CSRF token of the settings page's forms.
    async fn csrf(&self) -> String {
        let settings = self.get("/settings").await;
        assert_eq!(settings.status, 200, "{}", settings.body);
        between(&settings.body, "name=\"csrf\" value=\"", "\"").to_string()
    }

    async fn connection(&self) -> Connection {
        self.store.get_connection(&self.connection_id).await.expect("read").expect("connection exists")
    }

    fn sync_requests(&self) -> Vec<String> {
        self.trigger.requested.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn page(reply: reqwest::Response) -> Page {
    let status = reply.status().as_u16();
    let location = reply.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string();
    Page { status, location, body: reply.text().await.unwrap_or_default() }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|i| i + start.len()).unwrap_or_else(|| panic!("{start:?} not in page"));
    let len = text[from..].find(end).unwrap_or(0);
    &text[from..from + len]
}

/// A complete, valid form for `w`, with `overrides` replacing fields of the same name.
fn form<'a>(w: &'a World, csrf: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("google_group", w.group.as_str()),
        ("new_group_name", ""),
        ("zoho_cvid", w.view.as_str()),
        ("direction", "two_way"),
        ("conflict_policy", "zoho_wins"),
        ("frequency", "1h"),
        ("deletion", "propagate"),
        ("extra_rows", "1"),
        ("extra_zoho_0", ""),
        ("extra_google_0", ""),
        ("extra_key_0", ""),
    ];
    for (name, value) in overrides {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

#[tokio::test]
async fn the_page_lists_the_users_groups_lists_and_fields_live() {
    let w = world(NewUser::new("owner@zoho.example")).await;
    let settings = w.get("/settings").await;
    assert_eq!(settings.status, 200);
    assert!(settings.body.contains(&format!("value=\"{}\"", w.group)) && settings.body.contains(">Clients<"), "the Google group is offered");
    assert!(settings.body.contains(&format!("value=\"{}\"", w.view)) && settings.body.contains("Synced with Google"), "the Zoho list is offered");
    assert!(settings.body.contains("value=\"Other_Phone\""), "Zoho fields outside the defaults can be mapped");
    assert!(settings.body.contains("value=\"nicknames\""), "supported Google fields are offered");
    assert!(settings.body.contains("id=\"map-another-field\""));
    assert!(!settings.body.contains("id=\"sync-now\""), "nothing to sync before a group and a list are saved");

    let signed_out = step_client().get(format!("{}/settings", w.server.base_url)).send().await.expect("GET");
    assert_eq!(signed_out.status().as_u16(), 401, "the page needs the session cookie");
}

#[tokio::test]
async fn saving_valid_settings_updates_the_connection_and_its_schedule() {
    let w = world(NewUser::new("owner@zoho.example")).await;
    let csrf = w.csrf().await;
    let saved = w
        .post(
            "/settings",
            &form(&w, &csrf, &[("frequency", "15m"), ("conflict_policy", "google_wins"), ("extra_zoho_0", "Other_Phone"), ("extra_google_0", "phoneNumbers.other")]),
        )
        .await;
    assert_eq!((saved.status, saved.location.as_str()), (303, "/settings?saved=1"), "{}", saved.body);

    let connection = w.connection().await;
    assert_eq!(connection.frequency, Frequency::Min15);
    assert_eq!(connection.settings.frequency, Frequency::Min15);
    assert_eq!(connection.settings.google_group.as_deref(), Some(w.group.as_str()));
    assert_eq!(connection.settings.zoho_cvid.as_deref(), Some(w.view.as_str()));
    assert_eq!(connection.settings.extra_fields.len(), 1);
    let on_15m: Vec<String> = w.store.list_connections_by_frequency(Frequency::Min15).await.expect("list").into_iter().map(|c| c.id).collect();
    let on_1h: Vec<String> = w.store.list_connections_by_frequency(Frequency::Hour1).await.expect("list").into_iter().map(|c| c.id).collect();
    assert!(on_15m.contains(&w.connection_id) && !on_1h.contains(&w.connection_id), "the connection moved to the 15-minute schedule");

    let after = w.get("/settings?saved=1").await;
    assert!(after.body.contains("Settings saved."));
    assert!(after.body.contains("id=\"status\"") && after.body.contains("id=\"sync-now\""), "the status and sync now show once configured");
    assert!(after.body.contains("value=\"15m\" selected"), "the form shows what was saved");
    assert!(after.body.contains("<option value=\"Other_Phone\" selected>"));
}

#[tokio::test]
async fn problems_are_shown_next_to_their_fields_and_nothing_is_saved() {
    let w = world(NewUser::new("owner@zoho.example")).await;
    let before = w.connection().await;
    let csrf = w.csrf().await;
    let refused = w
        .post("/settings", &form(&w, &csrf, &[("zoho_cvid", ""), ("frequency", "15m"), ("extra_zoho_0", "No_Such_Field"), ("extra_google_0", "nicknames")]))
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Nothing was saved: 2 problems"), "{}", refused.body);
    let list_error = between(&refused.body, "id=\"zoho_cvid-error\" role=\"alert\">", "</p>");
    assert!(list_error.contains("choose the Zoho CRM list"), "{list_error}");
    let field_error = between(&refused.body, "id=\"extra_zoho_0-error\" role=\"alert\">", "</p>");
    assert!(field_error.contains("No_Such_Field") && field_error.contains("does not exist"), "{field_error}");
    assert!(refused.body.contains("value=\"15m\" selected"), "the form keeps what the user chose");
    assert_eq!(w.connection().await, before, "nothing was saved");
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused() {
    let w = world(NewUser::new("owner@zoho.example")).await;
    let before = w.connection().await;
    let forged = w.post("/settings", &form(&w, "forged-token", &[("frequency", "15m")])).await;
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("This form has expired"));
    let missing = w.post("/sync-now", &[]).await;
    assert_eq!(missing.status, 403);
    assert_eq!(w.connection().await, before);
    assert!(w.sync_requests().is_empty(), "no run was started");
}

#[tokio::test]
async fn a_read_only_zoho_user_may_only_sync_zoho_to_google_and_is_told_why() {
    let w = world(NewUser::new("viewer@zoho.example").read_only()).await;
    let settings = w.get("/settings").await;
    let two_way = between(&settings.body, "id=\"direction-two_way\"", ">");
    let google_to_zoho = between(&settings.body, "id=\"direction-google_to_zoho\"", ">");
    let zoho_to_google = between(&settings.body, "id=\"direction-zoho_to_google\"", ">");
    assert!(two_way.contains("disabled") && google_to_zoho.contains("disabled"), "{two_way} {google_to_zoho}");
    assert!(!zoho_to_google.contains("disabled") && zoho_to_google.contains("checked"));
    let reason = between(&settings.body, "id=\"direction-reason\">", "</p>");
    assert!(reason.contains("Create and Edit permission"), "{reason}");

    // A crafted post cannot get around the disabled controls.
    let csrf = w.csrf().await;
    let refused = w.post("/settings", &form(&w, &csrf, &[("direction", "two_way")])).await;
    assert_eq!(refused.status, 422);
    assert!(between(&refused.body, "id=\"direction-error\" role=\"alert\">", "</p>").contains("Zoho → Google only"));
    let saved = w.post("/settings", &form(&w, &csrf, &[("direction", "zoho_to_google")])).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(w.connection().await.settings.direction, Direction::ZohoToGoogle);
}

#[tokio::test]
async fn a_new_google_group_is_made_on_a_valid_save_only() {
    let w = world(NewUser::new("owner@zoho.example")).await;
    let csrf = w.csrf().await;
    let group_names = |w: &World| -> Vec<String> {
        w.google.state.groups(DEFAULT_ACCOUNT).iter().filter_map(|g| g["name"].as_str().map(String::from)).collect()
    };
    let refused = w.post("/settings", &form(&w, &csrf, &[("google_group", "new"), ("new_group_name", "From Zoho"), ("zoho_cvid", "")])).await;
    assert_eq!(refused.status, 422);
    assert!(!group_names(&w).contains(&"From Zoho".to_string()), "a refused form creates no group");
    assert!(refused.body.contains("value=\"From Zoho\""), "the typed name is kept");

    let unnamed = w.post("/settings", &form(&w, &csrf, &[("google_group", "new")])).await;
    assert!(between(&unnamed.body, "id=\"new_group_name-error\" role=\"alert\">", "</p>").contains("type a name"));

    let saved = w.post("/settings", &form(&w, &csrf, &[("google_group", "new"), ("new_group_name", "From Zoho")])).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(group_names(&w).contains(&"From Zoho".to_string()));
    let chosen = w.connection().await.settings.google_group.expect("a group is saved");
    assert!(chosen.starts_with("contactGroups/") && chosen != w.group, "the new group is the one saved: {chosen}");
}

#[tokio::test]
async fn sync_now_starts_a_run_for_this_connection_once_it_is_configured() {
    let w = world(NewUser::new("owner@zoho.example")).await;
    let csrf = w.csrf().await;
    let early = w.post("/sync-now", &[("csrf", csrf.as_str())]).await;
    assert_eq!(early.status, 409, "nothing to sync before settings are saved");
    assert!(w.sync_requests().is_empty());

    assert_eq!(w.post("/settings", &form(&w, &csrf, &[])).await.status, 303);
    let started = w.post("/sync-now", &[("csrf", csrf.as_str())]).await;
    assert_eq!((started.status, started.location.as_str()), (303, "/settings?sync=started"));
    assert_eq!(w.sync_requests(), vec![w.connection_id.clone()]);
    assert!(w.get(&started.location).await.body.contains("A sync was started"));
}
