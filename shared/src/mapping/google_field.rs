//! The Google side of a mapped pair and its string id (what settings store).
//!
//! Ids: `names.givenName`, `names.familyName`, `emailAddresses.<type>`, `phoneNumbers.<type>`,
//! `organizations.{name,title,department}`, `addresses.<type>.<part>`, `biographies`,
//! `birthdays`, `nicknames`, `occupations`, `urls.<type>`, `userDefined.<key>`.

use super::{MappingError, ValueKind};
use serde::Serialize;

pub const USER_DEFINED_PREFIX: &str = "userDefined.";

const EMAIL_TYPES: [&str; 3] = ["work", "other", "home"];
const PHONE_TYPES: [&str; 12] =
    ["work", "mobile", "home", "other", "main", "workMobile", "workFax", "homeFax", "otherFax", "pager", "workPager", "googleVoice"];
const ADDRESS_TYPES: [&str; 3] = ["work", "home", "other"];
const URL_TYPES: [&str; 9] = ["work", "home", "blog", "profile", "homePage", "ftp", "reservations", "appInstallPage", "other"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressPart {
    Street,
    City,
    Region,
    PostalCode,
    Country,
}

impl AddressPart {
    const ALL: [AddressPart; 5] =
        [AddressPart::Street, AddressPart::City, AddressPart::Region, AddressPart::PostalCode, AddressPart::Country];

    /// The key inside a People API `Address`.
    pub fn json_key(self) -> &'static str {
        match self {
            AddressPart::Street => "streetAddress",
            AddressPart::City => "city",
            AddressPart::Region => "region",
            AddressPart::PostalCode => "postalCode",
            AddressPart::Country => "country",
        }
    }
}

/// A value slot in a Google person. Typed slots (`Email("work")`) address the item of that type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GoogleField {
    GivenName,
    FamilyName,
    Email(String),
    Phone(String),
    OrgName,
    OrgTitle,
    OrgDepartment,
    Address { kind: String, part: AddressPart },
    Biography,
    Birthday,
    Nickname,
    Occupation,
    Url(String),
    UserDefined(String),
}

/// One choice a settings page can offer for an extra pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoogleFieldOption {
    /// The id to store in `FieldPair.google`; for user-defined fields a template
    /// (`userDefined.<key>`) the page completes with a key of the user's choice.
    pub id: String,
    pub label: String,
}

/// Google fields offered for extra pairs: every supported field the default mapping does not
/// use, plus the `userDefined.<key>` template.
pub fn supported_extra_google_fields() -> Vec<GoogleFieldOption> {
    let defaults: Vec<GoogleField> = super::Mapping::default().fields().iter().map(|f| f.google.clone()).collect();
    let mut out: Vec<GoogleFieldOption> = all_fixed_fields()
        .into_iter()
        .filter(|f| !defaults.contains(f))
        .map(|f| GoogleFieldOption { label: f.label(), id: f.id() })
        .collect();
    out.push(GoogleFieldOption { id: format!("{USER_DEFINED_PREFIX}<key>"), label: "Custom field (choose a label)".into() });
    out
}

fn all_fixed_fields() -> Vec<GoogleField> {
    use GoogleField as G;
    let mut all =
        vec![G::GivenName, G::FamilyName, G::OrgName, G::OrgTitle, G::OrgDepartment, G::Biography, G::Birthday, G::Nickname, G::Occupation];
    all.extend(EMAIL_TYPES.iter().map(|t| G::Email(t.to_string())));
    all.extend(PHONE_TYPES.iter().map(|t| G::Phone(t.to_string())));
    for kind in ADDRESS_TYPES {
        all.extend(AddressPart::ALL.iter().map(|&part| G::Address { kind: kind.to_string(), part }));
    }
    all.extend(URL_TYPES.iter().map(|t| G::Url(t.to_string())));
    all
}

