//! The Zoho CRM client against the Zoho emulator over HTTP: connect flow across data centres,
//! token caching and refresh, paging past 2,000, incremental reads, tombstones, batch writes
//! with per-record results, retries, the deadline, and a read-only user.

use serde_json::{json, Value};
use shared::http::{HttpError, RetryPolicy};
use shared::oauth::{AccessTokenCache, OAuthError};
use shared::zoho::{
    self, ConnectError, ContactRecord, ListQuery, PageCursor, RecordError, UpsertAction, ZohoApp, ZohoClient, ZohoError,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use sync_tests::emulators::common::{Fault, FaultRule};
use sync_tests::emulators::zoho::{NewUser, RecordFailure, ViewFilter, ZohoEmulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

const ADMIN: &str = "admin@example.test";
const VIEWER: &str = "viewer@example.test";
const REDIRECT: &str = "http://127.0.0.1:1/oauth/zoho/callback";
const TOKEN: &str = "POST /oauth/v2/token";
const LIST: &str = "GET /crm/v8/Contacts";

fn fast_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(5), max_delay: Duration::from_secs(60) }
}

async fn emulator() -> ZohoEmulator {
    let emu = ZohoEmulator::start(0).await.expect("start the Zoho emulator");
    emu.add_user(NewUser { utc_offset_minutes: 330, ..NewUser::new(ADMIN) });
    emu.add_user(NewUser::new(VIEWER).read_only());
    emu
}

fn client_with_token(emu: &ZohoEmulator, refresh_token: String) -> ZohoClient {
    let http = reqwest::Client::new();
    let accounts = url::Url::parse(&emu.base_url).expect("base url");
    let endpoint = zoho::token_endpoint(&accounts, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REDIRECT);
    let tokens = Arc::new(AccessTokenCache::new(http.clone(), endpoint, refresh_token));
    ZohoClient::new(http, &emu.base_url, tokens).with_retry_policy(fast_retries())
}

fn client_for(emu: &ZohoEmulator, user: &str) -> ZohoClient {
    let issued = emu.issue_tokens(user).expect("tokens for a known user");
    client_with_token(emu, issued.refresh_token)
}

fn contact(i: usize) -> Value {
    json!({"First_Name": format!("First{i}"), "Last_Name": format!("Last{i}"), "Email": format!("person{i}@example.com")})
}

/// Follows the consent redirect the way a browser would, without following it to our callback.
async fn consent(emu: &ZohoEmulator, extra: &str) -> url::Url {
    let auth = zoho::authorization_url(&emu.base_url, DEFAULT_CLIENT_ID, REDIRECT, "state-1").expect("auth url");
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = no_redirects.get(format!("{auth}{extra}")).send().await.expect("consent");
    assert_eq!(response.status(), 302);
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).expect("location");
    url::Url::parse(location).expect("redirect url")
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn app() -> ZohoApp<'static> {
    ZohoApp { client_id: DEFAULT_CLIENT_ID, client_secret: DEFAULT_CLIENT_SECRET, redirect_uri: REDIRECT }
}

#[tokio::test]
async fn connecting_exchanges_the_code_on_the_named_accounts_server_and_uses_its_api_domain() {
    let emu = emulator().await;
    let back = consent(&emu, "").await;
    assert_eq!(param(&back, "state").as_deref(), Some("state-1"));
    assert_eq!(param(&back, "location").as_deref(), Some("us"));
    let accounts_server = param(&back, "accounts-server").expect("accounts-server");
    let code = param(&back, "code").expect("code");
    let http = reqwest::Client::new();
    let overrides = (Some(emu.base_url.as_str()), Some(emu.base_url.as_str()));

    let grant = zoho::connect(&http, &app(), &accounts_server, &code, overrides).await.expect("connect");
    assert_eq!(grant.api_domain.as_str().trim_end_matches('/'), emu.base_url);
    assert_eq!(grant.tokens.expires_in, 3600);

    let client = client_with_token(&emu, grant.refresh_token.clone());
    let me = client.current_user().await.expect("current user");
    assert_eq!(me.email.as_deref(), Some(ADMIN), "the default account approved the consent");

    let again = zoho::connect(&http, &app(), &accounts_server, &code, overrides).await;
    assert!(matches!(again, Err(ConnectError::OAuth(OAuthError::ReconnectNeeded { .. }))), "a code is single use: {again:?}");

    let viewer = consent(&emu, &format!("&emulator_account={VIEWER}")).await;
    let grant = zoho::connect(&http, &app(), &accounts_server, &param(&viewer, "code").expect("code"), overrides).await.expect("connect");
    let me = client_with_token(&emu, grant.refresh_token).current_user().await.expect("viewer");
    assert_eq!(me.email.as_deref(), Some(VIEWER));

    let denied = consent(&emu, "&emulator_deny=1").await;
    assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&denied, "code"), None);
}

