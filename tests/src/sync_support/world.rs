//! A connection over the in-memory fake and an in-memory SQLite store: ticks in microseconds.

use super::check::{converged, converged_allowing, copies, google_side, skipped_ids, zoho_side};
use std::collections::BTreeSet;
use super::fake::{in_list, FakeApis};
use super::harness::far_deadline;
use shared::mapping::Mapping;
use shared::settings::Settings;
use shared::store::sqlite::SqliteStore;
use shared::store::*;
use shared::sync::engine::{run_connection, ConnectionRun, SyncPorts};

pub const GROUP: &str = "contactGroups/fake";

pub struct FakeWorld {
    pub apis: FakeApis,
    pub store: SqliteStore,
    pub connection: Connection,
    /// The store's clock; each tick moves it an hour (leases of crashed runs expire).
    pub now: EpochMillis,
}

impl FakeWorld {
    pub fn new(settings: Settings) -> Self {
        let settings = Settings { google_group: Some(GROUP.into()), zoho_cvid: Some("list".into()), ..settings };
        let connection = Connection {
            id: "fake".into(),
            zoho_user_id: "zu".into(),
            google_email: "user@example.com".into(),
            frequency: settings.frequency,
            settings,
            enabled: true,
            zoho_permissions: ZohoPermissions::default(),
            zoho_accounts_server: None,
            zoho_api_domain: None,
            status_token_hash: None,
            reconnect_needed: false,
            created_at: 1,
            updated_at: 1,
        };
        FakeWorld { apis: FakeApis::new(GROUP), store: SqliteStore::in_memory().expect("sqlite"), connection, now: 1_700_000_000_000 }
    }

    pub fn next_now(&mut self) -> EpochMillis {
        self.now += 3_600_000;
        self.now
    }

    pub async fn tick(&mut self) -> RunRecord {
        let now = self.next_now();
        match run_connection(SyncPorts { google: &self.apis, zoho: &self.apis }, &self.store, &self.connection, far_deadline(), now).await {
            ConnectionRun::Ran(run) => run,
            ConnectionRun::SkippedLeaseHeld { .. } => panic!("no other run holds the lease"),
        }
    }

    pub async fn links(&self) -> Vec<Link> {
        self.store.all_links(&self.connection.id).await.expect("links")
    }

    /// Both sides agree, nothing twice, everything in scope linked.
    pub async fn converged(&self) -> Result<(), String> {
        let mapping = Mapping::from_settings(&self.connection.settings).map_err(|e| e.to_string())?;
        let google = google_side(&self.apis.people(), GROUP, &mapping);
        let zoho = zoho_side(&self.apis.records(), |r| r.as_object().is_some_and(in_list), &mapping);
        converged(&google, &zoho, &self.links().await)
    }

    /// No contact is on a side twice with the same mapped values (see [`copies`]).
    pub fn no_copies(&self) -> Result<(), String> {
        let mapping = Mapping::from_settings(&self.connection.settings).map_err(|e| e.to_string())?;
        let google = copies(&google_side(&self.apis.people(), GROUP, &mapping));
        let zoho = copies(&zoho_side(&self.apis.records(), |r| r.as_object().is_some_and(in_list), &mapping));
        if google.is_empty() && zoho.is_empty() {
            Ok(())
        } else {
            Err(format!("copies: google {google:?}, zoho {zoho:?}"))
        }
    }

    /// [`Self::converged`], letting stay unlinked the contacts the planner reported as skipped
    /// and those in `also`.
    pub async fn converged_allowing(&self, also: &BTreeSet<String>) -> Result<(), String> {
        let runs = self.store.latest_runs(&self.connection.id, 10_000).await.map_err(|e| e.to_string())?;
        let mut skipped: BTreeSet<String> = runs.iter().flat_map(|r| skipped_ids(&r.log)).collect();
        skipped.extend(also.iter().cloned());
        let mapping = Mapping::from_settings(&self.connection.settings).map_err(|e| e.to_string())?;
        let google = google_side(&self.apis.people(), GROUP, &mapping);
        let zoho = zoho_side(&self.apis.records(), |r| r.as_object().is_some_and(in_list), &mapping);
        converged_allowing(&google, &zoho, &self.links().await, &skipped)
    }
}
