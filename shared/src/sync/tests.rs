//! One test per sync rule the planner keeps; names say what a user would notice.

use super::*;
use crate::contact::{field_hashes, Contact};
use crate::mapping::Mapping;
use crate::settings::{ConflictPolicy, DeletionHandling, Direction, Settings};
use crate::store::{Link, PendingCreate, ZohoPermissions};

fn input() -> PlanInput {
    PlanInput {
        connection_id: "conn-1".into(),
        mapping: Mapping::default(),
        settings: Settings::default(),
        permissions: ZohoPermissions::default(),
        first_sync: false,
        budget: 500,
        now: 1_700_000_000_000,
        zoho_changes: Vec::new(),
        zoho_tombstones: Vec::new(),
        google_changes: Vec::new(),
        google_tombstones: Vec::new(),
        links: Vec::new(),
        total_links: 0,
        pending_creates: Vec::new(),
    }
}

fn ann() -> Contact {
    Contact::new().with("First_Name", "Ann").with("Last_Name", "Lee").with("Email", "ann@example.com").with("Phone", "100")
}

fn zoho(id: &str, contact: Contact) -> ZohoChange {
    ZohoChange { id: id.into(), modified_time: Some("2024-05-10T01:10:47-07:00".into()), in_scope: true, contact }
}

fn google(rn: &str, contact: Contact) -> GoogleChange {
    GoogleChange { resource_name: rn.into(), etag: Some("etag-2".into()), in_group: true, zoho_id: None, contact }
}

fn link(zoho_id: &str, rn: &str, synced: &Contact) -> Link {
    Link {
        connection_id: "conn-1".into(),
        zoho_id: zoho_id.into(),
        google_resource_name: rn.into(),
        email: synced.email(),
        field_hashes: field_hashes(synced, Mapping::default().keys()),
        zoho_modified_time: Some("2024-05-01T00:00:00Z".into()),
        google_etag: Some("etag-1".into()),
        updated_at: 1,
    }
}

fn linked_input(synced: &Contact) -> PlanInput {
    PlanInput { links: vec![link("z1", "people/c1", synced)], total_links: 1, ..input() }
}

fn actions(plan: &Plan) -> Vec<&Action> {
    plan.actions().collect()
}

fn writes(plan: &Plan) -> Vec<&Action> {
    plan.actions().filter(|a| a.writes_to().is_some()).collect()
}

fn changes(pairs: &[(&str, &str)]) -> crate::contact::FieldChanges {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn update_link(plan: &Plan) -> Option<&Link> {
    plan.actions().find_map(|a| match a {
        Action::UpdateLink(l) => Some(l),
        _ => None,
    })
}

// Rule 2: echo suppression.

#[test]
fn our_own_writes_echoing_back_with_new_etags_change_nothing() {
    let mut i = linked_input(&ann());
    let mut z = zoho("z1", ann());
    z.modified_time = Some("2024-06-01T00:00:00Z".into());
    i.zoho_changes = vec![z];
    i.google_changes = vec![google("people/c1", ann())];
    let plan = super::plan(&i);
    assert!(plan.units.is_empty(), "{plan:?}");
    assert_eq!(plan.outcome, PlanOutcome::Complete);
}

#[test]
fn an_edit_on_one_side_updates_only_the_changed_field_on_the_other() {
    let mut i = linked_input(&ann());
    i.zoho_changes = vec![zoho("z1", ann().with("Phone", "200"))];
    let plan = super::plan(&i);
    assert_eq!(
        writes(&plan),
        [&Action::UpdateGoogle {
            zoho_id: "z1".into(),
            google_resource_name: "people/c1".into(),
            etag: Some("etag-1".into()),
            changes: changes(&[("Phone", "200")])
        }]
    );
    let new_base = update_link(&plan).expect("base state moves");
    assert_eq!(new_base.field_hashes["Phone"], crate::contact::field_hash("200"));
    assert_eq!(new_base.zoho_modified_time.as_deref(), Some("2024-05-10T01:10:47-07:00"));
}

// Rule 1: links.

#[test]
fn an_email_change_updates_the_link_and_creates_nothing() {
    let mut i = linked_input(&ann());
    i.zoho_changes = vec![zoho("z1", ann().with("Email", "ann@new.example"))];
    let plan = super::plan(&i);
    assert_eq!(writes(&plan).len(), 1);
    assert!(matches!(writes(&plan)[0], Action::UpdateGoogle { changes, .. } if changes == &changes_of("Email", "ann@new.example")));
    assert_eq!(update_link(&plan).and_then(|l| l.email.as_deref()), Some("ann@new.example"));
}

fn changes_of(key: &str, value: &str) -> crate::contact::FieldChanges {
    changes(&[(key, value)])
}

#[test]
fn a_linked_contact_is_never_matched_again_by_email() {
    let mut i = linked_input(&ann());
    i.zoho_changes = vec![zoho("z1", ann().with("Phone", "300"))];
    // Another Google contact with the same email appears, unlinked.
    i.google_changes = vec![google("people/c2", ann())];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::Link(_) | Action::CreateInZoho { .. })), "{plan:?}");
    assert!(plan.actions().any(|a| matches!(a, Action::UpdateGoogle { google_resource_name, .. } if google_resource_name == "people/c1")));
    assert_eq!(plan.skipped, [Skipped { side: Side::Google, id: "people/c2".into(), reason: SkipReason::EmailTaken }]);
}

