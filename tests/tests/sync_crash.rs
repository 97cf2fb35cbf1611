//! Rule 7: a tick killed at any step (after each API call, before and after each store write),
//! then run again, converges with no duplicate and nothing lost. Every step N is tried until a
//! run gets through uncrashed; after each crash two clean ticks run and both sides must agree,
//! with no contact on a side twice. The scenarios hold contacts without an email on both sides:
//! a Google one created in Zoho has no email to upsert on, and before its link and id stamp only
//! its pending create marker leads back to it.

use serde_json::json;
use shared::settings::Settings;
use shared::store::sqlite::SqliteStore;
use shared::store::{LinkStore, PendingCreateStore};
use sync_tests::sync_support::crash::{run_until_crash, CrashPlan, Ended};
use sync_tests::sync_support::emu_world::EmuWorld;
use sync_tests::sync_support::harness::{far_deadline, person, record, LIST_FIELD, OUT_OF_LIST, ZOHO_USER};
use sync_tests::sync_support::world::FakeWorld;

fn seed_fake(w: &FakeWorld) {
    for i in 0..3 {
        w.apis.user_adds_record(record("S", &format!("Shared{i}"), Some(&format!("s{i}@example.com")), Some("+1 555 0100")), true);
        w.apis.user_adds_person(person("S", &format!("Shared{i}"), Some(&format!("S{i}@example.com")), Some("+1 555 0199")), true);
    }
    w.apis.user_adds_record(record("Z", "Only", Some("z@example.com"), None), true);
    w.apis.user_adds_record(record("No", "Email", None, Some("+1 555 0101")), true);
    w.apis.user_adds_person(person("G", "Only", Some("g@example.com"), None), true);
    w.apis.user_adds_person(person("No", "Mail", None, Some("+1 555 0102")), true);
}

/// Changes on both sides after a clean first sync: edits, a delete each, a move, new contacts.
fn change_fake(w: &FakeWorld) {
    let people = w.apis.people();
    let records = w.apis.records();
    let rn = |i: usize| people[i]["resourceName"].as_str().unwrap_or_default().to_string();
    let id = |i: usize| records[i]["id"].as_str().unwrap_or_default().to_string();
    w.apis.user_edits_record(&id(0), &json!({"Title": "CEO"}));
    w.apis.user_edits_person(&rn(1), |p| p["names"][0]["givenName"] = json!("Renamed"));
    w.apis.user_deletes_record(&id(2));
    w.apis.user_deletes_person(&rn(3));
    w.apis.user_edits_record(&id(4), &json!({ LIST_FIELD: OUT_OF_LIST }));
    w.apis.user_adds_record(record("New", "Zoho", Some("nz@example.com"), None), true);
    w.apis.user_adds_person(person("New", "Google", Some("ng@example.com"), None), true);
    w.apis.user_adds_person(person("New", "Mailless", None, Some("+1 555 0103")), true);
}

async fn crash_every_step_on_the_fake(incremental: bool) -> usize {
    for n in 1.. {
        let mut w = FakeWorld::new(Settings::default());
        seed_fake(&w);
        if incremental {
            w.tick().await;
            change_fake(&w);
        }
        let plan = CrashPlan::at(n);
        let now = w.next_now();
        match run_until_crash(&plan, &w.apis, &w.apis, &w.store, &w.connection, far_deadline(), now).await {
            Ended::Completed(_) => {
                w.converged().await.unwrap_or_else(|e| panic!("uncrashed run: {e}"));
                w.no_copies().unwrap_or_else(|e| panic!("uncrashed run: {e}"));
                return n - 1;
            }
            Ended::Crashed => {
                w.tick().await;
                w.tick().await;
                w.converged().await.unwrap_or_else(|e| panic!("after a crash at step {n}: {e}"));
                w.no_copies().unwrap_or_else(|e| panic!("after a crash at step {n}: {e}"));
            }
        }
    }
    unreachable!()
}

#[tokio::test]
async fn a_first_sync_killed_at_any_step_converges_on_the_next_ticks() {
    let crashes = crash_every_step_on_the_fake(false).await;
    assert!(crashes >= 10, "the run has steps to crash at: {crashes}");
}

