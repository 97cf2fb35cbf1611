//! One contract suite, two stores: every behaviour below runs against the embedded SQLite store
//! and against the DynamoDB store on moto_server (through the real AWS SDK).

use shared::settings::{Frequency, Settings};
use shared::store::sqlite::SqliteStore;
use shared::store::*;
use std::collections::BTreeMap;
use sync_tests::aws::{fresh_table, TestTable};

/// Generates `<name>::sqlite` and `<name>::dynamo` tests from one `async fn(&dyn StateStore)`.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let store = super::SqliteStore::in_memory().expect("open sqlite");
                super::$name(&store, None).await;
            }
            #[tokio::test]
            async fn dynamo() {
                let table = super::fresh_table().await;
                super::$name(&table.store, Some(&table)).await;
            }
        }
    };
}

fn connection(id: &str, frequency: Frequency, enabled: bool) -> Connection {
    Connection {
        id: id.into(),
        zoho_user_id: format!("zu-{id}"),
        google_email: format!("{id}@example.com"),
        settings: Settings { frequency, ..Settings::default() },
        frequency,
        enabled,
        zoho_permissions: ZohoPermissions::default(),
        zoho_accounts_server: None,
        zoho_api_domain: None,
        status_token_hash: None,
        reconnect_needed: false,
        created_at: 1,
        updated_at: 2,
    }
}

fn link(conn: &str, zoho_id: &str, rn: &str, email: Option<&str>) -> Link {
    Link {
        connection_id: conn.into(),
        zoho_id: zoho_id.into(),
        google_resource_name: rn.into(),
        email: email.map(String::from),
        field_hashes: BTreeMap::from([("First_Name".to_string(), "ab".repeat(32))]),
        zoho_modified_time: Some("2026-11-01T10:00:00+00:00".into()),
        google_etag: Some("%EgUBAi43PRoEAQIFByIM".into()),
        updated_at: 5,
    }
}

async fn connections_round_trip_and_list_by_frequency(store: &dyn StateStore, _: Option<&TestTable>) {
    store.put_connection(&connection("a", Frequency::Hour1, true)).await.unwrap();
    store.put_connection(&connection("b", Frequency::Hour1, true)).await.unwrap();
    store.put_connection(&connection("c", Frequency::Min15, true)).await.unwrap();
    store.put_connection(&connection("d", Frequency::Hour1, false)).await.unwrap();
    assert_eq!(store.get_connection("a").await.unwrap(), Some(connection("a", Frequency::Hour1, true)));
    assert_eq!(store.get_connection("zz").await.unwrap(), None);

    let mut hourly: Vec<String> =
        store.list_connections_by_frequency(Frequency::Hour1).await.unwrap().into_iter().map(|c| c.id).collect();
    hourly.sort();
    assert_eq!(hourly, ["a", "b"], "disabled and other-frequency connections are not listed");

    // Moving a connection to another frequency moves it in the listing.
    store.put_connection(&connection("a", Frequency::Hour24, true)).await.unwrap();
    let hourly = store.list_connections_by_frequency(Frequency::Hour1).await.unwrap();
    assert_eq!(hourly.len(), 1);
    assert_eq!(store.list_connections_by_frequency(Frequency::Hour24).await.unwrap()[0].id, "a");
}
contract!(connections_round_trip_and_list_by_frequency);

