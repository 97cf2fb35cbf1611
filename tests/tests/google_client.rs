//! The Google People API client and OAuth plumbing against the Google emulator over HTTP.
//! Retries and refreshes are checked through the emulator's per-endpoint call counters.

use serde_json::{json, Value};
use shared::google::{GoogleClient, GoogleError, GoogleUrls, PersonRead, SYNC_PERSON_FIELDS};
use shared::http::{HttpError, RetryPolicy};
use shared::oauth::{exchange_code, AccessTokenCache, OAuthError, Pkce};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use sync_tests::emulators::common::{Fault, FaultRule};
use sync_tests::emulators::google::{
    sample_person, ContactFault, GoogleEmulator, CLIENT_ID, CLIENT_SECRET, CONTACTS_READONLY_SCOPE,
    DEFAULT_ACCOUNT, MY_CONTACTS,
};

const REDIRECT_URI: &str = "https://sync.example/oauth/google/callback";
const CONNECTIONS: &str = "GET /v1/people/me/connections";
const BATCH_CREATE: &str = "POST /v1/people:batchCreateContacts";
const BATCH_UPDATE: &str = "POST /v1/people:batchUpdateContacts";
const BATCH_DELETE: &str = "POST /v1/people:batchDeleteContacts";
const BATCH_GET: &str = "GET /v1/people:batchGet";
const MEMBERS_MODIFY: &str = "POST /v1/contactGroups/{id}/members:modify";
const TOKEN: &str = "POST /token";

/// Short waits so retries do not slow the suite; the cap still allows a 1 s Retry-After.
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(5),
    }
}

struct Setup {
    emulator: GoogleEmulator,
    client: GoogleClient,
}

async fn setup_with_scope(scope: Option<&str>) -> Setup {
    let emulator = GoogleEmulator::start(0).await.expect("start emulator");
    let grant = emulator.state.issue_tokens(DEFAULT_ACCOUNT, scope);
    let urls = GoogleUrls::all_at(&emulator.base_url);
    let http = reqwest::Client::new();
    let tokens = Arc::new(AccessTokenCache::new(
        http.clone(),
        urls.token_endpoint(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI),
        grant.refresh_token,
    ));
    let client =
        GoogleClient::new(http, &urls.people_url, tokens).with_retry_policy(fast_retries());
    Setup { emulator, client }
}

async fn setup() -> Setup {
    setup_with_scope(None).await
}

fn person(n: usize) -> Value {
    sample_person(
        "Test",
        &format!("Person {n}"),
        &format!("person{n}@example.com"),
        "+1 555 0100",
        "Acme",
        "Buyer",
    )
}

fn people(count: usize) -> Vec<Value> {
    (0..count).map(person).collect()
}

fn inject(setup: &Setup, endpoint: &str, fault: Fault) {
    setup.emulator.control.inject(FaultRule {
        endpoint: endpoint.into(),
        fault,
        times: 1,
    });
}

async fn create_contacts(setup: &Setup, count: usize) -> Vec<shared::google::Person> {
    let created = setup
        .client
        .batch_create_contacts(&people(count), "names,emailAddresses,memberships")
        .await
        .unwrap();
    created.into_iter().map(|r| r.expect("created")).collect()
}

// ---- OAuth ----

