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
import yaml

from alerting.outbox import Outbox
from ingestion.sandbox.generator import SHOPIFY_SHOPS, Brushing, Incident
from ingestion.sandbox.shopify import sandbox_client
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
    from orchestration.launch import run_alert_sensors, run_pipeline

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

        # KPI alerts: the rules of alert_rules.yaml, recomputed here from the generator's orders and the
        # ECB rates (reporting currency) for the conditions holding on each store's newest complete day.
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            newest = dict(
                con.execute(
                    "select store_id, max(kpi_date) from marts.kpi_daily where is_complete_day group by 1"
                ).fetchall()
            )
            current = {
                (r[0], r[1]): r[2:]
                for r in con.execute(
                    "select rule_id, subject_id, severity, compared_value, kpi_value, kpi_date, condition_key "
                    "from marts.kpi_alerts where is_current and rule_id in ('refund_rate_spike', 'gmv_collapse')"
                ).fetchall()
            }
        oracle = _expected_current_alerts(expected, newest)
        assert {k: v[0] for k, v in current.items()} == {k: v[0] for k, v in oracle.items()}
        assert oracle, "the fixture's recall should hold a refund spike"
        for key, (_severity, compared, value) in oracle.items():
            assert current[key][1] == pytest.approx(compared, rel=1e-9), key
            assert current[key][2] == pytest.approx(value, rel=1e-9), key
            assert current[key][3] == newest[key[1]] and current[key][4] == f"kpi:{key[0]}:{key[1]}"
        assert ("refund_rate_spike", "acme-uk") in oracle  # the LAMP-USB recall of 07-13

        # The sensors send every current KPI condition once; a second tick sends nothing.
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            holding = con.execute("select count(*) from marts.kpi_alerts where is_current").fetchone()[0]
        first, cursors = run_alert_sensors(instance)
        assert first.delivered == holding
        again, _ = run_alert_sensors(instance, cursors)
        assert (again.requested, again.delivered) == (0, 0)
        delivered = [r for r in Outbox(settings.outbox_path).history() if r["status"] == "delivered"]
        assert len(delivered) == holding
        recall = [r for r in delivered if r["condition_key"] == "kpi:refund_rate_spike:acme-uk"]
        assert len(recall) == 1 and recall[0]["kind"] == "firing", delivered
        assert recall[0]["details"]["compared_value"] == pytest.approx(oracle[("refund_rate_spike", "acme-uk")][1])

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


def _expected_current_alerts(expected: dict, newest: dict) -> dict:
    """refund_rate_spike (7 days vs the 28 before, orders >= 20, lines 2 and 3) and gmv_collapse (the day vs
    the 28-day average before it, lines 0.4 and 0.2) on each store's newest complete day."""
    from datetime import timedelta

    def days(store: str, end: date, n: int) -> list:
        return [(expected.get((store, end - timedelta(d))), end - timedelta(d)) for d in range(n)]

    def reporting(store: str, end: date, n: int, field: str) -> float:
        total = 0.0
        for exp, day in days(store, end, n):
            if exp is not None:
                total += float(getattr(exp, field)) * rate_to(CURRENCY[store], "USD", day)
        return total

    out = {}
    for store, day in newest.items():
        orders = sum(exp.orders for exp, _ in days(store, day, 7) if exp is not None)
        window = reporting(store, day, 7, "refund_amount") / reporting(store, day, 7, "gmv")
        before = day - timedelta(7)
        baseline = reporting(store, before, 28, "refund_amount") / reporting(store, before, 28, "gmv")
        if orders >= 20 and baseline > 0:
            spike = window / baseline
            if spike > 2:
                out[("refund_rate_spike", store)] = ("critical" if spike > 3 else "warning", spike, window)
        gmv = reporting(store, day, 1, "gmv")
        average = reporting(store, day - timedelta(1), 28, "gmv") / 28
        if average > 0 and gmv / average < 0.4:
            out[("gmv_collapse", store)] = ("critical" if gmv / average < 0.2 else "warning", gmv / average, gmv)
    return out


CURRENCY = {shop.shop_id: shop.currency for shop in SHOPIFY_SHOPS}


