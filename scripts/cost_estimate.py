#!/usr/bin/env python3
"""Monthly AWS cost of a deployment, from a benchmark run's measured counts.

    python3 scripts/cost_estimate.py target/bench/results.json

Prints the table of docs/deploy.md ("Monthly cost estimate"). Per connection: the idle tick of
scenario 3b (100 connections, one schedule query shared), and the marginal cost of a change from
scenario 2 and its echo tick 2b (their ticks minus as many idle ticks of 3a), 1,000 changes.
Durations are estimated from the call counts (moto is far slower than DynamoDB), not measured.
"""
import json
import re
import sys
from pathlib import Path

PRICE = {
    "lambda_gb_s": 0.0000166667, "lambda_req": 0.20 / 1e6,
    "rru": 0.125 / 1e6, "wru": 0.625 / 1e6,
    "secret_month": 0.40, "secret_call": 0.05 / 10_000,
    "scheduler_free": 14e6, "scheduler": 1.0 / 1e6,
    "apigw": 1.0 / 1e6,
    "kms_key": 1.0, "kms_call": 0.03 / 10_000,
}
TICKS = 720                 # 1 h schedule, 30 days
SCHEDULE_INVOCATIONS = 4050  # the six schedules of infra/ (15m, 1h, 3h, 6h, 12h, 24h)
CHANGE_TICK_SHARE = 0.2      # ticks that carry changes
CHANGES_PER_TICK = 10
API_S, DYNAMO_S, SECRETS_S = 0.150, 0.010, 0.020
APIGW_PER_CONNECTION = 200
SCENARIO_2_CHANGES = 1000


def per_tick(s):
    c = s["counters"]
    cpu = s["process_cpu"]["secs"] + s["process_cpu"]["nanos"] / 1e9
    return {
        "api": sum(c["api"].values()), "dynamo": sum(c["dynamo"].values()),
        "secrets": sum(c["secrets"].values()), "rru": c["read_units"], "wru": c["write_units"], "cpu": cpu,
    }


def main(path):
    results = json.loads(Path(path).read_text())
    by_key = {s["key"]: s for s in results["scenarios"]}
    idle_all = per_tick(by_key["3b"])
    n = by_key["3b"]["connections"]
    idle = {k: v / n for k, v in idle_all.items()}
    idle_one = per_tick(by_key["3a"])
    ticks = by_key["2"]["run"]["ticks"] + by_key["2b"]["run"]["ticks"]
    two = [per_tick(by_key["2"]), per_tick(by_key["2b"])]
    change = {k: (sum(t[k] for t in two) - ticks * idle_one[k]) / SCENARIO_2_CHANGES for k in idle}
    tf = (Path(__file__).resolve().parents[1] / "infra" / "variables.tf").read_text()
    memory_mb = int(re.search(r'variable "memory_mb".*?default\s*=\s*\{[^}]*sync_tick\s*=\s*(\d+)', tf, re.S).group(1))

    def seconds(x):
        return x["api"] * API_S + x["dynamo"] * DYNAMO_S + x["secrets"] * SECRETS_S + x["cpu"]

    changes = TICKS * CHANGE_TICK_SHARE * CHANGES_PER_TICK
    rows = {}
    for conns in (10, 100, 1000):
        gb_s = conns * (TICKS * seconds(idle) + changes * seconds(change)) * memory_mb / 1024
        lreq = SCHEDULE_INVOCATIONS + conns * APIGW_PER_CONNECTION
        rru = conns * (TICKS * idle["rru"] + changes * change["rru"])
        wru = conns * (TICKS * idle["wru"] + changes * change["wru"])
        secrets = 2 * conns + 1
        secret_calls = SCHEDULE_INVOCATIONS + conns * TICKS * idle["secrets"]
        apigw = conns * APIGW_PER_CONNECTION
        cost = {
            "Lambda": gb_s * PRICE["lambda_gb_s"] + lreq * PRICE["lambda_req"],
            "DynamoDB": rru * PRICE["rru"] + wru * PRICE["wru"],
            "Secrets Manager": secrets * PRICE["secret_month"] + secret_calls * PRICE["secret_call"],
            "EventBridge Scheduler": max(0, SCHEDULE_INVOCATIONS - PRICE["scheduler_free"]) * PRICE["scheduler"],
            "API Gateway": apigw * PRICE["apigw"],
        }
        rows[conns] = {
            "Lambda GB-seconds": f"{gb_s:,.0f}", "Lambda requests (ticks + API functions)": f"{lreq:,}",
            "**Lambda**": cost["Lambda"],
            "DynamoDB read request units": f"{rru / 1e6:,.2f} M", "DynamoDB write request units": f"{wru / 1e6:,.2f} M",
            "**DynamoDB**": cost["DynamoDB"],
            "Secrets Manager secrets": f"{secrets:,}", "Secrets Manager API calls": f"{secret_calls:,.0f}",
            "**Secrets Manager**": cost["Secrets Manager"],
            "EventBridge Scheduler invocations": f"{SCHEDULE_INVOCATIONS:,}", "**EventBridge Scheduler**": cost["EventBridge Scheduler"],
            "API Gateway requests": f"{apigw:,}", "**API Gateway**": cost["API Gateway"],
            "**Total of the above**": sum(cost.values()),
            "KMS (2 keys + decrypts), not in the total": 2 * PRICE["kms_key"] + secret_calls * PRICE["kms_call"],
        }
    print(f"From `{path}` (commit `{results['commit']}`), `sync-tick` at {memory_mb} MB. Per connection and idle tick: "
          f"{idle['api']:.2f} API calls, {idle['dynamo']:.2f} DynamoDB requests ({idle['rru']:.2f} RRU, {idle['wru']:.2f} WRU), "
          f"{idle['secrets']:.2f} Secrets Manager calls, {seconds(idle):.2f} s; per change: {change['api']:.3f} API calls, "
          f"{change['dynamo']:.3f} DynamoDB requests, {change['rru']:.2f} RRU, {change['wru']:.2f} WRU, {seconds(change) * 1000:.0f} ms.\n")
    print("| per month | 10 connections | 100 connections | 1,000 connections |\n|---|---|---|---|")
    for label in rows[10]:
        cells = [rows[c][label] for c in (10, 100, 1000)]
        cells = [f"**${v:,.2f}**" if label.startswith("**") else (f"${v:,.2f}" if isinstance(v, float) else v) for v in cells]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/bench/results.json")
