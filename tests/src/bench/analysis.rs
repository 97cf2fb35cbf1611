//! The report's "why" section: where the measured calls go beyond the minimum, by kind, and what
//! in the engine causes it (read from `shared/src/sync/engine/`), with the fix that would close it.

use super::report::{per_connection, Results, AIM_COLD_MS, AIM_IDLE_API, AIM_IDLE_DYNAMO, AIM_RATIO, AIM_RSS_MB};
use super::scenarios::Scenario;
use std::fmt::Write;

/// Measured calls by kind: (kind, measured, minimum).
pub fn by_kind(s: &Scenario) -> Vec<(&'static str, u64, u64)> {
    let api = &s.counters.api;
    let sum = |pred: &dyn Fn(&str) -> bool| api.iter().filter(|(k, _)| pred(k)).map(|(_, v)| *v).sum::<u64>();
    let min = s.work.minimum();
    let part = |pred: &dyn Fn(&str) -> bool| min.parts.iter().filter(|(k, _)| pred(k)).map(|(_, v)| *v).sum::<u64>();
    vec![
        ("token refreshes", sum(&|k| super::world::is_token_endpoint(k)), part(&|k| k.starts_with("token"))),
        ("Zoho listings (list, all Contacts, deleted)", sum(&|k| k.starts_with("Zoho GET /crm/v8/Contacts")), part(&|k| k.starts_with("Zoho list"))),
        ("Google listings", sum(&|k| k == "Google GET /v1/people/me/connections"), part(&|k| k.starts_with("Google list"))),
        ("Google reads by resourceName (batchGet)", sum(&|k| k.starts_with("Google GET /v1/people:batchGet")), 0),
        ("Zoho writes", sum(&|k| k.starts_with("Zoho") && !k.contains(" GET ") && !super::world::is_token_endpoint(k)), part(&|k| k.starts_with("Zoho") && !k.starts_with("Zoho list"))),
        ("Google writes", sum(&|k| k.starts_with("Google POST /v1/") || k.starts_with("Google DELETE")), part(&|k| k.starts_with("Google") && !k.starts_with("Google list"))),
    ]
}

