"""The shared warehouse: the same dbt project on a real PostgreSQL server.

Every platform's sandbox store is synced into a raw lake and built on DuckDB once (the pipeline, as
test_all_platforms runs it); the loader
copies the lake into PostgreSQL, and dbt builds it there (models and every data and unit test). Then
`marts.kpi_daily` must equal the DuckDB build cell by cell (money to the cent), its core KPIs must
equal the generator's, and the BI roles are checked by logging in as them with their passwords:
`bi_reader` reads every row and cannot write; a member of `bi_region_eu` sees only the EU stores.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from ingestion.sandbox.generator import DEMO_SHOPS, Brushing
from ingestion.sandbox.run import start_sandbox
from ingestion.sandbox.server import SandboxClock
from ingestion.settings import Settings
from ingestion.warehouse_load import PgConnection, load_lake
from orchestration.launch import run_pipeline
from tests.conftest import run_dbt
from tests.kpi_oracle import daily_kpis
from tests.postgres_server import postgres_server

pytestmark = pytest.mark.e2e

STORES = ("acme-de", "amz-us", "amz-jp", "tts-uk", "shopee-sg", "rakuten-jp")
EU_STORES = {"acme-de", "tts-uk"}
MIDNIGHT = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
CLOCK = MIDNIGHT + timedelta(minutes=3)
END = MIDNIGHT.date() - timedelta(days=1)
START = END - timedelta(days=9)
PASSWORDS = {"kpi": "builder-pw", "bi_reader": "reader-pw", "eu_analyst": "eu-pw", "outsider": "outsider-pw"}


def _create_roles(server) -> None:
    """What the database administrator does once (docs/SCALING.md): the builder owns the database; BI
    logins are members of the group roles that seed bi_region_access lists."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"create role kpi login password '{PASSWORDS['kpi']}'")
        conn.execute("create database kpi owner kpi")
        conn.execute("alter database kpi set timezone to 'UTC'")
        conn.execute(f"create role bi_reader login password '{PASSWORDS['bi_reader']}'")
        conn.execute("create role bi_region_eu nologin")
        conn.execute(f"create role eu_analyst login password '{PASSWORDS['eu_analyst']}' in role bi_region_eu")
        conn.execute(f"create role outsider login password '{PASSWORDS['outsider']}'")


def _rows(cursor) -> dict:
    columns = [d[0] for d in cursor.description]
    return {
        (r["store_id"], r["kpi_date"]): r for r in (dict(zip(columns, row, strict=True)) for row in cursor.fetchall())
    }


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """(DuckDB kpi_daily rows, PostgreSQL server, sandbox data) after both builds of one lake."""
    root = tmp_path_factory.mktemp("pg")
    with pytest.MonkeyPatch.context() as mp, postgres_server() as server:
        mp.setenv("KPI_LAKE_DIR", str(root / "lake"))
        mp.setenv("KPI_WAREHOUSE_PATH", str(root / "warehouse" / "kpi.duckdb"))
        mp.setenv("KPI_ALERT_OUTBOX", str(root / "warehouse" / "outbox.jsonl"))
        mp.setenv("KPI_REPORTING_CURRENCY", "USD")
        mp.delenv("KPI_ALERT_WEBHOOK_URL", raising=False)
        settings = Settings.from_env()
        settings.export()
        shops = tuple(s for s in DEMO_SHOPS if s.shop_id in STORES)
        sandbox = start_sandbox(
            seed=7,
            start=START - timedelta(days=40),
            end=END,
            clock=SandboxClock(CLOCK),
            shops=shops,
            bucket_size=80,
            leak_per_second=20,
            incidents=(Brushing("amz-us", END - timedelta(days=5)),),
        )
        try:
            for key, value in sandbox.credentials_env().items():
                mp.setenv(key, value)
            mp.setenv("KPI_STORES_FILE", str(sandbox.write_stores_file(root / "stores.yaml")))
            with dg.instance_for_test() as instance:
                outcome = run_pipeline(instance, START, END)
            assert outcome.success, outcome
        finally:
            sandbox.stop()

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            duck = _rows(con.execute("select * from marts.kpi_daily"))

        _create_roles(server)
        for key, value in {
            "KPI_PG_HOST": server.host,
            "KPI_PG_PORT": str(server.port),
            "KPI_PG_USER": "kpi",
            "KPI_PG_PASSWORD": PASSWORDS["kpi"],
            "KPI_PG_DATABASE": "kpi",
            "KPI_DBT_TARGET": "postgres",
        }.items():
            mp.setenv(key, value)
        with PgConnection.from_env().connect() as conn:
            loaded = load_lake(conn, settings.lake_dir, settings.outbox_path)
        run_dbt("build", "--target-path", str(root / "target-pg"))
        yield duck, server, sandbox.data, loaded


def _login(server, user: str) -> psycopg.Connection:
    return psycopg.connect(server.dsn(user=user, password=PASSWORDS[user], dbname="kpi"), autocommit=True)


def test_kpi_daily_on_postgres_equals_the_duckdb_build(warehouses):
    duck, server, _, _ = warehouses
    with _login(server, "kpi") as conn:
        pg = _rows(conn.execute("select * from marts.kpi_daily"))
    assert set(pg) == set(duck)
    assert {store for store, _ in pg} == set(STORES)
    money = floats = 0
    for key, duck_row in duck.items():
        pg_row = pg[key]
        assert set(pg_row) == set(duck_row), key
        for column, expected in duck_row.items():
            actual = pg_row[column]
            if isinstance(expected, float) and actual is not None:
                # DuckDB and PostgreSQL sum doubles in different orders: the last bits may differ
                assert float(actual) == pytest.approx(expected, rel=1e-9, abs=1e-9), (key, column)
                floats += 1
            elif isinstance(expected, Decimal):
                assert actual == expected, (key, column)
                money += 1
            else:
                assert actual == expected, (key, column)
    assert money > 1000 and floats > 1000


