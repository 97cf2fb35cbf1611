//! Property tests: random contacts on both sides, random links, edits, deletes and scope moves,
//! random settings. The plan is applied to a small in-memory model of both APIs and the store
//! (what the executor does), then planned again over the whole new state.

use super::*;
use crate::contact::{field_hashes, Contact};
use crate::mapping::Mapping;
use crate::settings::{ConflictPolicy, DeletionHandling, Direction, Settings};
use crate::store::{Link, ZohoPermissions};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const FIRST: [&str; 3] = ["", "Ann", "Bo"];
const LAST: [&str; 3] = ["", "Lee", "Berg"];
const EMAIL: [&str; 4] = ["", "a@x.io", "b@x.io", "c@x.io"];
const PHONE: [&str; 3] = ["", "1", "2"];
const COMPANY: [&str; 3] = ["", "Acme", "Beta"];

fn contact() -> impl Strategy<Value = Contact> {
    (0..3usize, 0..3usize, 0..4usize, 0..3usize, 0..3usize).prop_map(|(f, l, e, p, c)| {
        Contact::new()
            .with("First_Name", FIRST[f])
            .with("Last_Name", LAST[l])
            .with("Email", EMAIL[e])
            .with("Phone", PHONE[p])
            .with("Account_Name", COMPANY[c])
    })
}

#[derive(Debug, Clone)]
enum Fate {
    Same,
    Edited(Contact),
    Deleted,
    OutOfScope,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![4 => Just(Fate::Same), 4 => contact().prop_map(Fate::Edited), 1 => Just(Fate::Deleted), 1 => Just(Fate::OutOfScope)]
}

#[derive(Debug, Clone)]
struct Scenario {
    linked: Vec<(Contact, Fate, Fate)>,
    zoho_only: Vec<(Contact, bool)>,
    /// (contact, in group, index of the Zoho id it carries: linked ids, then Zoho-only ids, then unknown)
    google_only: Vec<(Contact, bool, Option<usize>)>,
    direction: Direction,
    policy: ConflictPolicy,
    deletion: DeletionHandling,
    permissions: ZohoPermissions,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec((contact(), fate(), fate()), 0..5),
        prop::collection::vec((contact(), prop::bool::weighted(0.8)), 0..4),
        prop::collection::vec((contact(), prop::bool::weighted(0.8), prop::option::weighted(0.3, 0..10usize)), 0..4),
        prop_oneof![2 => Just(Direction::TwoWay), 1 => Just(Direction::ZohoToGoogle), 1 => Just(Direction::GoogleToZoho)],
        prop_oneof![Just(ConflictPolicy::ZohoWins), Just(ConflictPolicy::GoogleWins)],
        prop_oneof![Just(DeletionHandling::Propagate), Just(DeletionHandling::UnlinkAndKeep)],
        (prop::bool::weighted(0.8), prop::bool::weighted(0.8), prop::bool::weighted(0.8)),
    )
        .prop_map(|(linked, zoho_only, google_only, direction, policy, deletion, (create, edit, delete))| Scenario {
            linked,
            zoho_only,
            google_only,
            direction,
            policy,
            deletion,
            permissions: ZohoPermissions { view: true, create, edit, delete },
        })
}

#[derive(Debug, Clone)]
struct ZohoRec {
    contact: Contact,
    in_scope: bool,
}

#[derive(Debug, Clone)]
struct Person {
    contact: Contact,
    in_group: bool,
    zoho_id: Option<String>,
}

/// Both APIs and the link table, as the executor would leave them.
#[derive(Debug, Clone, Default)]
struct World {
    zoho: BTreeMap<String, ZohoRec>,
    google: BTreeMap<String, Person>,
    links: BTreeMap<String, Link>,
    zoho_tombstones: Vec<String>,
    google_tombstones: Vec<String>,
    next: u32,
    /// Contacts created by the last applied plan.
    created: Vec<(Side, String)>,
}

