//! The sync engine against both HTTP emulators (real clients and adapters) on a SQLite store:
//! what a user of the product sees happen to their contacts.

use serde_json::{json, Value};
use shared::settings::{ConflictPolicy, DeletionHandling};
use shared::store::sqlite::SqliteStore;
use shared::store::*;
use shared::sync::engine::ConnectionRun;
use sync_tests::emulators::common::{Fault, FaultRule};
use sync_tests::emulators::google::ContactFault;
use sync_tests::emulators::zoho::RecordFailure;
use sync_tests::sync_support::emu_world::EmuWorld;
use sync_tests::sync_support::harness::{person, record, LIST_FIELD, OUT_OF_LIST, ZOHO_USER};

const CONNECTIONS: &str = "GET /v1/people/me/connections";
const BATCH_GET: &str = "GET /v1/people:batchGet";

async fn world() -> EmuWorld<SqliteStore> {
    EmuWorld::new(SqliteStore::in_memory().expect("sqlite"), |_| {}).await
}

async fn world_with(adjust: impl FnOnce(&mut Connection)) -> EmuWorld<SqliteStore> {
    EmuWorld::new(SqliteStore::in_memory().expect("sqlite"), adjust).await
}

fn by_email<'a>(people: &'a [Value], email: &str) -> Vec<&'a Value> {
    people.iter().filter(|p| p.pointer("/emailAddresses/0/value").and_then(Value::as_str).is_some_and(|e| e.trim().eq_ignore_ascii_case(email))).collect()
}

fn zoho_id(w: &EmuWorld<SqliteStore>, email: &str) -> String {
    w.h.zoho.contacts_with_email(ZOHO_USER, email).expect("contacts")[0]["id"].as_str().expect("id").to_string()
}

fn field<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

#[tokio::test]
async fn first_sync_links_shared_emails_once_and_creates_the_rest() {
    let mut w = world().await;
    let shared: Vec<String> = (0..5).map(|i| format!("shared{i}@example.com")).collect();
    w.h.add_records(&shared.iter().map(|e| record("Zed", e, Some(e), None)).collect::<Vec<_>>(), true);
    // Case and whitespace differ on the Google side.
    w.h.add_people(shared.iter().map(|e| person("Zed", e, Some(&format!("  {}  ", e.to_uppercase())), None)).collect(), true);
    w.h.add_records(&[record("No", "Email", None, Some("+1 555 0101")), record("Only", "Zoho", Some("oz@example.com"), None)], true);
    w.h.add_people(vec![person("Only", "Google", Some("og@example.com"), None), person("No", "Mail", None, Some("+1 555 0102"))], true);

    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    assert_eq!(w.links().await.len(), 9);
    assert_eq!((run.google.created, run.zoho.created), (2, 2));
    let people = w.people();
    assert_eq!(people.len(), 9, "no duplicate of the 5 shared contacts");
    for email in &shared {
        assert_eq!(by_email(&people, email).len(), 1);
    }
    let created = by_email(&people, "oz@example.com")[0];
    assert!(created.to_string().contains(&w.h.group), "a contact created in Google joins the group");
    assert_eq!(w.records().len(), 9);
    w.converged().await.unwrap();

    w.h.google.control.reset_counters();
    let again = w.tick().await;
    assert_eq!(again.outcome, RunOutcome::Success);
    assert_eq!((again.google.created, again.zoho.created, again.google.updated, again.zoho.updated), (0, 0, 0, 0), "our own writes echo back as no change");
    assert_eq!(w.h.google.control.count("POST /v1/people:batchUpdateContacts"), 0);
}

