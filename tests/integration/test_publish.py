"""The published warehouse on real DuckDB files, with readers in their own processes (as BI tools are):
a reader keeps its version across a publish, a new connection sees the new one, and the published
file opens read-only while the warehouse has a writer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

from serving.publish import current_publication, publish

READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    for line in sys.stdin:  # one query per line, answered with its rows until stdin closes
        print(con.execute(line).fetchall(), flush=True)
    """
)


class Reader:
    """A DuckDB reader in its own process (DuckDB shares one instance per file within a process)."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", READER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def query(self, sql: str) -> str:
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(self.proc.stderr.read())
        return line.strip()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def build_warehouse(path: Path, orders: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists staging")
        con.execute("create or replace table staging.stg_hidden as select 1 as x")
        con.execute(f"create or replace table marts.fct_orders as select range as order_id from range({orders})")
        con.execute("comment on table marts.fct_orders is 'One row per order.'")
        con.execute("comment on column marts.fct_orders.order_id is 'The order.'")
        con.execute("create or replace view marts.order_count as select count(*) as n from marts.fct_orders")


def test_a_reader_keeps_its_version_while_a_new_one_is_published(tmp_path):
    warehouse, published = tmp_path / "kpi.duckdb", tmp_path / "published" / "kpi_published.duckdb"
    build_warehouse(warehouse, 3)
    first = publish(warehouse, published, run_id="run-1")
    assert first.row_counts == {"marts.fct_orders": 3, "marts.order_count": 1}

    old = Reader(published)
    try:
        assert old.query("select count(*) from marts.fct_orders") == "[(3,)]"
        build_warehouse(warehouse, 5)
        second = publish(warehouse, published, run_id="run-2")
        assert second.row_counts["marts.fct_orders"] == 5
        # the open reader still sees version 1, whole; a new connection sees version 2
        assert old.query("select count(*) from marts.fct_orders") == "[(3,)]"
        assert old.query("select run_id from meta.publication") == "[('run-1',)]"
        new = Reader(published)
        assert new.query("select count(*), max(order_id) from marts.fct_orders") == "[(5, 4)]"
        assert new.query("select n from marts.order_count") == "[(5,)]"  # a view published as a table
        assert new.query("select run_id from meta.publication") == "[('run-2',)]"
        new.close()
    finally:
        old.close()

    assert sorted(p.name for p in published.parent.iterdir()) == ["kpi_published.duckdb"]  # no temp files left
    assert current_publication(published)["run_id"] == "run-2"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select table_name, row_count from meta.published_tables order by 1").fetchall() == [
            ("marts.fct_orders", 5),
            ("marts.order_count", 1),
        ]
        # only the public schemas, with the dbt descriptions BI tools show
        assert {
            s for (s,) in con.execute("select schema_name from duckdb_schemas() where not internal").fetchall()
        } == {"marts", "meta"}
        assert con.execute(
            "select comment from duckdb_columns() where table_name = 'fct_orders' and column_name = 'order_id'"
        ).fetchone() == ("The order.",)
        assert con.execute("select comment from duckdb_tables() where table_name = 'fct_orders'").fetchone() == (
            "One row per order.",
        )


def test_the_published_file_opens_read_only_while_the_warehouse_has_a_writer(tmp_path):
    warehouse, published = tmp_path / "kpi.duckdb", tmp_path / "kpi_published.duckdb"
    build_warehouse(warehouse, 4)
    publish(warehouse, published, run_id="run-1")
    writer = duckdb.connect(str(warehouse))  # a dbt run holding the warehouse
    try:
        writer.execute("insert into marts.fct_orders values (99)")
        reader = Reader(published)
        assert reader.query("select count(*) from marts.fct_orders") == "[(4,)]"
        reader.close()
        # what readers of the warehouse itself would meet, and why they read the published file
        blocked = Reader(warehouse)
        with pytest.raises(AssertionError, match="lock"):
            blocked.query("select 1")
        blocked.proc.wait(timeout=30)
    finally:
        writer.close()


def test_publishing_an_empty_warehouse_is_an_error_and_keeps_the_last_version(tmp_path):
    warehouse, published = tmp_path / "kpi.duckdb", tmp_path / "kpi_published.duckdb"
    build_warehouse(warehouse, 2)
    publish(warehouse, published, run_id="run-1")
    empty = tmp_path / "other" / "kpi.duckdb"
    empty.parent.mkdir()
    duckdb.connect(str(empty)).close()
    with pytest.raises(ValueError, match="no tables in schema"):
        publish(empty, published, run_id="run-2")
    assert current_publication(published)["run_id"] == "run-1"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_transform_publishes_after_its_checks_and_a_blocked_run_keeps_the_last_version(
    make_sandbox, lake, sync_log, settings, monkeypatch
):
    import dagster as dg
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingestion.runner import sync_fx
    from orchestration.launch import load_defs
    from tests.conftest import utc
    from tests.integration.test_sync_health_checks import SHOP, sync_day

    sandbox = make_sandbox(date(2026, 5, 1), date(2026, 5, 31), utc(2026, 6, 1), shops=(SHOP,))
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KPI_STORES_FILE", str(sandbox.write_stores_file(settings.warehouse_path.parent / "s.yaml")))
    assert sync_fx(sandbox.ecb_url, utc(2026, 4, 1), utc(2026, 6, 1), lake, sync_log).attempt.status == "success"
    assert sync_day(sandbox, lake, sync_log, date(2026, 5, 20)).ok
    transform = load_defs().resolve_job_def("kpi_transform")

    with dg.instance_for_test() as instance:
        good = transform.execute_in_process(instance=instance, raise_on_error=False)
        assert good.success
        published = current_publication(settings.published_path)
        assert published["run_id"] == good.run_id
        (event,) = [
            e
            for e in good.get_asset_materialization_events()
            if e.asset_key.to_user_string() == "serving/published_warehouse"
        ]
        counts = event.materialization.metadata["row_counts"].value
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            good_orders = con.execute("select count(*) from marts.fct_orders").fetchone()[0]
        with duckdb.connect(str(settings.published_path), read_only=True) as con:
            assert con.execute("select count(*) from marts.fct_orders").fetchone() == (good_orders,) != (0,)
            assert con.execute("select count(*) from marts.kpi_daily").fetchone()[0] == counts["marts.kpi_daily"] > 0

        # the next sync brings an absurd order: the blocking fact check fails, nothing is published
        assert sync_day(sandbox, lake, sync_log, date(2026, 5, 21)).ok
        (path,) = [
            p
            for p in lake.files("shopify", "orders")
            if p.stat().st_mtime == max(q.stat().st_mtime for q in lake.files("shopify", "orders"))
        ]
        table = pq.read_table(path)
        rows = table.to_pylist()
        rows[0]["_payload"] = json.dumps(json.loads(rows[0]["_payload"]) | {"total_price": "5000000.00"})
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
        blocked = transform.execute_in_process(instance=instance, raise_on_error=False)

    assert not blocked.success
    built = {e.asset_key.to_user_string() for e in blocked.get_asset_materialization_events()}
    assert "marts/fct_orders" in built and "serving/published_warehouse" not in built
    assert current_publication(settings.published_path)["run_id"] == good.run_id
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_orders").fetchone()[0] > good_orders  # written, blocked
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_orders").fetchone() == (good_orders,)


def test_bi_tools_connect_through_sqlalchemy_read_only(tmp_path):
    """The duckdb-engine URI of docs/SERVING.md (what Superset and other SQLAlchemy tools use)."""
    import sqlalchemy as sa

    warehouse, published = tmp_path / "kpi.duckdb", tmp_path / "published" / "kpi_marts.duckdb"
    build_warehouse(warehouse, 6)
    publish(warehouse, published, run_id="run-1")
    engine = sa.create_engine(f"duckdb:///{published}?access_mode=read_only")
    try:
        with engine.connect() as con:
            assert con.execute(sa.text("select count(*), sum(order_id) from marts.fct_orders")).one() == (6, 15)
            assert con.execute(sa.text("select run_id from meta.publication")).scalar_one() == "run-1"
            assert "fct_orders" in sa.inspect(con).get_table_names(schema="marts")
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text("delete from marts.fct_orders"))
    finally:
        engine.dispose()
