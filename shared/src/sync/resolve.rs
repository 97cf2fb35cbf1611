//! Field-by-field resolution of one pair against its base state (sync rules 2 and 3).
//!
//! A side changed a field iff the hash of its value differs from the base hash; a side not seen
//! this tick changed nothing. Per field:
//! - one side changed → its value goes to the other side;
//! - both changed to the same value → nothing to write;
//! - both changed to different values → the conflict policy picks (recorded); when only one side
//!   may be written (one-way direction, no Zoho edit right, a field Zoho takes only by id) the
//!   side that can flow wins (recorded as a direction decision);
//! - no base yet (a new match, or a field added to the mapping later): an empty value never
//!   overwrites a filled one; two different filled values are a conflict as above.
//!
//! A change that cannot flow leaves the base as it was, so the field stays "changed" on that side
//! and is neither written nor forgotten; the next change on the other side is a conflict the
//! direction settles.

use super::model::{ConflictRule, Side};
use crate::contact::{field_hash, Contact, FieldChanges, EMAIL_KEY};
use crate::mapping::{FieldSpec, Mapping};
use crate::settings::{ConflictPolicy, DeletionHandling, Direction, Settings};
use crate::store::ZohoPermissions;
use std::collections::BTreeMap;

/// What the connection's direction, deletion handling and Zoho rights allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flows {
    pub direction: Direction,
    pub policy: ConflictPolicy,
    pub google_write: bool,
    pub google_delete: bool,
    pub zoho_create: bool,
    pub zoho_edit: bool,
    pub zoho_delete: bool,
}

impl Flows {
    pub fn new(settings: &Settings, permissions: &ZohoPermissions) -> Flows {
        let google_write = settings.direction != Direction::GoogleToZoho;
        let zoho_write = settings.direction != Direction::ZohoToGoogle && permissions.view;
        let propagate = settings.deletion == DeletionHandling::Propagate;
        Flows {
            direction: settings.direction,
            policy: settings.conflict_policy,
            google_write,
            google_delete: google_write && propagate,
            zoho_create: zoho_write && permissions.create,
            zoho_edit: zoho_write && permissions.edit,
            zoho_delete: zoho_write && permissions.delete && propagate,
        }
    }

    fn may_write_zoho(self, spec: &FieldSpec, value: &str) -> bool {
        self.zoho_edit && spec.zoho_writable && !(spec.zoho_required && value.is_empty())
    }
}

#[derive(Debug, Default)]
pub(super) struct Resolution {
    pub zoho_writes: FieldChanges,
    pub google_writes: FieldChanges,
    /// The new base state: every mapped field.
    pub hashes: BTreeMap<String, String>,
    /// Field name → winner and rule, for each conflict decided.
    pub conflicts: Vec<(String, Side, ConflictRule)>,
    /// The Zoho `Email` after the writes, normalised; `None` when Zoho was not seen.
    pub zoho_email_after: Option<Option<String>>,
}

pub(super) fn resolve(
    mapping: &Mapping,
    flows: &Flows,
    base: Option<&BTreeMap<String, String>>,
    zoho: Option<&Contact>,
    google: Option<&Contact>,
) -> Resolution {
    let mut out = Resolution::default();
    for spec in mapping.fields() {
        let key = spec.zoho.as_str();
        let b = base.and_then(|h| h.get(key)).cloned();
        let zv = zoho.map(|c| c.get(key));
        let gv = google.map(|c| c.get(key));
        let changed = |v: Option<&str>| v.is_some_and(|v| b.as_deref() != Some(field_hash(v).as_str()));
        let pick = match (changed(zv), changed(gv), zv, gv) {
            (true, true, Some(z), Some(g)) if z == g => Pick::Agree,
            (true, true, Some(z), Some(g)) if b.is_none() && (z.is_empty() || g.is_empty()) => {
                if z.is_empty() {
                    Pick::Google
                } else {
                    Pick::Zoho
                }
            }
            (true, true, Some(_), Some(g)) => {
                let winner = conflict_winner(flows, flows.google_write, flows.may_write_zoho(spec, g));
                if let Some((side, rule)) = winner {
                    out.conflicts.push((key.to_string(), side, rule));
                }
                match winner.map(|(side, _)| side) {
                    Some(Side::Zoho) => Pick::Zoho,
                    Some(Side::Google) => Pick::Google,
                    None => Pick::Neither,
                }
            }
            (true, _, _, _) => Pick::Zoho,
            (_, true, _, _) => Pick::Google,
            _ => Pick::Neither,
        };
        // A value that cannot flow leaves the other side as it is: without a base, that side's
        // value becomes the base so it does not look changed later.
        let keep = |other: Option<&str>, this: Option<&str>| b.clone().unwrap_or_else(|| field_hash(other.or(this).unwrap_or("")));
        let hash = match pick {
            Pick::Agree => field_hash(zv.unwrap_or("")),
            Pick::Neither => keep(zv, gv),
            Pick::Zoho => {
                let z = zv.unwrap_or("");
                if flows.google_write {
                    if gv != Some(z) {
                        out.google_writes.insert(key.to_string(), z.to_string());
                    }
                    field_hash(z)
                } else {
                    keep(gv, zv)
                }
            }
            Pick::Google => {
                let g = gv.unwrap_or("");
                if flows.may_write_zoho(spec, g) {
                    if zv != Some(g) {
                        out.zoho_writes.insert(key.to_string(), g.to_string());
                    }
                    field_hash(g)
                } else {
                    keep(zv, gv)
                }
            }
        };
        out.hashes.insert(key.to_string(), hash);
    }
    out.zoho_email_after = match (out.zoho_writes.get(EMAIL_KEY), zoho) {
        (Some(written), _) => Some(crate::store::normalize_email(written)),
        (None, Some(z)) => Some(z.email()),
        (None, None) => None,
    };
    out
}

#[derive(Debug, Clone, Copy)]
enum Pick {
    Agree,
    Zoho,
    Google,
    Neither,
}

fn conflict_winner(flows: &Flows, to_google: bool, to_zoho: bool) -> Option<(Side, ConflictRule)> {
    match (to_google, to_zoho) {
        (true, true) => {
            let side = match flows.policy {
                ConflictPolicy::ZohoWins => Side::Zoho,
                ConflictPolicy::GoogleWins => Side::Google,
            };
            Some((side, ConflictRule::Policy(flows.policy)))
        }
        (true, false) => Some((Side::Zoho, ConflictRule::Direction(Direction::ZohoToGoogle))),
        (false, true) => Some((Side::Google, ConflictRule::Direction(Direction::GoogleToZoho))),
        (false, false) => None,
    }
}
