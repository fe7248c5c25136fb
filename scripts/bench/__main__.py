"""`make bench`: the warehouse build at scale, then API ingestion against the sandbox's rate limits.

    .venv/bin/python -m scripts.bench [--lines 1000000] [--stores 200] [--years 3,1] [--out tmp/bench]

Part 1, per history length: land the raw lake (scripts/bench/lake.py), time `dbt build --full-refresh`
(the whole project through the marts, with its tests), land one more day, time the incremental
`dbt build`, then time publishing the marts (serving/publish.py). Each dbt step reports wall time,
rows/s, the peak RSS of the dbt process and the warehouse size. Running the same daily load over a
shorter history shows whether an incremental build's memory grows with history.
Part 2 (scripts/bench/ingest.py): request rates achieved against the limits.
Results go to <out>/results.json; docs/BENCHMARKS.md quotes them with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import duckdb

from ingestion.settings import PROJECT_ROOT
from scripts.bench.lake import bench_shops, default_workers, land_history, land_next_day, land_stores_and_fx
from serving.publish import publish

DBT_DIR = PROJECT_ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    versions = {p: version(p) for p in ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "pyarrow")}
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        **versions,
    }


def dbt_step(args: list[str], warehouse: Path, rows: int) -> dict:
    """One dbt invocation through measure.py, with wall time, peak RSS, rows/s and warehouse size."""
    env = os.environ | {"KPI_WAREHOUSE_PATH": str(warehouse)}
    command = [sys.executable, "-m", "scripts.bench.measure", DBT, *args, "--profiles-dir", str(DBT_DIR)]
    command += ["--project-dir", str(DBT_DIR), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if done.returncode or not done.stdout.strip():
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{done.stderr[-8000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["returncode"]:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{done.stderr[-8000:]}")
    result |= {
        "rows": rows,
        "rows_per_s": rows / result["wall_s"],
        "warehouse_mib": warehouse.stat().st_size / 1024**2,
    }
    return result


def lake_mib(lake_dir: Path) -> float:
    return sum(p.stat().st_size for p in lake_dir.rglob("*.parquet")) / 1024**2


def bench_history(out: Path, stores: int, lines: int, years: int, end: date, workers: int) -> dict:
    """Land `years` of history at the density `lines` implies for 3 years, build it, add a day, rebuild."""
    days = 365 * years + (1 if years >= 3 else 0)
    density_lines = round(lines * days / (3 * 365 + 1))
    root = out / f"{years}y"
    shutil.rmtree(root, ignore_errors=True)
    lake_dir, warehouse = root / "lake", root / "warehouse" / "kpi.duckdb"
    warehouse.parent.mkdir(parents=True)
    os.environ["KPI_LAKE_DIR"] = str(lake_dir)
    shops = bench_shops(stores, density_lines, days)
    start = end - timedelta(days=days - 1)
    clock = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)

    began = time.monotonic()
    land_stores_and_fx(str(lake_dir), shops, start, end + timedelta(days=1))
    history = land_history(str(lake_dir), shops, start, end, clock, workers)
    generate_s = time.monotonic() - began
    print(f"[{years}y] landed {history.orders:,} orders, {history.lines:,} lines in {generate_s:.0f}s", flush=True)

    full = dbt_step(["build", "--full-refresh"], warehouse, history.lines)
    print(f"[{years}y] full build {full['wall_s']:.0f}s, peak {full['peak_rss_mib']:.0f} MiB", flush=True)

    next_clock = clock + timedelta(days=1)
    day = land_next_day(str(lake_dir), shops, start, end + timedelta(days=1), clock, next_clock, workers)
    incremental = dbt_step(["build"], warehouse, day.lines)
    print(
        f"[{years}y] incremental {incremental['wall_s']:.0f}s, peak {incremental['peak_rss_mib']:.0f} MiB", flush=True
    )
    began = time.monotonic()
    publication = publish(warehouse, root / "published" / "kpi_marts.duckdb", run_id="bench")
    published = {
        "wall_s": time.monotonic() - began,
        "rows": sum(publication.row_counts.values()),
        "published_mib": publication.size_bytes / 1024**2,
    }
    print(f"[{years}y] published in {published['wall_s']:.0f}s", flush=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        marts = {
            t: con.execute(f"select count(*) from marts.{t}").fetchone()[0]
            for t in ("fct_orders", "fct_order_lines", "fct_refunds", "kpi_daily")
        }
    return {
        "years": years,
        "days": days,
        "stores": stores,
        "history": {
            "orders": history.orders,
            "order_lines": history.lines,
            "files": history.files,
            "generate_s": generate_s,
            "lines_per_s": history.lines / generate_s,
            "lake_mib": lake_mib(lake_dir),
        },
        "full_build": full,
        "next_day": {"orders": day.orders, "order_lines": day.lines, "files": day.files},
        "incremental_build": incremental,
        "publish": published,
        "marts_rows": marts,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines in 3 years of history")
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--years", default="3,1", help="history lengths to build, comma-separated")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "tmp" / "bench")
    parser.add_argument("--skip-build", action="store_true", help="only the ingestion part")
    parser.add_argument("--skip-ingest", action="store_true", help="only the build part")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KPI_PII_SALT", "bench-only")
    os.environ.setdefault("KPI_REPORTING_CURRENCY", "USD")
    end = datetime.now(UTC).date() - timedelta(days=2)
    results: dict = {"machine": machine(), "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if not args.skip_build:
        results["build"] = [
            bench_history(args.out, args.stores, args.lines, int(y), end, args.workers) for y in args.years.split(",")
        ]
    if not args.skip_ingest:
        from scripts.bench.ingest import bench_ingestion

        results["ingestion"] = bench_ingestion()
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