async fn links_are_found_by_all_three_keys(store: &dyn StateStore, _: Option<&TestTable>) {
    store
        .save_links(&[link("c1", "z1", "people/c1", Some("ann@example.com")), link("c1", "z2", "people/c2", None)])
        .await
        .unwrap();
    let by_id = store.link_by_zoho_id("c1", "z1").await.unwrap().expect("by zoho id");
    assert_eq!(by_id.google_resource_name, "people/c1");
    let by_rn = store.link_by_resource_name("c1", "people/c2").await.unwrap().expect("by resourceName");
    assert_eq!(by_rn.zoho_id, "z2");
    let by_email = store.links_by_email("c1", "  Ann@Example.COM ").await.unwrap();
    assert_eq!(by_email.len(), 1, "email lookup is trimmed and case-insensitive");
    assert_eq!(by_email[0].zoho_id, "z1");
    assert!(store.links_by_email("c1", "ann@example.co").await.unwrap().is_empty());

    // Lookups stay within one connection.
    assert_eq!(store.link_by_zoho_id("c2", "z1").await.unwrap(), None);
    assert_eq!(store.link_by_resource_name("c2", "people/c1").await.unwrap(), None);
    assert!(store.links_by_email("c2", "ann@example.com").await.unwrap().is_empty());

    let many = store.links_by_zoho_ids("c1", &["z2".into(), "z1".into(), "nope".into(), "z1".into()]).await.unwrap();
    let mut ids: Vec<_> = many.iter().map(|l| l.zoho_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["z1", "z2"]);

    store.delete_links("c1", &["z1".into()]).await.unwrap();
    assert_eq!(store.link_by_zoho_id("c1", "z1").await.unwrap(), None);
    assert_eq!(store.link_by_resource_name("c1", "people/c1").await.unwrap(), None);
    assert!(store.links_by_email("c1", "ann@example.com").await.unwrap().is_empty());
    assert_eq!(store.all_links("c1").await.unwrap().len(), 1);
}
contract!(links_are_found_by_all_three_keys);

async fn an_email_change_keeps_the_link(store: &dyn StateStore, _: Option<&TestTable>) {
    store.save_links(&[link("c1", "z1", "people/c1", Some("old@example.com"))]).await.unwrap();
    let mut changed = link("c1", "z1", "people/c1", Some("new@example.com"));
    changed.field_hashes.insert("Email".into(), "cd".repeat(32));
    store.save_links(&[changed.clone()]).await.unwrap();

    assert_eq!(store.link_by_zoho_id("c1", "z1").await.unwrap(), Some(changed.clone()));
    assert_eq!(store.link_by_resource_name("c1", "people/c1").await.unwrap(), Some(changed.clone()));
    assert_eq!(store.links_by_email("c1", "new@example.com").await.unwrap(), vec![changed]);
    assert!(store.links_by_email("c1", "old@example.com").await.unwrap().is_empty(), "old email no longer finds it");
    assert_eq!(store.all_links("c1").await.unwrap().len(), 1, "still one link, not two");

    // A changed resourceName (the Google contact was re-created) moves that index entry too.
    store.save_links(&[link("c1", "z1", "people/c9", Some("new@example.com"))]).await.unwrap();
    assert_eq!(store.link_by_resource_name("c1", "people/c1").await.unwrap(), None);
    assert_eq!(store.link_by_resource_name("c1", "people/c9").await.unwrap().map(|l| l.zoho_id), Some("z1".into()));
}
contract!(an_email_change_keeps_the_link);

async fn two_lease_takers_one_wins_and_expiry_lets_the_next_in(store: &dyn StateStore, _: Option<&TestTable>) {
    let now = 1_000_000;
    let first = store.acquire_lease("c1", "tick-a", now + 60_000, now).await.unwrap();
    assert!(first.is_ok());
    let second = store.acquire_lease("c1", "tick-b", now + 60_000, now + 1).await.unwrap();
    assert_eq!(second, Err(LeaseError::Held { expires_at: now + 60_000 }));
    // Other connections are not affected.
    assert!(store.acquire_lease("c2", "tick-b", now + 60_000, now).await.unwrap().is_ok());
    // The holder may extend its own lease.
    assert!(store.acquire_lease("c1", "tick-a", now + 90_000, now + 2).await.unwrap().is_ok());
    // Once it expires, the next taker gets it, and the old holder no longer does.
    let after = now + 90_001;
    assert!(store.acquire_lease("c1", "tick-b", after + 60_000, after).await.unwrap().is_ok());
    assert!(store.acquire_lease("c1", "tick-a", after + 60_000, after + 1).await.unwrap().is_err());
    // Releasing someone else's lease does nothing; releasing one's own frees it.
    store.release_lease("c1", "tick-a").await.unwrap();
    assert!(store.acquire_lease("c1", "tick-c", after + 60_000, after + 2).await.unwrap().is_err());
    store.release_lease("c1", "tick-b").await.unwrap();
    assert!(store.acquire_lease("c1", "tick-c", after + 60_000, after + 3).await.unwrap().is_ok());
}
contract!(two_lease_takers_one_wins_and_expiry_lets_the_next_in);

