"""Sync health and data-quality checks on real parts: sandbox syncs over HTTP into a tmp lake, dbt on
DuckDB, and the Dagster checks executed on an ephemeral instance."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expectations.raw import validate_raw_batch
from ingestion.clients.shopify import ShopifyClient
from ingestion.config import StoresFile
from ingestion.http import RetryPolicy
from ingestion.runner import land_store_config, sync_stores
from ingestion.sandbox.generator import DEMO_SHOPS
from ingestion.sandbox.shopify import sandbox_token
from ingestion.sync import run_sync
from ingestion.tokens import TokenStore
from ingestion.windows import Window
from tests.conftest import run_dbt, utc

SHOP = next(s for s in DEMO_SHOPS if s.shop_id == "acme-de")
FAST_RETRY = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.05)
AS_OF = "2026-06-01 00:00:00"


def shopify(sandbox) -> ShopifyClient:
    return ShopifyClient(
        f"{sandbox.shopify_url}/{SHOP.shop_id}",
        sandbox_token(SHOP.shop_id),
        retry=FAST_RETRY,
        requests_per_second=50,
        bucket_size=40,
    )


def sync_day(sandbox, lake, sync_log, day: date, entity: str = "orders"):
    start = utc(day.year, day.month, day.day)
    window = Window(start, start + timedelta(days=1))
    return run_sync(shopify(sandbox), store_id=SHOP.shop_id, entity=entity, window=window, lake=lake, log=sync_log)


def land(sandbox, lake, issued: dict[str, dict] | None = None) -> StoresFile:
    document = sandbox.stores_document()
    for store in document["stores"]:
        # Only the stores the test names carry issue dates; the others' expiry is unknown.
        store.pop("credentials_issued_at", None)
        if issued and store["store_id"] in issued:
            store["credentials_issued_at"] = issued[store["store_id"]]
    stores = StoresFile.model_validate(document)
    land_store_config(stores, lake)
    return stores


def build_health() -> None:
    run_dbt("build", "--select", "+sync_health", "--vars", json.dumps({"health_as_of": AS_OF}))


def run_health_checks() -> dict[str, dg.AssetCheckEvaluation]:
    """The sync-health checks as the transform job runs them, on an ephemeral instance."""
    from orchestration.defs.quality import SYNC_HEALTH, sync_health_checks
    from orchestration.defs.resources import KpiResource

    defs = dg.Definitions(
        assets=[dg.AssetSpec(SYNC_HEALTH)],
        asset_checks=[sync_health_checks],
        jobs=[dg.define_asset_job("health", selection=dg.AssetSelection.checks(sync_health_checks))],
        resources={"kpi": KpiResource()},
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("health").execute_in_process(instance=instance)
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def offending(evaluation: dg.AssetCheckEvaluation) -> list[dict]:
    return evaluation.metadata["offending"].value


@pytest.fixture
def shop_sandbox(make_sandbox):
    return make_sandbox(date(2026, 4, 20), date(2026, 5, 31), utc(2026, 6, 1), shops=(SHOP,))


def test_days_until_credentials_expire_are_exact_and_name_what_to_renew(
    make_sandbox, lake, sync_log, settings, monkeypatch
):
    shops = tuple(s for s in DEMO_SHOPS if s.shop_id in ("amz-us", "rakuten-jp", "rakuten-camp"))
    sandbox = make_sandbox(date(2026, 5, 20), date(2026, 5, 31), utc(2026, 6, 1), shops=shops)
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    stores = land(
        sandbox,
        lake,
        {
            "amz-us": {"refresh_token": date(2025, 6, 10), "client_secret": date(2025, 12, 5)},
            "rakuten-jp": {"license_key": date(2026, 4, 1)},
        },
    )
    for platform in ("amazon", "rakuten"):
        results = sync_stores(
            [s for s in stores.stores if s.platform == platform],
            "orders",
            utc(2026, 5, 30),
            utc(2026, 6, 1),
            lake,
            sync_log,
            now=utc(2026, 6, 1),
            token_store=TokenStore(settings.state_dir),
        )
        assert all(r.ok for r in results), [r.attempt.error_message for r in results]
    build_health()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select store_id, expiring_credential, credential_expires_on, days_until_credential_expiry, "
            "credentials_expiry_unknown, credential_level from marts.sync_health order by store_id"
        ).fetchall()
    assert rows == [
        ("amz-us", "client_secret", date(2026, 6, 3), 2, None, "error"),  # 2025-12-05 + 180 d; refresh token: 9 d
        ("rakuten-camp", None, None, None, "license_key (RAKUTEN_LICENSE_KEY_RAKUTEN_CAMP)", "unknown"),
        ("rakuten-jp", "license_key", date(2026, 6, 30), 29, None, "warn"),  # 2026-04-01 + 90 d
    ]
    check = run_health_checks()["credentials_not_expiring"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    amz, camp, jp = offending(check)
    assert (amz["store_id"], amz["source"], amz["level"]) == ("amz-us", "amazon", "error")
    assert "update AMAZON_CLIENT_SECRET_AMZ_US" in amz["message"] and "expires in 2 day(s)" in amz["message"]
    assert (jp["store_id"], jp["level"], jp["days_until_credential_expiry"]) == ("rakuten-jp", "warn", 29)
    assert camp["level"] == "warn" and "expiry unknown" in camp["message"]


def test_a_revoked_token_warns_at_the_first_failure_and_errors_at_the_third(shop_sandbox, lake, sync_log, settings):
    assert sync_day(shop_sandbox, lake, sync_log, date(2026, 5, 30)).ok
    shop_sandbox.shopify.faults[SHOP.shop_id].token_revoked = True
    assert not sync_day(shop_sandbox, lake, sync_log, date(2026, 5, 31)).ok
    land(shop_sandbox, lake)
    build_health()
    check = run_health_checks()["sync_not_failing"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    (row,) = offending(check)
    assert (row["store_id"], row["source"], row["entity"], row["consecutive_failures"]) == (
        SHOP.shop_id,
        "shopify",
        "orders",
        1,
    )
    assert "auth_invalid (HTTP 401)" in row["message"] and "re-authorize" in row["message"]
    for _ in range(2):
        assert not sync_day(shop_sandbox, lake, sync_log, date(2026, 5, 31)).ok
    build_health()
    check = run_health_checks()["sync_not_failing"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert [(r["level"], r["consecutive_failures"]) for r in offending(check)] == [("error", 3)]


def test_a_skipped_day_is_a_gap_and_a_thin_sync_a_volume_drop(shop_sandbox, lake, sync_log, settings):
    for day in range(1, 11):
        if day != 6:  # the deliberately skipped day
            assert sync_day(shop_sandbox, lake, sync_log, date(2026, 5, day)).ok
    # the platform serves only the first hour of the next day (as if its data were late)
    shop_sandbox.clock.set(utc(2026, 5, 11, 1))
    thin = sync_day(shop_sandbox, lake, sync_log, date(2026, 5, 11))
    assert thin.ok
    land(shop_sandbox, lake)
    build_health()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        row = con.execute(
            "select first_gap_start, first_gap_end, first_gap_hours, window_gaps, gap_level, newest_success_rows, "
            "volume_history_syncs, volume_level from marts.sync_health where entity = 'orders'"
        ).fetchone()
    assert row[:5] == (datetime(2026, 5, 6), datetime(2026, 5, 7), 24.0, 1, "error")
    assert row[5] == thin.attempt.rows and row[6:] == (7, "error")
    checks = run_health_checks()
    (gap,) = offending(checks["sync_windows_without_gaps"])
    assert gap["store_id"] == SHOP.shop_id and "2026-05-06 00:00 to 2026-05-07 00:00" in gap["message"]
    assert "partitions 2026-05-06 .. 2026-05-07" in gap["message"]
    (volume,) = offending(checks["sync_volume_normal"])
    assert volume["level"] == "error" and volume["volume_ratio"] < 0.1
    assert checks["sync_fresh"].passed and checks["sync_not_failing"].passed


def test_the_raw_suite_passes_a_clean_synced_batch_and_names_each_tampered_record(shop_sandbox, lake, sync_log):
    assert sync_day(shop_sandbox, lake, sync_log, date(2026, 5, 20)).ok
    table = lake.read("shopify", "orders")
    assert table.num_rows > 10
    assert validate_raw_batch("shopify", "orders", table, now=utc(2026, 6, 1)).success

    rows = table.to_pylist()
    future, foreign = rows[1], rows[2]
    future["_record_updated_at"] = utc(2026, 6, 2)
    foreign["_payload"] = json.dumps(json.loads(foreign["_payload"]) | {"currency": "XXX"})
    tampered = pa.Table.from_pylist([*rows, rows[0]], schema=table.schema)  # rows[0] twice: a duplicate key
    result = validate_raw_batch("shopify", "orders", tampered, now=utc(2026, 6, 1))
    assert not result.success
    failed = {f.column: f for f in result.failed}
    assert set(failed) == {"store_id,record_id,updated_at", "updated_at", "currency"}
    assert f"key={SHOP.shop_id}/{rows[0]['_record_id']}" in failed["store_id,record_id,updated_at"].sample[0]
    assert f"key={SHOP.shop_id}/{future['_record_id']}" in failed["updated_at"].sample[0]
    assert failed["currency"].sample == [f"currency=XXX, key={SHOP.shop_id}/{foreign['_record_id']}"]


def test_a_failing_fact_check_stops_the_transform_before_the_kpi_marts(
    make_sandbox, lake, sync_log, settings, monkeypatch
):
    from ingestion.runner import sync_fx
    from orchestration.launch import load_defs

    sandbox = make_sandbox(date(2026, 5, 1), date(2026, 5, 31), utc(2026, 6, 1), shops=(SHOP,))
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KPI_STORES_FILE", str(sandbox.write_stores_file(settings.warehouse_path.parent / "s.yaml")))
    assert sync_fx(sandbox.ecb_url, utc(2026, 4, 1), utc(2026, 6, 1), lake, sync_log).attempt.status == "success"
    assert sync_day(sandbox, lake, sync_log, date(2026, 5, 20)).ok
    # one order whose total is absurd (5M EUR): dbt's row tests pass it, the fact suite must not
    (path,) = lake.files("shopify", "orders")
    table = pq.read_table(path)
    rows = table.to_pylist()
    bad = rows[0]
    bad["_payload"] = json.dumps(json.loads(bad["_payload"]) | {"total_price": "5000000.00"})
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)

    with dg.instance_for_test() as instance:
        result = (
            load_defs().resolve_job_def("kpi_transform").execute_in_process(instance=instance, raise_on_error=False)
        )
    assert not result.success
    checks = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    fact = checks[("marts/fct_orders", "staged_expectations")]
    assert not fact.passed and fact.severity == dg.AssetCheckSeverity.ERROR
    assert f"key={SHOP.shop_id}/{bad['_record_id']}" in fact.description
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/fct_orders" in built and "marts/sync_health" in built
    assert not built & {"marts/kpi_daily", "marts/kpi_alerts", "intermediate/int_kpi__store_day"}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        marts = {
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert "fct_orders" in marts and "kpi_daily" not in marts