fn base_link(zoho_id: &str, rn: &str, synced: &Contact) -> Link {
    Link {
        connection_id: "c".into(),
        zoho_id: zoho_id.into(),
        google_resource_name: rn.into(),
        email: synced.email(),
        field_hashes: field_hashes(synced, Mapping::default().keys()),
        zoho_modified_time: None,
        google_etag: None,
        updated_at: 0,
    }
}

impl World {
    fn from(s: &Scenario) -> World {
        let mut w = World::default();
        let mut zoho_ids = Vec::new();
        for (n, (base, zf, gf)) in s.linked.iter().enumerate() {
            let (zid, rn) = (format!("{}", 100 + n), format!("people/l{n}"));
            w.links.insert(zid.clone(), base_link(&zid, &rn, base));
            match zf {
                Fate::Deleted => w.zoho_tombstones.push(zid.clone()),
                Fate::Edited(c) => drop(w.zoho.insert(zid.clone(), ZohoRec { contact: c.clone(), in_scope: true })),
                Fate::Same | Fate::OutOfScope => {
                    drop(w.zoho.insert(zid.clone(), ZohoRec { contact: base.clone(), in_scope: !matches!(zf, Fate::OutOfScope) }))
                }
            }
            // Every linked person carries its Zoho id (creates and matches stamp it).
            let stamp = Some(zid.clone());
            match gf {
                Fate::Deleted => w.google_tombstones.push(rn.clone()),
                Fate::Edited(c) => drop(w.google.insert(rn.clone(), Person { contact: c.clone(), in_group: true, zoho_id: stamp })),
                Fate::Same | Fate::OutOfScope => drop(
                    w.google
                        .insert(rn.clone(), Person { contact: base.clone(), in_group: !matches!(gf, Fate::OutOfScope), zoho_id: stamp }),
                ),
            }
            zoho_ids.push(zid);
        }
        for (n, (c, in_scope)) in s.zoho_only.iter().enumerate() {
            let id = format!("{}", 200 + n);
            w.zoho.insert(id.clone(), ZohoRec { contact: c.clone(), in_scope: *in_scope });
            zoho_ids.push(id);
        }
        for (n, (c, in_group, stamp)) in s.google_only.iter().enumerate() {
            let zoho_id = stamp.map(|i| zoho_ids.get(i).cloned().unwrap_or_else(|| "999".to_string()));
            w.google.insert(format!("people/u{n}"), Person { contact: c.clone(), in_group: *in_group, zoho_id });
        }
        w.zoho_tombstones.push("555".into()); // a tombstone for a record never linked
        w
    }

    fn input(&self, s: &Scenario, budget: usize) -> PlanInput {
        let mut settings = Settings { direction: s.direction, conflict_policy: s.policy, deletion: s.deletion, ..Settings::default() };
        settings.mass_delete_percent = 100;
        PlanInput {
            connection_id: "c".into(),
            mapping: Mapping::default(),
            settings,
            permissions: s.permissions,
            first_sync: false,
            budget,
            now: 1,
            zoho_changes: self
                .zoho
                .iter()
                .map(|(id, r)| ZohoChange { id: id.clone(), modified_time: None, in_scope: r.in_scope, contact: r.contact.clone() })
                .collect(),
            zoho_tombstones: self.zoho_tombstones.clone(),
            google_changes: self
                .google
                .iter()
                .map(|(rn, p)| GoogleChange {
                    resource_name: rn.clone(),
                    etag: None,
                    in_group: p.in_group,
                    zoho_id: p.zoho_id.clone(),
                    contact: p.contact.clone(),
                })
                .collect(),
            google_tombstones: self.google_tombstones.clone(),
            links: self.links.values().cloned().collect(),
            total_links: self.links.len(),
            pending_creates: Vec::new(),
        }
    }

    fn set(contact: &mut Contact, changes: &crate::contact::FieldChanges) {
        for (k, v) in changes {
            contact.set(k, v);
        }
    }

    fn save_link(&mut self, link: Link) -> Result<(), TestCaseError> {
        prop_assert!(
            !self.links.values().any(|l| l.google_resource_name == link.google_resource_name && l.zoho_id != link.zoho_id),
            "person linked twice: {}",
            link.google_resource_name
        );
        self.links.insert(link.zoho_id.clone(), link);
        Ok(())
    }

