"""`kpi`: run the pipeline from the command line.

kpi demo                                   sandbox marketplaces -> lake -> dbt -> checks -> alerts
kpi run --stores FILE --start D --end D    the same pipeline for the stores a file declares
kpi dev                                    Dagster UI with the sandbox marketplaces behind it
kpi sandbox [--port-base N]                serve the sandbox marketplaces until interrupted
kpi report [--period week|month] [--start D]   the review report of a period (default: the last complete one)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from ingestion.errors import ConfigError
from ingestion.sandbox.run import DEFAULT_SEED


def _progress(message: str, began: float) -> None:
    print(f"[{time.monotonic() - began:6.1f}s] {message}", flush=True)


def _run(stores_file: Path, start: date, end: date, began: float) -> int:
    # Imported late: loading the definitions resolves settings from the environment set above.
    from dagster import DagsterInstance

    from ingestion.config import load_stores
    from ingestion.settings import Settings
    from orchestration.launch import (
        ensure_dagster_home,
        run_alert_sensors,
        run_failure_alerts,
        run_pipeline,
        run_reports,
        summary_text,
    )

    stores = load_stores(stores_file)  # fail fast, naming file, line and field
    os.environ["KPI_STORES_FILE"] = str(stores_file.resolve())
    settings = Settings.from_env()
    settings.export()
    home = ensure_dagster_home()
    _progress(f"{len(stores.stores)} store(s) from {stores_file}; Dagster instance in {home}", began)
    with DagsterInstance.get() as instance:
        _progress(f"pipeline run: sync {start}..{end} -> raw lake -> dbt build -> checks ...", began)
        outcome = run_pipeline(instance, start, end)
        _progress(
            f"pipeline {'succeeded' if outcome.success else 'FAILED'} in {outcome.seconds:.0f}s "
            f"({outcome.materialized} assets, {len(outcome.checks_passed)} checks passed, "
            f"{len(outcome.checks_failed)} failed)",
            began,
        )
        _progress("alerts sensor: failed checks and new KPI alert rows -> alert job ...", began)
        alerts, _ = run_alert_sensors(instance)
        if not outcome.success:
            failures = run_failure_alerts(instance, outcome)
            alerts.requested += failures.requested
            alerts.delivered += failures.delivered
        _progress(f"{alerts.requested} alert run(s), {alerts.delivered} alert(s) delivered", began)
        if outcome.success:
            for report in run_reports(instance, date.today()):
                state = report.path if report.success else "FAILED (see the run in the Dagster UI)"
                _progress(f"{report.job} {report.partition}: {state}", began)
        if settings.warehouse_path.exists():
            print(summary_text(settings, outcome, alerts))
    return 0 if outcome.success else 1


def _demo_sandbox(args: argparse.Namespace, stores_file: Path | None = None, port_base: int = 0):
    """The demo's sandbox marketplaces, their credentials in this process's environment, and a stores
    file pointing at them (beside the warehouse unless given)."""
    from ingestion.sandbox.run import default_history, demo_incidents, start_sandbox
    from ingestion.settings import Settings

    start, end = default_history(args.days)
    sandbox = start_sandbox(seed=args.seed, start=start, end=end, incidents=demo_incidents(end), port_base=port_base)
    os.environ.update(sandbox.credentials_env())
    path = sandbox.write_stores_file(stores_file or Settings.from_env().warehouse_path.parent / "sandbox_stores.yaml")
    return sandbox, path, start, end


def _urls(sandbox) -> str:
    return ", ".join(f"{name} {server.base_url}" for name, server in sandbox.servers.items())


def cmd_demo(args: argparse.Namespace) -> int:
    began = time.monotonic()
    _progress(f"starting the sandbox marketplaces ({args.days} days of history, seed {args.seed}) ...", began)
    sandbox, stores_file, start, end = _demo_sandbox(args)
    try:
        _progress(
            f"sandbox up: {len(sandbox.servers)} APIs, {len(sandbox.data.shops)} stores on "
            f"{len({s.platform for s in sandbox.data.shops})} platforms, {sandbox.data.order_count():,} orders",
            began,
        )
        return _run(stores_file, start, end, began)
    finally:
        sandbox.stop()


def cmd_run(args: argparse.Namespace) -> int:
    began = time.monotonic()
    if args.end < args.start:
        raise ConfigError(f"--end {args.end} is before --start {args.start}")
    return _run(Path(args.stores), args.start, args.end, began)


def cmd_dev(args: argparse.Namespace) -> int:
    """The Dagster UI with the sandbox marketplaces running behind it, so schedules and manual
    materializations have something to sync from."""
    import subprocess

    from orchestration.launch import ensure_dagster_home

    sandbox, stores_file, _, _ = _demo_sandbox(args, port_base=args.port_base)
    os.environ.setdefault("KPI_STORES_FILE", str(stores_file))
    ensure_dagster_home()
    print(f"sandbox: {_urls(sandbox)}; stores {os.environ['KPI_STORES_FILE']}")
    workspace = Path(__file__).resolve().parents[1] / "workspace.yaml"
    try:
        return subprocess.call(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-w",
                str(workspace),
                "-h",
                "127.0.0.1",
                "-p",
                str(args.port),
            ]
        )
    except KeyboardInterrupt:
        return 0
    finally:
        sandbox.stop()


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from ingestion.settings import Settings

    path = Settings.from_env().warehouse_path
    if not path.exists():
        raise ConfigError(f"{path}: no warehouse yet (run `make demo` or `kpi run` first)")
    with duckdb.connect(str(path), read_only=True) as con:
        con.sql(args.query).show(max_rows=args.max_rows, max_width=200)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from ingestion.settings import Settings
    from reporting import Period, render_report

    settings = Settings.from_env()
    try:
        period = (
            Period.containing(args.period, args.start)
            if args.start
            else Period.last_complete(args.period, date.today())
        )
        result = render_report(settings.warehouse_path, period, settings.reports_dir)
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from exc
    except duckdb.IOException as exc:  # a run is writing the warehouse (DuckDB allows one writer)
        print(f"kpi: the warehouse is busy, try again when the run ends: {exc}", file=sys.stderr)
        return 1
    for message in result.missing:
        print(f"not shown: {message}", file=sys.stderr)
    print(f"{period.label}: {result.path}\nopen it in a browser: {result.path.as_uri()}")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    sandbox, path, _, _ = _demo_sandbox(args, Path(args.stores_out), port_base=args.port_base)
    for key, value in sandbox.credentials_env().items():
        print(f"export {key}={value}")
    print(f"# sandbox: {_urls(sandbox)}; stores file {path}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()
    return 0


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _quiet_logs(began: float) -> None:
    """Progress of the syncs on stdout; Dagster's own event log stays in the UI."""
    import logging
    import warnings

    class Elapsed(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"[{time.monotonic() - began:6.1f}s]   {record.getMessage()}"

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(Elapsed())
    logger = logging.getLogger("ingestion")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kpi", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    history = argparse.ArgumentParser(add_help=False)
    history.add_argument("--days", type=int, default=365, help="days of sandbox history (default 365)")
    history.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ports = argparse.ArgumentParser(add_help=False)
    ports.add_argument("--port-base", type=int, default=8711, help="first of 8 consecutive ports, one per API")

    demo = sub.add_parser("demo", parents=[history], help="the whole pipeline on the sandbox into the warehouse")
    demo.set_defaults(func=cmd_demo)
    run = sub.add_parser("run", help="the pipeline for the stores declared in a YAML file")
    run.add_argument("--stores", required=True, help="stores file (see stores.example.yaml)")
    run.add_argument("--start", required=True, type=_date, help="first partition day (UTC), YYYY-MM-DD")
    run.add_argument("--end", required=True, type=_date, help="last partition day (UTC), inclusive")
    run.set_defaults(func=cmd_run)
    sql = sub.add_parser("sql", help="run a query on the warehouse (read-only)")
    sql.add_argument("query")
    sql.add_argument("--max-rows", type=int, default=40)
    sql.set_defaults(func=cmd_sql)
    dev = sub.add_parser("dev", parents=[history, ports], help="Dagster UI with the sandbox marketplaces behind it")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)
    report = sub.add_parser("report", help="write the review report of a week or month (HTML, KPI_REPORTS_DIR)")
    report.add_argument("--period", choices=["week", "month"], default="week")
    report.add_argument("--start", type=_date, help="a day of the period (default: the last complete period)")
    report.set_defaults(func=cmd_report)
    sandbox = sub.add_parser("sandbox", parents=[history, ports], help="serve the sandbox until interrupted")
    sandbox.add_argument("--stores-out", default="warehouse/sandbox_stores.yaml")
    sandbox.set_defaults(func=cmd_sandbox)
    args = parser.parse_args(argv)
    _quiet_logs(time.monotonic())
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"kpi: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