async fn concurrent_lease_takers_exactly_one_wins(store: &dyn StateStore, _: Option<&TestTable>) {
    let now = 5_000_000;
    let takers = (0..8).map(|i| {
        let holder = format!("tick-{i}");
        async move { store.acquire_lease("c1", &holder, now + 60_000, now).await }
    });
    let results = futures_util::future::join_all(takers).await;
    let winners = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    assert_eq!(winners, 1, "{results:?}");
}
contract!(concurrent_lease_takers_exactly_one_wins);

fn cursors(tag: &str) -> Cursors {
    Cursors {
        zoho_modified_since: Some("2026-11-01T10:00:00+00:00".into()),
        zoho_page_token: Some(format!("zoho-{tag}")),
        zoho_deleted_since: None,
        google_sync_token: Some(format!("google-{tag}")),
        google_page_token: None,
        first_sync_done: true,
        updated_at: 7,
    }
}

/// Starts counting DynamoDB requests afresh (nothing to count on SQLite).
fn reset(table: Option<&TestTable>) {
    if let Some(t) = table {
        t.proxy.reset_counts();
    }
}

/// On DynamoDB, asserts the requests since the last [`reset`]: exactly `expected`, nothing else.
fn assert_requests(table: Option<&TestTable>, expected: &[(&str, u64)], what: &str) {
    if let Some(t) = table {
        let expected: BTreeMap<String, u64> = expected.iter().map(|(op, n)| (op.to_string(), *n)).collect();
        assert_eq!(t.proxy.counts(), expected, "DynamoDB requests of {what}");
    }
}

async fn acquiring_the_lease_returns_the_stored_cursors(store: &dyn StateStore, table: Option<&TestTable>) {
    let now = 1_000_000;
    reset(table);
    let lease = store.acquire_lease("c1", "tick-a", now + 60_000, now).await.unwrap().expect("a new connection's lease is free");
    assert_requests(table, &[("UpdateItem", 1)], "acquire_lease");
    assert_eq!(
        lease,
        Lease { connection_id: "c1".into(), holder: "tick-a".into(), expires_at: now + 60_000, cursors: Cursors::default() },
        "a connection without stored cursors gets the default ones"
    );
    assert_eq!(store.get_cursors("c1").await.unwrap(), Cursors::default(), "a lease alone reads as no cursors");

    store.put_cursors("c1", &cursors("one")).await.unwrap();
    store.release_lease("c1", "tick-a").await.unwrap();
    let lease = store.acquire_lease("c1", "tick-b", now + 60_000, now + 1).await.unwrap().expect("released");
    assert_eq!(lease.cursors, cursors("one"), "acquiring reads the cursors");
    assert_eq!(lease.holder, "tick-b");

    // A refused taker costs one request too: the old item comes back with the failed condition.
    reset(table);
    let refused = store.acquire_lease("c1", "tick-c", now + 60_000, now + 2).await.unwrap();
    assert_requests(table, &[("UpdateItem", 1)], "a refused acquire_lease");
    assert_eq!(refused, Err(LeaseError::Held { expires_at: now + 60_000 }));
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("one"), "taking a lease never touches the cursors");
}
contract!(acquiring_the_lease_returns_the_stored_cursors);