#[tokio::test]
async fn an_incremental_tick_killed_at_any_step_converges_on_the_next_ticks() {
    let crashes = crash_every_step_on_the_fake(true).await;
    assert!(crashes >= 10, "{crashes}");
}

/// The same over HTTP with the real adapters: a first sync crashed at every step.
#[tokio::test]
async fn a_first_sync_against_the_emulators_killed_at_any_step_converges() {
    for n in 1.. {
        let mut w = EmuWorld::new(SqliteStore::in_memory().expect("sqlite"), |_| {}).await;
        w.h.add_records(&[record("S", "One", Some("s1@example.com"), None), record("Z", "Only", Some("z@example.com"), None), record("No", "Email", None, Some("+1 555 0101"))], true);
        w.h.add_people(
            vec![person("S", "One", Some("S1@example.com"), None), person("G", "Only", Some("g@example.com"), None), person("No", "Mail", None, Some("+1 555 0102"))],
            true,
        );
        let (google, zoho) = w.h.clients(&w.vault, &w.h.connection).await;
        let plan = CrashPlan::at(n);
        let now = w.next_now();
        let ended = run_until_crash(&plan, &google, &zoho, &w.store, &w.h.connection, far_deadline(), now).await;
        if let Ended::Crashed = ended {
            w.tick().await;
            w.tick().await;
        }
        w.converged().await.unwrap_or_else(|e| panic!("crash at step {n}: {e}"));
        assert_eq!(w.h.zoho.contacts(ZOHO_USER).unwrap().len(), 5, "crash at step {n}");
        assert_eq!(w.people().len(), 5, "crash at step {n}");
        assert_eq!(w.links().await.len(), 5);
        let _ = w.store.all_links(&w.h.connection.id).await;
        if let Ended::Completed(_) = ended {
            assert!(n > 8, "{n}");
            break;
        }
    }
}

/// Rule 7, the case the pending create marker is for: a Google contact without an email is
/// created in Zoho and the tick dies right after, before the link and the Zoho id stamp. The next
/// tick links that record to the person (and stamps it) instead of creating a second one.
#[tokio::test]
async fn a_person_without_email_created_in_zoho_just_before_a_crash_is_linked_not_created_again() {
    for n in 1.. {
        let mut w = FakeWorld::new(Settings::default());
        let rn = w.apis.user_adds_person(person("No", "Mail", None, Some("+1 555 0102")), true);
        let plan = CrashPlan::at(n);
        let now = w.next_now();
        if let Ended::Completed(_) = run_until_crash(&plan, &w.apis, &w.apis, &w.store, &w.connection, far_deadline(), now).await {
            panic!("no step crashed between the Zoho create and the link");
        }
        let records = w.apis.records();
        if records.len() != 1 || !w.links().await.is_empty() {
            continue;
        }
        // Killed after the create, before its link: only the marker knows the person was sent.
        let created = records[0]["id"].as_str().expect("record id").to_string();
        let pending = w.store.pending_creates(&w.connection.id, w.now).await.expect("pending creates");
        assert_eq!(pending.iter().map(|p| p.google_resource_name.as_str()).collect::<Vec<_>>(), [rn.as_str()]);
        assert_eq!(shared::mapping::google::zoho_id(&w.apis.people()[0]), None, "not stamped yet");

        let run = w.tick().await;
        assert_eq!((run.zoho.created, run.google.created), (0, 0), "{run:?}");
        assert_eq!(w.apis.records().len(), 1, "no second record");
        assert_eq!(w.apis.people().len(), 1);
        let links = w.links().await;
        assert_eq!(links.len(), 1);
        assert_eq!((links[0].zoho_id.as_str(), links[0].google_resource_name.as_str()), (created.as_str(), rn.as_str()));
        assert_eq!(shared::mapping::google::zoho_id(&w.apis.people()[0]).as_deref(), Some(created.as_str()), "stamped now");
        assert!(w.store.pending_creates(&w.connection.id, w.now).await.expect("pending creates").is_empty(), "the marker is settled");
        w.tick().await;
        w.converged().await.unwrap();
        w.no_copies().unwrap();
        return;
    }
}
