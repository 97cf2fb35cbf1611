//! One benchmark deployment: both emulators (with injected latency), a fresh DynamoDB table in
//! moto behind the counting proxy, the app secret and token secrets in moto's Secrets Manager,
//! connections saved in the store, and the real `sync-tick` binary under the local Lambda
//! Runtime API, its DynamoDB and Secrets Manager requests going through the proxy.

use crate::aws::{fresh_table, TestTable};
use crate::emulators::zoho::{NewUser, ViewFilter};
use crate::functions::{function_env, FunctionEnv};
use crate::lambda::LambdaProcess;
use crate::sync_support::harness::{person, record, SyncHarness, GROUP_NAME, IN_LIST, LIST_FIELD, OUT_OF_LIST, ZOHO_USER};
use serde_json::{json, Value};
use shared::secrets::{Secret, SecretsManagerVault, TokenVault};
use shared::settings::Settings;
use shared::store::*;
use shared::sync::engine::{plan_input, SyncPorts};
use shared::sync::PlanInput;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Lambda's longest timeout, which `infra/` gives `sync-tick`.
pub const TICK_TIMEOUT: Duration = Duration::from_secs(900);

/// The accounts of one connection on the emulators.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub google_account: String,
    pub group: String,
    pub zoho_user: String,
}

/// What the emulators, DynamoDB and Secrets Manager were asked, since the last reset.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// `"Google GET /v1/people/me/connections"`, `"Zoho POST /crm/v8/Contacts/upsert"`, ...
    pub api: BTreeMap<String, u64>,
    pub dynamo: BTreeMap<String, u64>,
    pub secrets: BTreeMap<String, u64>,
    pub read_units: f64,
    pub write_units: f64,
}

impl Counters {
    pub fn api_total(&self) -> u64 {
        self.api.values().sum()
    }
    /// OAuth token endpoint calls (access token refreshes).
    pub fn token_calls(&self) -> u64 {
        self.api.iter().filter(|(k, _)| is_token_endpoint(k)).map(|(_, v)| v).sum()
    }
    pub fn dynamo_total(&self) -> u64 {
        self.dynamo.values().sum()
    }
    pub fn secrets_total(&self) -> u64 {
        self.secrets.values().sum()
    }
}

pub fn is_token_endpoint(key: &str) -> bool {
    key.ends_with("/token") || key.ends_with("/oauth/v2/token")
}

/// What a series of ticks of one function process did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TickRun {
    pub ticks: u32,
    pub wall: Duration,
    pub per_tick: Vec<Duration>,
    pub summaries: Vec<Value>,
}

pub struct Deployment {
    pub h: SyncHarness,
    pub table: TestTable,
    pub env: FunctionEnv,
    pub vault: SecretsManagerVault,
    pub connections: Vec<(Connection, Accounts)>,
    pub tick: Option<LambdaProcess>,
    binary: PathBuf,
    latency: Duration,
}

impl Deployment {
    /// Emulators, table, secrets and the harness's connection (tokens through the emulators' OAuth).
    pub async fn new(binary: &Path, latency: Duration) -> Self {
        let table = fresh_table().await;
        let h = SyncHarness::start().await;
        let mut env = function_env(&table.table, &h.google.base_url, &h.zoho.base_url).await;
        for (k, v) in env.vars.iter_mut() {
            if k == "AWS_ENDPOINT_URL" {
                *v = table.endpoint.clone();
            }
        }
        let vault = SecretsManagerVault::new(env.secrets.clone(), env.secret_prefix.clone());
        h.connect(&vault).await.expect("connect through the emulators' OAuth");
        table.store.put_connection(&h.connection).await.expect("save the connection");
        let accounts = Accounts { google_account: h.account.clone(), group: h.group.clone(), zoho_user: ZOHO_USER.to_string() };
        let connections = vec![(h.connection.clone(), accounts)];
        Deployment { h, table, env, vault, connections, tick: None, binary: binary.to_path_buf(), latency }
    }