async fn putting_cursors_keeps_the_lease(store: &dyn StateStore, _: Option<&TestTable>) {
    let now = 2_000_000;
    store.acquire_lease("c1", "tick-a", now + 60_000, now).await.unwrap().expect("free");
    store.put_cursors("c1", &cursors("one")).await.unwrap();
    assert_eq!(
        store.acquire_lease("c1", "tick-b", now + 60_000, now + 1).await.unwrap(),
        Err(LeaseError::Held { expires_at: now + 60_000 }),
        "the lease is still held after the cursors were written"
    );
    store.put_cursors("c1", &cursors("two")).await.unwrap();
    let again = store.acquire_lease("c1", "tick-a", now + 90_000, now + 2).await.unwrap().expect("still ours");
    assert_eq!(again.cursors, cursors("two"));
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("two"));
}
contract!(putting_cursors_keeps_the_lease);

async fn releasing_someone_elses_lease_is_harmless(store: &dyn StateStore, table: Option<&TestTable>) {
    let now = 3_000_000;
    // No lease at all, not even a cursors item.
    reset(table);
    store.release_lease("c1", "tick-a").await.unwrap();
    assert_requests(table, &[("UpdateItem", 1)], "release_lease without a lease");
    assert_eq!(store.get_cursors("c1").await.unwrap(), Cursors::default());

    store.put_cursors("c1", &cursors("one")).await.unwrap();
    store.acquire_lease("c1", "tick-a", now + 60_000, now).await.unwrap().expect("free");
    store.release_lease("c1", "tick-b").await.unwrap();
    assert_eq!(
        store.acquire_lease("c1", "tick-c", now + 60_000, now + 1).await.unwrap(),
        Err(LeaseError::Held { expires_at: now + 60_000 }),
        "a non-holder's release leaves the lease"
    );
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("one"));

    reset(table);
    store.release_lease("c1", "tick-a").await.unwrap();
    assert_requests(table, &[("UpdateItem", 1)], "release_lease");
    let next = store.acquire_lease("c1", "tick-c", now + 60_000, now + 2).await.unwrap().expect("released by its holder");
    assert_eq!(next.cursors, cursors("one"), "releasing keeps the cursors");
}
contract!(releasing_someone_elses_lease_is_harmless);

async fn finishing_a_run_saves_it_writes_the_cursors_and_releases_the_lease(store: &dyn StateStore, table: Option<&TestTable>) {
    let now = 4_000_000;
    store.put_cursors("c1", &cursors("old")).await.unwrap();
    let lease = store.acquire_lease("c1", "tick-a", now + 60_000, now).await.unwrap().expect("free");
    assert_eq!(lease.cursors, cursors("old"));
    let finished = run("c1", now, RunOutcome::Success);

    reset(table);
    assert!(store.finish_run(&finished, "tick-a", Some(&cursors("new"))).await.unwrap(), "the lease was ours");
    assert_requests(table, &[("TransactWriteItems", 1)], "finish_run");

    assert_eq!(store.latest_runs("c1", 5).await.unwrap(), [finished]);
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("new"));
    // Released: another run may start before the old lease would have expired.
    let next = store.acquire_lease("c1", "tick-b", now + 120_000, now + 1).await.unwrap().expect("released");
    assert_eq!(next.cursors, cursors("new"), "the next run starts where this one ended");
}
contract!(finishing_a_run_saves_it_writes_the_cursors_and_releases_the_lease);

