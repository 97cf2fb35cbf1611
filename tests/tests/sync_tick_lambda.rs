//! End to end on DynamoDB (moto): the engine on a `DynamoStore`, and the `sync-tick` binary
//! through the Lambda Runtime API with Secrets Manager (moto) and both emulators.

use serde_json::json;
use shared::secrets::SecretsManagerVault;
use shared::store::*;
use sync_tests::aws::fresh_table;
use sync_tests::functions::function_env;
use sync_tests::lambda::{workspace_binary, LambdaProcess};
use sync_tests::sync_support::emu_world::EmuWorld;
use sync_tests::sync_support::harness::{person, record, SyncHarness, ZOHO_USER};

#[tokio::test]
async fn the_engine_syncs_on_dynamodb_and_a_second_tick_changes_nothing() {
    let table = fresh_table().await;
    let proxy = table.proxy.clone();
    let mut w = EmuWorld::new(table.store, |_| {}).await;
    w.h.add_records(&(0..30).map(|i| record("D", &format!("N{i}"), Some(&format!("d{i}@example.com")), None)).collect::<Vec<_>>(), true);
    w.h.add_people(vec![person("D", "N0", Some("D0@example.com"), None), person("G", "Only", None, Some("+1 555 0100"))], true);
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    assert_eq!(w.links().await.len(), 31);
    w.converged().await.unwrap();
    proxy.reset_counts();
    let again = w.tick().await;
    assert_eq!((again.google.created, again.zoho.created, again.zoho.updated, again.google.updated), (0, 0, 0, 0));
    assert_eq!(proxy.count("BatchWriteItem"), 0, "an idle tick writes no links");
    let runs = w.store.latest_runs(&w.h.connection.id, 5).await.unwrap();
    assert_eq!(runs.len(), 2);
}

/// Requests per endpoint since the last reset, both emulators.
fn api_calls(w: &EmuWorld<shared::store::dynamo::DynamoStore>) -> std::collections::BTreeMap<String, u64> {
    let mut calls = w.h.google.control.counters();
    calls.extend(w.h.zoho.control.counters().into_iter().map(|(k, v)| (format!("zoho {k}"), v)));
    calls.retain(|k, _| !k.contains("token"));
    calls
}

#[tokio::test]
async fn an_idle_tick_costs_two_store_requests_and_three_api_calls_and_a_small_change_reads_only_its_links() {
    let table = fresh_table().await;
    let proxy = table.proxy.clone();
    let mut w = EmuWorld::new(table.store, |_| {}).await;
    w.h.add_records(&(0..30).map(|i| record("D", &format!("N{i}"), Some(&format!("d{i}@example.com")), None)).collect::<Vec<_>>(), true);
    w.h.add_people(vec![person("G", "Only", None, Some("+1 555 0100"))], true);
    assert_eq!(w.tick().await.outcome, RunOutcome::Success);
    // The next tick sees the first sync's own writes once (the cursor trails Zoho's clock by the
    // overlap); an hour later they are behind the cursor.
    w.h.zoho.advance_clock(std::time::Duration::from_secs(3600));
    assert_eq!(w.tick().await.outcome, RunOutcome::Success);
    w.h.zoho.advance_clock(std::time::Duration::from_secs(3600));
    let runs_before = w.store.latest_runs(&w.h.connection.id, 10).await.unwrap().len();

    proxy.reset_counts();
    w.h.google.control.reset_counters();
    w.h.zoho.control.reset_counters();
    let idle = w.tick().await;
    assert_eq!(idle.outcome, RunOutcome::Success, "{idle:?}");
    assert_eq!(proxy.counts(), [("TransactWriteItems".to_string(), 1), ("UpdateItem".to_string(), 1)].into(), "lease with the cursors, then run + release + cursors");
    let calls = api_calls(&w);
    assert_eq!(calls.values().sum::<u64>(), 3, "{calls:?}");
    assert_eq!(w.h.zoho.list_calls().last().map(|c| c.status), Some(304), "Zoho: nothing modified since the cursor");
    assert_eq!(w.store.latest_runs(&w.h.connection.id, 10).await.unwrap().len(), runs_before + 1, "the idle run is on record");

    // One record edited: its link is read by key, not with the connection's whole link list.
    let id = w.links().await[0].zoho_id.clone();
    w.h.zoho.edit_contact(ZOHO_USER, &id, &json!({"First_Name": "Dora"})).expect("edit");
    proxy.reset_counts();
    let run = w.tick().await;
    assert_eq!((run.outcome, run.google.updated), (RunOutcome::Success, 1), "{run:?}");
    assert_eq!(proxy.count("Query"), 0, "no listing of all links: {:?}", proxy.counts());
    assert!(proxy.count("BatchGetItem") >= 1);
    w.converged().await.unwrap();
}

