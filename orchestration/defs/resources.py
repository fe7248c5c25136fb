import os
import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from alerting.outbox import Outbox
from alerting.routing import load_routing
from alerting.rules import RulesFile, load_rules
from ingestion.config import StoreConfig, StoresFile, load_stores
from ingestion.errors import ConfigError
from ingestion.lake import RawLake
from ingestion.settings import PROJECT_ROOT, Settings
from ingestion.sync_log import SyncLog
from ingestion.tokens import TokenStore
from orchestration.dbt_project import dbt_project


class KpiResource(dg.ConfigurableResource):
    """Paths and the stores file, read from the environment when a run uses them (not at import)."""

    stores_file: str | None = None

    def settings(self) -> Settings:
        return Settings.from_env()

    def stores_config(self) -> StoresFile:
        try:
            return load_stores(Path(self.stores_file) if self.stores_file else self.settings().stores_file)
        except ConfigError as exc:
            # a wrong file stays wrong: fail now, without the retries meant for flaky APIs
            raise dg.Failure(description=str(exc), allow_retries=False) from exc

    def stores(self, platform: str, only: list[str] | None = None) -> list[StoreConfig]:
        """The platform's stores, or those of `only` (store ids of any platform) that are on it."""
        every = self.stores_config().stores
        if only:
            unknown = sorted(set(only) - {s.store_id for s in every})
            if unknown:
                raise dg.Failure(f"unknown store(s) in run config: {', '.join(unknown)}", allow_retries=False)
        return [s for s in every if s.platform == platform and (not only or s.store_id in only)]

    def outbox(self) -> Outbox:
        """The alert history with the routing file's channels (secrets read from the environment)."""
        settings = self.settings()
        try:
            routing = load_routing(
                settings.alert_channels_file, os.environ, must_exist=settings.alert_channels_required
            )
        except ConfigError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        return Outbox(settings.outbox_path, routing, os.environ)

    def alert_rules(self) -> RulesFile:
        try:
            return load_rules(self.settings().alert_rules_file)
        except ConfigError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc

    def lake(self) -> RawLake:
        return RawLake(self.settings().lake_dir)

    def token_store(self) -> TokenStore:
        return TokenStore(self.settings().state_dir)

    def sync_log(self) -> SyncLog:
        return SyncLog(self.settings().lake_dir)


def _dbt_executable() -> str:
    """The project's dbt, so that a process started without the venv activated still finds it."""
    candidates = [Path(sys.prefix) / "bin" / "dbt", PROJECT_ROOT / ".venv" / "bin" / "dbt"]
    found = next((c for c in candidates if c.exists()), None)
    return str(found) if found else (shutil.which("dbt") or "dbt")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "kpi": KpiResource(),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=_dbt_executable()),
        }
    )