    /// `n` more connections, each with its own Google account (and group) and Zoho user (and list).
    pub async fn add_connections(&mut self, n: usize) {
        let filter = ViewFilter::Criteria { field: LIST_FIELD.into(), comparator: "not_equal".into(), value: json!(OUT_OF_LIST) };
        for i in 0..n {
            let google_account = format!("bench{i}@example.com");
            let zoho_user = format!("bench{i}@zoho.emulator.test");
            let group = self.h.google.state.create_group(&google_account, GROUP_NAME);
            let user_id = self.h.zoho.add_user(NewUser::new(&zoho_user));
            let cvid = self.h.zoho.add_view(&zoho_user, "Synced with Google", filter.clone()).expect("view");
            let settings = Settings { google_group: Some(group.clone()), zoho_cvid: Some(cvid), ..self.h.connection.settings.clone() };
            let connection = Connection { id: format!("emu-{user_id}"), zoho_user_id: user_id, google_email: google_account.clone(), settings, ..self.h.connection.clone() };
            let google = self.h.google.state.issue_tokens(&google_account, None);
            let zoho = self.h.zoho.issue_tokens(&zoho_user).expect("zoho tokens");
            self.vault.put_token(&connection.id, Provider::Google, &Secret::new(google.refresh_token)).await.expect("google token");
            self.vault.put_token(&connection.id, Provider::Zoho, &Secret::new(zoho.refresh_token)).await.expect("zoho token");
            self.table.store.put_connection(&connection).await.expect("save connection");
            self.connections.push((connection, Accounts { google_account, group, zoho_user }));
        }
    }

    /// Seeds one connection's sides: `zoho` records and `google` people in the list and the group,
    /// `shared` of them with the same email on both sides. Shared pairs differ in the phone
    /// (present on one side only, alternately), so a first sync updates both sides.
    pub fn seed(&self, index: usize, zoho: usize, google: usize, shared: usize) {
        let accounts = &self.connections[index].1;
        let tag = format!("c{index}");
        let phone = |i: usize| format!("+1 555 {:07}", i % 10_000_000);
        let mut records = Vec::with_capacity(zoho);
        let mut people = Vec::with_capacity(google);
        for i in 0..shared {
            let email = format!("s{i}@{tag}.example.com");
            records.push(record("Sam", &format!("Shared {i}"), Some(&email), (i % 2 == 1).then(|| phone(i)).as_deref()));
            people.push(person("Sam", &format!("Shared {i}"), Some(&email), (i % 2 == 0).then(|| phone(i)).as_deref()));
        }
        for i in 0..zoho.saturating_sub(shared) {
            records.push(record("Zed", &format!("Zoho {i}"), Some(&format!("z{i}@{tag}.example.com")), Some(&phone(i))));
        }
        for i in 0..google.saturating_sub(shared) {
            people.push(person("Gil", &format!("Google {i}"), Some(&format!("g{i}@{tag}.example.com")), Some(&phone(i))));
        }
        for r in records.iter_mut() {
            r[LIST_FIELD] = json!(IN_LIST);
        }
        for chunk in records.chunks(5_000) {
            self.h.zoho.add_contacts(&accounts.zoho_user, chunk).expect("add Zoho contacts");
        }
        let names = self.h.google.state.seed_people(&accounts.google_account, people);
        self.h.google.state.add_to_group(&accounts.google_account, &accounts.group, &names);
    }

    /// Changes the first connection's first-sync budget (in the store too).
    pub async fn set_first_sync_budget(&mut self, budget: u32) {
        self.connections[0].0.settings.first_sync_budget = budget;
        self.table.store.put_connection(&self.connections[0].0).await.expect("save connection");
    }

    pub fn set_latency(&self, latency: Duration) {
        self.h.google.control.set_latency(latency);
        self.h.zoho.control.set_latency(latency);
    }

