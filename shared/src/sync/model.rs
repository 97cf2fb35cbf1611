//! What the planner reads and what it returns. Data-free where it is logged: conflict decisions,
//! skips and unlink reasons carry ids, field names and rules, never values.

use crate::contact::{Contact, FieldChanges};
use crate::mapping::Mapping;
use crate::settings::{ConflictPolicy, Direction, Settings};
use crate::store::{EpochMillis, Link, PendingCreate, ZohoPermissions};
use serde::Serialize;
use std::collections::BTreeMap;

/// A Zoho Contacts record seen this tick (changed, or listed in a full pass, or looked up).
#[derive(Debug, Clone, PartialEq)]
pub struct ZohoChange {
    pub id: String,
    pub modified_time: Option<String>,
    /// Whether the record is in the connection's Zoho list (custom view).
    pub in_scope: bool,
    pub contact: Contact,
}

/// A Google person seen this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct GoogleChange {
    pub resource_name: String,
    pub etag: Option<String>,
    /// Whether the person is a member of the connection's contact group.
    pub in_group: bool,
    /// The Zoho id stored in the person's `externalIds` ([`crate::mapping::google::zoho_id`]).
    pub zoho_id: Option<String>,
    pub contact: Contact,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    pub connection_id: String,
    pub mapping: Mapping,
    /// Direction, conflict policy, deletion handling and the mass-delete guard are read from here.
    pub settings: Settings,
    pub permissions: ZohoPermissions,
    /// A first sync has no links to act on: tombstones are ignored.
    pub first_sync: bool,
    /// At most this many records (pairs) get actions this tick; see [`Settings::budget`].
    pub budget: usize,
    pub now: EpochMillis,
    pub zoho_changes: Vec<ZohoChange>,
    /// Ids from `/Contacts/deleted`.
    pub zoho_tombstones: Vec<String>,
    pub google_changes: Vec<GoogleChange>,
    /// resourceNames of persons with `metadata.deleted`.
    pub google_tombstones: Vec<String>,
    /// The existing links of every id, resourceName and email above (more are harmless).
    pub links: Vec<Link>,
    /// How many links the connection has in all (the mass-delete guard's denominator).
    pub total_links: usize,
    /// Creates in Zoho of people without an email that were sent and never linked (a crash
    /// before the link was saved): an unlinked Zoho record without an email whose mapped-field
    /// hashes equal a marker's is that create, and pairs with the marker's person.
    pub pending_creates: Vec<PendingCreate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Zoho,
    Google,
}