def test_failed_sync_blocks_the_marts_and_raises_one_alert(settings, pipeline_env, monkeypatch):
    """A revoked token: the sync is recorded as auth_invalid, the blocking check fails the ingest run,
    the marts are not rebuilt, sync health reports the store, and one alert names it, once."""
    from ingestion.sync_log import SyncLog
    from orchestration.launch import run_alert_sensors, run_pipeline

    sandbox = pipeline_env
    sandbox.shopify.faults["acme-de"].token_revoked = True
    receiver = Receiver()
    monkeypatch.setenv("KPI_ALERT_WEBHOOK_URL", receiver.url)
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, date(2026, 7, 14), END)
        assert not outcome.success and outcome.failed_job == "kpi_ingest"
        assert "raw/shopify/orders:all_stores_synced" in outcome.checks_failed
        assert "marts/sync_health:sync_not_failing" in outcome.checks_failed
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            built = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
            failing = con.execute(
                "select entity, last_error_class, consecutive_failures from marts.sync_health "
                "where store_id = 'acme-de' and failures_level != 'ok' order by entity"
            ).fetchall()
        assert "sync_health" in built and "kpi_daily" not in built and "fct_orders" not in built
        assert failing == [("inventory_levels", "auth_invalid", 1), ("orders", "auth_invalid", 1)]

        attempts = [a for a in SyncLog(settings.lake_dir).entries() if a["store_id"] == "acme-de"]
        assert sorted((a["entity"], a["error_class"], a["http_status"]) for a in attempts) == [
            ("inventory_levels", "auth_invalid", 401),
            ("orders", "auth_invalid", 401),
        ]

        # the failed checks on two raw assets and two sync-health rows are one condition: one alert
        result, cursors = run_alert_sensors(instance)
        assert result.delivered == 1
        (alert,) = Outbox(settings.outbox_path).history()
        assert alert["condition_key"] == "sync:acme-de:shopify:sync_not_failing"
        assert alert["source"] == "sync_health" and alert["severity"] == "critical"
        assert alert["title"] == "[CRITICAL] acme-de shopify: sync keeps failing (inventory_levels, orders)"
        assert "acme-de: auth_invalid" in alert["body"] and alert["channel"] == "webhook"
        assert [c["key"] for c in receiver.calls] == [alert["notification_id"]]
        assert run_alert_sensors(instance, cursors)[0].requested == 0
    receiver.server.shutdown()


def test_expired_credentials_send_one_alert_then_one_resolved_message(settings, pipeline_env, monkeypatch, tmp_path):
    """The sandbox expires acme-de's authorization: the next run records auth_expired, the sync-health
    check fails, exactly one alert reaches the receiver (HMAC-signed), a second sensor tick sends nothing,
    and the next healthy run sends one resolved message."""
    from orchestration.launch import run_alert_sensors, run_pipeline

    sandbox = pipeline_env
    # acme-de runs a public app with expiring offline tokens: a refresh token that can outlive its grant
    client_id, client_secret = sandbox_client("acme-de")
    monkeypatch.setenv("SHOPIFY_CLIENT_ID_ACME_DE", client_id)
    monkeypatch.setenv("SHOPIFY_CLIENT_SECRET_ACME_DE", client_secret)
    monkeypatch.setenv("SHOPIFY_REFRESH_TOKEN_ACME_DE", sandbox.shopify.enable_expiring_tokens("acme-de"))
    document = sandbox.stores_document()
    for store in document["stores"]:
        if store["store_id"] == "acme-de":
            store["credentials"] = {
                "client_id_env": "SHOPIFY_CLIENT_ID_ACME_DE",
                "client_secret_env": "SHOPIFY_CLIENT_SECRET_ACME_DE",
                "refresh_token_env": "SHOPIFY_REFRESH_TOKEN_ACME_DE",
            }
    (settings.warehouse_path.parent / "stores.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    receiver = Receiver(secret="s3cret")
    routing = tmp_path / "alert_channels.yaml"
    routing.write_text(
        "channels:\n  ops:\n    type: webhook\n    url_env: OPS_HOOK_URL\n    secret_env: OPS_HOOK_SECRET\n"
        "routes:\n  - when: {source: [check, sync_health, run_failure]}\n    channels: [ops]\n"
    )
    monkeypatch.setenv("KPI_ALERT_CHANNELS", str(routing))
    monkeypatch.setenv("OPS_HOOK_URL", receiver.url)
    monkeypatch.setenv("OPS_HOOK_SECRET", "s3cret")
    with dg.instance_for_test() as instance:
        assert run_pipeline(instance, date(2026, 7, 13), END).success
        _, cursors = run_alert_sensors(instance)
        assert receiver.calls == []  # healthy: KPI alerts go elsewhere (no route here), no check failed

        sandbox.shopify.faults["acme-de"].credentials_expired = True
        outcome = run_pipeline(instance, date(2026, 7, 14), END)
        assert not outcome.success
        assert "marts/sync_health:sync_not_failing" in outcome.checks_failed
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            errors = con.execute(
                "select distinct last_error_class from marts.sync_health where store_id = 'acme-de' "
                "and failures_level != 'ok'"
            ).fetchall()
        assert errors == [("auth_expired",)]

        result, cursors = run_alert_sensors(instance, cursors)
        assert len(receiver.calls) == 1 and result.delivered == 1
        (call,) = receiver.calls
        assert call["verified"] is True
        assert call["body"]["kind"] == "firing"
        assert call["body"]["alert"]["condition_key"] == "sync:acme-de:shopify:sync_not_failing"
        assert "refresh token has expired" in call["body"]["alert"]["body"]
        assert run_alert_sensors(instance, cursors)[0].requested == 0 and len(receiver.calls) == 1

        sandbox.shopify.faults["acme-de"].credentials_expired = False  # the seller re-authorized
        assert run_pipeline(instance, date(2026, 7, 14), END).success
        result, cursors = run_alert_sensors(instance, cursors)
        assert len(receiver.calls) == 2 and result.resolved == 1
        resolved = receiver.calls[1]["body"]
        assert (
            resolved["kind"] == "resolved"
            and resolved["alert"]["condition_key"] == call["body"]["alert"]["condition_key"]
        )
        assert run_alert_sensors(instance, cursors)[0].requested == 0 and len(receiver.calls) == 2
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