#[tokio::test]
async fn a_forged_accounts_server_is_refused_before_any_token_request() {
    let emu = emulator().await;
    let back = consent(&emu, "").await;
    let code = param(&back, "code").expect("code");
    let http = reqwest::Client::new();
    let overrides = (Some(emu.base_url.as_str()), Some(emu.base_url.as_str()));
    for forged in ["https://accounts.zoho.com.evil.example", "http://127.0.0.1:9", "https://evil.example/?x=accounts.zoho.com"] {
        let result = zoho::connect(&http, &app(), forged, &code, overrides).await;
        assert!(matches!(result, Err(ConnectError::AccountsServer(_))), "{forged}: {result:?}");
    }
    assert_eq!(emu.control.count(TOKEN), 0, "no secret or code was sent anywhere");
    let genuine = param(&back, "accounts-server").expect("accounts-server");
    assert!(zoho::connect(&http, &app(), &genuine, &code, overrides).await.is_ok(), "the code is still good for the real server");
}

#[tokio::test]
async fn access_tokens_are_cached_across_calls() {
    let emu = emulator().await;
    let client = client_for(&emu, ADMIN);
    for _ in 0..50 {
        client.current_user().await.expect("current user");
    }
    assert_eq!(emu.control.count(TOKEN), 1, "50 calls need one access token");
    assert_eq!(emu.control.count("GET /crm/v8/users"), 50);
}

