"""Copy the raw lake into a PostgreSQL warehouse, where dbt's `postgres` target reads it.

PostgreSQL cannot read Parquet, so the lake's tables are loaded as they are, one table per dbt
source table, named the way dbt renders the source (`<source schema>.<table>`):

    raw/<platform>/<entity>/**/*.parquet  ->  raw_<platform>.<entity>  (the lake columns; _payload jsonb)
    _sync_log/**/*.json                   ->  lake.sync_log
    KPI_ALERT_OUTBOX (when it exists)     ->  alerts.delivery_history

Each table is replaced whole in one transaction (truncate + COPY), so a load is idempotent and a
reader never sees a half-loaded table; the lake stays the system of record.

    python -m ingestion.warehouse_load        # connection from KPI_PG_* (see .env.example)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from ingestion.lake import RAW_SCHEMA

RAW_COLUMNS = {
    "_platform": "text",
    "_store_id": "text",
    "_entity": "text",
    "_record_id": "text",
    "_record_updated_at": "timestamptz",
    "_sync_id": "text",
    "_loaded_at": "timestamptz",
    "_payload": "jsonb",
}

# The sync log's columns as dbt reads them (models/staging/lake/_lake__sources.yml, read_json columns).
SYNC_LOG_COLUMNS = {
    "sync_id": "text",
    "platform": "text",
    "store_id": "text",
    "entity": "text",
    "window_start": "timestamptz",
    "window_end": "timestamptz",
    "started_at": "timestamptz",
    "finished_at": "timestamptz",
    "status": "text",
    "rows": "bigint",
    "pages": "bigint",
    "requests": "bigint",
    "retries": "bigint",
    "throttled": "bigint",
    "error_class": "text",
    "error_message": "text",
    "http_status": "integer",
    "request_id": "text",
    "duration_s": "double precision",
}

# The alert delivery history's columns (models/staging/alerts/_alerts__sources.yml).
DELIVERY_HISTORY_COLUMNS = {
    "notification_id": "text",
    "kind": "text",
    "notified_at": "timestamptz",
    "alert_key": "text",
    "source": "text",
    "severity": "text",
    "title": "text",
    "body": "text",
    "subject": "text",
    "details": "json",
    "owner": "text",
    "rule_id": "text",
    "condition_key": "text",
    "channel": "text",
    "channel_type": "text",
    "status": "text",
    "attempt": "integer",
    "http_status": "integer",
    "error_class": "text",
    "error": "text",
    "attempted_at": "timestamptz",
}


class WarehouseLoadError(RuntimeError):
    """A lake file that cannot be loaded, named with the reason."""


@dataclass(frozen=True)
class PgConnection:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_env(cls) -> PgConnection:
        env = os.environ
        missing = [name for name in ("KPI_PG_USER", "KPI_PG_PASSWORD") if not env.get(name)]
        if missing:
            raise WarehouseLoadError(f"{', '.join(missing)} not set: the PostgreSQL warehouse login (see .env.example)")
        return cls(
            host=env.get("KPI_PG_HOST", "127.0.0.1"),
            port=int(env.get("KPI_PG_PORT", "5432")),
            user=env["KPI_PG_USER"],
            password=env["KPI_PG_PASSWORD"],
            dbname=env.get("KPI_PG_DATABASE", "kpi"),
        )

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.dbname
        )


@dataclass(frozen=True)
class LoadedTable:
    schema: str
    table: str
    files: int
    rows: int


def _raw_rows(files: Iterable[Path]) -> Iterator[tuple]:
    for path in files:
        try:
            table = pq.read_table(path, schema=RAW_SCHEMA)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise WarehouseLoadError(f"{path}: not a raw lake Parquet file ({exc})") from exc
        yield from zip(*(table.column(name).to_pylist() for name in RAW_COLUMNS), strict=True)


def _json_rows(files: Iterable[Path], columns: dict[str, str]) -> Iterator[tuple]:
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WarehouseLoadError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            yield tuple(
                json.dumps(record.get(name)) if kind == "json" and record.get(name) is not None else record.get(name)
                for name, kind in columns.items()
            )


def _replace_table(
    conn: psycopg.Connection, schema: str, table: str, columns: dict[str, str], rows: Iterable[tuple]
) -> int:
    target = sql.Identifier(schema, table)
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL("create table if not exists {} ({})").format(
                target,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in columns.items()
                ),
            )
        )
        cur.execute(sql.SQL("truncate {}").format(target))
        count = 0
        with cur.copy(sql.SQL("copy {} ({}) from stdin").format(target, names)) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def load_lake(conn: psycopg.Connection, lake_dir: Path, outbox: Path | None = None) -> list[LoadedTable]:
    """Replace every raw table of the warehouse with the lake's current content."""
    loaded = []
    raw = lake_dir / "raw"
    for entity_dir in sorted(p for p in raw.glob("*/*") if p.is_dir()):
        files = sorted(entity_dir.rglob("*.parquet"))
        schema, table = f"raw_{entity_dir.parent.name}", entity_dir.name
        rows = _replace_table(conn, schema, table, RAW_COLUMNS, _raw_rows(files))
        loaded.append(LoadedTable(schema, table, len(files), rows))
    log_files = sorted((lake_dir / "_sync_log").rglob("*.json"))
    rows = _replace_table(conn, "lake", "sync_log", SYNC_LOG_COLUMNS, _json_rows(log_files, SYNC_LOG_COLUMNS))
    loaded.append(LoadedTable("lake", "sync_log", len(log_files), rows))
    if outbox is not None and outbox.exists():
        rows = _replace_table(
            conn, "alerts", "delivery_history", DELIVERY_HISTORY_COLUMNS, _json_rows([outbox], DELIVERY_HISTORY_COLUMNS)
        )
        loaded.append(LoadedTable("alerts", "delivery_history", 1, rows))
    return loaded


def main() -> int:
    from ingestion.settings import Settings

    settings = Settings.from_env()
    try:
        with PgConnection.from_env().connect() as conn:
            loaded = load_lake(conn, settings.lake_dir, settings.outbox_path)
    except (WarehouseLoadError, psycopg.Error) as exc:
        print(f"warehouse load failed: {exc}", file=sys.stderr)
        return 1
    for t in loaded:
        print(f"{t.schema}.{t.table}: {t.rows} rows from {t.files} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