// Rule 3: conflicts.

#[test]
fn both_sides_making_the_same_edit_writes_nothing() {
    let mut i = linked_input(&ann());
    i.zoho_changes = vec![zoho("z1", ann().with("Title", "CTO"))];
    i.google_changes = vec![google("people/c1", ann().with("Title", "CTO"))];
    let plan = super::plan(&i);
    assert!(writes(&plan).is_empty());
    assert!(update_link(&plan).is_some(), "the base records the agreed value");
    assert_eq!(plan.conflicts().count(), 0);
}

#[test]
fn edits_to_different_fields_are_merged() {
    let mut i = linked_input(&ann());
    i.zoho_changes = vec![zoho("z1", ann().with("Title", "CTO"))];
    i.google_changes = vec![google("people/c1", ann().with("Mobile", "555"))];
    let plan = super::plan(&i);
    assert_eq!(
        writes(&plan),
        [
            &Action::UpdateZoho { zoho_id: "z1".into(), google_resource_name: "people/c1".into(), changes: changes_of("Mobile", "555") },
            &Action::UpdateGoogle {
                zoho_id: "z1".into(),
                google_resource_name: "people/c1".into(),
                etag: Some("etag-2".into()),
                changes: changes_of("Title", "CTO")
            },
        ]
    );
    assert_eq!(plan.conflicts().count(), 0);
}

#[test]
fn the_same_field_edited_on_both_sides_follows_the_policy_and_is_logged() {
    for (policy, winner, value) in
        [(ConflictPolicy::ZohoWins, Side::Zoho, "zoho-phone"), (ConflictPolicy::GoogleWins, Side::Google, "google-phone")]
    {
        let mut i = linked_input(&ann());
        i.settings.conflict_policy = policy;
        i.zoho_changes = vec![zoho("z1", ann().with("Phone", "zoho-phone"))];
        i.google_changes = vec![google("people/c1", ann().with("Phone", "google-phone"))];
        let plan = super::plan(&i);
        let expected_write = match winner {
            Side::Zoho => Action::UpdateGoogle {
                zoho_id: "z1".into(),
                google_resource_name: "people/c1".into(),
                etag: Some("etag-2".into()),
                changes: changes_of("Phone", value),
            },
            Side::Google => {
                Action::UpdateZoho { zoho_id: "z1".into(), google_resource_name: "people/c1".into(), changes: changes_of("Phone", value) }
            }
        };
        assert_eq!(writes(&plan), [&expected_write]);
        let decisions: Vec<_> = plan.conflicts().cloned().collect();
        assert_eq!(
            decisions,
            [ConflictDecision {
                zoho_id: "z1".into(),
                google_resource_name: "people/c1".into(),
                field: Some("Phone".into()),
                winner,
                rule: ConflictRule::Policy(policy)
            }]
        );
        let log = plan.log_lines().join("\n");
        assert!(log.contains("field=Phone") && !log.contains(value), "log is data-free: {log}");
    }
}

// Rule 4: deletions.

