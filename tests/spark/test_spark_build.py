"""The scale path, run: the same dbt project builds the KPI marts on Apache Spark (dbt-spark's session
method: pyspark in local mode, the engine a cluster runs) straight from the raw lake's Parquet files,
and its marts equal the DuckDB build of the same lake: `marts.kpi_daily` cell by cell, the scorecard and
the KPI alerts (which read the KPI marts) row by row.

`make test-spark` runs it (pyspark is the `spark` dependency group). Spark sums doubles in another
order than DuckDB, so float columns agree to 1e-9 relative; counts, dates, flags and money (decimals)
must be equal exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from ingestion.sandbox.generator import DEMO_SHOPS
from ingestion.sandbox.run import start_sandbox
from ingestion.sandbox.server import SandboxClock
from ingestion.settings import Settings
from orchestration.launch import run_pipeline
from tests.conftest import run_dbt

pytestmark = pytest.mark.spark

STORES = ("acme-de", "amz-us", "tts-uk", "shopee-sg", "rakuten-jp")
MIDNIGHT = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
CLOCK = MIDNIGHT + timedelta(minutes=3)
END = MIDNIGHT.date() - timedelta(days=1)
START = END - timedelta(days=6)


# mart: (key columns, compared columns)
COMPARED = {
    "kpi_daily": (("store_id", "kpi_date"), ()),
    "kpi_scorecard": (
        ("subject_id", "period_type", "period_start", "kpi_name"),
        ("actual", "target", "attainment", "pacing_attainment", "weighted_score", "status", "rank_in_role"),
    ),
    "kpi_alerts": (
        ("alert_id",),
        ("rule_id", "subject_id", "kpi_date", "kpi_value", "compared_value", "severity", "owner", "is_current"),
    ),
}


def _by_store_day(rows: list[dict]) -> dict:
    return {(r["store_id"], r["kpi_date"]): r for r in rows}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """{mart: (DuckDB rows, Spark rows)} from one lake: every model and seed built on both engines."""
    root = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KPI_LAKE_DIR", str(root / "lake"))
        mp.setenv("KPI_WAREHOUSE_PATH", str(root / "warehouse" / "kpi.duckdb"))
        mp.setenv("KPI_ALERT_OUTBOX", str(root / "warehouse" / "outbox.jsonl"))
        mp.setenv("KPI_REPORTING_CURRENCY", "USD")
        mp.delenv("KPI_ALERT_WEBHOOK_URL", raising=False)
        settings = Settings.from_env()
        settings.export()
        shops = tuple(s for s in DEMO_SHOPS if s.shop_id in STORES)
        sandbox = start_sandbox(
            seed=7, start=START - timedelta(days=40), end=END, clock=SandboxClock(CLOCK), shops=shops
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
        duck = {}
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            for mart in COMPARED:
                cur = con.execute(f"select * from marts.{mart}")
                columns = [d[0] for d in cur.description]
                duck[mart] = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

        spark_dir = root / "spark"
        mp.setenv("KPI_DBT_TARGET", "spark")
        mp.setenv("KPI_SPARK_WAREHOUSE", str(spark_dir))
        run_dbt(
            "build",
            "--exclude",
            "resource_type:test",
            "resource_type:unit_test",
            "--target-path",
            str(root / "target-spark"),
        )
        yield {mart: (duck[mart], pq.read_table(spark_dir / "marts.db" / mart).to_pylist()) for mart in COMPARED}


def test_kpi_daily_on_spark_equals_the_duckdb_build(builds):
    duck, spark = (_by_store_day(rows) for rows in builds["kpi_daily"])
    assert set(spark) == set(duck)
    assert {store for store, _ in spark} == set(STORES)
    money = floats = 0
    for key, duck_row in duck.items():
        spark_row = spark[key]
        assert set(spark_row) == set(duck_row), key
        for column, expected in duck_row.items():
            actual = spark_row[column]
            if isinstance(expected, float) and actual is not None:
                assert float(actual) == pytest.approx(expected, rel=1e-9, abs=1e-9), (key, column)
                floats += 1
            elif isinstance(expected, Decimal):
                assert actual == expected, (key, column)
                money += 1
            else:
                assert actual == expected, (key, column)
    assert money > 500 and floats > 500


@pytest.mark.parametrize("mart", ["kpi_scorecard", "kpi_alerts"])
def test_scorecard_and_alerts_on_spark_equal_the_duckdb_build(builds, mart):
    keys, values = COMPARED[mart]
    duck, spark = ({tuple(r[k] for k in keys): r for r in rows} for rows in builds[mart])
    assert len(duck) > 10
    assert set(spark) == set(duck)
    for key, duck_row in duck.items():
        for column in values:
            expected, actual = duck_row[column], spark[key][column]
            if isinstance(expected, float | Decimal) and actual is not None:
                assert float(actual) == pytest.approx(float(expected), rel=1e-9, abs=1e-9), (key, column)
            else:
                assert actual == expected, (key, column)
