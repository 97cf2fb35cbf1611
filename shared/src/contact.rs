//! The canonical contact both sides are compared in: mapped field key → value.
//!
//! A field key is the Zoho api name of a mapped field (`First_Name`, `Email`, `Mailing_City`, an
//! extra pair's Zoho field). Values are canonical so that equal data compares equal whichever side
//! it came from: trimmed, `\r\n` as `\n`, emails lower-cased, dates as `YYYY-MM-DD`. An empty value
//! is the same as an absent one and is never stored.
//!
//! [`field_hash`] is what a [`crate::store::Link`] keeps as the base state: a SHA-256 of the
//! canonical value, so our tables hold no contact data beyond emails and ids.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The key of the primary email field; it is what contacts are matched on (Zoho `Email` ⇄ the
/// Google email of type `work`).
pub const EMAIL_KEY: &str = "Email";

/// Field key → new canonical value for an update; an empty value clears the field.
pub type FieldChanges = BTreeMap<String, String>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Contact {
    fields: BTreeMap<String, String>,
}

impl Contact {
    pub fn new() -> Self {
        Contact::default()
    }

    /// Builder form of [`Contact::set`].
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.set(key, value);
        self
    }

    /// Sets a field to the canonical text of `value`; an empty value removes the field.
    /// Email and date canonicalisation is the mapping's job (it knows the field kinds).
    pub fn set(&mut self, key: &str, value: &str) {
        let value = canonical_text(value);
        if value.is_empty() {
            self.fields.remove(key);
        } else {
            self.fields.insert(key.to_string(), value);
        }
    }

    /// The value of a field; `""` when it is empty or absent.
    pub fn get(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The matching email (the `Email` field), trimmed and lower-cased; `None` when empty.
    pub fn email(&self) -> Option<String> {
        crate::store::normalize_email(self.get(EMAIL_KEY))
    }

    /// Only the fields whose key satisfies `keep`.
    pub fn restricted(&self, keep: impl Fn(&str) -> bool) -> Contact {
        Contact { fields: self.fields.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect() }
    }
}

/// Trimmed, line endings unified, no trailing spaces on lines. Applied to every value that
/// enters a [`Contact`].
pub fn canonical_text(value: &str) -> String {
    let unified = value.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.trim().lines().map(str::trim_end).collect();
    lines.join("\n")
}

/// Base-state hash of one field value: the first [`FIELD_HASH_BYTES`] of the SHA-256 of its
/// canonical text, in hex. Equal canonical values give equal hashes; the empty value has a hash
/// too, so "cleared" is a state like any other.
pub fn field_hash(value: &str) -> String {
    let digest = Sha256::digest(canonical_text(value).as_bytes());
    hex::encode(&digest[..FIELD_HASH_BYTES])
}

/// 128 bits tell a changed value from the base with certainty for any practical purpose, and
/// keep a link with twenty fields under DynamoDB's 1 KB write unit (a full SHA-256 doubled it).
pub const FIELD_HASH_BYTES: usize = 16;

/// Hashes of every key in `keys`, taking values from `contact` (absent keys hash as empty).
pub fn field_hashes<'a>(contact: &Contact, keys: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    keys.into_iter().map(|k| (k.to_string(), field_hash(contact.get(k)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_line_endings_do_not_count_as_a_change() {
        assert_eq!(field_hash("  Ann \r\nSmith "), field_hash("Ann\nSmith"));
        assert_ne!(field_hash("Ann"), field_hash("Anne"));
    }

    #[test]
    fn a_field_hash_is_128_bits_of_sha256() {
        let full = hex::encode(Sha256::digest(b"Ann"));
        assert_eq!(field_hash(" Ann "), full[..32]);
    }

    #[test]
    fn an_empty_value_is_the_same_as_an_absent_one() {
        let c = Contact::new().with("Phone", "   ").with("Title", "CEO");
        assert_eq!(c.get("Phone"), "");
        assert_eq!(c, Contact::new().with("Title", "CEO"));
        assert_eq!(field_hashes(&c, ["Phone"])["Phone"], field_hash(""));
    }

    #[test]
    fn matching_email_is_trimmed_and_lower_cased() {
        assert_eq!(Contact::new().with(EMAIL_KEY, " Ann@Example.COM ").email().as_deref(), Some("ann@example.com"));
        assert_eq!(Contact::new().email(), None);
    }
}
