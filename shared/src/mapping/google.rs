//! People API person JSON ⇄ [`Contact`].
//!
//! Which item of a list a mapped field means (the same rule for reading and writing, so a value
//! written is the value read back):
//! - typed fields (`Email("work")`, `Phone("mobile")`, `Url(..)`, `Address{kind}`): the primary
//!   item of that type, else the first of that type. For `Email("work")` only, an email without a
//!   type counts as work when no email is typed `work` (the Contacts UI leaves labels empty).
//! - names, organizations, biographies, birthdays, nicknames, occupations: the primary item, else
//!   the first. `userDefined.<key>`: the first item with that key.
//!
//! Updates replace whole person fields (`updatePersonFields`), so [`update_body`] starts from the
//! existing person's lists and changes only the items above: other items (a `home` email when we
//! map `work`, a second phone, an organization's `jobDescription`) are sent back unchanged.
//!
//! The Zoho record id is written into `externalIds` with type [`ZOHO_ID_TYPE`] so a contact
//! created before a crash can be found again ([`zoho_id`]).

use super::{parse_date, GoogleField, Mapping};
use crate::contact::{Contact, FieldChanges};
use crate::mapping::MappingError;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// `externalIds[].type` of the entry holding the linked Zoho record id.
pub const ZOHO_ID_TYPE: &str = "zoho_crm_contact";

/// A person body plus the `updatePersonFields` mask for `people.updateContact` /
/// `batchUpdateContacts`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonUpdate {
    pub person: Value,
    /// Comma-separated top-level person fields, sorted; only those the changes touch.
    pub update_person_fields: String,
}

pub fn resource_name(person: &Value) -> Result<&str, MappingError> {
    person.get("resourceName").and_then(Value::as_str).filter(|r| !r.is_empty()).ok_or(MappingError::MissingResourceName)
}

pub fn etag(person: &Value) -> Option<&str> {
    person.get("etag").and_then(Value::as_str)
}

/// `metadata.deleted`: the person is a tombstone in an incremental sync.
pub fn is_deleted(person: &Value) -> bool {
    person.pointer("/metadata/deleted").and_then(Value::as_bool).unwrap_or(false)
}

/// Whether the person is a member of the contact group `group` (a `contactGroups/..` name).
pub fn in_group(person: &Value, group: &str) -> bool {
    items(person, "memberships")
        .iter()
        .any(|m| m.pointer("/contactGroupMembership/contactGroupResourceName").and_then(Value::as_str) == Some(group))
}

/// The Zoho record id we stored on the person, if any.
pub fn zoho_id(person: &Value) -> Option<String> {
    items(person, "externalIds")
        .iter()
        .find(|e| e.get("type").and_then(Value::as_str) == Some(ZOHO_ID_TYPE))
        .and_then(|e| e.get("value").and_then(Value::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

pub fn contact_from_person(person: &Value, mapping: &Mapping) -> Contact {
    let mut contact = Contact::new();
    for spec in mapping.fields() {
        let list = items(person, spec.google.person_field());
        if let Some(raw) = slot_index(list, &spec.google).and_then(|i| read_slot(&list[i], &spec.google)) {
            contact.set(&spec.zoho, &Mapping::canonical(spec, &raw));
        }
    }
    contact
}

/// A person for `people.createContact` / `batchCreateContacts`: the contact's mapped fields, the
/// Zoho id in `externalIds`, and membership of `group` when given.
pub fn create_body(contact: &Contact, zoho_id: Option<&str>, group: Option<&str>, mapping: &Mapping) -> Value {
    let changes: FieldChanges = contact.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut person = Map::new();
    apply_changes(&mut person, &Value::Null, &changes, mapping);
    if let Some(id) = zoho_id {
        person.insert("externalIds".into(), json!([{"type": ZOHO_ID_TYPE, "value": id}]));
    }
    if let Some(group) = group {
        person.insert("memberships".into(), json!([{"contactGroupMembership": {"contactGroupResourceName": group}}]));
    }
    Value::Object(person)
}

/// The update of `existing` (as last read, with its etag) that applies `changes` to mapped fields.
pub fn update_body(existing: &Value, changes: &FieldChanges, mapping: &Mapping) -> PersonUpdate {
    let mut person = identity(existing);
    let touched = apply_changes(&mut person, existing, changes, mapping);
    PersonUpdate { person: Value::Object(person), update_person_fields: touched.into_iter().collect::<Vec<_>>().join(",") }
}

/// The update that writes `zoho_id` into `externalIds`, keeping the person's other external ids.
pub fn stamp_zoho_id(existing: &Value, zoho_id: &str) -> PersonUpdate {
    let mut person = identity(existing);
    let mut ids: Vec<Value> =
        items(existing, "externalIds").iter().filter(|e| e.get("type").and_then(Value::as_str) != Some(ZOHO_ID_TYPE)).cloned().collect();
    ids.push(json!({"type": ZOHO_ID_TYPE, "value": zoho_id}));
    person.insert("externalIds".into(), Value::Array(ids));
    PersonUpdate { person: Value::Object(person), update_person_fields: "externalIds".into() }
}

/// resourceName, etag and the contact sources (updateContact needs them to check the etag).
fn identity(existing: &Value) -> Map<String, Value> {
    let mut person = Map::new();
    for key in ["resourceName", "etag"] {
        if let Some(v) = existing.get(key) {
            person.insert(key.into(), v.clone());
        }
    }
    if let Some(sources) = existing.pointer("/metadata/sources") {
        person.insert("metadata".into(), json!({ "sources": sources }));
    }
    person
}

/// Writes each mapped change into a copy of the existing list; returns the person fields touched.
fn apply_changes(person: &mut Map<String, Value>, existing: &Value, changes: &FieldChanges, mapping: &Mapping) -> BTreeSet<&'static str> {
    let mut touched = BTreeSet::new();
    for (key, value) in changes {
        let Some(spec) = mapping.spec(key) else { continue };
        let field = spec.google.person_field();
        if touched.insert(field) {
            person.insert(field.into(), Value::Array(items(existing, field).to_vec()));
        }
        if let Some(Value::Array(list)) = person.get_mut(field) {
            write_slot(list, &spec.google, value);
        }
    }
    touched
}

fn items<'a>(person: &'a Value, field: &str) -> &'a [Value] {
    person.get(field).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn str_at<'a>(item: &'a Value, key: &str) -> &'a str {
    item.get(key).and_then(Value::as_str).unwrap_or("")
}