#[tokio::test]
async fn a_client_that_refreshes_for_every_call_hits_zohos_token_limit() {
    let emu = emulator().await;
    let issued = emu.issue_tokens(ADMIN).expect("tokens");
    let http = reqwest::Client::new();
    let endpoint = zoho::token_endpoint(&url::Url::parse(&emu.base_url).expect("url"), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REDIRECT);
    for _ in 0..10 {
        shared::oauth::refresh(&http, &endpoint, &issued.refresh_token).await.expect("within the limit");
    }
    let eleventh = shared::oauth::refresh(&http, &endpoint, &issued.refresh_token).await;
    assert!(matches!(eleventh, Err(OAuthError::Throttled { .. })), "{eleventh:?}");
    emu.advance_clock(Duration::from_secs(601));
    assert!(shared::oauth::refresh(&http, &endpoint, &issued.refresh_token).await.is_ok(), "the window moved on");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_call_repeated() {
    let emu = emulator().await;
    let client = client_for(&emu, ADMIN);
    client.current_user().await.expect("first call");
    emu.expire_access_tokens();
    client.current_user().await.expect("call after expiry");
    assert_eq!(emu.control.count(TOKEN), 2, "one refresh after the 401");
    assert_eq!(emu.control.count("GET /crm/v8/users"), 3, "first call, the 401, the repeat");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_reconnect_without_retrying() {
    let emu = emulator().await;
    let issued = emu.issue_tokens(ADMIN).expect("tokens");
    let client = client_with_token(&emu, issued.refresh_token.clone());
    client.current_user().await.expect("works before revocation");
    emu.revoke_refresh_token(&issued.refresh_token);
    let error = client.current_user().await.expect_err("revoked");
    assert!(error.needs_reconnect() && !error.is_retryable(), "{error}");
    assert_eq!(emu.control.count(TOKEN), 2, "one refresh attempt, not retried");
}

#[tokio::test]
async fn listing_2500_contacts_of_a_view_takes_13_pages_with_page_token_past_2000() {
    let emu = emulator().await;
    let all: Vec<Value> = (0..2600).map(contact).collect();
    let ids = emu.add_contacts(ADMIN, &all).expect("seed");
    let members = ids.iter().take(2500).cloned().collect();
    let cvid = emu.add_view(ADMIN, "Sync list", ViewFilter::Members { ids: members }).expect("view");
    let client = client_for(&emu, ADMIN);

    let query = ListQuery::new(&["First_Name", "Last_Name"]).in_view(&cvid);
    let (mut cursor, mut pages, mut seen) = (None::<PageCursor>, 0, HashSet::new());
    loop {
        let page = client.list_contacts(&query, cursor.as_ref()).await.expect("page");
        pages += 1;
        assert!(page.records.len() <= 200);
        for record in &page.records {
            assert!(record.modified_time().is_some() && record.email().is_some(), "sync fields are always returned");
            assert!(seen.insert(record.zoho_id().expect("id").to_string()), "no record twice");
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (13, 2500));
    assert!(ids.iter().skip(2500).all(|id| !seen.contains(id)), "records outside the view are not listed");
    assert_eq!(emu.control.count(LIST), 13);
    let calls = emu.list_calls();
    assert!(calls.iter().all(|c| c.page.is_none_or(|p| p <= 10) && c.cvid.as_deref() == Some(cvid.as_str())));
    assert!(calls[10..].iter().all(|c| c.used_page_token), "pages past 2,000 need page_token");

    // The emulator refuses what Zoho refuses: page numbers past 2,000 records.
    let token = emu.issue_tokens(ADMIN).expect("tokens").access_token;
    let raw = reqwest::Client::new()
        .get(format!("{}/crm/v8/Contacts?fields=Email&page=11&per_page=200", emu.base_url))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .expect("raw call");
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["code"], "DISCRETE_PAGINATION_LIMIT_EXCEEDED");
}

#[tokio::test]
async fn listings_carry_zohos_clock_even_when_nothing_changed() {
    let emu = emulator().await;
    emu.add_contacts(ADMIN, &[contact(1)]).expect("seed");
    let client = client_for(&emu, ADMIN);
    // Zoho's clock, not ours: the sync sets its cursor from it.
    emu.advance_clock(Duration::from_secs(86_400));
    let zoho_now = emu.now();
    let full = client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("full");
    let at = full.server_time.expect("Date header");
    assert!((at - zoho_now).whole_seconds().abs() <= 2, "{at} vs Zoho's {zoho_now}");
    let later = zoho_now + time::Duration::hours(1);
    let unchanged = client.list_contacts(&ListQuery::new(&["Last_Name"]).modified_since(later), None).await.expect("since");
    assert!(unchanged.not_modified);
    assert!(unchanged.server_time.is_some(), "a 304 has a Date too");
    let deleted = client.list_deleted(Some(later), 1).await.expect("deleted");
    assert!(deleted.records.is_empty() && deleted.server_time.is_some());
}

#[tokio::test]
async fn incremental_listing_returns_only_changes_and_304_when_nothing_changed() {
    let emu = emulator().await;
    let ids = emu.add_contacts(ADMIN, &[contact(1), contact(2), contact(3)]).expect("seed");
    let client = client_for(&emu, ADMIN);
    let full = client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("full");
    assert_eq!(full.records.len(), 3);
    let modified = full.records[0].modified_time_text().expect("Modified_Time");
    assert!(modified.ends_with("+05:30"), "times come in the user's time zone: {modified}");
    let cursor = full.records.iter().filter_map(|r| r.modified_time()).max().expect("cursor");

    let unchanged = client.list_contacts(&ListQuery::new(&["Last_Name"]).modified_since(cursor), None).await.expect("since");
    assert!(unchanged.not_modified && unchanged.records.is_empty() && unchanged.next.is_none());

    emu.advance_clock(Duration::from_secs(5));
    emu.edit_contact(ADMIN, &ids[1], &json!({"Title": "CTO"})).expect("edit in the UI");
    let changed = client.list_contacts(&ListQuery::new(&["Title"]).modified_since(cursor), None).await.expect("since");
    assert!(!changed.not_modified);
    assert_eq!(changed.records.len(), 1);
    assert_eq!(changed.records[0].zoho_id(), Some(ids[1].as_str()));
    assert_eq!(changed.records[0]["Title"], "CTO");
    assert!(changed.records[0].modified_time().expect("time") > cursor);
}

#[tokio::test]
async fn the_deleted_feed_reports_tombstones_since_a_time() {
    let emu = emulator().await;
    let ids = emu.add_contacts(ADMIN, &[contact(1), contact(2), contact(3)]).expect("seed");
    let client = client_for(&emu, ADMIN);
    assert!(client.list_deleted(None, 1).await.expect("empty feed").records.is_empty());
    let before = emu.now();
    emu.advance_clock(Duration::from_secs(2));
    let deleted = client.delete_contacts(&ids[..1]).await.into_result().expect("delete");
    assert_eq!(deleted, vec![Ok(ids[0].clone())]);
    emu.delete_contact(ADMIN, &ids[2], false).expect("delete in the UI");

    let feed = client.list_deleted(Some(before), 1).await.expect("feed");
    let gone: HashSet<_> = feed.records.iter().map(|d| d.id.clone()).collect();
    assert_eq!(gone, HashSet::from([ids[0].clone(), ids[2].clone()]));
    assert!(feed.records.iter().all(|d| d.deleted_at().is_some_and(|t| t > before) && d.kind == "recycle"));
    assert!(client.list_deleted(Some(emu.now()), 1).await.expect("later").records.is_empty());
    let listed = client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("list");
    assert_eq!(listed.records.len(), 1, "deleted records leave the list");
}

#[tokio::test]
async fn inserting_250_contacts_takes_3_calls() {
    let emu = emulator().await;
    let client = client_for(&emu, ADMIN);
    let records: Vec<Value> = (0..250).map(contact).collect();
    let results = client.insert_contacts(&records).await.into_result().expect("insert");
    assert_eq!(results.len(), 250);
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|w| !w.id.is_empty() && w.modified_time.is_some())));
    assert_eq!(emu.control.count("POST /crm/v8/Contacts"), 3);
    assert_eq!(emu.contacts(ADMIN).expect("contacts").len(), 250);
}