/// The consent redirect's query, as the callback would see it.
async fn consent(
    emulator: &GoogleEmulator,
    pkce: &Pkce,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let urls = GoogleUrls::all_at(&emulator.base_url);
    let mut url = urls
        .authorization_url(CLIENT_ID, REDIRECT_URI, "state-123", &pkce.challenge, None)
        .unwrap();
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects.get(url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn connect_flow_exchanges_a_code_with_pkce_once() {
    let emulator = GoogleEmulator::start(0).await.unwrap();
    let http = reqwest::Client::new();
    let endpoint = GoogleUrls::all_at(&emulator.base_url).token_endpoint(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
    );
    let pkce = Pkce::generate();

    let callback = consent(&emulator, &pkce, &[]).await;
    assert_eq!(callback["state"], "state-123");
    let tokens = exchange_code(&http, &endpoint, &callback["code"], Some(&pkce.verifier))
        .await
        .unwrap();
    assert!(
        tokens.refresh_token.is_some(),
        "offline access must give a refresh token"
    );
    assert!(shared::google::grants_contacts_scope(
        tokens.scope.as_deref()
    ));

    let reused = exchange_code(&http, &endpoint, &callback["code"], Some(&pkce.verifier))
        .await
        .unwrap_err();
    assert!(reused.needs_reconnect(), "{reused}");

    let other = consent(&emulator, &pkce, &[]).await;
    let wrong_verifier = exchange_code(
        &http,
        &endpoint,
        &other["code"],
        Some(&Pkce::generate().verifier),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(wrong_verifier, OAuthError::ReconnectNeeded { .. }),
        "{wrong_verifier}"
    );

    let mut bad_client = endpoint.clone();
    bad_client.client_secret = "wrong".into();
    let third = consent(&emulator, &pkce, &[]).await;
    let rejected = exchange_code(&http, &bad_client, &third["code"], Some(&pkce.verifier))
        .await
        .unwrap_err();
    assert!(
        matches!(rejected, OAuthError::ClientRejected { .. }),
        "{rejected}"
    );
}

#[tokio::test]
async fn consent_can_be_denied_or_narrowed() {
    let emulator = GoogleEmulator::start(0).await.unwrap();
    let pkce = Pkce::generate();
    let denied = consent(&emulator, &pkce, &[("emulator_deny", "1")]).await;
    assert_eq!(denied["error"], "access_denied");
    assert_eq!(denied["state"], "state-123");
    assert!(!denied.contains_key("code"));

    let narrowed = consent(
        &emulator,
        &pkce,
        &[("emulator_scopes", CONTACTS_READONLY_SCOPE)],
    )
    .await;
    let endpoint = GoogleUrls::all_at(&emulator.base_url).token_endpoint(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
    );
    let tokens = exchange_code(
        &reqwest::Client::new(),
        &endpoint,
        &narrowed["code"],
        Some(&pkce.verifier),
    )
    .await
    .unwrap();
    assert!(
        !shared::google::grants_contacts_scope(tokens.scope.as_deref()),
        "read-only grant must be detectable"
    );
}

#[tokio::test]
async fn access_token_is_refreshed_once_and_then_cached() {
    let s = setup().await;
    for _ in 0..5 {
        s.client.list_contact_groups().await.unwrap();
    }
    assert_eq!(s.emulator.control.count(TOKEN), 1);
    assert_eq!(s.emulator.control.count("GET /v1/contactGroups"), 5);
}

#[tokio::test]
async fn rejected_access_token_is_refreshed_once_and_the_call_repeated() {
    let s = setup().await;
    s.client.list_contact_groups().await.unwrap();
    s.emulator.state.expire_access_tokens();
    let groups = s.client.list_contact_groups().await.unwrap();
    assert!(groups.iter().any(|g| g.resource_name == MY_CONTACTS));
    assert_eq!(s.emulator.control.count(TOKEN), 2);
    assert_eq!(
        s.emulator.control.count("GET /v1/contactGroups"),
        3,
        "one 401, one repeat"
    );
}

#[tokio::test]
async fn revoked_grant_asks_for_reconnect_without_retrying() {
    let s = setup().await;
    s.client.list_contact_groups().await.unwrap();
    s.emulator.state.revoke_grants(DEFAULT_ACCOUNT);
    let err = s.client.list_contact_groups().await.unwrap_err();
    assert!(
        matches!(err, GoogleError::Auth(OAuthError::ReconnectNeeded { .. })),
        "{err}"
    );
    assert!(err.needs_reconnect() && !err.is_retryable());
    assert_eq!(
        s.emulator.control.count(TOKEN),
        2,
        "invalid_grant is not retried"
    );
}

#[tokio::test]
async fn read_only_grant_cannot_write_and_says_reconnect() {
    let s = setup_with_scope(Some(CONTACTS_READONLY_SCOPE)).await;
    s.client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap();
    let err = s
        .client
        .batch_create_contacts(&people(1), "names")
        .await
        .unwrap_err();
    assert!(err.needs_reconnect(), "{err}");
}

// ---- The sync feed ----

#[tokio::test]
async fn full_listing_reads_every_page_of_1000() {
    let s = setup().await;
    s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(2500));
    let all = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap();
    assert_eq!(all.people.len(), 2500);
    assert_eq!(all.pages, 3);
    assert_eq!(s.emulator.control.count(CONNECTIONS), 3);
    assert!(all.next_sync_token.is_some());
    let first = &all.people[0];
    assert!(first.resource_name().unwrap().starts_with("people/c"));
    assert!(first.etag().is_some() && first.contact_update_time().is_some());
    assert!(first.is_member_of(MY_CONTACTS));
}

#[tokio::test]
async fn incremental_sync_returns_only_changes_and_tombstones() {
    let s = setup().await;
    let names = s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(5));
    let full = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap();
    let token = full.next_sync_token.unwrap();

    s.emulator
        .state
        .edit_person(DEFAULT_ACCOUNT, &names[1], |p| {
            p["names"][0]["givenName"] = json!("Edited")
        });
    s.emulator.state.delete_person(DEFAULT_ACCOUNT, &names[2]);
    let added = s
        .emulator
        .state
        .seed_people(DEFAULT_ACCOUNT, vec![person(99)]);

    let changes = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, Some(&token))
        .await
        .unwrap();
    let changed: BTreeMap<_, _> = changes
        .people
        .iter()
        .map(|p| (p.resource_name().unwrap().to_string(), p))
        .collect();
    assert_eq!(changed.len(), 3, "unchanged contacts are not in the feed");
    assert_eq!(changed[&names[1]].0["names"][0]["givenName"], "Edited");
    assert!(changed[&names[2]].is_deleted());
    assert!(!changed[&added[0]].is_deleted());

    let next = changes.next_sync_token.unwrap();
    let quiet = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, Some(&next))
        .await
        .unwrap();
    assert!(quiet.people.is_empty());
}