#[tokio::test]
async fn edits_flow_both_ways_and_a_same_field_conflict_follows_the_policy() {
    let mut w = world_with(|c| c.settings.conflict_policy = ConflictPolicy::GoogleWins).await;
    w.h.add_records(&[record("Ann", "Lee", Some("ann@example.com"), Some("+1 555 0001")), record("Bob", "Ray", Some("bob@example.com"), None)], true);
    w.tick().await;
    w.converged().await.unwrap();
    let people = w.people();
    let ann_rn = field(by_email(&people, "ann@example.com")[0], "/resourceName").to_string();
    let bob_rn = field(by_email(&people, "bob@example.com")[0], "/resourceName").to_string();

    // Zoho edits Ann's phone; Google edits Bob's family name; both edit Ann's first name.
    w.h.zoho.edit_contact(ZOHO_USER, &zoho_id(&w, "ann@example.com"), &json!({"Phone": "+1 555 0002", "First_Name": "Annie"})).unwrap();
    w.h.google.state.edit_person(&w.h.account, &bob_rn, |p| p["names"][0]["familyName"] = json!("Raymond"));
    w.h.google.state.edit_person(&w.h.account, &ann_rn, |p| p["names"][0]["givenName"] = json!("Anna"));
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    w.converged().await.unwrap();
    let ann = w.h.zoho.contacts_with_email(ZOHO_USER, "ann@example.com").unwrap().remove(0);
    assert_eq!(field(&ann, "/First_Name"), "Anna", "Google wins the same-field conflict");
    assert_eq!(field(&ann, "/Phone"), "+1 555 0002", "a field only Zoho changed is kept");
    let bob = w.h.zoho.contacts_with_email(ZOHO_USER, "bob@example.com").unwrap().remove(0);
    assert_eq!(field(&bob, "/Last_Name"), "Raymond");
    assert!(run.log.iter().any(|l| l.starts_with("conflict") && l.contains("First_Name") && !l.contains("Ann")), "logged without values: {:?}", run.log);
    assert_eq!(run.zoho.conflicts, 1, "Zoho's change lost");
}

#[tokio::test]
async fn deletions_propagate_and_unlink_and_keep_keeps_the_other_side() {
    let mut w = world().await;
    w.h.add_records(&[record("A", "One", Some("a@example.com"), None), record("B", "Two", Some("b@example.com"), None)], true);
    w.tick().await;
    w.h.zoho.delete_contact(ZOHO_USER, &zoho_id(&w, "a@example.com"), false).unwrap();
    let b_rn = field(by_email(&w.people(), "b@example.com")[0], "/resourceName").to_string();
    w.h.google.state.delete_person(&w.h.account, &b_rn);
    let run = w.tick().await;
    assert_eq!((run.google.deleted, run.zoho.deleted), (1, 1), "{run:?}");
    assert!(w.people().is_empty() && w.records().is_empty());
    assert!(w.links().await.is_empty());

    let mut keep = world_with(|c| c.settings.deletion = DeletionHandling::UnlinkAndKeep).await;
    keep.h.add_records(&[record("C", "Three", Some("c@example.com"), None)], true);
    keep.tick().await;
    keep.h.zoho.delete_contact(ZOHO_USER, &zoho_id(&keep, "c@example.com"), false).unwrap();
    let run = keep.tick().await;
    assert_eq!((run.google.deleted, run.zoho.unlinked), (0, 1), "{run:?}");
    assert_eq!(keep.people().len(), 1, "the Google contact stays");
    assert!(keep.links().await.is_empty());
}

#[tokio::test]
async fn leaving_the_group_or_the_list_unlinks_and_both_contacts_stay() {
    let mut w = world().await;
    w.h.add_records(&[record("A", "One", Some("a@example.com"), None), record("B", "Two", Some("b@example.com"), None)], true);
    w.tick().await;
    assert_eq!(w.links().await.len(), 2);
    w.h.zoho.edit_contact(ZOHO_USER, &zoho_id(&w, "a@example.com"), &json!({ LIST_FIELD: OUT_OF_LIST })).unwrap();
    let b_rn = field(by_email(&w.people(), "b@example.com")[0], "/resourceName").to_string();
    let group = w.h.group.clone();
    w.h.google.state.edit_person(&w.h.account, &b_rn, |p| p["memberships"] = json!([]));
    let run = w.tick().await;
    assert_eq!((run.zoho.unlinked, run.google.unlinked), (1, 1), "{run:?}");
    assert!(w.links().await.is_empty());
    assert_eq!((w.people().len(), w.records().len()), (2, 2), "nothing deleted");
    assert!(!w.people().iter().any(|p| p.to_string().contains(&group) && field(p, "/resourceName") == b_rn));
}