SECOND_STEP = {
    # the scorecard and the alerts read the KPI marts: the same rows on both engines
    "kpi_scorecard": (
        ("subject_id", "period_type", "period_start", "kpi_name"),
        ("actual", "target", "attainment", "pacing_attainment", "weighted_score", "status", "rank_in_role"),
    ),
    "kpi_alerts": (
        ("alert_id",),
        ("rule_id", "subject_id", "kpi_date", "kpi_value", "compared_value", "severity", "owner", "is_current"),
    ),
}


@pytest.mark.parametrize("table", sorted(SECOND_STEP))
def test_scorecard_and_alerts_on_postgres_equal_the_duckdb_build(warehouses, table):
    _, server, _, _ = warehouses
    keys, values = SECOND_STEP[table]
    sql = f"select {', '.join(keys + values)} from marts.{table}"
    with duckdb.connect(os.environ["KPI_WAREHOUSE_PATH"], read_only=True) as con:
        duck = {row[: len(keys)]: row[len(keys) :] for row in con.execute(sql).fetchall()}
    with _login(server, "kpi") as conn:
        pg = {row[: len(keys)]: row[len(keys) :] for row in conn.execute(sql).fetchall()}
    assert len(duck) > 10
    assert set(pg) == set(duck)
    for key, duck_row in duck.items():
        for column, expected, actual in zip(values, duck_row, pg[key], strict=True):
            if isinstance(expected, float) and actual is not None:
                assert float(actual) == pytest.approx(expected, rel=1e-9, abs=1e-9), (key, column)
            else:
                assert actual == expected, (key, column)


def test_kpi_daily_on_postgres_equals_the_generator(warehouses):
    _, server, data, _ = warehouses
    with _login(server, "kpi") as conn:
        pg = _rows(conn.execute("select * from marts.kpi_daily where kpi_date between %s and %s", (START, END)))
    expected = daily_kpis(data, CLOCK, ads_since=START)
    checked = 0
    for (store, day), row in pg.items():
        exp = expected.get((store, day))
        if exp is None:
            assert row["orders"] == 0 and row["gmv"] == 0, (store, day)
            continue
        assert (row["orders"], row["units"], row["refunded_units"]) == (exp.orders, exp.units, exp.refunded_units)
        assert (row["gmv"], row["discounts"], row["refund_amount"], row["ad_spend"]) == (
            exp.gmv,
            exp.discounts,
            exp.refund_amount,
            exp.ad_spend,
        ), (store, day)
        checked += 1
    assert checked > 40


def test_loading_the_lake_again_changes_nothing(warehouses):
    _, server, _, loaded = warehouses
    with _login(server, "kpi") as conn:
        again = load_lake(conn, Path(os.environ["KPI_LAKE_DIR"]))
        counts = {
            (t.schema, t.table): conn.execute(f'select count(*) from "{t.schema}"."{t.table}"').fetchone()[0]
            for t in again
        }
    assert {(t.schema, t.table): t.rows for t in loaded if t.schema != "alerts"} == counts
    assert counts[("raw_amazon", "orders")] > 0 and counts[("lake", "sync_log")] > 0


def test_bi_reader_reads_every_store_and_cannot_write(warehouses):
    duck, server, _, _ = warehouses
    with _login(server, "bi_reader") as conn:
        assert conn.execute("select count(*) from marts.kpi_daily").fetchone()[0] == len(duck)
        stores = {s for (s,) in conn.execute("select store_id from marts.dim_stores")}
        assert stores == set(STORES)
        assert conn.execute("select count(*) from marts.kpi_daily_platform").fetchone()[0] > 0
        for statement in (
            "delete from marts.kpi_daily",
            "update marts.dim_stores set region = 'EU'",
            "insert into marts.kpi_definitions select * from marts.kpi_definitions",
            "create table marts.mine (x int)",
            "select count(*) from raw_amazon.orders",
            "select count(*) from intermediate.int_orders",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_regional_login_sees_only_its_regions_stores(warehouses):
    duck, server, _, _ = warehouses
    eu_rows = sum(1 for (store, _) in duck if store in EU_STORES)
    with _login(server, "eu_analyst") as conn:
        assert conn.execute("select count(*) from marts.kpi_daily").fetchone()[0] == eu_rows
        assert {s for (s,) in conn.execute("select distinct store_id from marts.kpi_daily")} == EU_STORES
        assert {s for (s,) in conn.execute("select store_id from marts.dim_stores")} == EU_STORES
        assert {s for (s,) in conn.execute("select distinct store_id from marts.fct_orders")} == EU_STORES
        assert {r for (r,) in conn.execute("select distinct region from marts.kpi_daily_region")} == {"EU"}
        # a rollup across regions shows nothing; the KPI definitions are for everyone
        assert conn.execute("select count(*) from marts.kpi_daily_platform").fetchone()[0] == 0
        assert conn.execute("select count(*) from marts.kpi_definitions").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from marts.kpi_daily")
    with _login(server, "outsider") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select count(*) from marts.kpi_daily")


def test_a_login_needs_its_password(warehouses):
    _, server, _, _ = warehouses
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.dsn(user="bi_reader", password="wrong", dbname="kpi"))
