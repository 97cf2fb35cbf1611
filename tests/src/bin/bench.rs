//! `make bench`: scenarios against the emulators (injected latency) and moto, through the real
//! function binaries; writes `target/bench/report.md` and `target/bench/benchmarks.png`, and with
//! `--publish` copies both to `docs/benchmarks.md` and `docs/benchmarks.png`.
//!
//!   make bench                                   # full run (about 15 minutes here)
//!   make bench BENCH_ARGS="--quick"              # 5 % of the data, a couple of minutes
//!   BENCH_LATENCY_MS=0 make bench BENCH_ARGS="--only 1,3"

use clap::Parser;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use sync_tests::bench::chart::{self, Bar};
use sync_tests::bench::report::{self, Results};
use sync_tests::bench::scenarios::{self, Config};
use sync_tests::bench::{cold_starts, git_commit, machine, sizes, workspace_root};

#[derive(Parser, Debug)]
#[command(about = "Benchmarks of the sync against the emulators and moto; writes a Markdown report and a chart")]
struct Args {
    /// Latency added to every Google and Zoho API call.
    #[arg(long, env = "BENCH_LATENCY_MS", default_value_t = 50)]
    latency_ms: u64,
    /// Latency for scenario 4 (the 100,000-contact first sync); the same as --latency-ms by default.
    #[arg(long, env = "BENCH_LARGE_LATENCY_MS")]
    large_latency_ms: Option<u64>,
    /// Multiplies every contact count (and the number of connections of scenario 3).
    #[arg(long, env = "BENCH_SCALE")]
    scale: Option<f64>,
    /// Scale of scenario 4 (100,000 contacts) and of its first-sync budget; its figures are then
    /// also given extrapolated to full size. Defaults to --scale, at most 0.2.
    #[arg(long, env = "BENCH_LARGE_SCALE")]
    large_scale: Option<f64>,
    /// Scale 0.05: a run of a couple of minutes, for trying things out.
    #[arg(long)]
    quick: bool,
    /// Scenarios to run, e.g. "1,3" (1 includes 1b; 2 includes 2b and needs 1; 3 runs 1 and 2 too).
    #[arg(long, env = "BENCH_ONLY", value_delimiter = ',')]
    only: Vec<String>,
    /// Also copy the report and chart to docs/benchmarks.md and docs/benchmarks.png.
    #[arg(long)]
    publish: bool,
    /// Where the report goes.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Where the function binaries are (built by `cargo build --release`).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Cold starts measured per function binary.
    #[arg(long, default_value_t = 7)]
    cold_start_samples: usize,
    /// Writes the report and chart again from a `results.json` of an earlier run (no run).
    #[arg(long)]
    from_json: Option<PathBuf>,
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let knobs: Vec<String> = ["BENCH_LATENCY_MS", "BENCH_LARGE_LATENCY_MS", "BENCH_SCALE", "BENCH_LARGE_SCALE", "BENCH_ONLY"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v} ")))
        .collect();
    let args_text = if args.is_empty() { String::new() } else { format!(" BENCH_ARGS=\"{}\"", args.join(" ")) };
    if std::env::var_os("MAKELEVEL").is_some() {
        format!("{}make bench{args_text}", knobs.concat())
    } else {
        format!("{}cargo run --release -p sync-tests --bin bench -- {}", knobs.concat(), args.join(" "))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let root = workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let (out, bin_dir) = (resolve(&args.out), resolve(&args.bin_dir));
    if let Some(json) = &args.from_json {
        let mut results: Results = serde_json::from_slice(&std::fs::read(resolve(json))?)?;
        // Sizes do not depend on the run: take the binaries and zips as they are now (e.g. after
        // a `make package` that followed the run).
        let now_sizes = sizes(&bin_dir, &root.join("target/lambda"));
        if now_sizes.iter().any(|s| s.zip.is_some()) {
            results.sizes = now_sizes;
        }
        return write(&results, &out, &root, args.publish);
    }
    let tick_binary = bin_dir.join("sync-tick");
    if !tick_binary.exists() {
        return Err(format!("{} is missing: run `cargo build --release -p sync-tick -p oauth-callback -p sync-status` (make bench does)", tick_binary.display()).into());
    }
    let scale = args.scale.unwrap_or(if args.quick { 0.05 } else { 1.0 });
    let latency = Duration::from_millis(args.latency_ms);
    let large_latency_ms = args.large_latency_ms.unwrap_or(args.latency_ms);
    // moto slows down to about half a request per second on a table of 300,000 items: scenario 4
    // runs at a fifth of its size unless told otherwise, and is extrapolated.
    let large_scale = args.large_scale.unwrap_or(scale.min(0.2));
    let cfg = Config { latency, large_latency: Duration::from_millis(large_latency_ms), scale, large_scale, tick_binary, only: args.only.clone() };
    let wants = |k: &str| args.only.is_empty() || args.only.iter().any(|o| o == k);
    let started = Instant::now();
    let date = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;

    eprintln!("[bench] cold starts of {:?}", sync_tests::bench::FUNCTIONS);
    let cold = cold_starts(&bin_dir, args.cold_start_samples).await;
    let mut all = Vec::new();
    if wants("1") || wants("2") || wants("3") {
        all.extend(scenarios::run_small(&cfg).await);
    }
    std::fs::create_dir_all(&out)?;
    // What ran so far, in case the large scenario does not finish.
    std::fs::write(out.join("scenarios-partial.json"), serde_json::to_vec_pretty(&all)?)?;
    if wants("4") {
        all.push(scenarios::run_large(&cfg).await);
    }

    let commit = git_commit(&root);
    let command = command_line();
    let results = Results {
        command: command.clone(),
        commit: commit.clone(),
        date,
        machine: machine(),
        latency_ms: args.latency_ms,
        large_latency_ms,
        scale,
        duration: started.elapsed(),
        scenarios: all,
        cold_starts: cold,
        sizes: sizes(&bin_dir, &root.join("target/lambda")),
        chart_file: "benchmarks.png".into(),
    };
    std::fs::write(out.join("results.json"), serde_json::to_vec_pretty(&results)?)?;
    write(&results, &out, &root, args.publish)
}

fn write(results: &Results, out: &std::path::Path, root: &std::path::Path, publish: bool) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let bars: Vec<Bar> = results
        .scenarios
        .iter()
        .map(|s| Bar { label: format!("{} {}", s.key, s.title.split([':', '(']).next().unwrap_or("").trim()), measured: s.counters.api_total(), minimum: s.work.minimum().total(), naive: s.work.naive().total(), wall_seconds: s.run.wall.as_secs_f64() })
        .collect();
    let header = vec![
        format!("command: {}", results.command),
        format!("commit: {}   date: {}", results.commit, results.date),
        format!("latency per API call: {} ms (scenario 4: {} ms)   scale: {}   machine: {}", results.latency_ms, results.large_latency_ms, results.scale, results.machine),
    ];
    chart::draw(&out.join("benchmarks.png"), &header, &bars)?;
    let markdown = report::markdown(results);
    std::fs::write(out.join("report.md"), &markdown)?;
    println!("{}", out.join("report.md").display());
    if publish {
        let docs = root.join("docs");
        std::fs::write(docs.join("benchmarks.md"), &markdown)?;
        std::fs::copy(out.join("benchmarks.png"), docs.join("benchmarks.png"))?;
        println!("{}", docs.join("benchmarks.md").display());
    }
    Ok(())
}
