//! A connection between the two HTTP emulators, over any store: the engine with its real adapters.

use super::check::{converged, google_side, zoho_side};
use super::harness::{far_deadline, MemoryVault, SyncHarness, LIST_FIELD, OUT_OF_LIST, ZOHO_USER};
use serde_json::Value;
use shared::mapping::Mapping;
use shared::store::*;
use shared::sync::engine::{run_connection, ConnectionRun, SyncPorts};

pub struct EmuWorld<S: StateStore> {
    pub h: SyncHarness,
    pub store: S,
    pub vault: MemoryVault,
    pub now: EpochMillis,
}

impl<S: StateStore> EmuWorld<S> {
    /// Emulators, tokens through OAuth, the connection saved with `settings` applied.
    pub async fn new(store: S, adjust: impl FnOnce(&mut Connection)) -> Self {
        let mut h = SyncHarness::start().await;
        adjust(&mut h.connection);
        let vault = MemoryVault::default();
        h.connect(&vault).await.expect("connect through the emulators' OAuth");
        store.put_connection(&h.connection).await.expect("save connection");
        EmuWorld { h, store, vault, now: 1_700_000_000_000 }
    }

    pub fn next_now(&mut self) -> EpochMillis {
        self.now += 3_600_000;
        self.now
    }

    pub async fn run(&mut self) -> ConnectionRun {
        let now = self.next_now();
        let (google, zoho) = self.h.clients(&self.vault, &self.h.connection).await;
        run_connection(SyncPorts { google: &google, zoho: &zoho }, &self.store, &self.h.connection, far_deadline(), now).await
    }

    pub async fn tick(&mut self) -> RunRecord {
        match self.run().await {
            ConnectionRun::Ran(run) => run,
            ConnectionRun::SkippedLeaseHeld { .. } => panic!("no other run holds the lease"),
        }
    }

    pub async fn links(&self) -> Vec<Link> {
        self.store.all_links(&self.h.connection.id).await.expect("links")
    }

    pub fn people(&self) -> Vec<Value> {
        self.h.google.state.people(&self.h.account)
    }

    pub fn records(&self) -> Vec<Value> {
        self.h.zoho.contacts(ZOHO_USER).expect("contacts")
    }

    pub async fn converged(&self) -> Result<(), String> {
        let mapping = Mapping::from_settings(&self.h.connection.settings).map_err(|e| e.to_string())?;
        let google = google_side(&self.people(), &self.h.group, &mapping);
        let in_list = |r: &Value| r.get(LIST_FIELD).and_then(Value::as_str) != Some(OUT_OF_LIST);
        let zoho = zoho_side(&self.records(), in_list, &mapping);
        converged(&google, &zoho, &self.links().await)
    }
}