pub fn analysis(r: &Results) -> String {
    let mut o = String::new();
    let find = |key: &str| r.scenarios.iter().find(|s| s.key == key);
    let _ = writeln!(o, "## Where the aims are missed, and what would fix it\n");

    // API calls against the minimum.
    let over: Vec<&Scenario> = r.scenarios.iter().filter(|s| s.counters.api_total() as f64 > AIM_RATIO * s.work.minimum().total() as f64).collect();
    if !over.is_empty() {
        let _ = writeln!(o, "### API calls above {AIM_RATIO}× the minimum\n");
        let _ = writeln!(o, "Measured against minimum, by kind of call:\n");
        let _ = writeln!(o, "| scenario | kind | measured | minimum | extra |\n|---|---|---|---|---|");
        for s in &over {
            for (kind, measured, minimum) in by_kind(s) {
                if measured != minimum {
                    let _ = writeln!(o, "| {} | {kind} | {measured} | {minimum} | {:+} |", s.key, measured as i64 - minimum as i64);
                }
            }
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Why (from `shared/src/sync/engine/`):\n\n\
             1. **A first sync over several ticks lists both sides in full on every tick** (scenario 1: 15,000 pairs; scenario 4). The design caps a first \
             sync at {} records per tick (Zoho's own cap, `Settings::first_sync_budget`); the cursors move only once it is complete (rule 6), so each \
             continuation tick lists the whole list and the whole group again: in scenario 4 that is most of the extra Zoho and Google listings, in scenario 1 \
             one more listing of each side. *Fix*: resume instead of re-listing: list Zoho sorted by id and keep the position (the `Cursors` item has \
             `zoho_page_token` for it, unused), pair and create each tick's slice against the Google side, and create the Google-only contacts in Zoho only \
             after the last slice (a later slice may hold their email). The Google side is still listed once per tick (matching by email needs all of it; \
             `people:searchContacts` is not reliable enough, see `engine::people`), which at 1,000 per page is a fifth of the Zoho cost.\n\
             2. **Echoes**: the tick after a tick that wrote lists what that tick wrote, on both sides (1b, 2b). Both cursors are taken when the listing \
             *starts* (Google's sync token comes with the listing; the Zoho cursor is Zoho's `Date` at the listing minus a 15-minute overlap for its list \
             index lag), so a user edit made while the tick writes is never missed; the price is one listing of the previous tick's own writes, recognised \
             by their hashes and planned as nothing. The minimum counts one page per side for such a tick. One tick later they are behind both cursors.\n\
             3. **Deletions in Zoho need their own call**: Zoho's `/Contacts/deleted` is the only way to see deletions, so every tick after a first sync \
             makes it (one call, a `304` when nothing was deleted); the minimum counts one listing per side.\n\
             4. **Partial batches at the end of a tick**: writes go in waves of {} units (`apply::WAVE`, a multiple of every batch size), each kind of write in \
             its own batches, so a tick's last wave ends with a partial batch of each kind; a first sync cut by the budget has one such end per tick.\n\
             5. **One access-token refresh per provider, connection and tick**: the token cache lives for one tick (`tick::clients_for`). At an hourly \
             frequency the 1-hour tokens have expired anyway; the minimum counts them once per scenario.\n\
             6. **Incremental work over the budget, and the list asked when something changed** (scenario 2): a later tick acts on at most 500 records \
             (Zoho's cap, `Settings::tick_budget`), so 1,000 changes take two ticks, each listing what changed since the unmoved cursor. When the \
             listing of all Contacts brings records, the list (`cvid`) is listed too, to tell which are in it (evaluating the list's criteria locally \
             would save it). Google people that a Zoho edit updates and the Google feed did not bring are read by name (`people:batchGet`, 200 a \
             call), which the minimum does not count.\n",
            "10,000",
            shared::sync::engine::apply::WAVE
        );
    }

    // Idle ticks.
    let idle: Vec<&Scenario> = ["3a", "3b"].iter().filter_map(|k| find(k)).collect();
    let idle_missed = idle.iter().any(|s| {
        let (_, all, dynamo, _) = per_connection(s);
        all > AIM_IDLE_API || dynamo > AIM_IDLE_DYNAMO
    });
    if idle_missed {
        let _ = writeln!(o, "### Idle tick above {AIM_IDLE_API} API calls and {AIM_IDLE_DYNAMO} DynamoDB requests per connection\n");
        for s in &idle {
            let (data, all, dynamo, secrets) = per_connection(s);
            let ops: Vec<String> = s.counters.dynamo.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(
                o,
                "- {}: per connection {data:.2} data API calls + {:.2} token refreshes = {all:.2}; {dynamo:.2} DynamoDB requests ({}); {secrets:.2} Secrets Manager calls; est. {:.1} RRU and {:.1} WRU.",
                s.key,
                all - data,
                ops.join(", "),
                s.counters.read_units / s.connections.max(1) as f64,
                s.counters.write_units / s.connections.max(1) as f64
            );
        }
        let _ = writeln!(
            o,
            "\nAPI calls: 1 Google listing with the sync token, 1 Zoho listing of all Contacts modified since the cursor (a `304`; the list is asked \
             only when that listing brings records) and 1 `/Contacts/deleted` (a `304`), plus 2 token refreshes. Zoho has no feed that brings changes and \
             deletions together, so 3 data calls is what an idle tick that notices every deletion costs. *To reach 2*: check `/Contacts/deleted` every \
             n-th tick (deletions are then seen up to n ticks later), or have Zoho push changes (its notification API, `/actions/watch`, to a webhook \
             function) and poll only as a fallback. The token refreshes stay unless access tokens are kept across ticks (they last one hour).\n\n\
             DynamoDB, per connection: one `UpdateItem` takes the lease and returns the cursors with it, one `TransactWriteItems` saves the run record, \
             releases the lease and stores the cursors (`store::finish_run`); links are read only for what the feeds brought (none on an idle tick), the \
             pending-create markers only when the Zoho feed brought an unlinked record without an email, and the \"running\" run record only when there \
             is work. The schedule's `Query` of its connections is shared by all of them.\n"
        );
    }

    // Memory.
    if let Some(s) = find("1") {
        let mb = |sc: &Scenario| sc.peak_rss_kib.unwrap_or(0) as f64 * 1024.0 / 1e6;
        let large = find("4");
        let peak = large.map_or(mb(s), |l| mb(l).max(mb(s)));
        let lambda_mb = infra_sync_tick_mb();
        if mb(s) >= AIM_RSS_MB || peak >= AIM_RSS_MB {
            let _ = writeln!(o, "### Peak memory\n");
            let contacts = s.work.zoho_read + s.work.google_read;
            let lambda = match lambda_mb {
                Some(m) if peak > f64::from(m) => format!(
                    "**This is more than the {m} MB that `infra/` gives `sync-tick` (`memory_mb.sync_tick`)**: on Lambda that first sync would be killed for lack \
                     of memory, and again on every retry. Raise `memory_mb.sync_tick` above the peak."
                ),
                Some(m) => format!("The {m} MB that `infra/` gives `sync-tick` (`memory_mb.sync_tick`) covers the largest peak measured here ({peak:.0} MB)."),
                None => "`infra/variables.tf` has no `memory_mb.sync_tick` default to compare with.".to_string(),
            };
            let _ = writeln!(
                o,
                "Scenario 1 peaked at {:.0} MB for {contacts} contacts{}. Each page of a feed becomes the planner's compact \
                 `ZohoChange`/`GoogleChange` as it arrives and its JSON is dropped; people are kept as compact JSON text (the applier merges updates \
                 into them); field hashes are 128 bits; the tick runs on one thread (one malloc arena). What remains grows with the contacts listed: \
                 the planner's input (every contact of both sides on a first sync, a few hundred bytes of fields each) and the plan (creates carry the \
                 contact, every new pair its per-field hashes). *Fix* for large first syncs: plan and apply the slices of fix 1 above, so a tick holds \
                 one slice of Zoho and the Google side. {lambda}\n",
                mb(s),
                large.map_or(String::new(), |l| format!(", scenario 4 at {:.0} MB for {} contacts", mb(l), l.work.zoho_read + l.work.google_read)),
            );
        }
    }

    // Cold starts.
    let slow: Vec<String> = r.cold_starts.iter().filter(|c| c.median().as_secs_f64() * 1000.0 >= AIM_COLD_MS).map(|c| c.function.clone()).collect();
    if !slow.is_empty() {
        let _ = writeln!(o, "### Cold start\n\n{} took {AIM_COLD_MS} ms or more to reach the Runtime API: the function does work before `lambda_runtime::run` (see its `main`).\n", slow.join(", "));
    }
    o
}

/// `memory_mb.sync_tick`'s default in `infra/variables.tf`.
fn infra_sync_tick_mb() -> Option<u32> {
    let text = std::fs::read_to_string(super::workspace_root().join("infra/variables.tf")).ok()?;
    let block = &text[text.find("variable \"memory_mb\"")?..];
    let defaults = &block[block.find("default")?..];
    let line = defaults.lines().find(|l| l.trim_start().starts_with("sync_tick"))?;
    line.split('=').nth(1)?.trim().parse().ok()
}
