//! Killing a run at step N: wrappers around the ports and the store count every API call and
//! every store write; at step N the wrapped call is done (or, for "before" steps, not done) and
//! then never returns, and [`run_until_crash`] drops the run, as a Lambda killed mid-tick.
//! Steps: after each API call; before and after each store write.

use async_trait::async_trait;
use serde_json::Value;
use shared::settings::Frequency;
use shared::store::*;
use shared::sync::engine::ports::*;
use shared::sync::engine::{run_connection, ConnectionRun, SyncPorts};
use shared::zoho::PageCursor;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Default)]
pub struct CrashPlan {
    steps: AtomicUsize,
    crash_at: AtomicUsize,
    crashed: Notify,
}

impl CrashPlan {
    /// Crash at step `n` (1-based); 0 never crashes.
    pub fn at(n: usize) -> Self {
        let plan = CrashPlan::default();
        plan.crash_at.store(n, Ordering::SeqCst);
        plan
    }

    pub fn steps(&self) -> usize {
        self.steps.load(Ordering::SeqCst)
    }

    async fn step(&self) {
        let n = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.crash_at.load(Ordering::SeqCst) {
            self.crashed.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

pub enum Ended {
    Completed(ConnectionRun),
    Crashed,
}

/// Runs one connection through crashing wrappers; returns when it completes or crashes.
pub async fn run_until_crash(plan: &CrashPlan, google: &dyn GooglePort, zoho: &dyn ZohoPort, store: &dyn StateStore, connection: &Connection, deadline: Instant, now: EpochMillis) -> Ended {
    let google = CrashingGoogle { inner: google, plan };
    let zoho = CrashingZoho { inner: zoho, plan };
    let store = CrashingStore { inner: store, plan };
    let run = run_connection(SyncPorts { google: &google, zoho: &zoho }, &store, connection, deadline, now);
    tokio::select! {
        biased;
        _ = plan.crashed.notified() => Ended::Crashed,
        r = run => Ended::Completed(r),
    }
}

struct CrashingGoogle<'a> {
    inner: &'a dyn GooglePort,
    plan: &'a CrashPlan,
}

#[async_trait]
impl GooglePort for CrashingGoogle<'_> {
    async fn list_connections(&self, sync_token: Option<&str>, page_token: Option<&str>) -> Result<GooglePage, PortError> {
        let r = self.inner.list_connections(sync_token, page_token).await;
        self.plan.step().await;
        r
    }
    async fn get_people(&self, resource_names: &[String]) -> Result<BTreeMap<String, PersonRead>, PortError> {
        let r = self.inner.get_people(resource_names).await;
        self.plan.step().await;
        r
    }
    async fn create_contacts(&self, people: &[Value]) -> Result<Vec<RecordResult<Value>>, PortError> {
        let r = self.inner.create_contacts(people).await;
        self.plan.step().await;
        r
    }
    async fn update_contacts(&self, people: &BTreeMap<String, Value>, update_mask: &str) -> Result<BTreeMap<String, RecordResult<Value>>, PortError> {
        let r = self.inner.update_contacts(people, update_mask).await;
        self.plan.step().await;
        r
    }
    async fn delete_contacts(&self, resource_names: &[String]) -> Result<(), PortError> {
        let r = self.inner.delete_contacts(resource_names).await;
        self.plan.step().await;
        r
    }
}

struct CrashingZoho<'a> {
    inner: &'a dyn ZohoPort,
    plan: &'a CrashPlan,
}

#[async_trait]
impl ZohoPort for CrashingZoho<'_> {
    async fn list_contacts(&self, query: &ZohoQuery, fields: &[String], cursor: Option<&PageCursor>) -> Result<ZohoPage, PortError> {
        let r = self.inner.list_contacts(query, fields, cursor).await;
        self.plan.step().await;
        r
    }
    async fn list_deleted(&self, since: Option<OffsetDateTime>, page: u32) -> Result<ZohoDeletedPage, PortError> {
        let r = self.inner.list_deleted(since, page).await;
        self.plan.step().await;
        r
    }
    async fn upsert_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError> {
        let r = self.inner.upsert_contacts(records).await;
        self.plan.step().await;
        r
    }
    async fn update_contacts(&self, records: &[Value]) -> Result<Vec<RecordResult<ZohoWritten>>, PortError> {
        let r = self.inner.update_contacts(records).await;
        self.plan.step().await;
        r
    }
    async fn delete_contacts(&self, ids: &[String]) -> Result<Vec<RecordResult<()>>, PortError> {
        let r = self.inner.delete_contacts(ids).await;
        self.plan.step().await;
        r
    }
}

struct CrashingStore<'a> {
    inner: &'a dyn StateStore,
    plan: &'a CrashPlan,
}