async fn finishing_after_losing_the_lease_saves_only_the_run(store: &dyn StateStore, _: Option<&TestTable>) {
    let now = 5_000_000;
    store.put_cursors("c1", &cursors("old")).await.unwrap();
    store.acquire_lease("c1", "tick-a", now + 10, now).await.unwrap().expect("free");
    // tick-a overran its lease, and tick-b took the connection.
    store.acquire_lease("c1", "tick-b", now + 60_000, now + 20).await.unwrap().expect("expired");

    let late = run("c1", now, RunOutcome::Success);
    assert!(!store.finish_run(&late, "tick-a", Some(&cursors("late"))).await.unwrap(), "the lease was not ours any more");
    assert_eq!(store.latest_runs("c1", 5).await.unwrap(), std::slice::from_ref(&late), "the run is saved anyway");
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("old"), "the late run's cursors are not written");
    assert_eq!(
        store.acquire_lease("c1", "tick-c", now + 90_000, now + 30).await.unwrap(),
        Err(LeaseError::Held { expires_at: now + 60_000 }),
        "tick-b keeps its lease"
    );

    // tick-b, still the holder, finishes normally.
    let current = run("c1", now + 20, RunOutcome::Success);
    assert!(store.finish_run(&current, "tick-b", Some(&cursors("b"))).await.unwrap());
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("b"));
    assert_eq!(store.latest_runs("c1", 5).await.unwrap(), [current, late]);

    // A run that never held a lease on its connection: saved, nothing else written.
    let stray = run("c2", now, RunOutcome::Failed);
    assert!(!store.finish_run(&stray, "tick-z", Some(&cursors("stray"))).await.unwrap());
    assert_eq!(store.latest_runs("c2", 5).await.unwrap(), [stray]);
    assert_eq!(store.get_cursors("c2").await.unwrap(), Cursors::default());
}
contract!(finishing_after_losing_the_lease_saves_only_the_run);

async fn finishing_without_cursors_keeps_the_stored_ones(store: &dyn StateStore, table: Option<&TestTable>) {
    let now = 6_000_000;
    store.put_cursors("c1", &cursors("old")).await.unwrap();
    store.acquire_lease("c1", "tick-a", now + 60_000, now).await.unwrap().expect("free");
    let finished = run("c1", now, RunOutcome::Failed);
    reset(table);
    assert!(store.finish_run(&finished, "tick-a", None).await.unwrap());
    assert_requests(table, &[("TransactWriteItems", 1)], "finish_run without cursors");
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors("old"));
    assert_eq!(store.latest_runs("c1", 5).await.unwrap(), [finished]);
    assert!(store.acquire_lease("c1", "tick-b", now + 60_000, now + 1).await.unwrap().is_ok(), "released");
}
contract!(finishing_without_cursors_keeps_the_stored_ones);

async fn links_are_found_by_many_resource_names_and_emails(store: &dyn StateStore, table: Option<&TestTable>) {
    let z1 = link("c1", "z1", "people/c1", Some("ann@example.com"));
    let z2 = link("c1", "z2", "people/c2", Some("ann@example.com"));
    let z3 = link("c1", "z3", "people/c3", Some("bob@example.com"));
    let z4 = link("c1", "z4", "people/c4", None);
    // Same keys on another connection: never returned for c1.
    let other = link("c2", "z9", "people/c1", Some("ann@example.com"));
    store.save_links(&[z1.clone(), z2.clone(), z3.clone(), z4.clone(), other.clone()]).await.unwrap();

    reset(table);
    let names = ["people/c3", "people/c1", "people/unknown", "people/c1", "people/c4"].map(String::from);
    assert_eq!(store.links_by_resource_names("c1", &names).await.unwrap(), [z1.clone(), z3.clone(), z4.clone()]);
    // One batch of pointers, one batch of links.
    assert_requests(table, &[("BatchGetItem", 2)], "links_by_resource_names");

    reset(table);
    let emails = [" Ann@Example.COM", "bob@example.com", "nobody@example.com", "ann@example.com", "  "].map(String::from);
    assert_eq!(
        store.links_by_emails("c1", &emails).await.unwrap(),
        [z1.clone(), z2.clone(), z3.clone()],
        "links sharing an email come back once each"
    );
    // A query per distinct email, then one batch read of every link found.
    assert_requests(table, &[("BatchGetItem", 1), ("Query", 3)], "links_by_emails");

    assert_eq!(store.links_by_resource_names("c2", &["people/c1".into()]).await.unwrap(), std::slice::from_ref(&other));
    assert_eq!(store.links_by_emails("c2", &["ann@example.com".into()]).await.unwrap(), [other]);
    assert!(store.links_by_resource_names("c3", &names).await.unwrap().is_empty());
    assert!(store.links_by_emails("c3", &emails).await.unwrap().is_empty());

    // Nothing to look up, nothing asked.
    reset(table);
    assert!(store.links_by_resource_names("c1", &[]).await.unwrap().is_empty());
    assert!(store.links_by_emails("c1", &[]).await.unwrap().is_empty());
    assert!(store.links_by_emails("c1", &["  ".into()]).await.unwrap().is_empty());
    assert_requests(table, &[], "empty look-ups");

    // After an email change and a resourceName change the old keys no longer find the links.
    let z1_moved = link("c1", "z1", "people/c1", Some("carol@example.com"));
    let z3_moved = link("c1", "z3", "people/c33", Some("bob@example.com"));
    store.save_links(&[z1_moved.clone(), z3_moved.clone()]).await.unwrap();
    assert_eq!(store.links_by_emails("c1", &["ann@example.com".into()]).await.unwrap(), std::slice::from_ref(&z2));
    assert_eq!(store.links_by_emails("c1", &["carol@example.com".into()]).await.unwrap(), std::slice::from_ref(&z1_moved));
    assert!(store.links_by_resource_names("c1", &["people/c3".into()]).await.unwrap().is_empty());
    assert_eq!(
        store.links_by_resource_names("c1", &["people/c3".into(), "people/c33".into(), "people/c1".into()]).await.unwrap(),
        [z1_moved, z3_moved]
    );
}
contract!(links_are_found_by_many_resource_names_and_emails);