#[tokio::test]
async fn an_expired_sync_token_reconciles_through_the_links_without_duplicates() {
    let mut w = world().await;
    w.h.add_records(&(0..6).map(|i| record("P", &format!("N{i}"), Some(&format!("p{i}@example.com")), None)).collect::<Vec<_>>(), true);
    w.h.add_people(vec![person("G", "One", Some("g1@example.com"), None)], true);
    w.tick().await;
    w.h.google.state.expire_sync_tokens(Some(&w.h.account), Some(410));
    w.h.zoho.edit_contact(ZOHO_USER, &zoho_id(&w, "p1@example.com"), &json!({"Title": "CTO"})).unwrap();
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    assert!(run.log.iter().any(|l| l.contains("sync token expired")));
    assert_eq!((run.google.created, run.zoho.created), (0, 0));
    assert_eq!(w.people().len(), 7);
    w.converged().await.unwrap();
    assert_eq!(field(by_email(&w.people(), "p1@example.com")[0], "/organizations/0/title"), "CTO");
}

/// Rule 4 after an expired sync token: the full listing has no tombstones, so linked people it
/// does not show are read by name. Only Google's NOT_FOUND deletes the Zoho record; a person the
/// listing merely missed (made by the sync minutes ago, not in listings yet) stays linked, and
/// one found outside the group is unlinked with both contacts kept.
#[tokio::test]
async fn after_an_expired_sync_token_only_people_google_says_are_gone_are_deleted_in_zoho() {
    let mut w = world().await;
    // Contacts made from now on show in listings an hour later; batchGet reads them at once.
    w.h.google.state.set_consistency_delay(std::time::Duration::from_secs(3600));
    w.h.add_records(&[record("A", "Missed", Some("missed@example.com"), None), record("B", "Gone", Some("gone@example.com"), None), record("C", "Moved", Some("moved@example.com"), None)], true);
    assert_eq!(w.tick().await.google.created, 3);
    let people = w.people();
    let rn_of = |email: &str| field(by_email(&people, email)[0], "/resourceName").to_string();
    let (missed, gone, moved) = (rn_of("missed@example.com"), rn_of("gone@example.com"), rn_of("moved@example.com"));
    w.h.google.state.delete_person(&w.h.account, &gone);
    w.h.google.state.edit_person(&w.h.account, &moved, |p| p["memberships"] = json!([]));
    w.h.google.state.expire_sync_tokens(Some(&w.h.account), None);
    w.h.google.control.reset_counters();

    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    assert_eq!(w.h.google.control.count(BATCH_GET), 1, "the three missing people in one call");
    assert_eq!((run.zoho.deleted, run.google.unlinked), (1, 1), "{run:?}");
    let mut emails: Vec<String> = w.records().iter().map(|r| field(r, "/Email").to_string()).collect();
    emails.sort();
    assert_eq!(emails, ["missed@example.com", "moved@example.com"]);
    let links = w.links().await;
    assert_eq!(links.iter().map(|l| l.google_resource_name.as_str()).collect::<Vec<_>>(), [missed.as_str()]);
    assert!(run.log.iter().any(|l| l.contains("3 linked people missing from the full listing: 1 deleted")), "{:?}", run.log);
}

