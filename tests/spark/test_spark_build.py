"""The scale path, run: the same dbt project builds the KPI marts on Apache Spark (dbt-spark's session
method: pyspark in local mode, the engine a cluster runs) straight from the raw lake's Parquet files,
and `marts.kpi_daily` equals the DuckDB build of the same lake.

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


def _by_store_day(rows: list[dict]) -> dict:
    return {(r["store_id"], r["kpi_date"]): r for r in rows}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """(DuckDB kpi_daily, Spark kpi_daily) from one lake."""
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
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            cur = con.execute("select * from marts.kpi_daily")
            columns = [d[0] for d in cur.description]
            duck = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

        spark_dir = root / "spark"
        mp.setenv("KPI_DBT_TARGET", "spark")
        mp.setenv("KPI_SPARK_WAREHOUSE", str(spark_dir))
        run_dbt(
            "build",
            "--select",
            "+kpi_daily",
            "--exclude",
            "resource_type:test",
            "resource_type:unit_test",
            "--target-path",
            str(root / "target-spark"),
        )
        spark = pq.read_table(spark_dir / "marts.db" / "kpi_daily").to_pylist()
        yield _by_store_day(duck), _by_store_day(spark)


def test_kpi_daily_on_spark_equals_the_duckdb_build(builds):
    duck, spark = builds
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