    /// What the executor does with a plan (in unit order, each unit in order).
    fn apply(&mut self, plan: &Plan) -> Result<(), TestCaseError> {
        self.created.clear();
        for action in plan.actions() {
            match action.clone() {
                Action::CreateInGoogle { zoho_id, contact, link } => {
                    self.next += 1;
                    let rn = format!("people/n{}", self.next);
                    self.google.insert(rn.clone(), Person { contact, in_group: true, zoho_id: Some(zoho_id.clone()) });
                    self.created.push((Side::Google, rn.clone()));
                    self.save_link(pending(link, zoho_id, rn))?;
                }
                Action::CreateInZoho { google_resource_name, contact, link } => {
                    // Upsert on Email: the planner must never let it land on an existing record.
                    let email = contact.email();
                    prop_assert!(
                        email.is_none() || !self.zoho.values().any(|r| r.contact.email() == email),
                        "upsert would overwrite an existing Zoho contact"
                    );
                    self.next += 1;
                    let id = format!("n{}", self.next);
                    self.zoho.insert(id.clone(), ZohoRec { contact, in_scope: true });
                    self.created.push((Side::Zoho, id.clone()));
                    self.google.get_mut(&google_resource_name).ok_or_else(|| TestCaseError::fail("person exists"))?.zoho_id =
                        Some(id.clone());
                    self.save_link(pending(link, id, google_resource_name))?;
                }
                Action::UpdateGoogle { google_resource_name, changes, .. } => Self::set(
                    &mut self.google.get_mut(&google_resource_name).ok_or_else(|| TestCaseError::fail("updated person exists"))?.contact,
                    &changes,
                ),
                Action::UpdateZoho { zoho_id, changes, .. } => Self::set(
                    &mut self.zoho.get_mut(&zoho_id).ok_or_else(|| TestCaseError::fail("updated record exists"))?.contact,
                    &changes,
                ),
                Action::DeleteGoogle { zoho_id, google_resource_name } => {
                    self.google.remove(&google_resource_name).ok_or_else(|| TestCaseError::fail("deleted person exists"))?;
                    self.links.remove(&zoho_id);
                }
                Action::DeleteZoho { zoho_id, .. } => {
                    self.zoho.remove(&zoho_id).ok_or_else(|| TestCaseError::fail("deleted record exists"))?;
                    self.links.remove(&zoho_id);
                }
                Action::StampZohoId { zoho_id, google_resource_name } => {
                    self.google.get_mut(&google_resource_name).ok_or_else(|| TestCaseError::fail("stamped person exists"))?.zoho_id =
                        Some(zoho_id)
                }
                Action::Link(link) => {
                    prop_assert!(!self.links.contains_key(&link.zoho_id), "record linked twice: {}", link.zoho_id);
                    self.save_link(link)?
                }
                Action::UpdateLink(link) => {
                    prop_assert!(self.links.contains_key(&link.zoho_id));
                    self.save_link(link)?
                }
                Action::Unlink { zoho_id, .. } => {
                    self.links.remove(&zoho_id).ok_or_else(|| TestCaseError::fail("unlinked link exists"))?;
                }
            }
        }
        // Tombstones are consumed once applied (the cursors move on).
        self.zoho_tombstones.clear();
        self.google_tombstones.clear();
        Ok(())
    }
}

fn pending(p: PendingLink, zoho_id: String, google_resource_name: String) -> Link {
    Link {
        connection_id: "c".into(),
        zoho_id,
        google_resource_name,
        email: p.email,
        field_hashes: p.field_hashes,
        zoho_modified_time: p.zoho_modified_time,
        google_etag: p.google_etag,
        updated_at: 1,
    }
}