impl GoogleField {
    pub fn parse(id: &str) -> Result<GoogleField, MappingError> {
        let id = id.trim();
        if let Some(key) = id.strip_prefix(USER_DEFINED_PREFIX) {
            let key = key.trim();
            if !key.is_empty() && key != "<key>" {
                return Ok(GoogleField::UserDefined(key.to_string()));
            }
        }
        all_fixed_fields()
            .into_iter()
            .find(|f| f.id() == id)
            .ok_or_else(|| MappingError::UnsupportedGoogleField(id.chars().take(64).collect()))
    }

    pub fn id(&self) -> String {
        use GoogleField as G;
        match self {
            G::GivenName => "names.givenName".into(),
            G::FamilyName => "names.familyName".into(),
            G::Email(t) => format!("emailAddresses.{t}"),
            G::Phone(t) => format!("phoneNumbers.{t}"),
            G::OrgName => "organizations.name".into(),
            G::OrgTitle => "organizations.title".into(),
            G::OrgDepartment => "organizations.department".into(),
            G::Address { kind, part } => format!("addresses.{kind}.{}", part.json_key()),
            G::Biography => "biographies".into(),
            G::Birthday => "birthdays".into(),
            G::Nickname => "nicknames".into(),
            G::Occupation => "occupations".into(),
            G::Url(t) => format!("urls.{t}"),
            G::UserDefined(k) => format!("{USER_DEFINED_PREFIX}{k}"),
        }
    }

    pub fn label(&self) -> String {
        use GoogleField as G;
        match self {
            G::GivenName => "First name".into(),
            G::FamilyName => "Last name".into(),
            G::Email(t) => format!("Email ({t})"),
            G::Phone(t) => format!("Phone ({t})"),
            G::OrgName => "Company".into(),
            G::OrgTitle => "Job title".into(),
            G::OrgDepartment => "Department".into(),
            G::Address { kind, part } => format!("Address ({kind}): {}", part.json_key()),
            G::Biography => "Notes".into(),
            G::Birthday => "Birthday".into(),
            G::Nickname => "Nickname".into(),
            G::Occupation => "Occupation".into(),
            G::Url(t) => format!("Website ({t})"),
            G::UserDefined(k) => format!("Custom field {k}"),
        }
    }

    /// The top-level Person field holding this slot (what goes into `updatePersonFields`).
    pub fn person_field(&self) -> &'static str {
        use GoogleField as G;
        match self {
            G::GivenName | G::FamilyName => "names",
            G::Email(_) => "emailAddresses",
            G::Phone(_) => "phoneNumbers",
            G::OrgName | G::OrgTitle | G::OrgDepartment => "organizations",
            G::Address { .. } => "addresses",
            G::Biography => "biographies",
            G::Birthday => "birthdays",
            G::Nickname => "nicknames",
            G::Occupation => "occupations",
            G::Url(_) => "urls",
            G::UserDefined(_) => "userDefined",
        }
    }

    pub fn value_kind(&self) -> ValueKind {
        match self {
            GoogleField::Email(_) => ValueKind::Email,
            GoogleField::Birthday => ValueKind::Date,
            _ => ValueKind::Text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_field_parses_back_to_its_id() {
        for option in supported_extra_google_fields().into_iter().filter(|o| !o.id.starts_with(USER_DEFINED_PREFIX)) {
            assert_eq!(GoogleField::parse(&option.id).map(|f| f.id()), Ok(option.id.clone()));
        }
    }

    #[test]
    fn the_offer_leaves_out_fields_the_default_mapping_uses() {
        let ids: Vec<String> = supported_extra_google_fields().into_iter().map(|o| o.id).collect();
        assert!(ids.contains(&"phoneNumbers.other".to_string()));
        assert!(ids.contains(&"nicknames".to_string()));
        assert!(!ids.contains(&"emailAddresses.work".to_string()));
        assert!(!ids.contains(&"names.givenName".to_string()));
    }

    #[test]
    fn user_defined_fields_need_a_key() {
        assert_eq!(GoogleField::parse("userDefined.Skype"), Ok(GoogleField::UserDefined("Skype".into())));
        assert!(GoogleField::parse("userDefined.").is_err());
        assert!(GoogleField::parse("userDefined.<key>").is_err());
        assert!(GoogleField::parse("photos").is_err());
    }
}
