//! Which Zoho field pairs with which Google person field, and the conversions both ways.
//!
//! - [`Mapping`]: the default table plus the user's extra pairs ([`Mapping::from_settings`]).
//! - [`GoogleField`]: the Google side of a pair, written as an id such as `phoneNumbers.mobile`
//!   or `userDefined.Twitter`; [`supported_extra_google_fields`] lists what a settings page may offer.
//! - [`zoho`]: Zoho record JSON → [`Contact`], and the write body.
//! - [`google`]: People API person JSON → [`Contact`], the create body, and the update body with
//!   its `updatePersonFields` mask, merged into the existing person so data outside the mapping
//!   (a `home` email when we map `work`) survives.
//!
//! [`Contact`]: crate::contact::Contact

pub mod google;
mod google_field;
pub mod zoho;

pub use google_field::{supported_extra_google_fields, AddressPart, GoogleField, GoogleFieldOption, USER_DEFINED_PREFIX};

use crate::settings::Settings;

/// How a value is canonicalised when read from either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    /// Trimmed and lower-cased.
    Email,
    /// `YYYY-MM-DD`; anything else reads as empty.
    Date,
}

/// One mapped pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// Zoho api name; also the field's key in a [`crate::contact::Contact`] and in `Link.field_hashes`.
    pub zoho: String,
    pub google: GoogleField,
    pub kind: ValueKind,
    /// False for fields we cannot write to Zoho by value (the `Account_Name` lookup needs an
    /// account id): they only flow Zoho → Google.
    pub zoho_writable: bool,
    /// Zoho rejects a record without it (`Last_Name`): an empty value is never written to Zoho.
    pub zoho_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the Google field {0:?} is not supported; pick one from the list of supported fields")]
    UnsupportedGoogleField(String),
    #[error("the Zoho record has no id")]
    MissingZohoId,
    #[error("the Google person has no resourceName")]
    MissingResourceName,
}

/// The mapped pairs of one connection, in a fixed order (defaults first, then extras).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    fields: Vec<FieldSpec>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping { fields: default_fields() }
    }
}

impl Mapping {
    /// Defaults plus `settings.extra_fields`. Pairs repeating a mapped field are not added twice
    /// (settings validation reports them); an unsupported Google field is an error.
    pub fn from_settings(settings: &Settings) -> Result<Mapping, MappingError> {
        let mut mapping = Mapping::default();
        for pair in &settings.extra_fields {
            let google = GoogleField::parse(&pair.google)?;
            let zoho = pair.zoho.trim();
            if zoho.is_empty() || mapping.spec(zoho).is_some() || mapping.fields.iter().any(|f| f.google == google) {
                continue;
            }
            let kind = google.value_kind();
            mapping.fields.push(FieldSpec { zoho: zoho.to_string(), google, kind, zoho_writable: true, zoho_required: false });
        }
        Ok(mapping)
    }

    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.zoho.as_str())
    }

    pub fn spec(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.zoho == key)
    }

    /// Canonical form of a value read for `spec` (see [`ValueKind`]).
    pub fn canonical(spec: &FieldSpec, raw: &str) -> String {
        let text = crate::contact::canonical_text(raw);
        match spec.kind {
            ValueKind::Text => text,
            ValueKind::Email => text.to_lowercase(),
            ValueKind::Date => parse_date(&text).map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")).unwrap_or_default(),
        }
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
pub(crate) fn parse_date(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d) && y > 0).then_some((y, m, d))
}

fn default_fields() -> Vec<FieldSpec> {
    use AddressPart::*;
    use GoogleField as G;
    let work = |part| G::Address { kind: "work".into(), part };
    let pairs: Vec<(&str, GoogleField)> = vec![
        ("First_Name", G::GivenName),
        ("Last_Name", G::FamilyName),
        ("Email", G::Email("work".into())),
        ("Secondary_Email", G::Email("other".into())),
        ("Phone", G::Phone("work".into())),
        ("Mobile", G::Phone("mobile".into())),
        ("Home_Phone", G::Phone("home".into())),
        ("Title", G::OrgTitle),
        ("Department", G::OrgDepartment),
        ("Account_Name", G::OrgName),
        ("Mailing_Street", work(Street)),
        ("Mailing_City", work(City)),
        ("Mailing_State", work(Region)),
        ("Mailing_Zip", work(PostalCode)),
        ("Mailing_Country", work(Country)),
        ("Description", G::Biography),
        ("Date_of_Birth", G::Birthday),
    ];
    pairs
        .into_iter()
        .map(|(zoho, google)| FieldSpec {
            zoho: zoho.to_string(),
            kind: google.value_kind(),
            zoho_writable: zoho != "Account_Name",
            zoho_required: zoho == "Last_Name",
            google,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::FieldPair;

    #[test]
    fn extra_pairs_are_added_after_the_defaults() {
        let settings =
            Settings { extra_fields: vec![FieldPair { zoho: "Twitter".into(), google: "urls.profile".into() }], ..Settings::default() };
        let mapping = Mapping::from_settings(&settings).unwrap();
        assert_eq!(mapping.keys().last(), Some("Twitter"));
        assert_eq!(mapping.spec("Twitter").map(|s| s.google.id()), Some("urls.profile".to_string()));
        assert_eq!(mapping.fields().len(), Mapping::default().fields().len() + 1);
    }

    #[test]
    fn an_unsupported_google_field_is_an_error() {
        let settings = Settings { extra_fields: vec![FieldPair { zoho: "Fax".into(), google: "photos".into() }], ..Settings::default() };
        assert_eq!(Mapping::from_settings(&settings), Err(MappingError::UnsupportedGoogleField("photos".into())));
    }

    #[test]
    fn dates_that_are_not_full_dates_read_as_empty() {
        let spec = Mapping::default().spec("Date_of_Birth").cloned().unwrap();
        assert_eq!(Mapping::canonical(&spec, " 1990-05-01 "), "1990-05-01");
        assert_eq!(Mapping::canonical(&spec, "1990-13-01"), "");
        assert_eq!(Mapping::canonical(&spec, "May 1st"), "");
    }
}
