//! `make run`: a real sync on this machine. Both emulators in-process with sample contacts (some
//! sharing emails), tokens through their OAuth endpoints, a SQLite store under `target/local/`,
//! refresh tokens under `target/local/tokens`, then two sync ticks and the status report.

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use shared::secrets::FileVault;
use shared::status::build_report;
use shared::store::sqlite::SqliteStore;
use shared::store::*;
use shared::sync::engine::tick::{run_tick, TickSummary};
use sync_tests::sync_support::harness::{far_deadline, person, record, SyncHarness};

#[derive(Parser)]
#[command(about = "Runs two sync ticks between seeded Google and Zoho emulators and prints the status")]
struct Args {
    /// Google emulator port (0 picks a free one).
    #[arg(long, env = "GOOGLE_EMULATOR_PORT", default_value_t = 0)]
    google_port: u16,
    /// Zoho emulator port (0 picks a free one).
    #[arg(long, env = "ZOHO_EMULATOR_PORT", default_value_t = 0)]
    zoho_port: u16,
    /// Extra generated contacts on each side, besides the samples.
    #[arg(long, default_value_t = 20)]
    contacts: usize,
    /// Where the store and the token files go.
    #[arg(long, default_value = "target/local")]
    dir: std::path::PathBuf,
}

fn seed(h: &SyncHarness, extra: usize) {
    h.add_people(
        vec![
            person("Ada", "Lovelace", Some("ada@example.com"), Some("+44 20 7946 0001")),
            person("Grace", "Hopper", Some(" GRACE@Example.com "), Some("+1 202 555 0199")),
            person("Alan", "Turing", Some("alan@bletchley.example"), None),
            person("Only", "InGoogle", None, Some("+1 555 0150")),
        ],
        true,
    );
    h.add_people(vec![person("Katherine", "Johnson", Some("katherine@example.com"), None)], false);
    h.add_records(
        &[
            record("Ada", "Lovelace", Some("ada@example.com"), Some("+44 20 7946 0001")),
            record("Grace", "Hopper", Some("grace@example.com"), Some("+1 202 555 0101")),
            record("Edsger", "Dijkstra", Some("edsger@example.com"), None),
            record("Barbara", "Liskov", None, Some("+1 617 555 0104")),
        ],
        true,
    );
    h.add_records(&[record("Not", "Listed", Some("not-listed@example.com"), None)], false);
    let generated: Vec<_> = (0..extra).map(|i| record("Generated", &format!("Contact {i:03}"), Some(&format!("gen{i:03}@example.com")), None)).collect();
    h.add_records(&generated, true);
    let generated: Vec<_> = (0..extra).map(|i| person("Google", &format!("Person {i:03}"), Some(&format!("gp{i:03}@example.com")), None)).collect();
    h.add_people(generated, true);
}

fn describe(label: &str, s: &TickSummary, runs: &[RunRecord]) -> String {
    let run = runs.first();
    let z = run.map(|r| r.zoho).unwrap_or_default();
    let g = run.map(|r| r.google).unwrap_or_default();
    format!(
        "{label}: {} connection(s), outcome {:?}; Google +{} created, {} updated; Zoho +{} created, {} updated; {} conflict(s)",
        s.connections,
        run.map(|r| r.outcome),
        g.created,
        g.updated,
        z.created,
        z.updated,
        g.conflicts + z.conflicts
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let harness = SyncHarness::start_on(args.google_port, args.zoho_port).await?;
    seed(&harness, args.contacts);
    println!("google emulator {} · zoho emulator {}", harness.google.base_url, harness.zoho.base_url);

    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("state.sqlite");
    let _ = std::fs::remove_file(&db);
    let store = SqliteStore::open(&db)?;
    let vault = FileVault::new(args.dir.join("tokens"))?;
    harness.connect(&vault).await?;
    store.put_connection(&harness.connection).await?;

    let progress = ProgressBar::new(2).with_style(ProgressStyle::with_template("{spinner} tick {pos}/{len} {msg}")?);
    let mut lines = Vec::new();
    for (i, label) in ["first sync", "second tick"].into_iter().enumerate() {
        progress.set_message(label);
        if i == 1 {
            // A user edits a contact in Zoho between the ticks; the second tick carries it to Google.
            let ada = harness.zoho.contacts_with_email(sync_tests::sync_support::harness::ZOHO_USER, "ada@example.com")?;
            if let Some(id) = ada.first().and_then(|r| r["id"].as_str()) {
                harness.zoho.edit_contact(sync_tests::sync_support::harness::ZOHO_USER, id, &json!({"Title": "Countess"}))?;
            }
        }
        let summary = run_tick(&harness.env, &store, &vault, harness.connection.frequency, far_deadline(), now_millis).await?;
        let runs = store.latest_runs(&harness.connection.id, 1).await?;
        lines.push(describe(label, &summary, &runs));
        progress.inc(1);
    }
    progress.finish_and_clear();

    let runs = store.latest_runs(&harness.connection.id, 50).await?;
    let cursors = store.get_cursors(&harness.connection.id).await?;
    let report = build_report(&harness.connection, &runs, &cursors, now_millis());
    println!("{}", serde_json::to_string_pretty(&report)?);
    println!();
    for line in lines {
        println!("{line}");
    }
    let links = store.all_links(&harness.connection.id).await?;
    println!(
        "{} linked pairs; Google has {} contacts, Zoho {} (store: {}, tokens: {})",
        links.len(),
        harness.google.state.people(&harness.account).len(),
        harness.zoho.contacts(sync_tests::sync_support::harness::ZOHO_USER)?.len(),
        db.display(),
        args.dir.join("tokens").display()
    );
    Ok(())
}
