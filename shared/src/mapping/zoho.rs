//! Zoho CRM Contacts record JSON ⇄ [`Contact`].
//!
//! Reading: strings as they are, numbers and booleans as text, lookups (`Account_Name`) by their
//! `name`, multi-select lists joined with `"; "`, `null` as empty. Writing: only mapped fields Zoho
//! accepts by value (see [`FieldSpec::zoho_writable`]); an empty value is sent as `null`, which
//! clears the field.

use super::{FieldSpec, Mapping, MappingError};
use crate::contact::{Contact, FieldChanges};
use serde_json::{Map, Value};

/// The record's `id`.
pub fn record_id(record: &Value) -> Result<&str, MappingError> {
    record.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()).ok_or(MappingError::MissingZohoId)
}

/// The record's `Modified_Time`, as Zoho sent it.
pub fn modified_time(record: &Value) -> Option<&str> {
    record.get("Modified_Time").and_then(Value::as_str)
}

/// The mapped fields of a record.
pub fn contact_from_record(record: &Value, mapping: &Mapping) -> Contact {
    let mut contact = Contact::new();
    for spec in mapping.fields() {
        if let Some(raw) = record.get(&spec.zoho).and_then(value_text) {
            contact.set(&spec.zoho, &Mapping::canonical(spec, &raw));
        }
    }
    contact
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
        Value::Array(items) => {
            let texts: Vec<String> = items.iter().filter_map(value_text).collect();
            Some(texts.join("; "))
        }
        Value::Null => None,
    }
}

/// A record for `POST /Contacts` (insert or upsert) or `PUT /Contacts` (with `id`): the
/// given changes of writable mapped fields. Keys outside the mapping are ignored; an empty value
/// of a required field is left out rather than sent as a clear Zoho would reject.
pub fn write_body(changes: &FieldChanges, zoho_id: Option<&str>, mapping: &Mapping) -> Value {
    let mut body = Map::new();
    if let Some(id) = zoho_id {
        body.insert("id".into(), Value::String(id.to_string()));
    }
    for (key, value) in changes {
        let Some(spec) = mapping.spec(key).filter(|s| s.zoho_writable) else { continue };
        match zoho_value(spec, value) {
            Some(v) => body.insert(spec.zoho.clone(), v),
            None => continue,
        };
    }
    Value::Object(body)
}

/// The body for creating a record from a whole contact.
pub fn create_body(contact: &Contact, mapping: &Mapping) -> Value {
    let changes: FieldChanges = contact.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    write_body(&changes, None, mapping)
}

fn zoho_value(spec: &FieldSpec, value: &str) -> Option<Value> {
    if value.is_empty() {
        return (!spec.zoho_required).then_some(Value::Null);
    }
    Some(Value::String(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "id": "3652397000000624001",
            "First_Name": " Ann ",
            "Last_Name": "Lee",
            "Email": "Ann.Lee@Example.com",
            "Secondary_Email": null,
            "Account_Name": {"name": "Acme", "id": "3652397000000087057"},
            "Date_of_Birth": "1990-05-01",
            "Modified_Time": "2024-05-10T01:10:47-07:00",
            "Owner": {"name": "Pat", "id": "1", "email": "pat@example.com"}
        })
    }

    #[test]
    fn a_record_reads_into_its_mapped_fields_only() {
        let c = contact_from_record(&record(), &Mapping::default());
        assert_eq!(c.get("First_Name"), "Ann");
        assert_eq!(c.get("Email"), "ann.lee@example.com");
        assert_eq!(c.get("Account_Name"), "Acme");
        assert_eq!(c.get("Date_of_Birth"), "1990-05-01");
        assert_eq!(c.get("Secondary_Email"), "");
        assert_eq!(c.get("Owner"), "", "unmapped fields stay out");
        assert_eq!(record_id(&record()), Ok("3652397000000624001"));
        assert_eq!(modified_time(&record()), Some("2024-05-10T01:10:47-07:00"));
        assert_eq!(record_id(&json!({"First_Name": "x"})), Err(MappingError::MissingZohoId));
    }

    #[test]
    fn an_update_sends_the_id_and_only_the_changed_mapped_fields() {
        let changes = FieldChanges::from([
            ("Phone".to_string(), "+1 555 0100".to_string()),
            ("Title".to_string(), String::new()),
            ("Last_Name".to_string(), String::new()),
            ("Account_Name".to_string(), "Other".to_string()),
            ("Not_Mapped".to_string(), "x".to_string()),
        ]);
        let body = write_body(&changes, Some("42"), &Mapping::default());
        assert_eq!(body, json!({"id": "42", "Phone": "+1 555 0100", "Title": null}));
    }

    #[test]
    fn a_create_body_has_no_id() {
        let c = Contact::new().with("Last_Name", "Lee").with("Email", "ann@example.com");
        assert_eq!(create_body(&c, &Mapping::default()), json!({"Last_Name": "Lee", "Email": "ann@example.com"}));
    }
}
