use super::*;
use serde_json::json;

fn person() -> Value {
    json!({
        "resourceName": "people/c1",
        "etag": "%EgUBAj0FBw==",
        "metadata": {"sources": [{"type": "CONTACT", "id": "1", "etag": "#abc"}]},
        "names": [{"givenName": "Ann", "familyName": "Lee", "displayName": "Ann Lee", "metadata": {"primary": true}}],
        "emailAddresses": [
            {"value": "ann@home.example", "type": "home"},
            {"value": "Ann.Lee@Example.com", "type": "work", "metadata": {"primary": true}}
        ],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile", "canonicalForm": "+15550100"}],
        "organizations": [{"name": "Acme", "title": "CTO", "jobDescription": "Builds things"}],
        "addresses": [{"type": "work", "city": "Berlin", "formattedValue": "Berlin"}],
        "biographies": [{"value": "Met at a fair", "contentType": "TEXT_PLAIN"}],
        "birthdays": [{"date": {"year": 1990, "month": 5, "day": 1}}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/abc"}}],
        "externalIds": [{"type": "zoho_crm_contact", "value": "3652397000000624001"}]
    })
}

#[test]
fn a_person_reads_into_the_default_fields() {
    let c = contact_from_person(&person(), &Mapping::default());
    assert_eq!(c.get("First_Name"), "Ann");
    assert_eq!(c.get("Last_Name"), "Lee");
    assert_eq!(c.get("Email"), "ann.lee@example.com", "the work email, lower-cased");
    assert_eq!(c.get("Secondary_Email"), "", "a home email is not the secondary (other) one");
    assert_eq!(c.get("Mobile"), "+1 555 0100");
    assert_eq!(c.get("Phone"), "");
    assert_eq!(c.get("Account_Name"), "Acme");
    assert_eq!(c.get("Title"), "CTO");
    assert_eq!(c.get("Mailing_City"), "Berlin");
    assert_eq!(c.get("Description"), "Met at a fair");
    assert_eq!(c.get("Date_of_Birth"), "1990-05-01");
}

#[test]
fn ids_group_and_tombstones_are_read() {
    let p = person();
    assert_eq!(resource_name(&p), Ok("people/c1"));
    assert_eq!(etag(&p), Some("%EgUBAj0FBw=="));
    assert_eq!(zoho_id(&p).as_deref(), Some("3652397000000624001"));
    assert!(in_group(&p, "contactGroups/abc"));
    assert!(!in_group(&p, "contactGroups/myContacts"));
    assert!(!is_deleted(&p));
    assert!(is_deleted(&json!({"resourceName": "people/c1", "metadata": {"deleted": true}})));
}

#[test]
fn an_untyped_email_counts_as_work_only_when_no_work_email_exists() {
    let m = Mapping::default();
    let untyped = json!({"emailAddresses": [{"value": "a@x.example"}]});
    assert_eq!(contact_from_person(&untyped, &m).get("Email"), "a@x.example");
    let both = json!({"emailAddresses": [{"value": "a@x.example"}, {"value": "w@x.example", "type": "work"}]});
    assert_eq!(contact_from_person(&both, &m).get("Email"), "w@x.example");
}

#[test]
fn an_update_keeps_items_outside_the_mapping_and_masks_only_touched_fields() {
    let changes = FieldChanges::from([
        ("Email".to_string(), "new@example.com".to_string()),
        ("Phone".to_string(), "+1 555 0199".to_string()),
        ("Title".to_string(), String::new()),
    ]);
    let update = update_body(&person(), &changes, &Mapping::default());
    assert_eq!(update.update_person_fields, "emailAddresses,organizations,phoneNumbers");
    let p = &update.person;
    assert_eq!(p["resourceName"], "people/c1");
    assert_eq!(p["etag"], "%EgUBAj0FBw==");
    assert_eq!(p["metadata"]["sources"][0]["etag"], "#abc");
    assert_eq!(p["emailAddresses"][0]["value"], "ann@home.example", "the home email survives");
    assert_eq!(p["emailAddresses"][1]["value"], "new@example.com");
    assert_eq!(p["phoneNumbers"].as_array().map(Vec::len), Some(2), "the mobile stays, a work phone is added");
    assert_eq!(p["phoneNumbers"][1], json!({"type": "work", "value": "+1 555 0199"}));
    assert_eq!(p["organizations"][0], json!({"name": "Acme", "jobDescription": "Builds things"}));
    assert!(p.get("names").is_none(), "untouched fields are not sent");
}

#[test]
fn clearing_the_only_value_of_an_item_removes_the_item() {
    let changes = FieldChanges::from([("Mobile".to_string(), String::new()), ("Description".to_string(), String::new())]);
    let update = update_body(&person(), &changes, &Mapping::default());
    assert_eq!(update.person["phoneNumbers"], json!([]));
    assert_eq!(update.person["biographies"], json!([]));
    assert_eq!(update.update_person_fields, "biographies,phoneNumbers");
}

#[test]
fn what_is_written_reads_back_the_same() {
    let m = Mapping::default();
    let contact = Contact::new()
        .with("First_Name", "Bo")
        .with("Last_Name", "Berg")
        .with("Email", "bo@example.com")
        .with("Secondary_Email", "bo@other.example")
        .with("Home_Phone", "123")
        .with("Department", "Sales")
        .with("Mailing_Street", "Main St 1\nBack door")
        .with("Mailing_Country", "SE")
        .with("Date_of_Birth", "1985-12-24")
        .with("Description", "VIP");
    let created = create_body(&contact, Some("42"), Some("contactGroups/abc"), &m);
    assert_eq!(contact_from_person(&created, &m), contact);
    assert_eq!(zoho_id(&created).as_deref(), Some("42"));
    assert!(in_group(&created, "contactGroups/abc"));

    let changes =
        FieldChanges::from([("Last_Name".to_string(), "Lind".to_string()), ("Date_of_Birth".to_string(), "1991-01-02".to_string())]);
    let updated = update_body(&person(), &changes, &m);
    let mut merged = person();
    for field in updated.update_person_fields.split(',') {
        merged[field] = updated.person[field].clone();
    }
    let read = contact_from_person(&merged, &m);
    assert_eq!(read.get("Last_Name"), "Lind");
    assert_eq!(read.get("First_Name"), "Ann");
    assert_eq!(read.get("Date_of_Birth"), "1991-01-02");
    assert!(merged["names"][0].get("displayName").is_none(), "stale display name is dropped");
}

#[test]
fn stamping_the_zoho_id_replaces_only_our_external_id() {
    let mut p = person();
    p["externalIds"] = json!([{"type": "account", "value": "A-1"}, {"type": ZOHO_ID_TYPE, "value": "old"}]);
    let update = stamp_zoho_id(&p, "new");
    assert_eq!(update.update_person_fields, "externalIds");
    assert_eq!(update.person["externalIds"], json!([{"type": "account", "value": "A-1"}, {"type": ZOHO_ID_TYPE, "value": "new"}]));
    assert_eq!(zoho_id(&update.person).as_deref(), Some("new"));
}

#[test]
fn extra_pairs_read_and_write_their_slots() {
    let settings = crate::settings::Settings {
        extra_fields: vec![
            crate::settings::FieldPair { zoho: "Twitter".into(), google: "urls.profile".into() },
            crate::settings::FieldPair { zoho: "Skype_ID".into(), google: "userDefined.Skype".into() },
            crate::settings::FieldPair { zoho: "Other_Phone".into(), google: "phoneNumbers.other".into() },
        ],
        ..Default::default()
    };
    let m = Mapping::from_settings(&settings).unwrap();
    let contact = Contact::new().with("Twitter", "https://x.example/ann").with("Skype_ID", "ann.l").with("Other_Phone", "999");
    let created = create_body(&contact, None, None, &m);
    assert_eq!(created["userDefined"], json!([{"key": "Skype", "value": "ann.l"}]));
    assert_eq!(contact_from_person(&created, &m), contact);
}