fn check_safety(input: &PlanInput, plan: &Plan) -> Result<(), TestCaseError> {
    let linked_z: BTreeSet<&str> = input.links.iter().map(|l| l.zoho_id.as_str()).collect();
    let linked_g: BTreeSet<&str> = input.links.iter().map(|l| l.google_resource_name.as_str()).collect();
    let unlinked_z: BTreeSet<&str> =
        plan.actions().filter_map(|a| if let Action::Unlink { zoho_id, .. } = a { Some(zoho_id.as_str()) } else { None }).collect();
    let unlinked_g: BTreeSet<&str> = plan
        .actions()
        .filter_map(|a| if let Action::Unlink { google_resource_name, .. } = a { Some(google_resource_name.as_str()) } else { None })
        .collect();
    let mut created_for_z = BTreeSet::new();
    let mut created_for_g = BTreeSet::new();
    for unit in &plan.units {
        for action in &unit.actions {
            match action {
                Action::CreateInGoogle { zoho_id, .. } => {
                    prop_assert!(created_for_z.insert(zoho_id.clone()), "two creates for Zoho {}", zoho_id);
                    prop_assert!(
                        !linked_z.contains(zoho_id.as_str()) || unlinked_z.contains(zoho_id.as_str()),
                        "create for a linked record"
                    );
                }
                Action::CreateInZoho { google_resource_name: rn, .. } => {
                    prop_assert!(created_for_g.insert(rn.clone()), "two creates for person {}", rn);
                    prop_assert!(!linked_g.contains(rn.as_str()) || unlinked_g.contains(rn.as_str()), "create for a linked person");
                }
                Action::DeleteGoogle { zoho_id, .. } => {
                    prop_assert!(input.zoho_tombstones.contains(zoho_id), "Google delete without a Zoho tombstone")
                }
                Action::DeleteZoho { google_resource_name, .. } => {
                    prop_assert!(input.google_tombstones.contains(google_resource_name), "Zoho delete without a Google tombstone")
                }
                _ => {}
            }
            let p = &input.permissions;
            match action {
                Action::CreateInZoho { .. } => prop_assert!(p.create && input.settings.direction != Direction::ZohoToGoogle),
                Action::UpdateZoho { .. } => prop_assert!(p.edit && input.settings.direction != Direction::ZohoToGoogle),
                Action::DeleteZoho { .. } => prop_assert!(p.delete && input.settings.direction != Direction::ZohoToGoogle),
                a if a.writes_to() == Some(Side::Google) => prop_assert!(input.settings.direction != Direction::GoogleToZoho),
                _ => {}
            }
            if input.settings.deletion == DeletionHandling::UnlinkAndKeep {
                let deletes = matches!(action, Action::DeleteGoogle { .. } | Action::DeleteZoho { .. });
                prop_assert!(!deletes, "unlink_and_keep deleted a contact");
            }
        }
    }
    // Conflicts follow the policy when both sides may be written.
    for c in plan.conflicts() {
        if let ConflictRule::Policy(policy) = c.rule {
            prop_assert_eq!(policy, input.settings.conflict_policy);
            let expected = if policy == ConflictPolicy::ZohoWins { Side::Zoho } else { Side::Google };
            prop_assert_eq!(c.winner, expected);
        }
    }
    Ok(())
}

/// After applying, the losing side of every policy conflict holds the winner's value.
fn check_conflicts_applied(input: &PlanInput, plan: &Plan, after: &World) -> Result<(), TestCaseError> {
    for c in plan.conflicts().filter(|c| matches!(c.rule, ConflictRule::Policy(_))) {
        let field = c.field.as_deref().unwrap_or_default();
        let winner_value = match c.winner {
            Side::Zoho => input.zoho_changes.iter().find(|r| r.id == c.zoho_id).map(|r| r.contact.get(field).to_string()),
            Side::Google => {
                input.google_changes.iter().find(|p| p.resource_name == c.google_resource_name).map(|p| p.contact.get(field).to_string())
            }
        };
        let z = after.zoho.get(&c.zoho_id).map(|r| r.contact.get(field).to_string());
        let g = after.google.get(&c.google_resource_name).map(|p| p.contact.get(field).to_string());
        prop_assert_eq!(&z, &winner_value, "Zoho {} after conflict", field);
        prop_assert_eq!(&g, &winner_value, "Google {} after conflict", field);
    }
    Ok(())
}