#[tokio::test]
async fn a_change_still_propagating_is_delivered_later_not_skipped() {
    let s = setup().await;
    let names = s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(2));
    let token = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap()
        .next_sync_token
        .unwrap();
    s.emulator
        .state
        .set_consistency_delay(Duration::from_secs(3600));
    s.emulator
        .state
        .edit_person(DEFAULT_ACCOUNT, &names[0], |p| {
            p["names"][0]["givenName"] = json!("Late")
        });

    let early = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, Some(&token))
        .await
        .unwrap();
    assert!(early.people.is_empty(), "the write has not propagated yet");
    s.emulator.state.publish_pending_changes();
    let later = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, early.next_sync_token.as_deref())
        .await
        .unwrap();
    assert_eq!(later.people.len(), 1);
    assert_eq!(later.people[0].0["names"][0]["givenName"], "Late");
}

#[tokio::test]
async fn expired_sync_token_is_its_own_error_for_400_and_410() {
    let s = setup().await;
    s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(3));
    let token = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap()
        .next_sync_token
        .unwrap();
    s.emulator.state.expire_sync_tokens(None, None);
    let err = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, Some(&token))
        .await
        .unwrap_err();
    assert!(matches!(err, GoogleError::SyncTokenExpired), "{err}");
    assert!(!err.is_retryable());

    let token = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap()
        .next_sync_token
        .unwrap();
    s.emulator.state.expire_sync_tokens(None, Some(410));
    let err = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, Some(&token))
        .await
        .unwrap_err();
    assert!(matches!(err, GoogleError::SyncTokenExpired), "{err}");
}

// ---- Writes ----

#[tokio::test]
async fn large_creates_are_split_into_batches_of_200() {
    let s = setup().await;
    let created = create_contacts(&s, 450).await;
    assert_eq!(created.len(), 450);
    assert_eq!(s.emulator.control.count(BATCH_CREATE), 3);
    assert_eq!(s.emulator.state.people(DEFAULT_ACCOUNT).len(), 450);
    assert_eq!(
        created[449].0["emailAddresses"][0]["value"], "person449@example.com",
        "results keep input order"
    );
}

#[tokio::test]
async fn updates_split_by_200_and_deletes_by_500() {
    let s = setup().await;
    let created = create_contacts(&s, 600).await;
    let updates: BTreeMap<String, Value> = created
        .iter()
        .take(250)
        .map(|p| {
            let mut body = p.0.clone();
            body["names"] = json!([{ "givenName": "Renamed" }]);
            (p.resource_name().unwrap().to_string(), body)
        })
        .collect();
    let results = s
        .client
        .batch_update_contacts(&updates, "names", "names")
        .await
        .unwrap();
    assert_eq!(results.len(), 250);
    assert!(results.values().all(|r| r
        .as_ref()
        .is_ok_and(|p| p.0["names"][0]["givenName"] == "Renamed")));
    assert_eq!(s.emulator.control.count(BATCH_UPDATE), 2);

    let names: Vec<String> = created
        .iter()
        .map(|p| p.resource_name().unwrap().to_string())
        .collect();
    s.client.batch_delete_contacts(&names).await.unwrap();
    assert_eq!(s.emulator.control.count(BATCH_DELETE), 2);
    assert!(s.emulator.state.people(DEFAULT_ACCOUNT).is_empty());
}

