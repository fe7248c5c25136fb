"""Shared fixtures: the dbt manifest, isolated settings, the sandbox, dbt runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingestion.lake import RawLake
from ingestion.sandbox.run import Sandbox, start_sandbox
from ingestion.sandbox.server import SandboxClock
from ingestion.settings import PROJECT_ROOT, Settings
from ingestion.sync_log import SyncLog

DBT_DIR = PROJECT_ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """`dbt parse` (no database connection) so that the Dagster definitions can load."""
    subprocess.run(
        [DBT, "parse", "--quiet", "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR)],
        check=True,
        cwd=DBT_DIR,
    )
    return DBT_DIR / "target" / "manifest.json"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Every path under the test's own folder; the warehouse basename stays kpi.duckdb."""
    monkeypatch.setenv("KPI_LAKE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("KPI_WAREHOUSE_PATH", str(tmp_path / "warehouse" / "kpi.duckdb"))
    monkeypatch.setenv("KPI_ALERT_OUTBOX", str(tmp_path / "warehouse" / "outbox.jsonl"))
    monkeypatch.setenv("KPI_REPORTING_CURRENCY", "USD")
    monkeypatch.delenv("KPI_ALERT_WEBHOOK_URL", raising=False)
    s = Settings.from_env()
    s.export()
    return s


@pytest.fixture
def lake(settings) -> RawLake:
    return RawLake(settings.lake_dir)


@pytest.fixture
def sync_log(settings) -> SyncLog:
    return SyncLog(settings.lake_dir)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def make_sandbox():
    started: list[Sandbox] = []

    def _make(start: date, end: date, clock: datetime, **kwargs) -> Sandbox:
        sandbox = start_sandbox(seed=kwargs.pop("seed", 7), start=start, end=end, clock=SandboxClock(clock), **kwargs)
        started.append(sandbox)
        return sandbox

    yield _make
    for sandbox in started:
        sandbox.stop()


def run_dbt(*args: str) -> subprocess.CompletedProcess:
    """dbt in a subprocess, with the environment the `settings` fixture exported."""
    result = subprocess.run(
        [DBT, *args, "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR)],
        cwd=DBT_DIR,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result