/// No create leaves two contacts with one email on its side.
fn check_no_duplicate_emails(after: &World) -> Result<(), TestCaseError> {
    for (side, id) in &after.created {
        let (email, holders) = match side {
            Side::Google => {
                let email = after.google[id].contact.email();
                (email.clone(), after.google.values().filter(|p| email.is_some() && p.contact.email() == email).count())
            }
            Side::Zoho => {
                let email = after.zoho[id].contact.email();
                (email.clone(), after.zoho.values().filter(|r| email.is_some() && r.contact.email() == email).count())
            }
        };
        prop_assert!(email.is_none() || holders == 1, "a create in {:?} duplicated an email", side);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_safe_and_converge_in_one_pass(s in scenario()) {
        let mut world = World::from(&s);
        let input = world.input(&s, usize::MAX);
        let first = plan(&input);
        prop_assert_eq!(&first.outcome, &PlanOutcome::Complete);
        check_safety(&input, &first)?;
        world.apply(&first)?;
        check_no_duplicate_emails(&world)?;
        check_conflicts_applied(&input, &first, &world)?;

        let second = plan(&world.input(&s, usize::MAX));
        prop_assert!(second.units.is_empty(), "second pass still acts: {:?}\nfirst: {:?}", second.units, first.units);
    }

    #[test]
    fn incremental_ticks_that_see_only_some_contacts_stay_safe(s in scenario(), seen in prop::collection::vec(any::<bool>(), 16)) {
        let world = World::from(&s);
        let mut input = world.input(&s, usize::MAX);
        let mut mask = seen.iter().cycle();
        input.zoho_changes.retain(|_| *mask.next().unwrap_or(&true));
        input.google_changes.retain(|_| *mask.next().unwrap_or(&true));
        let partial = plan(&input);
        check_safety(&input, &partial)?;
    }

    #[test]
    fn the_budget_defers_work_and_drops_none(s in scenario(), budget in 1usize..4) {
        let world = World::from(&s);
        let full = plan(&world.input(&s, usize::MAX));
        let limited = plan(&world.input(&s, budget));
        prop_assert!(limited.units.len() <= budget);
        prop_assert_eq!(&limited.units[..], &full.units[..limited.units.len()]);
        let mut covered: BTreeSet<String> = limited.remaining.zoho_ids.iter().chain(&limited.remaining.google_resource_names).cloned().collect();
        for unit in &limited.units {
            let (z, g) = unit.ids();
            covered.extend(z.into_iter().chain(g));
        }
        for unit in &full.units {
            let (z, g) = unit.ids();
            for id in z.iter().chain(&g) {
                prop_assert!(covered.contains(id), "{} dropped by the budget", id);
            }
        }
        let expected = if full.units.len() > budget { PlanOutcome::BudgetExhausted } else { PlanOutcome::Complete };
        prop_assert_eq!(limited.outcome, expected);
    }

    #[test]
    fn ticks_with_a_small_budget_stay_safe_and_settle(s in scenario(), budget in 1usize..3) {
        let mut world = World::from(&s);
        let mut ticks = 0;
        loop {
            let input = world.input(&s, budget);
            let p = plan(&input);
            check_safety(&input, &p)?;
            prop_assert!(p.units.len() <= budget);
            let done = p.outcome == PlanOutcome::Complete;
            // Tombstones stay until the tick that covers them completes (cursors do not move).
            let (zt, gt) = (world.zoho_tombstones.clone(), world.google_tombstones.clone());
            world.apply(&p)?;
            check_no_duplicate_emails(&world)?;
            if !done {
                world.zoho_tombstones = zt;
                world.google_tombstones = gt;
            }
            ticks += 1;
            prop_assert!(ticks <= 30, "no progress");
            if done { break; }
        }
        prop_assert!(plan(&world.input(&s, usize::MAX)).units.is_empty());
    }
}
