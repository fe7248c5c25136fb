"""Where things live, from the environment (see .env.example), with defaults under the project."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    lake_dir: Path
    warehouse_path: Path
    published_path: Path  # the read-only copy of the marts that BI tools read (serving/publish.py)
    stores_file: Path
    outbox_path: Path  # the alert delivery history (JSON lines)
    alert_channels_file: Path  # the alert routing file (channels, routes, owners)
    alert_channels_required: bool  # KPI_ALERT_CHANNELS was set: the file must exist
    alert_rules_file: Path  # the KPI alert rules (alert_rules.yaml)
    state_dir: Path  # rotated refresh tokens and other secrets the syncs keep (owner-only)
    reporting_currency: str
    sync_workers: int
    reports_dir: Path  # the review reports (HTML, one per week and month)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ

        def path(name: str, default: Path) -> Path:
            value = env.get(name)
            return Path(value).expanduser().resolve() if value else default

        warehouse = path("KPI_WAREHOUSE_PATH", PROJECT_ROOT / "warehouse" / "kpi.duckdb")
        return cls(
            lake_dir=path("KPI_LAKE_DIR", PROJECT_ROOT / "lake"),
            warehouse_path=warehouse,
            published_path=path("KPI_PUBLISHED_PATH", warehouse.parent / "published" / "kpi_marts.duckdb"),
            stores_file=path("KPI_STORES_FILE", PROJECT_ROOT / "stores.yaml"),
            outbox_path=path("KPI_ALERT_OUTBOX", warehouse.parent / "alerts_outbox.jsonl"),
            alert_channels_file=path("KPI_ALERT_CHANNELS", PROJECT_ROOT / "alert_channels.yaml"),
            alert_channels_required=bool(env.get("KPI_ALERT_CHANNELS")),
            alert_rules_file=path("KPI_ALERT_RULES", PROJECT_ROOT / "alert_rules.yaml"),
            state_dir=path("KPI_STATE_DIR", warehouse.parent / ".state"),
            reporting_currency=env.get("KPI_REPORTING_CURRENCY", "USD"),
            sync_workers=int(env.get("KPI_SYNC_WORKERS", "4")),
            reports_dir=path("KPI_REPORTS_DIR", PROJECT_ROOT / "reports"),
        )

    def export(self) -> None:
        """Publish the resolved paths to the environment, where dbt's env_var() reads them."""
        os.environ["KPI_LAKE_DIR"] = str(self.lake_dir)
        os.environ["KPI_WAREHOUSE_PATH"] = str(self.warehouse_path)
        os.environ["KPI_ALERT_OUTBOX"] = str(self.outbox_path)  # marts.alert_history reads it
        os.environ["KPI_REPORTING_CURRENCY"] = self.reporting_currency
        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        self.lake_dir.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("KPI_PII_SALT"):
            os.environ["KPI_PII_SALT"] = self.local_pii_salt()

    def local_pii_salt(self) -> str:
        """A per-installation salt kept beside the warehouse (owner-only), made on first use, so that
        buyer hashes are never keyed by a public default. Set KPI_PII_SALT to share one across hosts."""
        path = self.warehouse_path.parent / ".pii_salt"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()