#[test]
fn a_contact_missing_from_a_listing_is_not_deleted_only_a_tombstone_deletes() {
    let mut i = linked_input(&ann());
    i.zoho_changes = vec![zoho("z9", Contact::new().with("Last_Name", "Other"))];
    assert!(!plan(&i).actions().any(|a| matches!(a, Action::DeleteGoogle { .. } | Action::DeleteZoho { .. })));

    let mut i = linked_input(&ann());
    i.zoho_tombstones = vec!["z1".into()];
    assert_eq!(actions(&plan(&i)), [&Action::DeleteGoogle { zoho_id: "z1".into(), google_resource_name: "people/c1".into() }]);

    let mut i = linked_input(&ann());
    i.google_tombstones = vec!["people/c1".into()];
    assert_eq!(actions(&plan(&i)), [&Action::DeleteZoho { zoho_id: "z1".into(), google_resource_name: "people/c1".into() }]);
}

#[test]
fn a_delete_loses_to_a_concurrent_edit_on_the_other_side() {
    let mut i = linked_input(&ann());
    i.zoho_tombstones = vec!["z1".into()];
    i.google_changes = vec![google("people/c1", ann().with("Phone", "999"))];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::DeleteGoogle { .. })));
    assert!(matches!(actions(&plan)[..], [Action::Unlink { reason: UnlinkReason::DeletedInZoho, .. }, Action::CreateInZoho { .. }]));
    assert_eq!(plan.conflicts().map(|c| (c.winner, c.rule)).collect::<Vec<_>>(), [(Side::Google, ConflictRule::DeleteLosesToEdit)]);

    let mut i = linked_input(&ann());
    i.google_tombstones = vec!["people/c1".into()];
    i.zoho_changes = vec![zoho("z1", ann().with("Title", "CEO"))];
    let plan = super::plan(&i);
    assert!(matches!(actions(&plan)[..], [Action::Unlink { .. }, Action::CreateInGoogle { .. }]), "{plan:?}");
}

#[test]
fn unlink_and_keep_drops_the_link_instead_of_deleting() {
    let mut i = linked_input(&ann());
    i.settings.deletion = DeletionHandling::UnlinkAndKeep;
    i.zoho_tombstones = vec!["z1".into()];
    i.google_tombstones = vec!["people/other".into()];
    assert_eq!(
        actions(&plan(&i)),
        [&Action::Unlink { zoho_id: "z1".into(), google_resource_name: "people/c1".into(), reason: UnlinkReason::DeletedInZoho }]
    );
}

#[test]
fn the_mass_delete_guard_stops_the_whole_tick() {
    let contacts: Vec<Contact> = (0..20).map(|n| Contact::new().with("Last_Name", &format!("L{n}"))).collect();
    let mut i = input();
    i.links = contacts.iter().enumerate().map(|(n, c)| link(&format!("z{n}"), &format!("people/c{n}"), c)).collect();
    i.total_links = 20;
    i.zoho_tombstones = (0..11).map(|n| format!("z{n}")).collect();
    i.zoho_changes = vec![zoho("z15", contacts[15].clone().with("Title", "New"))];
    let blocked = plan(&i);
    assert!(blocked.units.is_empty());
    assert_eq!(blocked.outcome, PlanOutcome::BlockedMassDelete { deletes: 11, links: 20 });
    assert!(blocked.log_lines().iter().any(|l| l.contains("would delete 11 of 20")));

    i.zoho_tombstones.truncate(4); // 4 of 20 = 20 %, and fewer than the minimum count
    let allowed = plan(&i);
    assert_eq!(allowed.outcome, PlanOutcome::Complete);
    assert_eq!(allowed.actions().filter(|a| matches!(a, Action::DeleteGoogle { .. })).count(), 4);
}

// Rule 5: scope.

#[test]
fn leaving_the_group_or_the_list_unlinks_and_keeps_both() {
    let mut i = linked_input(&ann());
    let mut p = google("people/c1", ann().with("Phone", "1"));
    p.in_group = false;
    i.google_changes = vec![p];
    assert_eq!(
        actions(&plan(&i)),
        [&Action::Unlink { zoho_id: "z1".into(), google_resource_name: "people/c1".into(), reason: UnlinkReason::LeftGoogleGroup }]
    );

    let mut i = linked_input(&ann());
    let mut z = zoho("z1", ann());
    z.in_scope = false;
    i.zoho_changes = vec![z];
    assert!(matches!(actions(&plan(&i))[..], [Action::Unlink { reason: UnlinkReason::LeftZohoView, .. }]));
}

