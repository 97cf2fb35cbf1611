//! `make bench`: the sync measured against the emulators (with an injected per-call latency)
//! and moto, through the real function binaries. See `docs/benchmarks.md` for a report.
//!
//! Performance is measured and reported here, never asserted in tests.

pub mod analysis;
pub mod chart;
pub mod report;
pub mod scenarios;
pub mod theory;
pub mod world;

use crate::aws::fresh_table;
use crate::functions::function_env;
use crate::lambda::LambdaProcess;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const FUNCTIONS: [&str; 3] = ["sync-tick", "oauth-callback", "sync-status"];

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ColdStart {
    pub function: String,
    pub samples: Vec<Duration>,
}

impl ColdStart {
    pub fn median(&self) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        s.get(s.len() / 2).copied().unwrap_or_default()
    }
    pub fn max(&self) -> Duration {
        self.samples.iter().max().copied().unwrap_or_default()
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Size {
    pub function: String,
    pub binary: Option<u64>,
    pub zip: Option<u64>,
    /// The `bootstrap` inside the zip (the cross-built binary Lambda runs).
    pub zipped_binary: Option<u64>,
}

/// Process start to first poll of the Runtime API, `samples` times per function binary.
pub async fn cold_starts(bin_dir: &Path, samples: usize) -> Vec<ColdStart> {
    let table = fresh_table().await;
    let env = function_env(&table.table, "http://127.0.0.1:9", "http://127.0.0.1:9").await;
    let mut out = Vec::new();
    for function in FUNCTIONS {
        let mut cold = ColdStart { function: function.to_string(), samples: Vec::new() };
        for _ in 0..samples {
            let Ok(process) = LambdaProcess::start(bin_dir.join(function), &env.vars).await else { break };
            let started = Instant::now();
            while process.cold_start().is_none() && started.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            if let Some(c) = process.cold_start() {
                cold.samples.push(c);
            }
        }
        out.push(cold);
    }
    out
}

pub fn sizes(bin_dir: &Path, lambda_dir: &Path) -> Vec<Size> {
    FUNCTIONS
        .iter()
        .map(|f| {
            let zip = lambda_dir.join(f).join("bootstrap.zip");
            let zipped_binary = lambda_dir.join(f).join("bootstrap");
            Size {
                function: f.to_string(),
                binary: std::fs::metadata(bin_dir.join(f)).ok().map(|m| m.len()),
                zip: std::fs::metadata(&zip).ok().map(|m| m.len()),
                zipped_binary: std::fs::metadata(zipped_binary).ok().map(|m| m.len()),
            }
        })
        .collect()
}

/// The commit of the work tree (`git rev-parse`), with `-dirty` when files differ from it.
pub fn git_commit(root: &Path) -> String {
    let run = |args: &[&str]| std::process::Command::new("git").args(args).current_dir(root).output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let Some(commit) = run(&["rev-parse", "--short=12", "HEAD"]) else { return "unknown (no git)".into() };
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string())).unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cores} cores, {cpu}")
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
