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
             1. **Zoho is listed three times on every incremental tick** (`fetch::zoho_feed`): the list (`cvid`) modified since the cursor, \
             then *all* Contacts modified since the cursor (to see records that left the list: their link is dropped, rule 5), then `/Contacts/deleted`. \
             The second listing repeats every in-list record of the first. *Fix*: list all Contacts modified since the cursor once and ask the list \
             (`cvid`) only when that listing returned records (an idle tick then costs 1 Zoho listing + the deleted check), or read the list's criteria \
             and evaluate them locally; read `/Contacts/deleted` with the same `If-Modified-Since`, which answers 304 without a body when nothing was deleted.\n\
             2. **The Zoho cursor does not move when nothing newer is seen** (`fetch::next_zoho_cursor`): it is the newest `Modified_Time` seen minus 15 minutes, \
             never earlier than before. The records the sync itself wrote (its upserts and updates, a few seconds after the listing) are therefore listed again on \
             the next tick (an echo, ignored by the hash check, rule 2) and on *every* later tick until a user edits something newer: scenario 3a, two ticks after \
             scenario 2 wrote, still lists those records. Here the seeded records are minutes older than the first sync's writes, so the tick after the first sync (1b) \
             and scenario 2 list the whole list, twice (see 1). *Fix*: when a listing completes, move the cursor to the \
             time the listing started by Zoho's clock (the response `Date` header) minus the overlap, and keep the newest `Modified_Time` our own writes returned \
             (already stored in the links) to skip echoes without re-reading them.\n\
             3. **Google echoes**: the sync token comes with the listing, before the tick writes, so the next tick's feed brings back every person the tick wrote \
             (after a first sync: every stamped or created person). They plan nothing, but cost pages. This is the price of never missing a concurrent user edit; \
             it is bounded by the previous tick's writes.\n\
             4. **A first sync over several ticks lists both sides in full on every tick**: the first-sync budget ({} records per tick, Zoho's own cap; scaled down with scenario 4) stops the plan, \
             the cursors only move once the first sync is complete (rule 6), so the next tick starts the full listings again (scenario 4, and scenario 1 when its \
             15,000 pairs exceed 10,000). *Fix*: keep the listing position between ticks (the `Cursors` item already has `zoho_page_token` and \
             `google_page_token`, unused) and read the rest only, or raise the first-sync budget to what one 15-minute Lambda run can write.\n\
             5. **Writes go in waves of 500 units** (`apply::WAVE`), and each wave sends each kind of write in its own batches, so every wave ends with a partial \
             batch of each kind: 500 Google people take 3 calls (200 + 200 + 100) where 2.5 would do, a wave's 125 Zoho updates take 2. Up to 20 % more \
             `batchCreateContacts`/`batchUpdateContacts` calls and some Zoho `PUT`s than full batches. *Fix*: waves of 1,000 units (a multiple of \
             200, 100 and 500), or carrying a partial batch into the next wave.\n\
             6. **One access-token refresh per provider and connection per tick**: the token cache lives for one tick (`tick::clients_for`). At an hourly \
             frequency the 1-hour tokens have expired anyway, so this is part of the minimum; at 15 minutes, caching the token in the warm container would save 2 calls per tick.\n",
            "10,000"
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
            "\nAPI calls: 1 Google listing with the sync token, 3 Zoho listings (see 1 above) and 2 token refreshes. With the Zoho fix above an idle tick is \
             1 Google + 2 Zoho data calls; reaching 2 would also need the deleted check less often than every tick (e.g. every 6th tick, deletions are then seen later), \
             and the token refreshes stay unless tokens are cached across ticks.\n\n\
             DynamoDB, per connection (`engine::run_connection`, `Tick::sync`): `PutItem` lease (conditional), `PutItem` run record \"running\", `GetItem` cursors, \
             `Query` all links (one request per 1 MB of links: a link item is about 1.5 KB because it holds the per-field hashes and the link JSON, so 15,000 links take \
             28 pages and over 6,000 read units in scenario 3a, on a tick that changes nothing), `Query` pending-create markers, `PutItem` run record at the end, \
             `DeleteItem` lease, `PutItem` cursors (written even when unchanged); plus one `Query` per tick for the connections on the schedule. \
             *Fix* to reach 3: read links only for the ids, resourceNames and emails the feeds brought (`links_by_zoho_ids`, `link_by_resource_name`: nothing on an \
             idle tick; the link count for the mass-delete guard kept as a counter in the cursors item); read the pending-create markers only when the Zoho feed brought \
             an unlinked record without an email (the only kind a marker can pair with); skip `put_cursors` when the cursors did not change; write the \"running\" run \
             record only when there is work (the lease item already says a run holds it), and put the final run record and the lease release in one \
             `TransactWriteItems`. An idle tick is then lease + cursors + final write = 3.\n"
        );
    }

    // Memory.
    if let Some(s) = find("1") {
        let missed = s.peak_rss_kib.is_some_and(|k| k as f64 * 1024.0 / 1e6 >= AIM_RSS_MB);
        let large = find("4");
        if missed || large.is_some_and(|l| l.peak_rss_kib.unwrap_or(0) as f64 * 1024.0 / 1e6 >= AIM_RSS_MB) {
            let _ = writeln!(o, "### Peak memory\n");
            let contacts = s.work.zoho_read + s.work.google_read;
            let _ = writeln!(
                o,
                "Scenario 1 peaked at {:.0} MB for {contacts} contacts{}. The tick keeps every page of both feeds as `serde_json::Value` \
                 (`fetch::GoogleFeed.people`, `ZohoFeed.in_scope`), copies every person again into `Seen.people` and once more into `People` \
                 (`People::new(seen.people.clone(), …)`), builds the planner input (contacts, links with their field hashes) and the plan (actions carry the contact \
                 values and pending links), then the write bodies. Nothing is dropped before the tick ends. *Fix*: turn each page into the planner's compact \
                 `ZohoChange`/`GoogleChange` as it arrives and drop the JSON; keep only the persons that will be updated (their etag and the masked fields) instead of \
                 every person; drop the feeds once `Seen` is built; on a first sync, plan and apply page by page (the budget already bounds a tick). \
                 {}\n",
                s.peak_rss_kib.unwrap_or(0) as f64 * 1024.0 / 1e6,
                large.map_or(String::new(), |l| format!(", scenario 4 at {:.0} MB for {} contacts", l.peak_rss_kib.unwrap_or(0) as f64 * 1024.0 / 1e6, l.work.zoho_read + l.work.google_read)),
                if s.peak_rss_kib.unwrap_or(0) as f64 * 1024.0 / 1e6 > 512.0 {
                    "**This is more than the 512 MB that `infra/` gives `sync-tick` (`memory_mb.sync_tick`)**: on Lambda this first sync would be killed for lack of memory, \
                     and again on every retry, since each tick of a first sync reads both sides in full. Until the fix, raise `memory_mb.sync_tick` to 1,536 MB \
                     (which also gives the function about one vCPU)."
                } else {
                    "The 512 MB that `infra/` gives `sync-tick` (`memory_mb.sync_tick`) covers what was measured."
                }
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
