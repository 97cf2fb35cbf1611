use super::*;
use crate::google::ContactGroup;
use crate::zoho::{CustomView, FieldMeta};

fn group(resource_name: &str, name: &str, kind: &str) -> ContactGroup {
    ContactGroup { resource_name: resource_name.into(), name: name.into(), group_type: Some(kind.into()), ..ContactGroup::default() }
}

fn field(api_name: &str, label: &str) -> FieldMeta {
    serde_json::from_value(serde_json::json!({"api_name": api_name, "field_label": label, "data_type": "text"})).expect("field meta")
}

fn choices() -> Choices {
    let views = vec![CustomView { id: "cv1".into(), name: "Synced".into(), display_value: Some("Synced with Google".into()), system_name: None, default: false, category: None }];
    Choices::new(
        vec![
            group("contactGroups/myContacts", "myContacts", "SYSTEM_CONTACT_GROUP"),
            group("contactGroups/starred", "starred", "SYSTEM_CONTACT_GROUP"),
            group("contactGroups/abc", "CRM <b>Sync</b>", "USER_CONTACT_GROUP"),
        ],
        views,
        vec![field("First_Name", "First Name"), field("Twitter", "Twitter"), field("Fax", "Fax")],
    )
}

fn render(state: &FormState, errors: &[FieldError], permissions: ZohoPermissions) -> String {
    let choices = choices();
    render_page(&PageModel { state, errors, choices: &choices, permissions, csrf: "tok", notice: None, status: None })
}

/// The `<input>` tag of a radio button, by id.
fn input_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no control {id}"));
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = at + html[at..].find('>').unwrap_or(0);
    &html[start..=end]
}

fn read_only() -> ZohoPermissions {
    ZohoPermissions { view: true, create: false, edit: false, delete: false }
}

#[test]
fn a_read_only_user_sees_the_writing_directions_disabled_with_the_reason() {
    let state = FormState::from_settings(&Settings { direction: Direction::ZohoToGoogle, ..Settings::default() });
    let html = render(&state, &[], read_only());
    assert!(input_tag(&html, "direction-two_way").contains("disabled"));
    assert!(input_tag(&html, "direction-google_to_zoho").contains("disabled"));
    let allowed = input_tag(&html, "direction-zoho_to_google");
    assert!(!allowed.contains("disabled") && allowed.contains("checked"), "{allowed}");
    assert!(html.contains("id=\"direction-reason\""));
    assert!(html.contains("does not have the Create and Edit permission"), "the reason names what is missing");

    let full = render(&state, &[], ZohoPermissions::default());
    assert!(!input_tag(&full, "direction-two_way").contains("disabled"));
    assert!(!full.contains("id=\"direction-reason\""));
}

#[test]
fn each_problem_is_shown_next_to_its_field_and_marks_it_invalid() {
    let state = FormState { extra_rows: vec![ExtraRow { zoho: "Nope".into(), google: "nicknames".into(), key: String::new() }], ..FormState::from_settings(&Settings::default()) };
    let errors = vec![FieldError::new("zoho_cvid", "choose the Zoho CRM list"), FieldError::new("extra_zoho_0", "the Zoho field does not exist")];
    let html = render(&state, &errors, ZohoPermissions::default());
    let select = input_tag(&html, "zoho_cvid");
    assert!(select.contains("aria-invalid=\"true\"") && select.contains("aria-describedby=\"zoho_cvid-error\""), "{select}");
    let after_select = &html[html.find("id=\"zoho_cvid\"").unwrap_or(0)..];
    let error_at = after_select.find("id=\"zoho_cvid-error\"").expect("error shown");
    assert!(error_at < after_select.find("id=\"direction\"").unwrap_or(usize::MAX), "the error is next to the list, before the next field");
    assert!(html.contains("choose the Zoho CRM list"));
    assert!(html.contains("id=\"extra_zoho_0-error\""));
    assert!(html.contains("Nope (not found)"), "the rejected value stays visible");
    assert!(html.contains("Nothing was saved: 2 problems"));
}