// Matching unlinked contacts.

#[test]
fn the_first_sync_matches_by_email_ignoring_case_and_spaces() {
    let mut i = input();
    i.first_sync = true;
    let m = Mapping::default();
    let record = serde_json::json!({"id": "z1", "First_Name": "Ann", "Last_Name": "Lee", "Email": " Ann@Example.COM ", "Phone": "100"});
    let person = serde_json::json!({
        "resourceName": "people/c1",
        "names": [{"givenName": "Ann", "familyName": "Lee"}],
        "emailAddresses": [{"value": "ann@example.com", "type": "work"}]
    });
    i.zoho_changes = vec![zoho("z1", crate::mapping::zoho::contact_from_record(&record, &m))];
    i.google_changes = vec![google("people/c1", crate::mapping::google::contact_from_person(&person, &m))];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::CreateInGoogle { .. } | Action::CreateInZoho { .. })));
    let Some(Action::Link(l)) = plan.actions().find(|a| matches!(a, Action::Link(_))) else { panic!("no link: {plan:?}") };
    assert_eq!((l.zoho_id.as_str(), l.google_resource_name.as_str(), l.email.as_deref()), ("z1", "people/c1", Some("ann@example.com")));
    assert!(
        plan.actions().any(|a| a == &Action::StampZohoId { zoho_id: "z1".into(), google_resource_name: "people/c1".into() }),
        "the match is findable again after a crash"
    );
    // A value on one side and none on the other is a fill, not a conflict: the phone goes to Google.
    assert!(plan.actions().any(|a| matches!(a, Action::UpdateGoogle { changes, .. } if changes == &changes_of("Phone", "100"))));
    assert_eq!(plan.conflicts().count(), 0);
}

#[test]
fn contacts_without_email_are_created_never_matched() {
    let nameless = Contact::new().with("First_Name", "Bo").with("Last_Name", "Berg");
    let mut i = input();
    i.first_sync = true;
    i.zoho_changes = vec![zoho("z1", nameless.clone())];
    i.google_changes = vec![google("people/c1", nameless.clone())];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::Link(_))));
    let Some(Action::CreateInGoogle { zoho_id, contact, link }) = plan.actions().find(|a| matches!(a, Action::CreateInGoogle { .. }))
    else {
        panic!("{plan:?}")
    };
    assert_eq!((zoho_id.as_str(), contact, link.email.as_ref()), ("z1", &nameless, None));
    assert!(plan.actions().any(|a| matches!(a, Action::CreateInZoho { google_resource_name, .. } if google_resource_name == "people/c1")));
}

/// Rule 7: a tick sent the Zoho create for a person without an email (people/c1) and died
/// before its link and the id stamp were saved. The next tick sees the new record z9 in the Zoho
/// feed; the pending create's hashes name it, so it is paired, not created a second time.
#[test]
fn a_person_without_email_whose_zoho_create_was_pending_pairs_with_that_record() {
    let bo = Contact::new().with("First_Name", "Bo").with("Last_Name", "Berg").with("Phone", "100");
    let other = Contact::new().with("First_Name", "Cy").with("Last_Name", "Berg").with("Phone", "100");
    let mut i = input();
    i.zoho_changes = vec![zoho("z9", bo.clone()), zoho("z2", other)];
    i.google_changes = vec![google("people/c1", bo.clone())];
    let without_marker = super::plan(&i);
    assert!(without_marker.actions().any(|a| matches!(a, Action::CreateInZoho { .. })), "the gap closed here: {without_marker:?}");

    let hashes = field_hashes(&bo, Mapping::default().keys());
    i.pending_creates = vec![PendingCreate {
        connection_id: "conn-1".into(),
        google_resource_name: "people/c1".into(),
        field_hashes: hashes.clone(),
        created_at: 1,
        expires_at: 2,
    }];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::CreateInZoho { .. })), "{plan:?}");
    let unit = plan.units.iter().find(|u| u.zoho_id.as_deref() == Some("z9")).expect("z9 is planned");
    let [Action::StampZohoId { zoho_id: stamped, google_resource_name: stamped_on }, Action::Link(link)] = &unit.actions[..] else {
        panic!("{unit:?}")
    };
    assert_eq!((stamped.as_str(), stamped_on.as_str()), ("z9", "people/c1"));
    assert_eq!((link.zoho_id.as_str(), link.google_resource_name.as_str(), &link.email), ("z9", "people/c1", &None));
    assert_eq!(link.field_hashes, hashes, "the base is what was created");
    // A record without an email whose fields differ is not the pending create: it is created.
    assert!(plan.actions().any(|a| matches!(a, Action::CreateInGoogle { zoho_id, .. } if zoho_id == "z2")), "{plan:?}");
}

