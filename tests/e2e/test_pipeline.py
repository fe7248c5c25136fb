"""The whole pipeline on the sandbox: ingest -> raw lake -> dbt -> checks -> sensor -> alert job.

KPI values are asserted exactly against tests/kpi_oracle.py, which computes them from the
generator's orders without touching the lake, the API payloads or dbt.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from alerting.outbox import Outbox
from ingestion.sandbox.generator import SHOPIFY_SHOPS, Brushing, Incident
from tests.conftest import DBT_DIR, utc
from tests.kpi_oracle import daily_kpis, rate_to
from tests.receivers import Receiver

pytestmark = pytest.mark.e2e

START, END = date(2026, 6, 1), date(2026, 7, 15)
CLOCK = utc(2026, 7, 16)  # the sandbox's now: midnight UTC after the last partition


@pytest.fixture
def pipeline_env(settings, make_sandbox, monkeypatch):
    sandbox = make_sandbox(
        START,
        END,
        CLOCK,
        shops=SHOPIFY_SHOPS,
        bucket_size=80,
        leak_per_second=20,
        incidents=(Incident("acme-uk", date(2026, 7, 13), "LAMP-USB"), Brushing("acme-us", date(2026, 7, 10))),
    )
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    stores_file = sandbox.write_stores_file(settings.warehouse_path.parent / "stores.yaml")
    monkeypatch.setenv("KPI_STORES_FILE", str(stores_file))
    return sandbox


def _kpi_rows(settings) -> dict:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        cur = con.execute("select * from marts.kpi_daily")
        cols = [d[0] for d in cur.description]
        return {
            (r["store_id"], r["kpi_date"]): r for r in (dict(zip(cols, row, strict=True)) for row in cur.fetchall())
        }


def test_pipeline_end_to_end_exact_kpis_and_alerts(settings, pipeline_env, monkeypatch, tmp_path):
    from orchestration.launch import run_alert_sensor, run_pipeline

    sandbox = pipeline_env
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, START, END)
        assert outcome.success, outcome
        assert outcome.checks_failed == []
        assert "raw/shopify/orders:raw_expectations" in outcome.checks_passed
        assert "raw/shopify/orders:all_stores_synced" in outcome.checks_passed

        # The hand-off the daemon makes: a successful ingest run requests one transform run.
        from orchestration.launch import load_defs

        ingest_run = instance.get_run_by_id(outcome.run_ids[0])
        (success,) = instance.all_logs(ingest_run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        handoff = load_defs().resolve_sensor_def("transform_after_ingest")
        request = handoff(
            dg.build_run_status_sensor_context(
                sensor_name="transform_after_ingest",
                dagster_instance=instance,
                dagster_run=ingest_run,
                dagster_event=success.dagster_event,
            )
        )
        assert request.run_key == f"after:{ingest_run.run_id}"

        rows = _kpi_rows(settings)
        expected = daily_kpis(sandbox.data, CLOCK)

        # The brushed mugs sit in the quarantine with their reason, not in any KPI.
        brushed = sorted(str(o.order_id) for o in sandbox.data.orders_by_shop["acme-us"] if o.is_brushing)
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            quarantined = con.execute(
                "select order_id from intermediate.int_orders__quarantined "
                "where exclusion_reason = 'suspected_brushing' order by order_id"
            ).fetchall()
        assert len(brushed) == 6 and [q for (q,) in quarantined] == brushed

        # A few store-days spelled out: Prime Day in the US, a Sunday in Japan (FX carried from
        # Friday), a day with refunds in Germany.
        us = rows[("acme-us", date(2026, 7, 8))]
        exp = expected[("acme-us", date(2026, 7, 8))]
        assert (us["orders"], us["units"]) == (exp.orders, exp.units)
        assert (Decimal(us["gmv"]), Decimal(us["discounts"])) == (exp.gmv, exp.discounts)
        assert Decimal(us["net_sales"]) == exp.net_sales
        assert us["aov"] == pytest.approx(float(exp.gmv / exp.orders), rel=1e-12)
        assert us["gmv_reporting"] == pytest.approx(float(exp.gmv), rel=1e-12)  # USD store: rate 1

        jp = rows[("acme-jp", date(2026, 6, 14))]
        exp = expected[("acme-jp", date(2026, 6, 14))]
        jpy_usd = rate_to("JPY", "USD", date(2026, 6, 12))  # Sunday -> Friday's ECB rate
        assert jp["gmv_reporting"] == pytest.approx(float(exp.gmv) * jpy_usd, rel=1e-9)
        assert jp["net_sales_reporting"] == pytest.approx(float(exp.net_sales) * jpy_usd, rel=1e-9)

        refund_days = [k for k, v in expected.items() if k[0] == "acme-de" and v.refund_amount > 0]
        assert refund_days, "the fixture should hold German refunds"
        de_day = refund_days[len(refund_days) // 2]
        assert Decimal(rows[de_day]["refund_amount"]) == expected[de_day].refund_amount

        # And every store-day of the mart, every KPI.
        for key, exp in expected.items():
            if not (START <= key[1] <= END):
                continue
            row = rows[key]
            rate = rate_to(row["currency_code"], "USD", key[1])
            assert (row["orders"], row["units"], row["refunded_units"]) == (
                exp.orders,
                exp.units,
                exp.refunded_units,
            ), key
            assert Decimal(row["gmv"]) == exp.gmv, key
            assert Decimal(row["discounts"]) == exp.discounts, key
            assert Decimal(row["refund_amount"]) == exp.refund_amount, key
            assert Decimal(row["net_sales"]) == exp.net_sales, key
            assert row["gmv_reporting"] == pytest.approx(float(exp.gmv) * rate, rel=1e-9, abs=1e-9), key
            assert row["refund_amount_reporting"] == pytest.approx(
                float(exp.refund_amount) * rate, rel=1e-9, abs=1e-9
            ), key
        days = (END - START).days + 1
        for store in ("acme-us", "acme-de", "acme-uk", "acme-jp"):
            in_range = [k for k in rows if k[0] == store and START <= k[1] <= END]
            assert len(in_range) == days, store  # every local day is a row, with zeros if nothing sold
        zero_days = [k for k in rows if k not in expected and START <= k[1] <= END]
        assert all(rows[k]["orders"] == 0 and rows[k]["refund_amount"] == 0 for k in zero_days)

        # Every column the marts hold is documented, and no buyer personal data reaches them.
        documented = json.loads((DBT_DIR / "target" / "manifest.json").read_text())["nodes"]
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            built = con.execute(
                "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
            ).fetchall()
            leaked = con.execute("select count(*) from marts.fct_orders where buyer_id_hash like '%@%'").fetchone()[0]
        for table, column in built:
            assert column in documented[f"model.kpi_platform.{table}"]["columns"], (table, column)
        assert not {c for _, c in built} & {"email", "phone", "first_name", "last_name", "address1", "customer"}
        assert leaked == 0

        # Alerts: the sensor sends each actionable KPI alert once; a second tick sends nothing new.
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            actionable = con.execute("select count(*) from marts.kpi_alerts where is_actionable").fetchone()[0]
        assert actionable >= 1
        first, cursor = run_alert_sensor(instance)
        assert first.delivered == actionable
        again, _ = run_alert_sensor(instance, cursor)
        assert again.requested == 0
        delivered = [r for r in Outbox(settings.outbox_path).history() if r["status"] == "delivered"]
        assert len(delivered) == actionable
        recall = [
            r
            for r in delivered
            if r["details"]["rule_id"] == "refund_rate_spike"
            and r["details"]["store_id"] == "acme-uk"
            and r["details"]["kpi_date"] == "2026-07-13"
        ]
        assert len(recall) == 1, delivered
        exp = expected[("acme-uk", date(2026, 7, 13))]
        assert recall[0]["details"]["kpi_value"] == pytest.approx(float(exp.refund_amount / exp.gmv), rel=1e-12)

        # The review reports from the real marts, as the Monday and first-of-month schedules run them.
        from orchestration.launch import run_reports

        monkeypatch.setenv("KPI_REPORTS_DIR", str(tmp_path / "reports"))
        weekly, monthly = run_reports(instance, CLOCK.date())
        assert (weekly.partition, monthly.partition, weekly.success, monthly.success) == (
            "2026-07-06", "2026-06-01", True, True,
        )  # fmt: skip
        assert weekly.path == str(tmp_path / "reports" / "kpi-review-week-2026-07-06.html")
        html = Path(weekly.path).read_text()
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            (stores,) = con.execute(
                "select count(*) from marts.kpi_gmv_drivers where period_grain = 'week' and period_start = '2026-07-06'"
            ).fetchone()
        assert stores >= 3 and f'<li data-count="top_movers"><b>{min(stores, 8)}</b>' in html
        for built in ("kpi_gmv_drivers", "kpi_weekly", "kpi_alerts", "alert_history", "sync_health"):
            assert f'data-table="marts.{built}"' not in html, built


def test_failed_sync_blocks_the_marts_and_raises_one_alert(settings, pipeline_env, monkeypatch):
    """A revoked token: the sync is recorded as auth_invalid, the blocking check fails the ingest run,
    the marts are not rebuilt, and the failed check reaches the outbox exactly once."""
    from ingestion.sync_log import SyncLog
    from orchestration.launch import run_alert_sensor, run_pipeline

    sandbox = pipeline_env
    sandbox.shopify.faults["acme-de"].token_revoked = True
    receiver = Receiver()
    monkeypatch.setenv("KPI_ALERT_WEBHOOK_URL", receiver.url)
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, date(2026, 7, 14), END)
        assert not outcome.success and outcome.failed_job == "kpi_ingest"
        assert "raw/shopify/orders:all_stores_synced" in outcome.checks_failed
        assert not settings.warehouse_path.exists(), "the transform job must not run after a failed ingest"

        attempts = [a for a in SyncLog(settings.lake_dir).entries() if a["store_id"] == "acme-de"]
        assert sorted((a["entity"], a["error_class"], a["http_status"]) for a in attempts) == [
            ("inventory_levels", "auth_invalid", 401),
            ("orders", "auth_invalid", 401),
        ]

        # one alert per failed check (orders, inventory levels), each delivered once
        result, cursor = run_alert_sensor(instance)
        assert result.delivered == 2
        alerts = Outbox(settings.outbox_path).history()
        assert sorted(a["title"].rsplit(" ", 1)[1] for a in alerts) == [
            "raw/shopify/inventory_levels",
            "raw/shopify/orders",
        ]
        alert = next(a for a in alerts if "raw/shopify/orders" in a["title"])
        assert alert["source"] == "check" and "all_stores_synced" in alert["title"]
        assert all("acme-de: auth_invalid" in a["body"] and a["channel"] == "webhook" for a in alerts)
        assert sorted(c["key"] for c in receiver.calls) == sorted(a["notification_id"] for a in alerts)
        assert run_alert_sensor(instance, cursor)[0].requested == 0
        assert json.loads(cursor)["checks"]
    receiver.server.shutdown()


def test_ingest_run_config_limits_the_run_to_some_stores(settings, pipeline_env):
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from ingestion.sync_log import SyncLog
    from orchestration.launch import load_defs

    job = load_defs().resolve_job_def("kpi_ingest")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config={"ops": {"raw__shopify__orders": {"config": {"stores": ["acme-de"]}}}},
            tags={ASSET_PARTITION_RANGE_START_TAG: "2026-07-14", ASSET_PARTITION_RANGE_END_TAG: "2026-07-15"},
        )
    assert result.success
    shopify = [
        a for a in SyncLog(settings.lake_dir).entries() if a["platform"] == "shopify" and a["entity"] == "orders"
    ]
    assert [(a["store_id"], a["window_start"], a["window_end"]) for a in shopify] == [
        ("acme-de", "2026-07-12T00:00:00+00:00", "2026-07-16T00:00:00+00:00")  # 2-day look-back
    ]


def test_a_crashed_run_raises_one_run_failure_alert(settings, pipeline_env, monkeypatch):
    """No check can speak for a step that crashed (here: the stores file is gone); the run-failure
    sensor does, once."""
    from orchestration.launch import run_failure_alerts, run_pipeline

    missing = settings.warehouse_path.parent / "no-such-stores.yaml"
    monkeypatch.setenv("KPI_STORES_FILE", str(missing))
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, END, END)
        assert not outcome.success and outcome.checks_failed == []
        alerts = run_failure_alerts(instance, outcome)
        assert (alerts.requested, alerts.delivered) == (1, 1)
        (row,) = Outbox(settings.outbox_path).history()
        assert row["source"] == "run_failure" and row["title"] == "[CRITICAL] run of kpi_ingest failed"
        assert str(missing) in row["body"]
        assert run_failure_alerts(instance, outcome).delivered == 0  # the same failure is not sent twice