impl CrashingStore<'_> {
    async fn write<T>(&self, op: impl std::future::Future<Output = T>) -> T {
        self.plan.step().await;
        let r = op.await;
        self.plan.step().await;
        r
    }
}

#[async_trait]
impl ConnectionStore for CrashingStore<'_> {
    async fn put_connection(&self, connection: &Connection) -> StoreResult<()> {
        self.write(self.inner.put_connection(connection)).await
    }
    async fn get_connection(&self, id: &str) -> StoreResult<Option<Connection>> {
        self.inner.get_connection(id).await
    }
    async fn list_connections_by_frequency(&self, frequency: Frequency) -> StoreResult<Vec<Connection>> {
        self.inner.list_connections_by_frequency(frequency).await
    }
}

#[async_trait]
impl LinkStore for CrashingStore<'_> {
    async fn save_links(&self, links: &[Link]) -> StoreResult<()> {
        self.write(self.inner.save_links(links)).await
    }
    async fn delete_links(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<()> {
        self.write(self.inner.delete_links(connection_id, zoho_ids)).await
    }
    async fn link_by_zoho_id(&self, connection_id: &str, zoho_id: &str) -> StoreResult<Option<Link>> {
        self.inner.link_by_zoho_id(connection_id, zoho_id).await
    }
    async fn links_by_zoho_ids(&self, connection_id: &str, zoho_ids: &[String]) -> StoreResult<Vec<Link>> {
        self.inner.links_by_zoho_ids(connection_id, zoho_ids).await
    }
    async fn link_by_resource_name(&self, connection_id: &str, resource_name: &str) -> StoreResult<Option<Link>> {
        self.inner.link_by_resource_name(connection_id, resource_name).await
    }
    async fn links_by_email(&self, connection_id: &str, email: &str) -> StoreResult<Vec<Link>> {
        self.inner.links_by_email(connection_id, email).await
    }
    async fn all_links(&self, connection_id: &str) -> StoreResult<Vec<Link>> {
        self.inner.all_links(connection_id).await
    }
    async fn links_by_resource_names(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<Vec<Link>> {
        self.inner.links_by_resource_names(connection_id, resource_names).await
    }
    async fn links_by_emails(&self, connection_id: &str, emails: &[String]) -> StoreResult<Vec<Link>> {
        self.inner.links_by_emails(connection_id, emails).await
    }
}

#[async_trait]
impl PendingCreateStore for CrashingStore<'_> {
    async fn save_pending_creates(&self, pending: &[PendingCreate]) -> StoreResult<()> {
        self.write(self.inner.save_pending_creates(pending)).await
    }
    async fn pending_creates(&self, connection_id: &str, now: EpochMillis) -> StoreResult<Vec<PendingCreate>> {
        self.inner.pending_creates(connection_id, now).await
    }
    async fn delete_pending_creates(&self, connection_id: &str, resource_names: &[String]) -> StoreResult<()> {
        self.write(self.inner.delete_pending_creates(connection_id, resource_names)).await
    }
}

#[async_trait]
impl CursorStore for CrashingStore<'_> {
    async fn get_cursors(&self, connection_id: &str) -> StoreResult<Cursors> {
        self.inner.get_cursors(connection_id).await
    }
    async fn put_cursors(&self, connection_id: &str, cursors: &Cursors) -> StoreResult<()> {
        self.write(self.inner.put_cursors(connection_id, cursors)).await
    }
}

#[async_trait]
impl LeaseStore for CrashingStore<'_> {
    async fn acquire_lease(&self, connection_id: &str, holder: &str, expires_at: EpochMillis, now: EpochMillis) -> StoreResult<Result<Lease, LeaseError>> {
        self.write(self.inner.acquire_lease(connection_id, holder, expires_at, now)).await
    }
    async fn release_lease(&self, connection_id: &str, holder: &str) -> StoreResult<()> {
        self.write(self.inner.release_lease(connection_id, holder)).await
    }
    async fn finish_run(&self, run: &RunRecord, holder: &str, cursors: Option<&Cursors>) -> StoreResult<bool> {
        self.write(self.inner.finish_run(run, holder, cursors)).await
    }
}

#[async_trait]
impl RunStore for CrashingStore<'_> {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        self.write(self.inner.put_run(run)).await
    }
    async fn latest_runs(&self, connection_id: &str, limit: usize) -> StoreResult<Vec<RunRecord>> {
        self.inner.latest_runs(connection_id, limit).await
    }
}

#[async_trait]
impl OAuthStateStore for CrashingStore<'_> {
    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()> {
        self.inner.put_oauth_state(state).await
    }
    async fn consume_oauth_state(&self, state: &str, now: EpochMillis) -> StoreResult<Result<OAuthState, OAuthStateError>> {
        self.inner.consume_oauth_state(state, now).await
    }
}
