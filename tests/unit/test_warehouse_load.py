"""The PostgreSQL loader's pure parts: its column lists agree with what dbt reads on DuckDB, and bad
input names the file (and line). The load itself runs against a real server in
tests/e2e/test_postgres_warehouse.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ingestion.lake import RAW_SCHEMA, RawLake, RawRecord
from ingestion.settings import PROJECT_ROOT
from ingestion.warehouse_load import (
    DELIVERY_HISTORY_COLUMNS,
    RAW_COLUMNS,
    SYNC_LOG_COLUMNS,
    PgConnection,
    WarehouseLoadError,
    _json_rows,
    _raw_rows,
)

SOURCES = PROJECT_ROOT / "dbt_project" / "models" / "staging"
DUCKDB_TO_PG = {
    "VARCHAR": "text",
    "TIMESTAMPTZ": "timestamptz",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "JSON": "json",
}


def _read_json_columns(sources_yml: str) -> dict[str, str]:
    spec = re.search(r"columns = \{([^}]*)\}", (SOURCES / sources_yml).read_text()).group(1)
    return {name: DUCKDB_TO_PG[kind] for name, kind in re.findall(r"(\w+): '(\w+)'", spec)}


def test_the_loaded_columns_are_the_ones_dbt_reads():
    assert list(RAW_COLUMNS) == RAW_SCHEMA.names
    assert _read_json_columns("lake/_lake__sources.yml") == SYNC_LOG_COLUMNS
    assert _read_json_columns("alerts/_alerts__sources.yml") == DELIVERY_HISTORY_COLUMNS


def test_raw_rows_come_out_in_the_lake_columns(tmp_path):
    lake = RawLake(tmp_path)
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    path = lake.write("shopify", "orders", "acme-de", [RawRecord("o1", at, {"id": 1, "total": "9.90"})], "sync-1")
    rows = list(_raw_rows([path]))
    assert len(rows) == 1
    platform, store, entity, record_id, _, sync_id, _, payload = rows[0]
    assert (platform, store, entity, record_id, sync_id) == ("shopify", "acme-de", "orders", "o1", "sync-1")
    assert payload == '{"id":1,"total":"9.90"}'


def test_a_bad_lake_file_is_named(tmp_path):
    bad = tmp_path / "raw" / "shopify" / "orders" / "x.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not parquet")
    with pytest.raises(WarehouseLoadError, match=re.escape(str(bad))):
        list(_raw_rows([bad]))


def test_a_bad_json_line_is_named_with_its_line(tmp_path):
    log = tmp_path / "outbox.jsonl"
    log.write_text('{"notification_id": "n1", "details": {"a": 1}}\n\n{broken\n')
    with pytest.raises(WarehouseLoadError, match=re.escape(f"{log}:3: not JSON")):
        list(_json_rows([log], DELIVERY_HISTORY_COLUMNS))
    log.write_text('{"notification_id": "n1", "details": {"a": 1}, "attempt": 2}\n')
    (row,) = _json_rows([log], DELIVERY_HISTORY_COLUMNS)
    assert row[0] == "n1" and row[list(DELIVERY_HISTORY_COLUMNS).index("details")] == '{"a": 1}'
    assert row[list(DELIVERY_HISTORY_COLUMNS).index("attempt")] == 2


def test_the_login_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("KPI_PG_USER", "kpi")
    monkeypatch.delenv("KPI_PG_PASSWORD", raising=False)
    with pytest.raises(WarehouseLoadError, match="KPI_PG_PASSWORD not set"):
        PgConnection.from_env()
    monkeypatch.setenv("KPI_PG_PASSWORD", "secret")
    monkeypatch.setenv("KPI_PG_PORT", "6543")
    monkeypatch.delenv("KPI_PG_DATABASE", raising=False)
    assert PgConnection.from_env() == PgConnection("127.0.0.1", 6543, "kpi", "secret", "kpi")