/// A Zoho edit to a linked contact whose person the incremental feed did not bring: the person
/// is read by name (`people:batchGet`), not with a full listing.
#[tokio::test]
async fn a_zoho_edit_to_a_linked_contact_reads_its_person_by_name_not_with_a_full_listing() {
    let mut w = world().await;
    w.h.add_records(&(0..3).map(|i| record("P", &format!("N{i}"), Some(&format!("p{i}@example.com")), None)).collect::<Vec<_>>(), true);
    w.tick().await;
    w.tick().await; // the sync's own creates echo back once
    w.h.zoho.edit_contact(ZOHO_USER, &zoho_id(&w, "p1@example.com"), &json!({"Title": "CTO"})).unwrap();
    w.h.google.control.reset_counters();

    let run = w.tick().await;
    assert_eq!((run.outcome, run.google.updated), (RunOutcome::Success, 1), "{run:?}");
    assert_eq!(w.h.google.control.count(CONNECTIONS), 1, "the incremental feed only");
    assert_eq!(w.h.google.control.count(BATCH_GET), 1);
    assert_eq!(field(by_email(&w.people(), "p1@example.com")[0], "/organizations/0/title"), "CTO");
    w.converged().await.unwrap();
}

#[tokio::test]
async fn a_failed_record_is_reported_and_retried_next_tick_without_holding_back_others() {
    let mut w = world().await;
    w.h.add_people(vec![person("Fails", "Once", Some("fails@example.com"), None), person("Fine", "Too", Some("fine@example.com"), None)], true);
    w.h.add_records(&[record("Z", "Stale", Some("stale@example.com"), None)], true);
    w.h.zoho.fail_records(RecordFailure { email: "fails@example.com".into(), code: "MANDATORY_NOT_FOUND".into(), message: "required field not found".into(), times: 1 });
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Partial, "{run:?}");
    assert_eq!(run.record_errors.len(), 1);
    assert_eq!(run.record_errors[0].code, "MANDATORY_NOT_FOUND");
    assert!(run.record_errors[0].record_id.starts_with("people/"), "named by id, not by data");
    assert_eq!(w.links().await.len(), 2, "the others were synced");

    // A stale etag on a Google update: reported, then retried.
    let stale_rn = field(by_email(&w.people(), "stale@example.com")[0], "/resourceName").to_string();
    w.h.zoho.edit_contact(ZOHO_USER, &zoho_id(&w, "stale@example.com"), &json!({"Title": "VP"})).unwrap();
    w.h.google.state.fail_contact(ContactFault { matches: stale_rn.clone(), status: "FAILED_PRECONDITION".into(), times: 1 });
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Partial, "{run:?}");
    assert!(run.record_errors.iter().any(|e| e.record_id == stale_rn && e.code == "FAILED_PRECONDITION"));
    assert_eq!(run.zoho.created, 1, "the record that failed before is created now");
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    w.converged().await.unwrap();
}

#[tokio::test]
async fn throttling_and_server_errors_are_ridden_out() {
    let mut w = world().await;
    w.h.add_records(&[record("A", "One", Some("a@example.com"), None)], true);
    w.h.add_people(vec![person("B", "Two", Some("b@example.com"), None)], true);
    w.h.google.control.inject(FaultRule { endpoint: "GET /v1/people/me/connections".into(), fault: Fault::Status { status: 429, retry_after_secs: Some(1) }, times: 1 });
    w.h.google.control.inject(FaultRule { endpoint: "POST /v1/people:batchCreateContacts".into(), fault: Fault::Status { status: 503, retry_after_secs: None }, times: 2 });
    w.h.zoho.control.inject(FaultRule { endpoint: "POST /crm/v8/Contacts/upsert".into(), fault: Fault::Status { status: 503, retry_after_secs: None }, times: 1 });
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::Success, "{run:?}");
    assert_eq!(w.h.google.control.count("POST /v1/people:batchCreateContacts"), 3, "two refusals, then the create");
    w.converged().await.unwrap();
}

