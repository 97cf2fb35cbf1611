//! The engine over the in-memory fake: the rules a user notices, fast.

use serde_json::json;
use shared::settings::Settings;
use shared::store::RunOutcome;
use sync_tests::sync_support::harness::{person, record};
use sync_tests::sync_support::world::FakeWorld;

#[tokio::test]
async fn first_sync_matches_by_email_and_creates_the_rest() {
    let mut w = FakeWorld::new(Settings::default());
    for i in 0..5 {
        w.apis.user_adds_record(record("Z", &format!("Shared{i}"), Some(&format!("shared{i}@example.com")), None), true);
        w.apis.user_adds_person(person("Z", &format!("Shared{i}"), Some(&format!("  SHARED{i}@Example.com ")), None), true);
    }
    w.apis.user_adds_record(record("Only", "Zoho", Some("oz@example.com"), Some("+1 555 0100")), true);
    w.apis.user_adds_person(person("Only", "Google", Some("og@example.com"), None), true);
    w.apis.user_adds_record(record("No", "Email", None, Some("+1 555 0101")), true);
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    assert_eq!(w.links().await.len(), 8);
    assert_eq!(w.apis.people().len(), 8, "2 created in Google, no duplicate of the 5 shared");
    assert_eq!(w.apis.records().len(), 8);
    w.converged().await.unwrap();
    let second = w.tick().await;
    assert_eq!((second.google.created, second.zoho.created, second.google.updated, second.zoho.updated), (0, 0, 0, 0), "{second:?}");
}

/// A person takes over an email another linked person gives up in the same tick: the Zoho
/// record changes its email before the new person's upsert runs, so the upsert makes a new record.
#[tokio::test]
async fn an_email_freed_and_taken_in_one_tick_makes_no_duplicate() {
    let mut w = FakeWorld::new(Settings::default());
    let p1 = w.apis.user_adds_person(person("G", "P1", Some("POOL4@Example.com"), None), true);
    w.tick().await;
    w.apis.user_edits_person(&p1, |p| p["emailAddresses"] = json!([{"value": "fresh1@example.com", "type": "work"}]));
    w.apis.user_adds_person(person("G", "P2", Some("POOL4@Example.com"), None), true);
    w.tick().await;
    w.tick().await;
    assert_eq!(w.apis.records().len(), 2);
    w.converged().await.unwrap();
}

/// A pair matched by email whose fields also needed an update gets its link (the update and the
/// Zoho id stamp go in one write), so a later delete propagates.
#[tokio::test]
async fn a_matched_pair_with_a_conflict_is_linked_and_a_delete_then_propagates() {
    let mut w = FakeWorld::new(Settings::default());
    w.apis.user_adds_person(person("G", "P0", Some("POOL0@Example.com"), None), true);
    let r = w.apis.user_adds_record(record("Z", "R0", Some("pool0@example.com"), None), true);
    let run = w.tick().await;
    assert_eq!(run.google.conflicts, 2, "first and last name: Google's values lost");
    assert_eq!(w.links().await.len(), 1);
    w.apis.user_deletes_record(&r);
    let run = w.tick().await;
    assert_eq!(run.google.deleted, 1, "{run:?}");
    assert!(w.apis.people().is_empty());
    w.converged().await.unwrap();
}