async fn many_resource_names_are_read_in_batches(store: &dyn StateStore, table: Option<&TestTable>) {
    let links: Vec<Link> = (0..150).map(|i| link("c1", &format!("z{i:03}"), &format!("people/c{i}"), None)).collect();
    store.save_links(&links).await.unwrap();
    let names: Vec<String> = links.iter().map(|l| l.google_resource_name.clone()).collect();
    reset(table);
    if let Some(t) = table {
        // DynamoDB may leave part of a batch unprocessed; those keys must be asked for again.
        t.proxy.withhold_next_reads(2);
    }
    assert_eq!(store.links_by_resource_names("c1", &names).await.unwrap(), links);
    if let Some(t) = table {
        assert!(t.proxy.withheld_total() > 0, "the proxy withheld keys");
        // 150 pointers and 150 links: 2 batches of at most 100 keys each, plus the retries.
        assert!(t.proxy.count("BatchGetItem") >= 6, "{:?}", t.proxy.counts());
    }
}
contract!(many_resource_names_are_read_in_batches);

fn oauth_state(state: &str, expires_at: EpochMillis) -> OAuthState {
    OAuthState {
        state: state.into(),
        provider: Provider::Google,
        connection_id: Some("c1".into()),
        pkce_verifier: Some("verifier".into()),
        expires_at,
    }
}

async fn an_oauth_state_is_consumed_once(store: &dyn StateStore, _: Option<&TestTable>) {
    let now = 10_000;
    store.put_oauth_state(&oauth_state("s1", now + 600_000)).await.unwrap();
    assert_eq!(store.consume_oauth_state("s1", now).await.unwrap(), Ok(oauth_state("s1", now + 600_000)));
    assert_eq!(store.consume_oauth_state("s1", now).await.unwrap(), Err(OAuthStateError::UnknownOrUsed));
    assert_eq!(store.consume_oauth_state("never-issued", now).await.unwrap(), Err(OAuthStateError::UnknownOrUsed));
    // An expired state is refused even before TTL removes it.
    store.put_oauth_state(&oauth_state("s2", now + 5)).await.unwrap();
    assert_eq!(store.consume_oauth_state("s2", now + 6).await.unwrap(), Err(OAuthStateError::UnknownOrUsed));
    // A state value is never issued twice.
    assert!(matches!(store.put_oauth_state(&oauth_state("s3", now + 5)).await, Ok(())));
    assert!(matches!(store.put_oauth_state(&oauth_state("s3", now + 5)).await, Err(StoreError::Conflict(_))));
}
contract!(an_oauth_state_is_consumed_once);