#[tokio::test]
async fn upsert_on_an_existing_email_updates_it_instead_of_creating_a_duplicate() {
    let emu = emulator().await;
    let existing = emu.add_contacts(ADMIN, &[contact(1)]).expect("seed").remove(0);
    let client = client_for(&emu, ADMIN);
    let records = [
        json!({"Last_Name": "Last1", "Email": "PERSON1@example.com", "Title": "Engineer"}),
        json!({"Last_Name": "New", "Email": "new@example.com"}),
    ];
    let results = client.upsert_contacts(&records).await.into_result().expect("upsert");
    let first = results[0].as_ref().expect("first");
    assert_eq!((first.id.as_str(), first.action), (existing.as_str(), Some(UpsertAction::Updated)));
    assert_eq!(results[1].as_ref().expect("second").action, Some(UpsertAction::Inserted));
    let matches = emu.contacts_with_email(ADMIN, "person1@example.com").expect("contacts");
    assert_eq!(matches.len(), 1, "no duplicate");
    assert_eq!(matches[0]["Title"], "Engineer");
    assert_eq!(emu.contacts(ADMIN).expect("contacts").len(), 2);
}

#[tokio::test]
async fn a_mixed_batch_reports_each_records_error_and_writes_the_rest() {
    let emu = emulator().await;
    let existing = emu.add_contacts(ADMIN, &[contact(1)]).expect("seed").remove(0);
    emu.fail_records(RecordFailure { email: "locked@example.com".into(), code: "RECORD_LOCKED".into(), message: "locked".into(), times: 1 });
    let client = client_for(&emu, ADMIN);
    let records = [
        contact(2),
        json!({"First_Name": "No", "Email": "nolast@example.com"}),
        json!({"Last_Name": "Dup", "Email": "person1@example.com"}),
        json!({"Last_Name": "Locked", "Email": "locked@example.com"}),
        json!({"Last_Name": "Bad", "Email": "not-an-email"}),
        contact(3),
    ];
    let results = client.insert_contacts(&records).await.into_result().expect("the batch as a whole succeeds");
    assert!(results[0].is_ok() && results[5].is_ok());
    assert_eq!(results[1], Err(RecordError::MandatoryNotFound { field: "Last_Name".into() }));
    assert_eq!(results[2], Err(RecordError::DuplicateData { field: "Email".into(), existing_id: Some(existing) }));
    assert!(results[3].as_ref().is_err_and(RecordError::is_retryable));
    assert_eq!(results[4], Err(RecordError::InvalidData { field: "Email".into() }));
    assert_eq!(emu.contacts(ADMIN).expect("contacts").len(), 3, "the two good records were written");

    let token = emu.issue_tokens(ADMIN).expect("tokens").access_token;
    let raw = reqwest::Client::new()
        .post(format!("{}/crm/v8/Contacts", emu.base_url))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .json(&json!({"data": [contact(4), {"First_Name": "x"}]}))
        .send()
        .await
        .expect("raw");
    assert_eq!(raw.status(), 207, "Zoho's multi-status for a partly failed batch");
}

