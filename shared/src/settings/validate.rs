//! Settings validation: every problem at once, each naming the setting it is about
//! ([`SettingsError::setting`], e.g. `extra_fields[2].google`) and saying what to change, so a
//! settings page can show it next to the field.

use super::{DeletionHandling, Direction, Settings};
use crate::mapping::{GoogleField, Mapping};
use crate::store::ZohoPermissions;
use std::collections::BTreeSet;

/// The only system group contacts may be synced with: the others cannot take new members.
pub const MY_CONTACTS_GROUP: &str = "contactGroups/myContacts";

/// A contact group of the user, from `contactGroups.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleGroupInfo {
    pub resource_name: String,
    /// `groupType == SYSTEM_CONTACT_GROUP`.
    pub system: bool,
}

/// What the settings are checked against. Supported Google fields are those
/// [`GoogleField::parse`] accepts (listed by [`crate::mapping::supported_extra_google_fields`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationContext {
    /// Api names from the Contacts fields metadata (only fields the user can see).
    pub zoho_fields: BTreeSet<String>,
    pub permissions: ZohoPermissions,
    pub google_groups: Vec<GoogleGroupInfo>,
    /// Custom view ids (`cvid`) of the Contacts module visible to the user.
    pub zoho_views: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("extra pair {}: the Zoho field {field:?} does not exist or you cannot see it; pick a field from the Zoho list", index + 1)]
    UnknownZohoField { index: usize, field: String },
    #[error("extra pair {}: the Google field {field:?} is not supported; pick one from the list of Google fields", index + 1)]
    UnsupportedGoogleField { index: usize, field: String },
    #[error("extra pair {}: the Zoho field {field:?} is already mapped; remove this pair or pick another Zoho field", index + 1)]
    ZohoFieldMappedTwice { index: usize, field: String },
    #[error("extra pair {}: the Google field {field:?} is already mapped; remove this pair or pick another Google field", index + 1)]
    GoogleFieldMappedTwice { index: usize, field: String },
    #[error("your Zoho profile cannot view Contacts; ask your Zoho administrator for the View permission")]
    NoZohoViewPermission,
    #[error("your Zoho profile lacks the {missing} permission on Contacts, so only \"Zoho → Google only\" is possible; choose it or ask your Zoho administrator")]
    DirectionNotPermitted { missing: &'static str },
    #[error("deleting in Zoho needs the Delete permission on Contacts; choose \"unlink and keep\" or ask your Zoho administrator")]
    DeletionNotPermitted,
    #[error("choose the Google contact group (label) to sync")]
    GoogleGroupMissing,
    #[error("the Google contact group {group:?} was not found; choose another group")]
    UnknownGoogleGroup { group: String },
    #[error("the system group {group:?} cannot take new contacts; choose a label of your own or My Contacts")]
    SystemGroupNotAllowed { group: String },
    #[error("choose the Zoho CRM list (custom view) to sync")]
    ZohoViewMissing,
    #[error("the Zoho list {cvid:?} was not found; choose another list")]
    UnknownZohoView { cvid: String },
    #[error("{setting} must be at least 1")]
    ZeroBudget { setting: &'static str },
    #[error("the mass-delete share must be between 1 and 100 percent (it is {value})")]
    MassDeletePercentOutOfRange { value: u8 },
}

impl SettingsError {
    /// The setting the problem is about, as a path into the settings JSON.
    pub fn setting(&self) -> String {
        use SettingsError as E;
        match self {
            E::UnknownZohoField { index, .. } | E::ZohoFieldMappedTwice { index, .. } => format!("extra_fields[{index}].zoho"),
            E::UnsupportedGoogleField { index, .. } | E::GoogleFieldMappedTwice { index, .. } => format!("extra_fields[{index}].google"),
            E::NoZohoViewPermission | E::DirectionNotPermitted { .. } => "direction".into(),
            E::DeletionNotPermitted => "deletion".into(),
            E::GoogleGroupMissing | E::UnknownGoogleGroup { .. } | E::SystemGroupNotAllowed { .. } => "google_group".into(),
            E::ZohoViewMissing | E::UnknownZohoView { .. } => "zoho_cvid".into(),
            E::ZeroBudget { setting } => (*setting).into(),
            E::MassDeletePercentOutOfRange { .. } => "mass_delete_percent".into(),
        }
    }
}

pub fn validate(settings: &Settings, ctx: &ValidationContext) -> Result<(), Vec<SettingsError>> {
    let mut errors = Vec::new();
    check_extra_fields(settings, ctx, &mut errors);
    check_permissions(settings, &ctx.permissions, &mut errors);
    check_scope(settings, ctx, &mut errors);
    if settings.first_sync_budget == 0 {
        errors.push(SettingsError::ZeroBudget { setting: "first_sync_budget" });
    }
    if settings.tick_budget == 0 {
        errors.push(SettingsError::ZeroBudget { setting: "tick_budget" });
    }
    if !(1..=100).contains(&settings.mass_delete_percent) {
        errors.push(SettingsError::MassDeletePercentOutOfRange { value: settings.mass_delete_percent });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_extra_fields(settings: &Settings, ctx: &ValidationContext, errors: &mut Vec<SettingsError>) {
    let defaults = Mapping::default();
    let known_zoho: BTreeSet<String> = ctx.zoho_fields.iter().map(|f| f.to_lowercase()).collect();
    let mut zoho_used: BTreeSet<String> = defaults.keys().map(str::to_lowercase).collect();
    let mut google_used: Vec<GoogleField> = defaults.fields().iter().map(|f| f.google.clone()).collect();
    for (index, pair) in settings.extra_fields.iter().enumerate() {
        let zoho = pair.zoho.trim().to_lowercase();
        let field = pair.zoho.chars().take(64).collect::<String>();
        if !known_zoho.contains(&zoho) {
            errors.push(SettingsError::UnknownZohoField { index, field });
        } else if !zoho_used.insert(zoho) {
            errors.push(SettingsError::ZohoFieldMappedTwice { index, field });
        }
        let field = pair.google.chars().take(64).collect::<String>();
        match GoogleField::parse(&pair.google) {
            Err(_) => errors.push(SettingsError::UnsupportedGoogleField { index, field }),
            Ok(g) if google_used.contains(&g) => errors.push(SettingsError::GoogleFieldMappedTwice { index, field }),
            Ok(g) => google_used.push(g),
        }
    }
}

fn check_permissions(settings: &Settings, perms: &ZohoPermissions, errors: &mut Vec<SettingsError>) {
    if !perms.view {
        errors.push(SettingsError::NoZohoViewPermission);
        return;
    }
    if settings.direction == Direction::ZohoToGoogle {
        return;
    }
    if let Some(missing) = [(perms.create, "Create"), (perms.edit, "Edit")].into_iter().find(|(ok, _)| !ok).map(|(_, name)| name) {
        errors.push(SettingsError::DirectionNotPermitted { missing });
    } else if settings.deletion == DeletionHandling::Propagate && !perms.delete {
        errors.push(SettingsError::DeletionNotPermitted);
    }
}

fn check_scope(settings: &Settings, ctx: &ValidationContext, errors: &mut Vec<SettingsError>) {
    match settings.google_group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        None => errors.push(SettingsError::GoogleGroupMissing),
        Some(MY_CONTACTS_GROUP) => {}
        Some(group) => match ctx.google_groups.iter().find(|g| g.resource_name == group) {
            None => errors.push(SettingsError::UnknownGoogleGroup { group: group.chars().take(100).collect() }),
            Some(g) if g.system => errors.push(SettingsError::SystemGroupNotAllowed { group: group.to_string() }),
            Some(_) => {}
        },
    }
    match settings.zoho_cvid.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => errors.push(SettingsError::ZohoViewMissing),
        Some(cvid) if !ctx.zoho_views.contains(cvid) => {
            errors.push(SettingsError::UnknownZohoView { cvid: cvid.chars().take(40).collect() })
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests;
