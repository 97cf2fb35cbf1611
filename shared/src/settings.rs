//! A connection's settings: what the user chose for their sync.
//!
//! Stored as JSON on the connection. Fields added later must carry `#[serde(default)]` so that
//! connections saved by an older version still load.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod validate;
pub use validate::{validate, GoogleGroupInfo, SettingsError, ValidationContext, MY_CONTACTS_GROUP};

/// How often a connection syncs. One EventBridge schedule per value; the tick is invoked with
/// `{"frequency": "<key>"}` where key is [`Frequency::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Frequency {
    #[serde(rename = "15m")]
    Min15,
    #[serde(rename = "1h")]
    Hour1,
    #[serde(rename = "3h")]
    Hour3,
    #[serde(rename = "6h")]
    Hour6,
    #[serde(rename = "12h")]
    Hour12,
    #[serde(rename = "24h")]
    Hour24,
}

impl Frequency {
    pub const ALL: [Frequency; 6] = [
        Frequency::Min15,
        Frequency::Hour1,
        Frequency::Hour3,
        Frequency::Hour6,
        Frequency::Hour12,
        Frequency::Hour24,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Frequency::Min15 => "15m",
            Frequency::Hour1 => "1h",
            Frequency::Hour3 => "3h",
            Frequency::Hour6 => "6h",
            Frequency::Hour12 => "12h",
            Frequency::Hour24 => "24h",
        }
    }

    pub fn minutes(self) -> u32 {
        match self {
            Frequency::Min15 => 15,
            Frequency::Hour1 => 60,
            Frequency::Hour3 => 180,
            Frequency::Hour6 => 360,
            Frequency::Hour12 => 720,
            Frequency::Hour24 => 1440,
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown frequency {0:?}; expected one of 15m, 1h, 3h, 6h, 12h, 24h")]
pub struct UnknownFrequency(pub String);

impl FromStr for Frequency {
    type Err = UnknownFrequency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Frequency::ALL
            .into_iter()
            .find(|f| f.key() == s)
            .ok_or_else(|| UnknownFrequency(s.chars().take(32).collect()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    TwoWay,
    ZohoToGoogle,
    GoogleToZoho,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    #[default]
    ZohoWins,
    GoogleWins,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeletionHandling {
    /// A tombstone on one side deletes the linked contact on the other.
    #[default]
    Propagate,
    /// A tombstone on one side drops the link; the other contact stays.
    UnlinkAndKeep,
}

/// One extra Zoho field ⇄ Google field pair the user added to the default mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPair {
    pub zoho: String,
    pub google: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub direction: Direction,
    /// Google contact group resourceName (e.g. `contactGroups/abc` or `contactGroups/myContacts`).
    #[serde(default)]
    pub google_group: Option<String>,
    /// Zoho custom view id (`cvid`).
    #[serde(default)]
    pub zoho_cvid: Option<String>,
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
    #[serde(default = "default_frequency")]
    pub frequency: Frequency,
    #[serde(default)]
    pub extra_fields: Vec<FieldPair>,
    #[serde(default)]
    pub deletion: DeletionHandling,
    #[serde(default = "default_first_sync_budget")]
    pub first_sync_budget: u32,
    #[serde(default = "default_tick_budget")]
    pub tick_budget: u32,
    /// Share of a connection's links a single tick may delete before the guard stops it, in percent.
    #[serde(default = "default_mass_delete_percent")]
    pub mass_delete_percent: u8,
    /// Ticks deleting fewer contacts than this never trip the mass-delete guard, so a small
    /// connection can delete one of its three contacts.
    #[serde(default = "default_mass_delete_min_count")]
    pub mass_delete_min_count: u32,
}

fn default_frequency() -> Frequency {
    Frequency::Hour1
}
fn default_first_sync_budget() -> u32 {
    10_000
}
fn default_tick_budget() -> u32 {
    500
}
fn default_mass_delete_percent() -> u8 {
    20
}
fn default_mass_delete_min_count() -> u32 {
    10
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            direction: Direction::default(),
            google_group: None,
            zoho_cvid: None,
            conflict_policy: ConflictPolicy::default(),
            frequency: default_frequency(),
            extra_fields: Vec::new(),
            deletion: DeletionHandling::default(),
            first_sync_budget: default_first_sync_budget(),
            tick_budget: default_tick_budget(),
            mass_delete_percent: default_mass_delete_percent(),
            mass_delete_min_count: default_mass_delete_min_count(),
        }
    }
}

impl Settings {
    /// Both ends of the scope are chosen: until then a connection is connected but not synced.
    pub fn is_configured(&self) -> bool {
        self.google_group.as_deref().is_some_and(|g| !g.is_empty()) && self.zoho_cvid.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// Records one tick may act on: the first sync's budget, then the per-tick one.
    pub fn budget(&self, first_sync: bool) -> u32 {
        if first_sync {
            self.first_sync_budget
        } else {
            self.tick_budget
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_keys_round_trip() {
        for f in Frequency::ALL {
            assert_eq!(f.key().parse::<Frequency>(), Ok(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.key()));
        }
        assert!("2h".parse::<Frequency>().is_err());
    }

    #[test]
    fn settings_saved_by_an_older_version_load_with_defaults() {
        let s: Settings = serde_json::from_str(r#"{"direction":"zoho_to_google"}"#).unwrap();
        assert_eq!(s.direction, Direction::ZohoToGoogle);
        assert_eq!(s.tick_budget, 500);
        assert_eq!(s.first_sync_budget, 10_000);
    }
}