async fn cursors_round_trip(store: &dyn StateStore, _: Option<&TestTable>) {
    assert_eq!(store.get_cursors("c1").await.unwrap(), Cursors::default());
    let cursors = Cursors {
        zoho_modified_since: Some("2026-11-01T10:00:00+00:00".into()),
        zoho_page_token: Some("pt".into()),
        zoho_deleted_since: None,
        google_sync_token: Some("st".into()),
        google_page_token: None,
        first_sync_done: true,
        updated_at: 7,
    };
    store.put_cursors("c1", &cursors).await.unwrap();
    assert_eq!(store.get_cursors("c1").await.unwrap(), cursors);
    assert_eq!(store.get_cursors("c2").await.unwrap(), Cursors::default());
}
contract!(cursors_round_trip);

fn pending(conn: &str, rn: &str, hash: &str, expires_at: EpochMillis) -> PendingCreate {
    PendingCreate {
        connection_id: conn.into(),
        google_resource_name: rn.into(),
        field_hashes: BTreeMap::from([("Last_Name".to_string(), hash.repeat(32))]),
        created_at: 10,
        expires_at,
    }
}

async fn pending_creates_are_kept_per_person_until_deleted_or_expired(store: &dyn StateStore, _: Option<&TestTable>) {
    store.save_pending_creates(&[pending("c1", "people/c9", "ab", 1_000), pending("c1", "people/c10", "cd", 1_000)]).await.unwrap();
    store.save_pending_creates(&[pending("c2", "people/c9", "ef", 1_000)]).await.unwrap();
    assert_eq!(
        store.pending_creates("c1", 500).await.unwrap(),
        [pending("c1", "people/c10", "cd", 1_000), pending("c1", "people/c9", "ab", 1_000)],
        "ordered by resourceName"
    );
    // A marker for the same person replaces the earlier one; one past its expiry is not returned.
    store.save_pending_creates(&[pending("c1", "people/c9", "12", 2_000)]).await.unwrap();
    assert_eq!(store.pending_creates("c1", 1_000).await.unwrap(), [pending("c1", "people/c9", "12", 2_000)]);
    assert!(store.all_links("c1").await.unwrap().is_empty(), "markers are not links");

    store.delete_pending_creates("c1", &["people/c9".into(), "people/unknown".into()]).await.unwrap();
    assert_eq!(store.pending_creates("c1", 500).await.unwrap(), [pending("c1", "people/c10", "cd", 1_000)]);
    assert_eq!(store.pending_creates("c2", 500).await.unwrap(), [pending("c2", "people/c9", "ef", 1_000)], "other connections keep theirs");
    store.delete_pending_creates("c1", &[]).await.unwrap();
}
contract!(pending_creates_are_kept_per_person_until_deleted_or_expired);

fn run(conn: &str, started_at: i64, outcome: RunOutcome) -> RunRecord {
    RunRecord {
        connection_id: conn.into(),
        run_id: format!("r{started_at}"),
        started_at,
        ended_at: Some(started_at + 10),
        outcome,
        zoho: SideCounts { created: 1, updated: 2, deleted: 0, unlinked: 0, conflicts: 1, errors: 0 },
        google: SideCounts { created: 3, ..SideCounts::default() },
        last_error: None,
        log: vec!["conflict zoho_id=1 field=Phone policy=zoho_wins".into()],
        record_errors: vec![RecordError { side: Provider::Zoho, record_id: "4100".into(), code: "DUPLICATE_DATA".into() }],
    }
}

