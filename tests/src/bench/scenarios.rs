//! The benchmark scenarios, each measured on the real `sync-tick` binary.

use super::theory::Work;
use super::world::{Counters, Deployment, TickRun};
use crate::sync_support::harness::ZOHO_USER;
use serde_json::json;
use shared::store::*;
use shared::sync::{plan, PlanInput};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Config {
    pub latency: Duration,
    /// Latency of scenario 4 (the 100,000-contact first sync).
    pub large_latency: Duration,
    pub scale: f64,
    /// Scale of scenario 4; its first-sync budget is scaled with it, so it takes as many ticks
    /// as at full size and its figures extrapolate linearly.
    pub large_scale: f64,
    pub tick_binary: PathBuf,
    /// Scenario keys to run ("1", "2", "3", "4"); empty: all.
    pub only: Vec<String>,
}

impl Config {
    pub fn n(&self, full: usize) -> usize {
        ((full as f64 * self.scale).round() as usize).max(1)
    }
    fn wants(&self, key: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|k| k == key)
    }
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct PlannerTime {
    pub cpu: Duration,
    pub wall: Duration,
    pub zoho_in: usize,
    pub google_in: usize,
    pub links: usize,
    pub units: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Scenario {
    pub key: String,
    pub title: String,
    pub setup: String,
    pub latency: Duration,
    pub connections: u64,
    pub run: TickRun,
    pub counters: Counters,
    pub work: Work,
    pub peak_rss_kib: Option<u64>,
    pub process_cpu: Option<Duration>,
    pub cold_start: Duration,
    pub planner: Option<PlannerTime>,
    pub zoho: SideCounts,
    pub google: SideCounts,
    pub notes: Vec<String>,
    /// Set when the scenario ran scaled down: its figures × this factor estimate the full size.
    #[serde(default)]
    pub extrapolate: Option<f64>,
}

fn time_planner(input: &PlanInput) -> PlannerTime {
    let mut best = PlannerTime { cpu: Duration::MAX, wall: Duration::MAX, ..PlannerTime::default() };
    for _ in 0..3 {
        let cpu = cpu_time::ThreadTime::now();
        let wall = Instant::now();
        let planned = plan(input);
        let (cpu, wall) = (cpu.elapsed(), wall.elapsed());
        if cpu < best.cpu {
            best = PlannerTime { cpu, wall, zoho_in: input.zoho_changes.len(), google_in: input.google_changes.len(), links: input.links.len(), units: planned.units.len() };
        }
    }
    best
}

/// The writes of everything `input` asks for, whatever the per-tick budget.
fn planned_work(input: &PlanInput) -> Work {
    let mut unlimited = input.clone();
    unlimited.budget = usize::MAX;
    let mut work = Work { connections: 1, ..Work::default() };
    work.add_plan(&plan(&unlimited));
    work
}

/// Starts a fresh `sync-tick` process, runs ticks until done and collects the figures.
async fn measure(d: &mut Deployment, key: &str, title: String, setup: String, latency: Duration, work: Work, planner: Option<PlannerTime>, max_ticks: u32) -> Scenario {
    let cold_start = d.start_tick_function().await;
    d.reset_counters();
    eprintln!("[bench] {key}: {title} ...");
    let run = d.tick_until_done(max_ticks).await;
    let counters = d.counters();
    let (mut zoho, mut google) = (SideCounts::default(), SideCounts::default());
    if d.connections.len() == 1 {
        let runs = d.table.store.latest_runs(&d.connections[0].0.id, run.ticks as usize).await.unwrap_or_default();
        for r in &runs {
            add(&mut zoho, &r.zoho);
            add(&mut google, &r.google);
        }
    }
    eprintln!("[bench] {key}: {} tick(s), {:.1} s, {} API calls, {} DynamoDB requests", run.ticks, run.wall.as_secs_f64(), counters.api_total(), counters.dynamo_total());
    Scenario {
        key: key.to_string(),
        title,
        setup,
        latency,
        connections: d.connections.len() as u64,
        peak_rss_kib: d.peak_rss_kib(),
        process_cpu: d.process_cpu(),
        cold_start,
        run,
        counters,
        work,
        planner,
        zoho,
        google,
        notes: Vec::new(),
        extrapolate: None,
    }
}

fn add(total: &mut SideCounts, c: &SideCounts) {
    total.created += c.created;
    total.updated += c.updated;
    total.deleted += c.deleted;
    total.unlinked += c.unlinked;
    total.conflicts += c.conflicts;
    total.errors += c.errors;
}

/// Scenarios 1, 2 and 3 (one connection): first sync, the tick after it, 500+500 changes, the
/// tick after those, an idle tick. Then 3 for many connections.
pub async fn run_small(cfg: &Config) -> Vec<Scenario> {
    let mut out = Vec::new();
    let (z, g, s) = (cfg.n(10_000), cfg.n(10_000), cfg.n(5_000));
    let mut d = Deployment::new(&cfg.tick_binary, cfg.latency).await;
    d.set_latency(cfg.latency);
    d.seed(0, z, g, s);

    // 1. First two-way sync.
    let input = d.plan_input(0).await;
    let planner = time_planner(&input);
    let mut work = planned_work(&input);
    (work.zoho_read, work.google_read) = (z as u64, g as u64);
    let setup = format!("{z} Zoho contacts in the list, {g} Google contacts in the group, {s} sharing an email (half of the pairs have a phone number on one side only)");
    out.push(measure(&mut d, "1", "First two-way sync".into(), setup, cfg.latency, work, Some(planner), 10).await);

    // 1b. The next tick reads the first sync's own writes back (echoes).
    d.next_hour();
    let work = Work { connections: 1, ..Work::default() };
    let setup = "nothing changed by users; the feeds bring back what the first sync wrote".to_string();
    out.push(measure(&mut d, "1b", "Tick after the first sync (echoes)".into(), setup, cfg.latency, work, None, 3).await);

    if cfg.wants("2") || cfg.wants("3") {
        // 2. 500 changes on each side, 50 of them on the same pairs and the same field.
        d.next_hour();
        let changes = cfg.n(500);
        let conflicts = cfg.n(50).min(changes);
        let mut links = d.table.store.all_links(&d.connections[0].0.id).await.expect("links");
        links.sort_by(|a, b| a.zoho_id.cmp(&b.zoho_id));
        let zoho_edits = &links[..changes];
        let google_edits = &links[changes - conflicts..2 * changes - conflicts];
        for (i, link) in zoho_edits.iter().enumerate() {
            d.h.zoho.edit_contact(ZOHO_USER, &link.zoho_id, &json!({ "First_Name": format!("Zoe{i}") })).expect("edit Zoho contact");
        }
        let account = d.h.account.clone();
        for (i, link) in google_edits.iter().enumerate() {
            d.h.google.state.edit_person(&account, &link.google_resource_name, |p| p["names"][0]["givenName"] = json!(format!("Gia{i}")));
        }
        let input = d.plan_input(0).await;
        let planner = time_planner(&input);
        let mut work = planned_work(&input);
        (work.zoho_read, work.google_read) = (changes as u64, changes as u64);
        let setup = format!("{} linked pairs; {changes} edited in Zoho (First_Name), {changes} in Google (givenName), {conflicts} pairs edited on both sides (same field, different values)", links.len());
        let mut s2 = measure(&mut d, "2", "Incremental tick: 500 + 500 changes, 50 conflicts".into(), setup, cfg.latency, work, Some(planner), 10).await;
        if s2.run.ticks > 1 {
            s2.notes.push(format!("the per-tick budget ({} records) leaves the rest to the next tick", d.connections[0].0.settings.tick_budget));
        }
        out.push(s2);

        d.next_hour();
        let work = Work { connections: 1, ..Work::default() };
        out.push(measure(&mut d, "2b", "Tick after the changes (echoes)".into(), "nothing changed by users".into(), cfg.latency, work, None, 3).await);

        // 3a. Idle.
        d.next_hour();
        let work = Work { connections: 1, ..Work::default() };
        let input = d.plan_input(0).await;
        let planner = time_planner(&input);
        let setup = format!("{} linked pairs, nothing changed since the last tick", input.total_links);
        out.push(measure(&mut d, "3a", "Idle tick, 1 connection".into(), setup, cfg.latency, work, Some(planner), 1).await);
    }
    drop(d);

    if cfg.wants("3") {
        // 3b. Idle, many connections (each small).
        let connections = cfg.n(100).max(2);
        let mut d = Deployment::new(&cfg.tick_binary, cfg.latency).await;
        d.add_connections(connections - 1).await;
        for i in 0..connections {
            d.seed(i, 10, 10, 5);
        }
        eprintln!("[bench] 3b: first sync and echo ticks of {connections} connections ...");
        d.set_latency(Duration::ZERO);
        d.start_tick_function().await;
        d.tick_until_done(3).await;
        d.next_hour();
        d.tick_until_done(3).await;
        d.next_hour();
        d.set_latency(cfg.latency);
        let work = Work { connections: connections as u64, ..Work::default() };
        let setup = format!("{connections} connections of 10 + 10 contacts (5 shared) each, all on the 1 h schedule, nothing changed");
        out.push(measure(&mut d, "3b", format!("Idle tick, {connections} connections"), setup, cfg.latency, work, None, 1).await);
    }
    out
}

/// Scenario 4: a first sync of 100,000 contacts (50,000 per side, 25,000 sharing an email),
/// carried over as many ticks as the first-sync budget needs.
pub async fn run_large(cfg: &Config) -> Scenario {
    let n = |full: usize| ((full as f64 * cfg.large_scale).round() as usize).max(1);
    let (z, g, s) = (n(50_000), n(50_000), n(25_000));
    let mut d = Deployment::new(&cfg.tick_binary, cfg.large_latency).await;
    let default_budget = d.connections[0].0.settings.first_sync_budget;
    let budget = ((default_budget as f64 * cfg.large_scale).round() as u32).max(1);
    d.set_first_sync_budget(budget).await;
    d.set_latency(cfg.large_latency);
    let seeded = Instant::now();
    d.seed(0, z, g, s);
    eprintln!("[bench] 4: seeded {} contacts in {:.1} s", z + g, seeded.elapsed().as_secs_f64());
    let input = d.plan_input(0).await;
    let planner = time_planner(&input);
    let mut work = planned_work(&input);
    (work.zoho_read, work.google_read) = (z as u64, g as u64);
    let mut setup = format!("{z} Zoho + {g} Google contacts ({} in all), {s} sharing an email: {} pairs; first-sync budget {budget} records per tick", z + g, z + g - s);
    if (cfg.large_scale - 1.0).abs() > 1e-9 {
        setup.push_str(&format!(
            " (100,000 contacts and {default_budget} per tick scaled by {}: the same number of ticks, each listing and writing {} as much)",
            cfg.large_scale, cfg.large_scale
        ));
    }
    let mut s4 = measure(&mut d, "4", format!("First sync of {} contacts across ticks", z + g), setup, cfg.large_latency, work, Some(planner), 60).await;
    if (cfg.large_scale - 1.0).abs() > 1e-9 {
        s4.extrapolate = Some(1.0 / cfg.large_scale);
        s4.notes.push(
            "why scaled: a full-size attempt on this machine (2026-11-25, 100,000 contacts, budget 10,000) was stopped during its first tick: \
             `sync-tick` had reached 3.1 GB peak RSS, and moto was answering about 0.5 DynamoDB requests per second for a run that needs over 10,000"
                .into(),
        );
    }
    s4
}