/// A pending create whose record is not seen (the create failed, or never went out) creates it
/// again: the marker only ever pairs with a record it names by its hashes.
#[test]
fn a_pending_create_without_its_record_is_sent_again() {
    let bo = Contact::new().with("First_Name", "Bo").with("Last_Name", "Berg");
    let mut i = input();
    i.zoho_changes = vec![zoho("z2", bo.clone().with("Phone", "555"))];
    i.google_changes = vec![google("people/c1", bo.clone())];
    i.pending_creates = vec![PendingCreate {
        connection_id: "conn-1".into(),
        google_resource_name: "people/c1".into(),
        field_hashes: field_hashes(&bo, Mapping::default().keys()),
        created_at: 1,
        expires_at: 2,
    }];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::Link(_))), "{plan:?}");
    assert!(plan.actions().any(|a| matches!(a, Action::CreateInZoho { google_resource_name, .. } if google_resource_name == "people/c1")));
    assert!(plan.actions().any(|a| matches!(a, Action::CreateInGoogle { zoho_id, .. } if zoho_id == "z2")));
}

#[test]
fn a_google_contact_carrying_a_zoho_id_relinks_instead_of_creating() {
    // A tick created people/c7 for z1, then died before saving the link.
    let mut i = input();
    i.zoho_changes = vec![zoho("z1", ann())];
    let mut p = google("people/c7", ann());
    p.zoho_id = Some("z1".into());
    i.google_changes = vec![p];
    let plan = super::plan(&i);
    assert!(
        matches!(actions(&plan)[..], [Action::Link(Link { zoho_id, google_resource_name, .. })] if zoho_id == "z1" && google_resource_name == "people/c7")
    );
}

/// Rule 1/7: a person paired again by the Zoho id it carries (it left the group and came back
/// with a new email) takes no email another person holds; the record pairs with that person.
#[test]
fn a_person_paired_by_its_stored_id_is_skipped_when_the_winning_email_is_held_by_another() {
    let mut i = input();
    i.zoho_changes = vec![zoho("z1", ann())];
    let mut returning = google("people/c1", ann().with("Email", "fresh@example.com"));
    returning.zoho_id = Some("z1".into());
    i.google_changes = vec![returning, google("people/c2", ann())];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::UpdateGoogle { google_resource_name, .. } if google_resource_name == "people/c1")), "{plan:?}");
    assert!(plan.actions().any(|a| matches!(a, Action::Link(l) if l.zoho_id == "z1" && l.google_resource_name == "people/c2")), "{plan:?}");
    assert_eq!(plan.skipped, [Skipped { side: Side::Google, id: "people/c1".into(), reason: SkipReason::EmailTaken }]);
}

#[test]
fn a_record_whose_returning_person_was_skipped_is_not_created_again_in_google() {
    // Google wins: the person's new email would go onto z1, but z2 holds it in Zoho.
    let mut i = input();
    i.settings.conflict_policy = ConflictPolicy::GoogleWins;
    i.zoho_changes = vec![zoho("z1", ann()), zoho("z2", ann().with("Email", "new@example.com"))];
    let mut returning = google("people/c1", ann().with("Email", "new@example.com"));
    returning.zoho_id = Some("z1".into());
    i.google_changes = vec![returning];
    let plan = super::plan(&i);
    assert!(writes(&plan).is_empty(), "{plan:?}");
    let reasons: Vec<(&str, SkipReason)> = plan.skipped.iter().map(|s| (s.id.as_str(), s.reason)).collect();
    assert_eq!(reasons, [("people/c1", SkipReason::EmailTaken), ("z2", SkipReason::EmailTaken), ("z1", SkipReason::ZohoIdOnSkippedPerson)]);
}