#[tokio::test]
async fn throttling_with_retry_after_is_retried() {
    let emu = emulator().await;
    let client = client_for(&emu, ADMIN);
    emu.control.inject(FaultRule { endpoint: "GET /crm/v8/users".into(), fault: Fault::Status { status: 429, retry_after_secs: Some(1) }, times: 1 });
    client.current_user().await.expect("succeeds after the wait");
    assert_eq!(emu.control.count("GET /crm/v8/users"), 2);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let emu = emulator().await;
    let client = client_for(&emu, ADMIN);
    emu.add_contacts(ADMIN, &[contact(1)]).expect("seed");
    emu.control.inject(FaultRule { endpoint: LIST.into(), fault: Fault::Status { status: 500, retry_after_secs: None }, times: 2 });
    let page = client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("third try works");
    assert_eq!(page.records.len(), 1);
    assert_eq!(emu.control.count(LIST), 3);
}

#[tokio::test]
async fn a_retry_wait_past_the_deadline_is_not_started() {
    let emu = emulator().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let client = client_for(&emu, ADMIN).with_deadline(Some(deadline));
    client.current_user().await.expect("token and first call");
    emu.control.reset_counters();
    emu.control.inject(FaultRule { endpoint: LIST.into(), fault: Fault::Status { status: 503, retry_after_secs: Some(30) }, times: 5 });
    let error = client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect_err("deadline");
    assert!(matches!(error, ZohoError::Http(HttpError::Deadline { attempts: 1, .. })), "{error}");
    assert!(error.is_retryable(), "the work is carried to the next run");
    assert_eq!(emu.control.count(LIST), 1, "no second try inside the deadline");
}

#[tokio::test]
async fn a_read_only_user_is_reported_as_such_and_cannot_write() {
    let emu = emulator().await;
    emu.add_contacts(VIEWER, &[contact(1)]).expect("seed");
    let client = client_for(&emu, VIEWER);
    let (me, permissions) = client.user_and_permissions().await.expect("permissions");
    assert_eq!(me.email.as_deref(), Some(VIEWER));
    assert!(permissions.view && !permissions.create && !permissions.edit && !permissions.delete);
    assert!(!permissions.may_write());
    assert_eq!(client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("may read").records.len(), 1);

    let insert = client.insert_contacts(&[contact(2)]).await;
    assert!(insert.results.is_empty());
    assert!(matches!(insert.stopped, Some(ZohoError::NoPermission { .. })), "{:?}", insert.stopped);
    let upsert = client.upsert_contacts(&[contact(1)]).await.into_result();
    assert!(matches!(upsert, Err(ZohoError::NoPermission { .. })), "{upsert:?}");
    assert_eq!(emu.contacts(VIEWER).expect("contacts").len(), 1, "nothing written");

    let admin = client_for(&emu, ADMIN).user_and_permissions().await.expect("admin").1;
    assert!(admin.view && admin.create && admin.edit && admin.delete);
}