#[tokio::test]
async fn a_second_run_for_the_same_connection_skips_while_the_first_holds_the_lease() {
    let mut w = world().await;
    let taken = w.store.acquire_lease(&w.h.connection.id, "other-run", w.now + 10 * 3_600_000, w.now).await.unwrap();
    assert!(taken.is_ok());
    w.h.add_records(&[record("A", "One", Some("a@example.com"), None)], true);
    w.h.google.control.reset_counters();
    assert!(matches!(w.run().await, ConnectionRun::SkippedLeaseHeld { .. }));
    assert!(w.people().is_empty(), "the skipped run wrote nothing");
    assert_eq!(w.h.google.control.total_calls(), 0, "not even a read");
    w.store.release_lease(&w.h.connection.id, "other-run").await.unwrap();
    assert!(matches!(w.run().await, ConnectionRun::Ran(_)), "runs once the lease is free");
    assert_eq!(w.people().len(), 1);
}

#[tokio::test]
async fn the_mass_delete_guard_blocks_the_tick_and_the_status_says_so() {
    let mut w = world_with(|c| {
        c.settings.mass_delete_percent = 20;
        c.settings.mass_delete_min_count = 3;
    })
    .await;
    w.h.add_records(&(0..10).map(|i| record("M", &format!("N{i}"), Some(&format!("m{i}@example.com")), None)).collect::<Vec<_>>(), true);
    w.tick().await;
    for i in 0..5 {
        w.h.zoho.delete_contact(ZOHO_USER, &zoho_id(&w, &format!("m{i}@example.com")), false).unwrap();
    }
    let run = w.tick().await;
    assert_eq!(run.outcome, RunOutcome::BlockedMassDelete, "{run:?}");
    assert_eq!(w.people().len(), 10, "nothing deleted");
    assert_eq!(w.links().await.len(), 10);
    let runs = w.store.latest_runs(&w.h.connection.id, 10).await.unwrap();
    let cursors = w.store.get_cursors(&w.h.connection.id).await.unwrap();
    let report = shared::status::build_report(&w.h.connection, &runs, &cursors, w.now);
    assert_eq!(report.state, shared::status::SyncState::BlockedByMassDeleteGuard);
    assert!(report.conflicts.iter().any(|l| l.contains("blocked")) || runs[0].log.iter().any(|l| l.contains("blocked")));
}

#[tokio::test]
async fn turning_the_connection_off_and_on_creates_no_duplicates_with_or_without_links() {
    let mut w = world().await;
    w.h.add_records(&[record("A", "One", Some("a@example.com"), None), record("No", "Email", None, Some("+1 555 0101"))], true);
    w.h.add_people(vec![person("B", "Two", Some("b@example.com"), None)], true);
    w.tick().await;
    // Off and on with the links kept: cursors and links as they were.
    let run = w.tick().await;
    assert_eq!((run.google.created, run.zoho.created), (0, 0));
    // Off and on with the links (and cursors) lost.
    let ids: Vec<String> = w.links().await.iter().map(|l| l.zoho_id.clone()).collect();
    w.store.delete_links(&w.h.connection.id, &ids).await.unwrap();
    w.store.put_cursors(&w.h.connection.id, &Cursors::default()).await.unwrap();
    let run = w.tick().await;
    assert_eq!((run.google.created, run.zoho.created), (0, 0), "{run:?}");
    assert_eq!((w.people().len(), w.records().len()), (3, 3));
    w.converged().await.unwrap();
}

#[tokio::test]
async fn a_budget_carries_the_rest_to_later_ticks_and_drops_nothing() {
    let mut w = world_with(|c| {
        c.settings.first_sync_budget = 50;
        c.settings.tick_budget = 50;
    })
    .await;
    let n = 180;
    w.h.add_records(&(0..n).map(|i| record("B", &format!("N{i:03}"), Some(&format!("b{i:03}@example.com")), None)).collect::<Vec<_>>(), true);
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        let run = w.tick().await;
        outcomes.push(run.outcome);
        if run.outcome == RunOutcome::Success {
            break;
        }
    }
    assert_eq!(outcomes, [RunOutcome::Continued, RunOutcome::Continued, RunOutcome::Continued, RunOutcome::Success]);
    assert_eq!(w.people().len(), n);
    w.converged().await.unwrap();
}