async fn latest_runs_come_newest_first(store: &dyn StateStore, _: Option<&TestTable>) {
    for t in [900, 10_000, 50, 2_000] {
        store.put_run(&run("c1", t, RunOutcome::Success)).await.unwrap();
    }
    store.put_run(&run("c2", 99_999, RunOutcome::Failed)).await.unwrap();
    let latest = store.latest_runs("c1", 3).await.unwrap();
    let starts: Vec<i64> = latest.iter().map(|r| r.started_at).collect();
    assert_eq!(starts, [10_000, 2_000, 900]);
    assert_eq!(latest[0], run("c1", 10_000, RunOutcome::Success));
    // A run updated when it ends replaces the running record.
    let mut finishing = run("c1", 20_000, RunOutcome::Running);
    store.put_run(&finishing).await.unwrap();
    finishing.outcome = RunOutcome::Partial;
    store.put_run(&finishing).await.unwrap();
    let latest = store.latest_runs("c1", 10).await.unwrap();
    assert_eq!(latest.len(), 5);
    assert_eq!(latest[0].outcome, RunOutcome::Partial);
}
contract!(latest_runs_come_newest_first);

/// About 1.5 KB per link: 900 links make a partition well past DynamoDB's 1 MB page.
fn big_link(i: usize) -> Link {
    let mut l = link("big", &format!("{i:019}"), &format!("people/c{i}"), Some(&format!("p{i}@example.com")));
    for f in 0..20 {
        l.field_hashes.insert(format!("Field_{f:02}"), format!("{:064x}", i * 100 + f));
    }
    l
}

async fn a_result_larger_than_1mb_comes_back_whole(store: &dyn StateStore, table: Option<&TestTable>) {
    let links: Vec<Link> = (0..900).map(big_link).collect();
    let bytes: usize = links.iter().map(|l| serde_json::to_string(l).unwrap().len()).sum();
    assert!(bytes > 1_100_000, "the fixture must exceed 1 MB, it is {bytes} bytes");
    store.save_links(&links).await.unwrap();
    if let Some(t) = table {
        t.proxy.reset_counts();
    }
    let mut all = store.all_links("big").await.unwrap();
    all.sort_by(|a, b| a.zoho_id.cmp(&b.zoho_id));
    assert_eq!(all.len(), 900);
    assert_eq!(all, links);
    if let Some(t) = table {
        assert!(t.proxy.count("Query") >= 2, "DynamoDB paged the result: {:?}", t.proxy.counts());
    }
}
contract!(a_result_larger_than_1mb_comes_back_whole);

async fn unprocessed_batch_items_are_retried(store: &dyn StateStore, table: Option<&TestTable>) {
    let links: Vec<Link> = (0..60).map(|i| link("c1", &format!("z{i:03}"), &format!("people/c{i}"), Some(&format!("p{i}@x.com")))).collect();
    if let Some(t) = table {
        // DynamoDB answers part of a batch as unprocessed under load; the proxy plays that part.
        t.proxy.withhold_next_writes(6);
    }
    store.save_links(&links).await.unwrap();
    if let Some(t) = table {
        assert!(t.proxy.withheld_total() > 0, "the proxy withheld written items");
        t.proxy.withhold_next_reads(3);
    }
    let ids: Vec<String> = links.iter().map(|l| l.zoho_id.clone()).collect();
    let mut read = store.links_by_zoho_ids("c1", &ids).await.unwrap();
    read.sort_by(|a, b| a.zoho_id.cmp(&b.zoho_id));
    assert_eq!(read, links, "every item written and read back despite unprocessed batches");
    for l in &links {
        assert!(store.link_by_resource_name("c1", &l.google_resource_name).await.unwrap().is_some());
    }
    if let Some(t) = table {
        // 60 links = 180 items = 8 write batches of 25; withheld halves add more calls.
        assert!(t.proxy.count("BatchWriteItem") > 8, "{:?}", t.proxy.counts());
        assert!(t.proxy.count("BatchGetItem") > 2, "unprocessed keys were asked for again: {:?}", t.proxy.counts());
    }
}
contract!(unprocessed_batch_items_are_retried);
