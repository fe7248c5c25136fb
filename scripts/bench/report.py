"""Markdown tables from a `make bench` results file, for docs/BENCHMARKS.md.

.venv/bin/python -m scripts.bench.report [tmp/bench/results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def machine_table(m: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in m["load_average_at_start"])
    return "\n".join(
        [
            "| machine | |",
            "|---|---|",
            f"| CPU | {m['cpu']}, {m['cores']} cores |",
            f"| RAM | {m['ram_gib']} GiB |",
            f"| OS | {m['os']} |",
            f"| Python | {m['python']} |",
            f"| DuckDB / dbt-core / dbt-duckdb | {m['duckdb']} / {m['dbt-core']} / {m['dbt-duckdb']} |",
            f"| Dagster / pyarrow | {m['dagster']} / {m['pyarrow']} |",
            f"| load average at start (1, 5, 15 min) | {load} |",
        ]
    )


def build_table(runs: list[dict]) -> str:
    rows = [
        "| history | step | rows | wall | rows/s | peak RSS | warehouse |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        label = f"{r['years']} y ({r['days']} days, {r['stores']} stores)"
        h = r["history"]
        rows.append(
            f"| {label} | generate raw lake ({h['orders']:,} orders, {h['files']} files, {h['lake_mib']:.0f} MiB) "
            f"| {h['order_lines']:,} lines | {h['generate_s']:.0f} s | {h['lines_per_s']:,.0f} | | |"
        )
        for step, key in (
            ("full build (`dbt build --full-refresh`)", "full_build"),
            ("one-day incremental `dbt build`", "incremental_build"),
        ):
            s = r[key]
            rows.append(
                f"| {label} | {step} | {s['rows']:,} lines | {s['wall_s']:.0f} s | {s['rows_per_s']:,.0f} "
                f"| {s['peak_rss_mib']:,.0f} MiB | {s['warehouse_mib']:,.0f} MiB |"
            )
        p = r.get("publish")
        if p:
            rows.append(
                f"| {label} | publish the marts (copy + swap) | {p['rows']:,} rows | {p['wall_s']:.1f} s "
                f"| {p['rows'] / p['wall_s']:,.0f} | | {p['published_mib']:,.0f} MiB (published) |"
            )
    return "\n".join(rows)


def ingestion_table(rows: list[dict]) -> str:
    """One row per server bucket and store (a shared bucket: its stores together); results written
    before the bench counted per bucket have one row per store and no bucket or scale."""
    out = [
        "| platform | store | bucket | rate scale | requests | seconds | achieved req/s (not 429) "
        "| allowed req/s (burst + refill) | share | 429s | client's own limit |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        scale = f"{r['rate_scale']:g}x" if "rate_scale" in r else ""
        out.append(
            f"| {r['platform']} | {r['store_id']} | {r.get('bucket', '')} | {scale} | {r['requests']} "
            f"| {r['seconds']:.1f} | {r['achieved_rps']:.2f} | {r['allowed_rps']:.2f} "
            f"(burst {r['burst']:g} + {r['steady_rate_rps']:g}/s) | {r['share_of_allowed']:.1%} "
            f"| {r['throttled_429']} | {r.get('client_limit', '')} |"
        )
    notes = {r["platform"]: r["note"] for r in rows if r.get("note")}
    if notes:
        out.append("")
        out.extend(f"- {platform}: {note}" for platform, note in notes.items())
    return "\n".join(out)


def main() -> None:
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "tmp/bench/results.json").read_text())
    print(machine_table(results["machine"]))
    if "build" in results:
        print("\n" + build_table(results["build"]))
    if "ingestion" in results:
        print("\n" + ingestion_table(results["ingestion"]))


if __name__ == "__main__":
    main()
