use super::*;
use crate::settings::FieldPair;

fn ctx() -> ValidationContext {
    ValidationContext {
        zoho_fields: ["First_Name", "Last_Name", "Email", "Twitter", "Other_Phone", "Skype_ID"].into_iter().map(String::from).collect(),
        permissions: ZohoPermissions::default(),
        google_groups: vec![
            GoogleGroupInfo { resource_name: "contactGroups/abc123".into(), system: false },
            GoogleGroupInfo { resource_name: "contactGroups/starred".into(), system: true },
            GoogleGroupInfo { resource_name: MY_CONTACTS_GROUP.into(), system: true },
        ],
        zoho_views: ["3652397000000087501".to_string()].into_iter().collect(),
    }
}

fn valid() -> Settings {
    Settings {
        google_group: Some("contactGroups/abc123".into()),
        zoho_cvid: Some("3652397000000087501".into()),
        extra_fields: vec![FieldPair { zoho: "Twitter".into(), google: "urls.profile".into() }],
        ..Settings::default()
    }
}

fn settings_named(result: Result<(), Vec<SettingsError>>) -> Vec<String> {
    result.err().unwrap_or_default().iter().map(SettingsError::setting).collect()
}

#[test]
fn sensible_settings_pass() {
    assert_eq!(validate(&valid(), &ctx()), Ok(()));
    let my_contacts = Settings { google_group: Some(MY_CONTACTS_GROUP.into()), ..valid() };
    assert_eq!(validate(&my_contacts, &ctx()), Ok(()));
}

#[test]
fn unknown_and_unsupported_fields_point_at_the_pair() {
    let s = Settings {
        extra_fields: vec![
            FieldPair { zoho: "Twitter".into(), google: "urls.profile".into() },
            FieldPair { zoho: "No_Such_Field".into(), google: "photos".into() },
        ],
        ..valid()
    };
    let errors = validate(&s, &ctx()).unwrap_err();
    assert_eq!(errors.iter().map(SettingsError::setting).collect::<Vec<_>>(), ["extra_fields[1].zoho", "extra_fields[1].google"]);
    assert!(errors[0].to_string().contains("pick a field from the Zoho list"));
    assert!(errors[0].to_string().starts_with("extra pair 2"));
}

#[test]
fn a_field_mapped_twice_on_either_side_is_rejected() {
    let s = Settings {
        extra_fields: vec![
            FieldPair { zoho: "Email".into(), google: "emailAddresses.home".into() },
            FieldPair { zoho: "Other_Phone".into(), google: "phoneNumbers.mobile".into() },
            FieldPair { zoho: "Skype_ID".into(), google: "userDefined.Skype".into() },
            FieldPair { zoho: "skype_id".into(), google: "userDefined.Skype".into() },
        ],
        ..valid()
    };
    assert_eq!(
        settings_named(validate(&s, &ctx())),
        ["extra_fields[0].zoho", "extra_fields[1].google", "extra_fields[3].zoho", "extra_fields[3].google"]
    );
}

#[test]
fn zoho_writes_need_create_and_edit_rights() {
    let read_only = ValidationContext { permissions: ZohoPermissions { view: true, create: false, edit: false, delete: false }, ..ctx() };
    for direction in [Direction::TwoWay, Direction::GoogleToZoho] {
        let errors = validate(&Settings { direction, ..valid() }, &read_only).unwrap_err();
        assert_eq!(errors, [SettingsError::DirectionNotPermitted { missing: "Create" }]);
        assert!(errors[0].to_string().contains("Zoho → Google only"));
    }
    assert_eq!(validate(&Settings { direction: Direction::ZohoToGoogle, ..valid() }, &read_only), Ok(()));
}

#[test]
fn propagating_deletes_to_zoho_needs_the_delete_right() {
    let no_delete = ValidationContext { permissions: ZohoPermissions { delete: false, ..ZohoPermissions::default() }, ..ctx() };
    assert_eq!(settings_named(validate(&valid(), &no_delete)), ["deletion"]);
    let keep = Settings { deletion: DeletionHandling::UnlinkAndKeep, ..valid() };
    assert_eq!(validate(&keep, &no_delete), Ok(()));
}

#[test]
fn only_my_contacts_among_system_groups() {
    let starred = Settings { google_group: Some("contactGroups/starred".into()), ..valid() };
    assert_eq!(validate(&starred, &ctx()), Err(vec![SettingsError::SystemGroupNotAllowed { group: "contactGroups/starred".into() }]));
    let unknown = Settings { google_group: Some("contactGroups/gone".into()), ..valid() };
    assert_eq!(settings_named(validate(&unknown, &ctx())), ["google_group"]);
    let none = Settings { google_group: None, zoho_cvid: None, ..valid() };
    assert_eq!(settings_named(validate(&none, &ctx())), ["google_group", "zoho_cvid"]);
}

#[test]
fn budgets_and_the_mass_delete_share_must_be_usable() {
    let s = Settings { first_sync_budget: 0, tick_budget: 0, mass_delete_percent: 0, ..valid() };
    assert_eq!(settings_named(validate(&s, &ctx())), ["first_sync_budget", "tick_budget", "mass_delete_percent"]);
    assert_eq!(settings_named(validate(&Settings { mass_delete_percent: 101, ..valid() }, &ctx())), ["mass_delete_percent"]);
    assert_eq!(validate(&Settings { mass_delete_percent: 100, ..valid() }, &ctx()), Ok(()));
}