/// A link to save once the created contact exists: the executor fills in the new id
/// (`google_resource_name` / `zoho_id`) and the etag or `Modified_Time` the create returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLink {
    pub email: Option<String>,
    pub field_hashes: BTreeMap<String, String>,
    pub zoho_modified_time: Option<String>,
    pub google_etag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlinkReason {
    LeftZohoView,
    LeftGoogleGroup,
    DeletedInZoho,
    DeletedInGoogle,
    DeletedOnBothSides,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the person (body: [`crate::mapping::google::create_body`] with the Zoho id and the
    /// group), then save `link` with the new resourceName.
    CreateInGoogle { zoho_id: String, contact: Contact, link: PendingLink },
    /// Upsert the record on `Email` ([`crate::mapping::zoho::create_body`]), write the returned id
    /// into the person ([`crate::mapping::google::stamp_zoho_id`]), then save `link` with that id.
    CreateInZoho { google_resource_name: String, contact: Contact, link: PendingLink },
    /// Merge `changes` into the current person ([`crate::mapping::google::update_body`]).
    /// `etag` is the last one seen; after a stale-etag error, read the person again and retry.
    UpdateGoogle { zoho_id: String, google_resource_name: String, etag: Option<String>, changes: FieldChanges },
    /// `changes` as a Zoho update ([`crate::mapping::zoho::write_body`] with the id).
    UpdateZoho { zoho_id: String, google_resource_name: String, changes: FieldChanges },
    /// Delete the person, then the link.
    DeleteGoogle { zoho_id: String, google_resource_name: String },
    /// Delete the record, then the link.
    DeleteZoho { zoho_id: String, google_resource_name: String },
    /// Write the Zoho id into the person's `externalIds` ([`crate::mapping::google::stamp_zoho_id`])
    /// so the pair can be found again after a crash or a lost link. Bookkeeping, not contact data:
    /// sent whatever the direction.
    StampZohoId { zoho_id: String, google_resource_name: String },
    /// Save a new link (email match or crash recovery), after the unit's updates succeeded.
    Link(Link),
    /// Replace the link's base state, after the unit's updates succeeded.
    UpdateLink(Link),
    /// Delete the link; both contacts stay as they are.
    Unlink { zoho_id: String, google_resource_name: String, reason: UnlinkReason },
}

impl Action {
    pub fn writes_to(&self) -> Option<Side> {
        match self {
            Action::CreateInGoogle { .. } | Action::UpdateGoogle { .. } | Action::DeleteGoogle { .. } => Some(Side::Google),
            Action::CreateInZoho { .. } | Action::UpdateZoho { .. } | Action::DeleteZoho { .. } => Some(Side::Zoho),
            Action::StampZohoId { .. } | Action::Link(_) | Action::UpdateLink(_) | Action::Unlink { .. } => None,
        }
    }
}

/// The rule that settled a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictRule {
    /// Both sides changed the field; the connection's policy picked the winner.
    Policy(ConflictPolicy),
    /// Both sides changed the field; a one-way direction (or a field only one side accepts)
    /// lets only one value through.
    Direction(Direction),
    /// One side deleted the contact while the other edited it: the edit wins and the contact is
    /// created again on the deleting side.
    DeleteLosesToEdit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictDecision {
    pub zoho_id: String,
    pub google_resource_name: String,
    /// `None` for delete-versus-edit.
    pub field: Option<String>,
    pub winner: Side,
    pub rule: ConflictRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Another contact already holds this email (a link, a contact matched this tick, or one on
    /// the other side outside the group/list); creating it, or writing the email onto a contact
    /// paired by its stored Zoho id, would make a duplicate.
    EmailTaken,
    /// The person carries the id of a Zoho record that is linked to another person (a copy).
    ZohoIdLinkedElsewhere,
    /// The person carries the id of a Zoho record that was deleted or is outside the list.
    ZohoIdNotSyncable,
    /// The Zoho record already has a Google contact (carrying its id) outside the group.
    InGoogleOutsideGroup,
    /// A person in the group carries this record's id but was skipped (pairing them would have
    /// given one side two contacts with one email); another Google contact would be a copy.
    ZohoIdOnSkippedPerson,
    /// Zoho requires `Last_Name`; the Google contact has no family name.
    MissingRequiredZohoField,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub side: Side,
    pub id: String,
    pub reason: SkipReason,
}

/// The actions for one record or pair, to apply in order. The executor saves the unit's link
/// action only after the writes before it succeeded; a failed unit is retried next tick. Units
/// depend on the units before them (see [`plan`](super::plan) for the order to keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub zoho_id: Option<String>,
    pub google_resource_name: Option<String>,
    pub actions: Vec<Action>,
    pub conflicts: Vec<ConflictDecision>,
}

impl Unit {
    /// Every Zoho id and resourceName the unit's actions name (created contacts have none yet).
    pub fn ids(&self) -> (Vec<String>, Vec<String>) {
        let mut zoho_ids = Vec::new();
        let mut resource_names = Vec::new();
        for action in &self.actions {
            let (z, g) = match action {
                Action::CreateInGoogle { zoho_id, .. } => (Some(zoho_id), None),
                Action::CreateInZoho { google_resource_name, .. } => (None, Some(google_resource_name)),
                Action::UpdateGoogle { zoho_id, google_resource_name, .. }
                | Action::UpdateZoho { zoho_id, google_resource_name, .. }
                | Action::DeleteGoogle { zoho_id, google_resource_name }
                | Action::DeleteZoho { zoho_id, google_resource_name }
                | Action::StampZohoId { zoho_id, google_resource_name }
                | Action::Unlink { zoho_id, google_resource_name, .. } => (Some(zoho_id), Some(google_resource_name)),
                Action::Link(l) | Action::UpdateLink(l) => (Some(&l.zoho_id), Some(&l.google_resource_name)),
            };
            zoho_ids.extend(z.cloned());
            resource_names.extend(g.cloned());
        }
        zoho_ids.sort();
        zoho_ids.dedup();
        resource_names.sort();
        resource_names.dedup();
        (zoho_ids, resource_names)
    }

    pub fn deletes(&self) -> bool {
        self.actions.iter().any(|a| matches!(a, Action::DeleteGoogle { .. } | Action::DeleteZoho { .. }))
    }
}

/// Work left for the next tick (nothing is dropped): the records the budget did not reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Remaining {
    pub zoho_ids: Vec<String>,
    pub google_resource_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum PlanOutcome {
    Complete,
    /// The budget stopped the plan; [`Plan::remaining`] lists what waits. Do not advance the
    /// change cursors past it.
    BudgetExhausted,
    /// The tick would delete `deletes` of the connection's `links` links, more than the set share:
    /// nothing is planned.
    BlockedMassDelete {
        deletes: usize,
        links: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub units: Vec<Unit>,
    pub skipped: Vec<Skipped>,
    pub remaining: Remaining,
    pub outcome: PlanOutcome,
}

impl Plan {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.units.iter().flat_map(|u| u.actions.iter())
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &ConflictDecision> {
        self.units.iter().flat_map(|u| u.conflicts.iter())
    }

    /// Data-free lines for the run log (`RunRecord.log`): conflict decisions, skips, the guard.
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .conflicts()
            .map(|c| {
                let field = c.field.as_deref().unwrap_or("(record)");
                format!(
                    "conflict zoho={} google={} field={} winner={:?} rule={:?}",
                    c.zoho_id, c.google_resource_name, field, c.winner, c.rule
                )
            })
            .collect();
        lines.extend(self.skipped.iter().map(|s| format!("skipped {:?} {} reason={:?}", s.side, s.id, s.reason)));
        if let PlanOutcome::BlockedMassDelete { deletes, links } = &self.outcome {
            lines.push(format!("blocked: would delete {deletes} of {links} linked contacts"));
        }
        lines
    }
}
