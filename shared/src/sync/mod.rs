//! The pure sync planner: what both sides reported + the links + the settings → [`Plan`].
//!
//! ```text
//! plan(&PlanInput) -> Plan { units: Vec<Unit { actions, conflicts }>, skipped, remaining, outcome }
//! ```
//! No I/O, no clock (`now` is an input). The executor turns API JSON into the input with
//! [`crate::mapping`] (`zoho::contact_from_record`, `google::contact_from_person`,
//! `google::zoho_id`, `google::in_group`), applies each [`Unit`]'s writes, and saves the unit's
//! link action only when its writes succeeded. Order matters once: see [`plan()`] (creates after
//! the updates and link removals of the units before them).
//!
//! What the caller puts in [`PlanInput`]:
//! - every Zoho record and Google person seen this tick (changed, listed in a full pass, or looked
//!   up by email before a create), each with its scope flag; tombstones by id. Seeing an unchanged
//!   contact is harmless: a side changed only if a mapped field's hash differs from the link.
//! - the links of those ids, resourceNames and emails, and the connection's link count.
//! - the pending creates: creates in Zoho of people without an email, sent but never linked.
//!
//! Rules kept here (numbers from DESIGN.md "Sync rules"):
//! - 1 Links: a linked pair is never re-matched; an email change updates `Link.email`.
//!   Unlinked contacts pair by the Zoho id stored on the person, then by email, then are created
//!   ([`matching`] documents ties and duplicates). Every linked person carries its Zoho id
//!   (creates write it, matches get [`Action::StampZohoId`]).
//! - 7 Crash safety: a Google person carrying a Zoho id relinks instead of creating; so does a
//!   person without an email whose create in Zoho is pending (the unlinked record without an
//!   email that has the marker's hashes is that create); creates never land on an email the
//!   other side holds (Zoho's upsert on `Email` would merge them).
//! - 2/3 Field-by-field merge against the base hashes ([`resolve`]); conflicts are recorded in
//!   [`Unit::conflicts`] ([`Plan::log_lines`] gives data-free log lines).
//! - 4 Deletes only from tombstones; a delete loses to an edit on the other side that may flow
//!   back (the contact is created again there); `unlink_and_keep`, a one-way direction that
//!   forbids the delete, or missing Zoho delete rights drop the link instead. The contact that
//!   stays is then an ordinary unlinked contact: a Zoho record still in the list is synced again
//!   (a new Google contact), a Google person carrying a deleted record's id is never sent to Zoho. More deletes than
//!   `mass_delete_percent` of the links (and at least `mass_delete_min_count`) → no actions,
//!   [`PlanOutcome::BlockedMassDelete`].
//! - 5 Leaving the group or the list unlinks; both contacts stay.
//! - Direction and Zoho rights: a one-way direction never writes its source side; no Zoho
//!   create/edit/delete without the matching right.
//! - Budget: at most `budget` units get actions; the rest is listed in [`Plan::remaining`]
//!   ([`PlanOutcome::BudgetExhausted`]) and comes back next tick, because the change cursors must
//!   not move past it. Units without actions do not count.

pub mod engine;
mod matching;
mod model;
mod plan;
mod resolve;

pub use model::*;
pub use plan::plan;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod proptests;