#[test]
fn a_copy_carrying_an_already_linked_zoho_id_is_skipped_not_created() {
    let mut i = linked_input(&ann());
    let mut copy = google("people/c8", ann().with("Email", "copy@example.com"));
    copy.zoho_id = Some("z1".into());
    i.google_changes = vec![copy];
    let plan = super::plan(&i);
    assert!(plan.units.is_empty());
    assert_eq!(plan.skipped, [Skipped { side: Side::Google, id: "people/c8".into(), reason: SkipReason::ZohoIdLinkedElsewhere }]);
}

#[test]
fn several_contacts_with_one_email_pair_the_oldest_and_create_no_duplicate() {
    let mut i = input();
    i.first_sync = true;
    i.zoho_changes = vec![zoho("1000", ann()), zoho("999", ann())];
    i.google_changes = vec![google("people/c1", ann())];
    let plan = super::plan(&i);
    assert!(
        matches!(actions(&plan)[..], [Action::StampZohoId { zoho_id: stamped, .. }, Action::Link(Link { zoho_id, .. })] if zoho_id == "999" && stamped == "999"),
        "{plan:?}"
    );
    assert_eq!(plan.skipped, [Skipped { side: Side::Zoho, id: "1000".into(), reason: SkipReason::EmailTaken }]);

    let mut i = input();
    i.zoho_changes = vec![zoho("1", ann())];
    i.google_changes = vec![google("people/c20", ann()), google("people/c3", ann())];
    let plan = super::plan(&i);
    assert!(
        matches!(actions(&plan)[..], [Action::StampZohoId { .. }, Action::Link(Link { google_resource_name, .. })] if google_resource_name == "people/c3")
    );
    assert!(!plan.actions().any(|a| matches!(a, Action::CreateInZoho { .. })));
    assert_eq!(plan.skipped.len(), 1);
}

#[test]
fn an_email_held_by_a_contact_outside_the_group_is_not_created_again() {
    let mut i = input();
    i.zoho_changes = vec![zoho("z1", ann())];
    let mut outside = google("people/c1", ann());
    outside.in_group = false;
    i.google_changes = vec![outside];
    let plan = super::plan(&i);
    assert!(plan.units.is_empty());
    assert_eq!(plan.skipped, [Skipped { side: Side::Zoho, id: "z1".into(), reason: SkipReason::EmailTaken }]);
}

#[test]
fn a_google_contact_without_family_name_is_not_sent_to_zoho() {
    let mut i = input();
    i.google_changes = vec![google("people/c1", Contact::new().with("First_Name", "Mom"))];
    let plan = super::plan(&i);
    assert!(plan.units.is_empty());
    assert_eq!(plan.skipped[0].reason, SkipReason::MissingRequiredZohoField);
}

// Direction and permissions.

#[test]
fn one_way_never_writes_its_source_side() {
    let mut i = linked_input(&ann());
    i.settings.direction = Direction::ZohoToGoogle;
    i.google_changes = vec![google("people/c1", ann().with("Phone", "777")), google("people/new", ann().with("Email", "x@example.com"))];
    assert!(plan(&i).units.is_empty(), "Google edits and Google-only contacts stay in Google");

    let mut i = linked_input(&ann());
    i.settings.direction = Direction::GoogleToZoho;
    i.zoho_changes = vec![zoho("z1", ann().with("Phone", "777")), zoho("z2", ann().with("Email", "x@example.com"))];
    i.zoho_tombstones = vec![];
    i.google_tombstones = vec![];
    assert!(plan(&i).units.is_empty());

    // Both sides changed the same field: the source wins whatever the policy says.
    let mut i = linked_input(&ann());
    i.settings.direction = Direction::GoogleToZoho;
    i.settings.conflict_policy = ConflictPolicy::ZohoWins;
    i.zoho_changes = vec![zoho("z1", ann().with("Phone", "z"))];
    i.google_changes = vec![google("people/c1", ann().with("Phone", "g"))];
    let plan = super::plan(&i);
    assert!(writes(&plan).iter().all(|a| a.writes_to() == Some(Side::Zoho)));
    assert_eq!(plan.conflicts().map(|c| c.rule).collect::<Vec<_>>(), [ConflictRule::Direction(Direction::GoogleToZoho)]);
}