    pub fn reset_counters(&self) {
        self.h.google.control.reset_counters();
        self.h.zoho.control.reset_counters();
        self.table.proxy.reset_counts();
    }

    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for (side, counts) in [("Google", self.h.google.control.counters()), ("Zoho", self.h.zoho.control.counters())] {
            for (k, v) in counts {
                c.api.insert(format!("{side} {k}"), v);
            }
        }
        for (op, n) in self.table.proxy.counts() {
            if op.contains("Secret") {
                c.secrets.insert(op, n);
            } else {
                c.dynamo.insert(op, n);
            }
        }
        for units in self.table.proxy.capacity().values() {
            c.read_units += units.read_units;
            c.write_units += units.write_units;
        }
        c
    }

    /// A new `sync-tick` execution environment (the previous one, if any, is stopped).
    pub async fn start_tick_function(&mut self) -> Duration {
        self.tick = None;
        let process = LambdaProcess::start(self.binary.clone(), &self.env.vars).await.expect("start sync-tick").with_timeout(TICK_TIMEOUT);
        let started = Instant::now();
        while process.cold_start().is_none() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let cold = process.cold_start().unwrap_or_default();
        self.tick = Some(process);
        cold
    }

    /// The Zoho clock moves on an hour: the next tick is the next scheduled one (Zoho's
    /// `Modified_Time`s and token-refresh windows follow this clock).
    pub fn next_hour(&self) {
        self.h.zoho.advance_clock(Duration::from_secs(3600));
    }

    /// One scheduled tick (`{"frequency": "1h"}`) through the Runtime API.
    pub async fn invoke_tick(&mut self) -> (Value, Duration) {
        let frequency = self.h.connection.frequency.key();
        let tick = self.tick.as_mut().expect("start_tick_function first");
        let started = Instant::now();
        let answer = tick.invoke(&json!({ "frequency": frequency })).await;
        let wall = started.elapsed();
        match answer {
            Ok(summary) => (summary, wall),
            Err(e) => panic!("sync-tick failed: {e}\n{}", tick.logs().join("\n")),
        }
    }

    /// Ticks (an hour apart) until no connection is left with work carried over, at most `max`.
    pub async fn tick_until_done(&mut self, max: u32) -> TickRun {
        let mut run = TickRun::default();
        loop {
            if run.ticks > 0 {
                self.next_hour();
            }
            let (summary, wall) = self.invoke_tick().await;
            run.ticks += 1;
            run.wall += wall;
            run.per_tick.push(wall);
            let continued = summary["continued"].as_u64().unwrap_or(0);
            let failed = summary["failed"].as_u64().unwrap_or(0) + summary["partial"].as_u64().unwrap_or(0);
            assert_eq!(failed, 0, "a benchmark tick failed: {summary}");
            run.summaries.push(summary);
            if continued == 0 || run.ticks >= max {
                return run;
            }
        }
    }

    /// `VmHWM` (peak resident set) of the `sync-tick` process, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.tick.as_ref()?.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
    }

    /// User + system CPU time of the `sync-tick` process so far.
    pub fn process_cpu(&self) -> Option<Duration> {
        let pid = self.tick.as_ref()?.pid()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    pub async fn latest_run(&self, index: usize) -> Option<RunRecord> {
        self.table.store.latest_runs(&self.connections[index].0.id, 1).await.ok()?.into_iter().next()
    }

    /// The planner's input for connection `index` as the tick builds it (`engine::plan_input`),
    /// read without latency; counters reset after.
    pub async fn plan_input(&self, index: usize) -> PlanInput {
        self.set_latency(Duration::ZERO);
        let (conn, _) = &self.connections[index];
        let (google, zoho) = self.h.clients(&self.vault, conn).await;
        let ports = SyncPorts { google: &google, zoho: &zoho };
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        let input = plan_input(ports, &self.table.store, conn, far, now_millis()).await.expect("planner input");
        self.set_latency(self.latency);
        self.reset_counters();
        input
    }
}