fn is_primary(item: &Value) -> bool {
    item.pointer("/metadata/primary").and_then(Value::as_bool).unwrap_or(false)
}

/// Primary among the candidates, else the first.
fn pick(list: &[Value], candidate: impl Fn(&Value) -> bool) -> Option<usize> {
    let mut first = None;
    for (i, item) in list.iter().enumerate().filter(|(_, item)| candidate(item)) {
        if is_primary(item) {
            return Some(i);
        }
        first.get_or_insert(i);
    }
    first
}

fn slot_index(list: &[Value], field: &GoogleField) -> Option<usize> {
    use GoogleField as G;
    let typed = |t: &str| pick(list, |item| str_at(item, "type").eq_ignore_ascii_case(t));
    match field {
        G::Email(t) if t == "work" => typed(t).or_else(|| pick(list, |item| str_at(item, "type").is_empty())),
        G::Email(t) | G::Phone(t) | G::Url(t) => typed(t),
        G::Address { kind, .. } => typed(kind),
        G::UserDefined(key) => list.iter().position(|item| str_at(item, "key") == key),
        _ => pick(list, |_| true),
    }
}

fn read_slot(item: &Value, field: &GoogleField) -> Option<String> {
    use GoogleField as G;
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_string);
    match field {
        G::GivenName => text("givenName"),
        G::FamilyName => text("familyName"),
        G::OrgName => text("name"),
        G::OrgTitle => text("title"),
        G::OrgDepartment => text("department"),
        G::Address { part, .. } => text(part.json_key()),
        G::Birthday => read_birthday(item),
        _ => text("value"),
    }
}

fn read_birthday(item: &Value) -> Option<String> {
    let part = |k: &str| item.pointer(&format!("/date/{k}")).and_then(Value::as_u64).unwrap_or(0);
    let (y, m, d) = (part("year"), part("month"), part("day"));
    if y > 0 && m > 0 && d > 0 {
        return Some(format!("{y:04}-{m:02}-{d:02}"));
    }
    item.get("text").and_then(Value::as_str).map(str::to_string)
}

/// Sets (or, for an empty value, clears) the slot, creating or dropping its item as needed.
fn write_slot(list: &mut Vec<Value>, field: &GoogleField, value: &str) {
    let index = slot_index(list, field);
    if value.is_empty() {
        let Some(i) = index else { return };
        clear_in_item(&mut list[i], field);
        if !has_content(&list[i]) {
            list.remove(i);
        }
        return;
    }
    let i = index.unwrap_or_else(|| {
        list.push(new_item(field));
        list.len() - 1
    });
    set_in_item(&mut list[i], field, value);
}

fn new_item(field: &GoogleField) -> Value {
    use GoogleField as G;
    match field {
        G::Email(t) | G::Phone(t) | G::Url(t) => json!({ "type": t }),
        G::Address { kind, .. } => json!({ "type": kind }),
        G::UserDefined(key) => json!({ "key": key }),
        _ => json!({}),
    }
}

fn value_key(field: &GoogleField) -> &'static str {
    use GoogleField as G;
    match field {
        G::GivenName => "givenName",
        G::FamilyName => "familyName",
        G::OrgName => "name",
        G::OrgTitle => "title",
        G::OrgDepartment => "department",
        G::Address { part, .. } => part.json_key(),
        G::Birthday => "date",
        _ => "value",
    }
}

/// Output-only or derived keys that would show stale text once we change the item.
fn drop_derived(obj: &mut Map<String, Value>) {
    for key in ["displayName", "displayNameLastFirst", "unstructuredName", "formattedValue", "formattedType", "canonicalForm", "text"] {
        obj.remove(key);
    }
}

fn set_in_item(item: &mut Value, field: &GoogleField, value: &str) {
    let Value::Object(obj) = item else { return };
    if !matches!(field, GoogleField::Email(_)) {
        drop_derived(obj);
    }
    let new_value = match (field, parse_date(value)) {
        (GoogleField::Birthday, Some((y, m, d))) => json!({"year": y, "month": m, "day": d}),
        (GoogleField::Birthday, None) => return,
        _ => Value::String(value.to_string()),
    };
    obj.insert(value_key(field).into(), new_value);
    if matches!(field, GoogleField::Biography) {
        obj.insert("contentType".into(), json!("TEXT_PLAIN"));
    }
}

fn clear_in_item(item: &mut Value, field: &GoogleField) {
    if let Value::Object(obj) = item {
        drop_derived(obj);
        obj.remove(value_key(field));
    }
}

/// Whether an item still says something once our value is gone.
fn has_content(item: &Value) -> bool {
    const NOT_CONTENT: [&str; 6] = ["metadata", "type", "formattedType", "current", "contentType", "key"];
    item.as_object().is_some_and(|obj| {
        obj.iter().any(|(k, v)| {
            !NOT_CONTENT.contains(&k.as_str())
                && match v {
                    Value::String(s) => !s.trim().is_empty(),
                    Value::Null => false,
                    _ => true,
                }
        })
    })
}

#[cfg(test)]
mod tests;