#[test]
fn a_user_without_zoho_write_rights_gets_no_zoho_writes() {
    let mut i = linked_input(&ann());
    i.permissions = ZohoPermissions { view: true, create: false, edit: false, delete: false };
    i.google_changes = vec![google("people/c1", ann().with("Phone", "777")), google("people/new", ann().with("Email", "x@example.com"))];
    i.google_tombstones = vec![];
    assert!(writes(&plan(&i)).is_empty());

    let mut i = linked_input(&ann());
    i.permissions.delete = false;
    i.google_tombstones = vec!["people/c1".into()];
    assert!(matches!(actions(&plan(&i))[..], [Action::Unlink { reason: UnlinkReason::DeletedInGoogle, .. }]));
}

#[test]
fn the_company_is_never_written_to_zoho_because_zoho_needs_an_account_id() {
    let mut i = linked_input(&ann().with("Account_Name", "Acme"));
    i.google_changes = vec![google("people/c1", ann().with("Account_Name", "Other Inc"))];
    assert!(plan(&i).units.is_empty());
}

// Budget.

#[test]
fn the_budget_carries_the_rest_to_the_next_tick() {
    let mut i = input();
    i.budget = 2;
    i.zoho_changes = (1..=5).map(|n| zoho(&n.to_string(), Contact::new().with("Last_Name", &format!("L{n}")))).collect();
    // An unchanged linked record costs nothing.
    let synced = Contact::new().with("Last_Name", "Same");
    i.links = vec![link("0", "people/c0", &synced)];
    i.zoho_changes.push(zoho("0", synced));
    let plan = super::plan(&i);
    assert_eq!(plan.units.len(), 2);
    assert_eq!(plan.outcome, PlanOutcome::BudgetExhausted);
    assert_eq!(plan.remaining.zoho_ids, ["3", "4", "5"]);
    let created: Vec<_> =
        plan.actions().filter_map(|a| if let Action::CreateInGoogle { zoho_id, .. } = a { Some(zoho_id.as_str()) } else { None }).collect();
    assert_eq!(created, ["1", "2"]);
}

#[test]
fn a_google_contact_whose_zoho_record_was_deleted_is_not_sent_to_zoho_again() {
    // unlink_and_keep dropped the link earlier; the person still carries the deleted record's id.
    let mut i = input();
    let mut kept = google("people/c1", ann().with("Phone", "5"));
    kept.zoho_id = Some("z-deleted".into());
    i.google_changes = vec![kept];
    let plan = super::plan(&i);
    assert!(plan.units.is_empty());
    assert_eq!(plan.skipped, [Skipped { side: Side::Google, id: "people/c1".into(), reason: SkipReason::ZohoIdNotSyncable }]);
}

#[test]
fn a_contact_deleted_in_google_without_zoho_delete_rights_stays_in_zoho() {
    let mut i = linked_input(&ann());
    i.permissions.delete = false;
    i.google_tombstones = vec!["people/c1".into()];
    i.zoho_changes = vec![zoho("z1", ann())];
    let plan = super::plan(&i);
    assert!(!plan.actions().any(|a| matches!(a, Action::DeleteZoho { .. })));
    assert!(plan.actions().any(|a| matches!(a, Action::Unlink { reason: UnlinkReason::DeletedInGoogle, .. })));
}

#[test]
fn an_update_that_frees_an_email_comes_before_the_create_that_takes_it() {
    // z1's Google contact changed its email from ann@ to new@; an unlinked Google contact with
    // ann@ may now go to Zoho, after z1's update (the upsert on Email must not land on z1).
    let mut i = linked_input(&ann());
    i.google_changes = vec![google("people/c1", ann().with("Email", "new@example.com")), google("people/c2", ann())];
    let plan = super::plan(&i);
    let kinds: Vec<&str> = plan
        .actions()
        .filter_map(|a| match a {
            Action::UpdateZoho { .. } => Some("update"),
            Action::CreateInZoho { .. } => Some("create"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["update", "create"]);
}
