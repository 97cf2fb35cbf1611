//! The Contacts field metadata the emulator serves and validates writes against. Types and
//! lengths follow Zoho's field-meta samples (Leads sample for the shared standard fields).

use serde_json::{json, Map, Value};

pub struct FieldSpec {
    pub api_name: &'static str,
    pub label: &'static str,
    pub data_type: &'static str,
    pub length: usize,
    /// Computed or system-set: ignored on writes.
    pub read_only: bool,
    pub mandatory: bool,
    pub unique: bool,
}

const fn f(api_name: &'static str, label: &'static str, data_type: &'static str, length: usize) -> FieldSpec {
    FieldSpec { api_name, label, data_type, length, read_only: false, mandatory: false, unique: false }
}

const fn ro(api_name: &'static str, label: &'static str, data_type: &'static str) -> FieldSpec {
    FieldSpec { api_name, label, data_type, length: 0, read_only: true, mandatory: false, unique: false }
}

pub const CONTACT_FIELDS: &[FieldSpec] = &[
    ro("Owner", "Contact Owner", "ownerlookup"),
    f("Salutation", "Salutation", "picklist", 120),
    f("First_Name", "First Name", "text", 40),
    FieldSpec { mandatory: true, ..f("Last_Name", "Last Name", "text", 80) },
    ro("Full_Name", "Full Name", "text"),
    FieldSpec { unique: true, ..f("Email", "Email", "email", 100) },
    f("Secondary_Email", "Secondary Email", "email", 100),
    f("Phone", "Phone", "phone", 30),
    f("Mobile", "Mobile", "phone", 30),
    f("Home_Phone", "Home Phone", "phone", 30),
    f("Other_Phone", "Other Phone", "phone", 30),
    f("Fax", "Fax", "phone", 30),
    f("Title", "Title", "text", 100),
    f("Department", "Department", "text", 100),
    f("Account_Name", "Account Name", "lookup", 0),
    f("Date_of_Birth", "Date of Birth", "date", 0),
    f("Email_Opt_Out", "Email Opt Out", "boolean", 0),
    f("Lead_Source", "Lead Source", "picklist", 120),
    f("Twitter", "Twitter", "text", 50),
    f("Description", "Description", "textarea", 32000),
    f("Mailing_Street", "Mailing Street", "text", 250),
    f("Mailing_City", "Mailing City", "text", 100),
    f("Mailing_State", "Mailing State", "text", 100),
    f("Mailing_Zip", "Mailing Zip", "text", 30),
    f("Mailing_Country", "Mailing Country", "text", 100),
    f("Other_Street", "Other Street", "text", 250),
    f("Other_City", "Other City", "text", 100),
    f("Other_State", "Other State", "text", 100),
    f("Other_Zip", "Other Zip", "text", 30),
    f("Other_Country", "Other Country", "text", 100),
    ro("Created_By", "Created By", "ownerlookup"),
    ro("Modified_By", "Modified By", "ownerlookup"),
    ro("Created_Time", "Created Time", "datetime"),
    ro("Modified_Time", "Modified Time", "datetime"),
];

pub fn spec(api_name: &str) -> Option<&'static FieldSpec> {
    CONTACT_FIELDS.iter().find(|f| f.api_name == api_name)
}

/// Whether `name` may appear in `fields=` (every field, plus `id`).
pub fn is_readable(name: &str) -> bool {
    name == "id" || spec(name).is_some()
}

/// The `/settings/fields` element for one field (the OAS `fields` keys a client reads).
pub fn metadata(index: usize, spec: &FieldSpec) -> Value {
    let json_type = match spec.data_type {
        "boolean" => "boolean",
        "lookup" | "ownerlookup" => "jsonobject",
        _ => "string",
    };
    json!({
        "id": (5_725_767_000_000_002_000u64 + index as u64).to_string(),
        "api_name": spec.api_name,
        "field_label": spec.label,
        "display_label": spec.label,
        "data_type": spec.data_type,
        "json_type": json_type,
        "length": spec.length,
        "read_only": spec.read_only,
        "field_read_only": spec.read_only,
        "system_mandatory": spec.mandatory,
        "unique": if spec.unique { json!({"case_sensitive": false}) } else { json!({}) },
        "custom_field": false,
        "visible": true,
        "type": "used",
        "operation_type": {"web_update": !spec.read_only, "api_create": !spec.read_only, "web_create": !spec.read_only, "api_update": !spec.read_only},
    })
}

/// A per-record validation failure: Zoho code, message and details.
pub struct Invalid {
    pub code: &'static str,
    pub message: &'static str,
    pub details: Value,
}

fn invalid_data(api_name: &str, expected: &str, json_path: &str) -> Invalid {
    Invalid {
        code: "INVALID_DATA",
        message: "invalid data",
        details: json!({"api_name": api_name, "expected_data_type": expected, "json_path": json_path}),
    }
}

/// Checks the writable fields of one input record; returns them without read-only and unknown
/// keys (Zoho ignores those on write).
pub fn validate(input: &Map<String, Value>, index: usize) -> Result<Map<String, Value>, Invalid> {
    let mut kept = Map::new();
    for (name, value) in input {
        let Some(spec) = spec(name) else { continue };
        if spec.read_only {
            continue;
        }
        let path = format!("$.data[{index}].{name}");
        if !value.is_null() {
            check_value(spec, value).map_err(|()| invalid_data(name, spec.data_type, &path))?;
        }
        kept.insert(name.clone(), value.clone());
    }
    Ok(kept)
}

fn check_value(spec: &FieldSpec, value: &Value) -> Result<(), ()> {
    match spec.data_type {
        "boolean" => value.is_boolean().then_some(()).ok_or(()),
        "lookup" => value.get("id").and_then(Value::as_str).map(|_| ()).ok_or(()),
        "date" => {
            let text = value.as_str().ok_or(())?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(text, &format).map(|_| ()).map_err(|_| ())
        }
        "email" => value.as_str().filter(|s| s.chars().count() <= spec.length && looks_like_email(s)).map(|_| ()).ok_or(()),
        _ => value.as_str().filter(|s| spec.length == 0 || s.chars().count() <= spec.length).map(|_| ()).ok_or(()),
    }
}

/// Zoho's published pattern in short: local part, `@`, dotted domain, 2–22 letter TLD.
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let Some((host, tld)) = domain.rsplit_once('.') else { return false };
    !local.is_empty()
        && !host.is_empty()
        && !s.contains(char::is_whitespace)
        && (2..=22).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}