#[tokio::test]
async fn views_fields_and_eventual_consistency_look_like_zoho() {
    let emu = emulator().await;
    let seed = emu.seed_sample().expect("seed");
    let client = client_for(&emu, &seed.admin);
    let views = client.custom_views().await.expect("views");
    assert!(views.iter().any(|v| v.system_name.as_deref() == Some("ALLVIEWS") && v.default));
    assert!(views.iter().any(|v| v.id == seed.admin_view && v.name == "Synced with Google"));
    assert_eq!(client.custom_view(&seed.admin_view).await.expect("view").map(|v| v.id), Some(seed.admin_view.clone()));
    let in_view = client.list_contacts(&ListQuery::new(&["Lead_Source"]).in_view(&seed.admin_view), None).await.expect("list");
    assert_eq!(in_view.records.len(), 4);

    let fields = client.contact_fields().await.expect("fields");
    let last_name = fields.iter().find(|f| f.api_name == "Last_Name").expect("Last_Name");
    assert!(last_name.system_mandatory && last_name.writable());
    assert!(fields.iter().any(|f| f.api_name == "Modified_Time" && !f.writable()));

    emu.set_consistency_lag(Duration::from_secs(30));
    let written = client.insert_contacts(&[contact(9)]).await.into_result().expect("insert");
    let id = written[0].as_ref().expect("written").id.clone();
    let listed = |page: &shared::zoho::ContactsPage| page.records.iter().any(|r| r.zoho_id() == Some(id.as_str()));
    assert!(!listed(&client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("list")), "not yet indexed");
    emu.advance_clock(Duration::from_secs(31));
    assert!(listed(&client.list_contacts(&ListQuery::new(&["Last_Name"]), None).await.expect("list")), "visible after the lag");
}

#[tokio::test]
async fn control_routes_drive_the_emulator_without_the_library() {
    let emu = ZohoEmulator::start(0).await.expect("start");
    let http = reqwest::Client::new();
    let base = &emu.base_url;
    let ok = |r: reqwest::Response| {
        assert!(r.status().is_success(), "{} {}", r.url().path(), r.status());
        r
    };
    ok(http.post(format!("{base}/__emulator/zoho/users")).json(&json!({"email": ADMIN})).send().await.expect("user"));
    let added: Value = ok(http.post(format!("{base}/__emulator/zoho/users/{ADMIN}/contacts")).json(&json!([contact(1), contact(2)])).send().await.expect("add"))
        .json()
        .await
        .expect("ids");
    let first = added["ids"][0].as_str().expect("id").to_string();
    let view: Value = ok(http
        .post(format!("{base}/__emulator/zoho/users/{ADMIN}/views"))
        .json(&json!({"name": "Picked", "filter": {"kind": "members", "ids": [first]}}))
        .send()
        .await
        .expect("view"))
    .json()
    .await
    .expect("view id");
    let cvid = view["id"].as_str().expect("cvid").to_string();
    let tokens: Value = ok(http.post(format!("{base}/__emulator/zoho/users/{ADMIN}/tokens")).send().await.expect("tokens")).json().await.expect("json");
    let client = client_with_token(&emu, tokens["refresh_token"].as_str().expect("refresh token").to_string());
    let page = client.list_contacts(&ListQuery::new(&["Last_Name"]).in_view(&cvid), None).await.expect("list");
    assert_eq!(page.records.len(), 1);

    let cursor = page.records[0].modified_time().expect("time");
    ok(http.post(format!("{base}/__emulator/zoho/clock")).json(&json!({"advance_secs": 10})).send().await.expect("clock"));
    ok(http.patch(format!("{base}/__emulator/zoho/users/{ADMIN}/contacts/{first}")).json(&json!({"Phone": "+1 555 0100"})).send().await.expect("edit"));
    let changed = client.list_contacts(&ListQuery::new(&["Phone"]).in_view(&cvid).modified_since(cursor), None).await.expect("since");
    assert_eq!(changed.records[0]["Phone"], "+1 555 0100");
    ok(http.put(format!("{base}/__emulator/zoho/users/{ADMIN}/views/{cvid}")).json(&json!({"kind": "members", "ids": []})).send().await.expect("empty view"));
    assert!(client.list_contacts(&ListQuery::new(&["Last_Name"]).in_view(&cvid), None).await.expect("list").records.is_empty());
    let missing = http.patch(format!("{base}/__emulator/zoho/users/{ADMIN}/contacts/1")).json(&json!({})).send().await.expect("edit");
    assert_eq!(missing.status(), 404);
}