#[test]
fn the_form_offers_own_groups_and_my_contacts_but_not_other_system_groups() {
    let html = render(&FormState::default(), &[], ZohoPermissions::default());
    assert!(html.contains("value=\"contactGroups/myContacts\""));
    assert!(html.contains("value=\"contactGroups/abc\""));
    assert!(!html.contains("value=\"contactGroups/starred\""));
    assert!(html.contains("CRM &lt;b&gt;Sync&lt;/b&gt;"), "names are escaped");
    assert!(html.contains("Synced with Google"));
    assert!(html.contains("value=\"new\""), "a new group can be made");
    // Extra Zoho fields leave out those the default mapping already uses.
    assert!(html.contains("value=\"Twitter\"") && !html.contains("<option value=\"First_Name\""));
    assert!(html.contains("name=\"csrf\" value=\"tok\""));
}

#[test]
fn a_submitted_form_becomes_settings_with_blank_and_removed_rows_dropped() {
    let form: BTreeMap<String, String> = [
        ("google_group", "contactGroups/abc"),
        ("zoho_cvid", "cv1"),
        ("direction", "two_way"),
        ("conflict_policy", "google_wins"),
        ("frequency", "15m"),
        ("deletion", "unlink_and_keep"),
        ("extra_rows", "4"),
        ("extra_zoho_0", "Twitter"),
        ("extra_google_0", "userDefined.<key>"),
        ("extra_key_0", "Twitter handle"),
        ("extra_zoho_1", "Fax"),
        ("extra_google_1", "phoneNumbers.workFax"),
        ("extra_remove_1", "1"),
        ("extra_zoho_2", ""),
        ("extra_google_2", ""),
        ("extra_zoho_3", "Fax"),
        ("extra_google_3", "phoneNumbers.workFax"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let state = FormState::from_form(&form);
    let base = Settings { tick_budget: 77, ..Settings::default() };
    let (settings, pair_rows, errors) = state.to_settings(&base);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(settings.google_group.as_deref(), Some("contactGroups/abc"));
    assert_eq!(settings.zoho_cvid.as_deref(), Some("cv1"));
    assert_eq!(settings.conflict_policy, ConflictPolicy::GoogleWins);
    assert_eq!(settings.frequency, Frequency::Min15);
    assert_eq!(settings.deletion, DeletionHandling::UnlinkAndKeep);
    assert_eq!(
        settings.extra_fields,
        vec![FieldPair { zoho: "Twitter".into(), google: "userDefined.Twitter handle".into() }, FieldPair { zoho: "Fax".into(), google: "phoneNumbers.workFax".into() }]
    );
    assert_eq!(pair_rows, vec![0, 1], "rows are renumbered after the removed and the blank one");
    assert_eq!(settings.tick_budget, 77, "what the form does not show is kept");
    assert_eq!(FormState::from_settings(&settings).extra_rows, state.extra_rows, "saved settings fill the form back the same");
}

#[test]
fn incomplete_choices_are_reported_on_their_own_control() {
    let form: BTreeMap<String, String> = [("direction", "sideways"), ("extra_rows", "2"), ("extra_zoho_0", "Twitter"), ("extra_google_0", "userDefined.<key>"), ("extra_google_1", "nicknames")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (settings, _, errors) = FormState::from_form(&form).to_settings(&Settings::default());
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"direction"));
    assert!(fields.contains(&"frequency"));
    assert!(fields.contains(&"extra_key_0"), "a custom Google field needs a label");
    assert!(fields.contains(&"extra_zoho_1"), "a pair needs both sides");
    assert!(settings.extra_fields.is_empty());
}

#[test]
fn validation_problems_land_on_the_row_they_are_about() {
    let problem = SettingsError::UnsupportedGoogleField { index: 1, field: "photos".into() };
    assert_eq!(field_of(&problem, &[0, 3]), "extra_google_3");
    assert_eq!(message_of(&problem), "the Google field \"photos\" is not supported; pick one from the list of Google fields");
    assert_eq!(field_of(&SettingsError::ZohoViewMissing, &[]), "zoho_cvid");
    assert_eq!(field_of(&SettingsError::ZeroBudget { setting: "tick_budget" }, &[]), "general");
}

#[test]
fn only_a_connection_with_a_group_and_a_list_counts_as_configured() {
    assert!(!is_configured(&Settings::default()));
    let s = Settings { google_group: Some("contactGroups/abc".into()), zoho_cvid: Some("cv1".into()), ..Settings::default() };
    assert!(is_configured(&s));
}