#[tokio::test]
async fn a_stale_etag_fails_only_that_contact() {
    let s = setup().await;
    let created = create_contacts(&s, 3).await;
    let stale = created[1].resource_name().unwrap().to_string();
    s.emulator.state.edit_person(DEFAULT_ACCOUNT, &stale, |p| {
        p["names"][0]["givenName"] = json!("Changed in Google")
    });

    let updates: BTreeMap<String, Value> = created
        .iter()
        .map(|p| {
            (
                p.resource_name().unwrap().to_string(),
                json!({ "etag": p.etag(), "names": [{ "givenName": "From CRM" }] }),
            )
        })
        .collect();
    let results = s
        .client
        .batch_update_contacts(&updates, "names", "names")
        .await
        .unwrap();
    assert_eq!(s.emulator.control.count(BATCH_UPDATE), 1);
    let failure = results[&stale].as_ref().unwrap_err();
    assert!(failure.is_stale_etag(), "{failure}");
    assert_eq!(results.values().filter(|r| r.is_ok()).count(), 2);
    let kept = s.emulator.state.person(DEFAULT_ACCOUNT, &stale).unwrap();
    assert_eq!(
        kept["names"][0]["givenName"], "Changed in Google",
        "the newer Google edit is not overwritten"
    );
}

#[tokio::test]
async fn one_invalid_contact_does_not_fail_the_batch() {
    let s = setup().await;
    s.emulator.state.fail_contact(ContactFault {
        matches: "person1@example.com".into(),
        status: "INVALID_ARGUMENT".into(),
        times: 1,
    });
    let results = s
        .client
        .batch_create_contacts(&people(3), "names,emailAddresses")
        .await
        .unwrap();
    assert!(results[0].is_ok() && results[2].is_ok());
    let failure = results[1].as_ref().unwrap_err();
    assert_eq!(failure.status, "INVALID_ARGUMENT");
    assert_eq!(s.emulator.state.people(DEFAULT_ACCOUNT).len(), 2);
}

#[tokio::test]
async fn a_whole_batch_rejection_is_retried_contact_by_contact() {
    let s = setup().await;
    let created = create_contacts(&s, 3).await;
    inject(
        &s,
        BATCH_UPDATE,
        Fault::Status {
            status: 400,
            retry_after_secs: None,
        },
    );
    let updates: BTreeMap<String, Value> = created
        .iter()
        .map(|p| {
            (
                p.resource_name().unwrap().to_string(),
                json!({ "etag": p.etag(), "names": [{ "givenName": "X" }] }),
            )
        })
        .collect();
    let results = s
        .client
        .batch_update_contacts(&updates, "names", "names")
        .await
        .unwrap();
    assert!(results.values().all(Result::is_ok));
    assert_eq!(
        s.emulator.control.count(BATCH_UPDATE),
        4,
        "one rejected batch, then one call per contact"
    );
}

// ---- Retries and the deadline ----

#[tokio::test]
async fn throttling_with_retry_after_is_retried() {
    let s = setup().await;
    inject(
        &s,
        BATCH_CREATE,
        Fault::Status {
            status: 429,
            retry_after_secs: Some(1),
        },
    );
    let created = create_contacts(&s, 2).await;
    assert_eq!(created.len(), 2);
    assert_eq!(s.emulator.control.count(BATCH_CREATE), 2);
    assert_eq!(
        s.emulator.state.people(DEFAULT_ACCOUNT).len(),
        2,
        "no duplicate from the retry"
    );
}

#[tokio::test]
async fn service_unavailable_is_retried() {
    let s = setup().await;
    s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(2));
    inject(
        &s,
        CONNECTIONS,
        Fault::Status {
            status: 503,
            retry_after_secs: None,
        },
    );
    let all = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap();
    assert_eq!(all.people.len(), 2);
    assert_eq!(s.emulator.control.count(CONNECTIONS), 2);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let s = setup().await;
    s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(2));
    inject(&s, CONNECTIONS, Fault::Drop);
    let all = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap();
    assert_eq!(all.people.len(), 2);
    assert_eq!(s.emulator.control.count(CONNECTIONS), 2);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_policy_attempts() {
    let s = setup().await;
    s.emulator.control.inject(FaultRule {
        endpoint: CONNECTIONS.into(),
        fault: Fault::Status {
            status: 500,
            retry_after_secs: None,
        },
        times: 10,
    });
    let err = s
        .client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GoogleError::Http(HttpError::Status {
                status: 500,
                attempts: 4,
                ..
            })
        ),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(s.emulator.control.count(CONNECTIONS), 4);
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_stops_without_waiting() {
    let s = setup().await;
    s.client.list_contact_groups().await.unwrap(); // token fetched before the deadline matters
    let client = GoogleClient::new(
        reqwest::Client::new(),
        &s.emulator.base_url,
        s.client.tokens().clone(),
    )
    .with_retry_policy(RetryPolicy {
        max_delay: Duration::from_secs(120),
        ..fast_retries()
    })
    .with_deadline(Some(tokio::time::Instant::now() + Duration::from_secs(20)));
    inject(
        &s,
        CONNECTIONS,
        Fault::Status {
            status: 429,
            retry_after_secs: Some(60),
        },
    );
    let err = client
        .list_connections(SYNC_PERSON_FIELDS, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GoogleError::Http(HttpError::Deadline { attempts: 1, .. })
        ),
        "{err}"
    );
    assert!(err.is_retryable(), "the work is carried to the next run");
    assert_eq!(s.emulator.control.count(CONNECTIONS), 1);
}