#[tokio::test]
async fn the_tick_binary_syncs_every_connection_on_its_frequency_and_survives_a_revoked_grant() {
    let table = fresh_table().await;
    let h = SyncHarness::start().await;
    let env = function_env(&table.table, &h.google.base_url, &h.zoho.base_url).await;
    let vault = SecretsManagerVault::new(env.secrets.clone(), env.secret_prefix.clone());
    h.connect(&vault).await.expect("connect");
    table.store.put_connection(&h.connection).await.unwrap();
    h.add_records(&[record("Ann", "Lee", Some("ann@example.com"), None)], true);
    h.add_people(vec![person("Bob", "Ray", Some("bob@example.com"), None)], true);
    let mut tick = LambdaProcess::start(workspace_binary("sync-tick"), &env.vars).await.expect("start sync-tick");

    // Bad events change nothing.
    let calls_before = h.google.control.total_calls() + h.zoho.control.total_calls();
    let bad = tick.invoke(&json!({"frequency": "2h"})).await;
    assert!(bad.is_err_and(|e| e.to_string().contains("unknown frequency")));
    assert!(tick.invoke(&json!({"freq": "1h"})).await.is_err());
    assert_eq!(h.google.control.total_calls() + h.zoho.control.total_calls(), calls_before);
    assert!(tick.invoke(&json!({"health": true})).await.is_ok());

    let summary = tick.invoke(&json!({"frequency": "1h"})).await.expect("tick");
    assert_eq!(summary["connections"], 1, "{summary}");
    assert_eq!(summary["succeeded"], 1, "{summary}");
    assert_eq!(h.google.state.people(&h.account).len(), 2);
    assert_eq!(h.zoho.contacts(ZOHO_USER).unwrap().len(), 2);
    let other = tick.invoke(&json!({"frequency": "15m"})).await.expect("tick");
    assert_eq!(other["connections"], 0, "another schedule's connections are not touched");

    // "Sync now" from the settings page: one connection by id; an edit made since flows over.
    h.add_records(&[record("Cy", "Moe", Some("cy@example.com"), None)], true);
    let now = tick.invoke(&json!({"connection_id": h.connection.id})).await.expect("sync now");
    assert_eq!((now["connections"].as_u64(), now["succeeded"].as_u64()), (Some(1), Some(1)), "{now}");
    assert_eq!(h.google.state.people(&h.account).len(), 3);
    let unknown = tick.invoke(&json!({"connection_id": "no-such-connection"})).await.expect("sync now");
    assert_eq!(unknown["connections"], 0, "an unknown connection is not an error (Lambda may retry after a disconnect)");

    // A connection without a chosen group and list is connected but not synced.
    let mut unconfigured = h.connection.clone();
    unconfigured.id = "unconfigured".into();
    unconfigured.settings.zoho_cvid = None;
    table.store.put_connection(&unconfigured).await.unwrap();
    let summary = tick.invoke(&json!({"frequency": "1h"})).await.expect("tick");
    assert_eq!(summary["not_configured"], 1, "{summary}");
    table.store.put_connection(&Connection { enabled: false, ..unconfigured }).await.unwrap();

    // The user revokes Google: the connection is marked, the tick itself succeeds.
    h.google.state.revoke_grants(&h.account);
    h.google.state.expire_access_tokens();
    let summary = tick.invoke(&json!({"frequency": "1h"})).await.expect("tick");
    assert_eq!(summary["reconnect_needed"], 1, "{summary}");
    let connection = table.store.get_connection(&h.connection.id).await.unwrap().unwrap();
    assert!(connection.reconnect_needed);
    let runs = table.store.latest_runs(&h.connection.id, 1).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::ReconnectNeeded);

    let logs = tick.logs().join("\n");
    for secret in ["ann@example.com", "bob@example.com", "cy@example.com", "Ann", "refresh_token"] {
        assert!(!logs.contains(secret), "the logs hold no contact data or tokens ({secret})");
    }
    assert!(logs.contains("tick done"), "{logs}");
}