// ---- Contact groups ----

#[tokio::test]
async fn groups_are_created_once_and_listed() {
    let s = setup().await;
    let group = s.client.create_contact_group("CRM Sync").await.unwrap();
    assert!(group.is_user_group() && group.resource_name.starts_with("contactGroups/"));
    let again = s.client.create_contact_group("CRM Sync").await.unwrap_err();
    assert!(matches!(again, GoogleError::GroupAlreadyExists), "{again}");
    let groups = s.client.list_contact_groups().await.unwrap();
    assert!(groups.iter().any(|g| g.resource_name == MY_CONTACTS));
    assert!(groups
        .iter()
        .any(|g| g.resource_name == group.resource_name && g.name == "CRM Sync"));
}

#[tokio::test]
async fn members_are_added_in_calls_of_1000_and_readable_with_max_members() {
    let s = setup().await;
    let group = s.client.create_contact_group("Customers").await.unwrap();
    let names = s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(1200));
    let outcome = s
        .client
        .modify_group_members(&group.resource_name, &names, &[])
        .await
        .unwrap();
    assert!(outcome.not_found_resource_names.is_empty());
    assert_eq!(s.emulator.control.count(MEMBERS_MODIFY), 2);

    let read = s
        .client
        .get_contact_group(&group.resource_name, 5)
        .await
        .unwrap();
    assert_eq!(read.member_count, Some(1200));
    assert_eq!(read.member_resource_names.len(), 5);

    let removed = s
        .client
        .modify_group_members(&group.resource_name, &[], &names[..1])
        .await
        .unwrap();
    assert!(removed
        .can_not_remove_last_contact_group_resource_names
        .is_empty());
    let lonely = s
        .client
        .modify_group_members(MY_CONTACTS, &[], &names[..1])
        .await
        .unwrap();
    assert_eq!(
        lonely.can_not_remove_last_contact_group_resource_names,
        vec![names[0].clone()]
    );
    let missing = s
        .client
        .modify_group_members(&group.resource_name, &["people/c1".to_string()], &[])
        .await
        .unwrap();
    assert_eq!(
        missing.not_found_resource_names,
        vec!["people/c1".to_string()]
    );
}

#[tokio::test]
async fn batch_get_reads_in_calls_of_200_and_says_not_found_for_a_deleted_contact() {
    let s = setup().await;
    let names = s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(250));
    s.emulator.state.delete_person(DEFAULT_ACCOUNT, &names[7]);
    // Listings lag writes; batchGet reads them at once.
    s.emulator
        .state
        .set_consistency_delay(Duration::from_secs(3600));
    let late = s.emulator.state.seed_people(DEFAULT_ACCOUNT, people(1)).remove(0);
    let mut asked = names.clone();
    asked.push(late.clone());
    asked.push(names[3].clone()); // asked twice: read once

    let answers = s
        .client
        .batch_get_people(&asked, SYNC_PERSON_FIELDS)
        .await
        .unwrap();
    assert_eq!(s.emulator.control.count(BATCH_GET), 2, "251 names: 200 + 51");
    assert_eq!(answers.len(), 251);
    assert_eq!(answers[&names[7]], PersonRead::NotFound);
    for rn in names.iter().filter(|rn| **rn != names[7]).chain([&late]) {
        match &answers[rn] {
            PersonRead::Found(person) => {
                assert_eq!(person.resource_name(), Some(rn.as_str()));
                assert!(person.etag().is_some());
            }
            other => panic!("{rn}: {other:?}"),
        }
    }

    let unknown = s
        .client
        .batch_get_people(&["people/c1".to_string()], SYNC_PERSON_FIELDS)
        .await
        .unwrap();
    assert_eq!(unknown["people/c1"], PersonRead::NotFound);
}
