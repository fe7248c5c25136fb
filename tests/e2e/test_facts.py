"""The facts on the sandbox: incremental builds equal a full refresh, Amazon fees follow the sandbox's fee
arithmetic, and platform-reported daily totals reconcile with the orders in the marts.

Real HTTP to the sandbox, real dbt on DuckDB. The sandbox clock sits a few minutes past a UTC midnight,
as in test_all_platforms (the Amazon Ads client only asks for the last 60 days before the real now).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from ingestion.lake import RawLake, RawRecord, new_sync_id
from ingestion.sandbox.amazon import COMMISSION, amazon_order_id, shipment_visible_at
from ingestion.sandbox.generator import DEMO_SHOPS, Brushing, money
from tests.conftest import run_dbt

pytestmark = pytest.mark.e2e

FACTS = ("fct_orders", "fct_order_lines", "fct_refunds", "fct_ad_performance_daily", "fct_inventory_daily", "fct_fees")
FBA_FEE_PER_UNIT_USD = Decimal("3.22")  # the sandbox's FBAPerUnitFulfillmentFee, times the shop's price scale
MIDNIGHT = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
CLOCK = MIDNIGHT + timedelta(minutes=3)
END = MIDNIGHT.date() - timedelta(days=1)


def _sandbox(settings, make_sandbox, monkeypatch, stores, start, clock, incidents=()):
    shops = tuple(s for s in DEMO_SHOPS if s.shop_id in stores)
    sandbox = make_sandbox(start, END, clock, shops=shops, bucket_size=80, leak_per_second=20, incidents=incidents)
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KPI_STORES_FILE", str(sandbox.write_stores_file(settings.warehouse_path.parent / "s.yaml")))
    return sandbox


def _ingest(instance, start, end) -> None:
    from orchestration.launch import load_defs

    result = (
        load_defs()
        .resolve_job_def("kpi_ingest")
        .execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={ASSET_PARTITION_RANGE_START_TAG: start.isoformat(), ASSET_PARTITION_RANGE_END_TAG: end.isoformat()},
        )
    )
    assert result.success


def _build(target, *args: str) -> tuple[dict[str, int], float]:
    """`dbt build` into its own target path: the incremental batch sizes it logged, and the seconds its
    fact models took (run_results.json)."""
    out = run_dbt("build", "--target-path", str(target), *args)
    batches = {m: int(n) for m, n in re.findall(r"incremental batch: (\w+) (\d+) rows", out.stdout)}
    results = json.loads((target / "run_results.json").read_text())["results"]
    seconds = sum(r["execution_time"] for r in results if r["unique_id"].split(".")[-1] in FACTS)
    return batches, seconds


def test_incremental_facts_equal_a_full_refresh(settings, make_sandbox, monkeypatch, tmp_path):
    """Sync and build up to a day, then sync four later days (new orders and brushing, late refunds and
    cancellations of older orders, settling ad attribution) and build incrementally: every fact equals
    a --full-refresh build of a copy of the same lake, row for row, and the incremental run rebuilt
    fewer rows than the full one."""
    first_end = END - timedelta(days=4)
    first_clock = datetime.combine(first_end + timedelta(days=1), datetime.min.time(), UTC) + timedelta(minutes=3)
    start = END - timedelta(days=int(os.environ.get("KPI_TEST_FACTS_DAYS", "20")))  # 365 to measure a year
    sandbox = _sandbox(
        settings,
        make_sandbox,
        monkeypatch,
        ("acme-de", "amz-us", "tts-uk", "shopee-sg", "rakuten-jp"),
        start - timedelta(days=30),
        first_clock,
        incidents=(Brushing("tts-uk", END - timedelta(days=1), sku="SOCK-WOOL"),),
    )
    from orchestration.launch import run_pipeline

    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, start, first_end)
        assert outcome.success and outcome.checks_failed == [], outcome
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            first_orders = {k for (k,) in con.execute("select store_id || order_id from marts.fct_orders").fetchall()}

        sandbox.clock.set(CLOCK)
        _ingest(instance, first_end, END)
    began = time.monotonic()
    # The test's syncs each take a few seconds, all inside the watermark's safety margin for a file still
    # being written, which would rebuild every row of the first sync; without it the rule is strictest.
    no_margin = json.dumps({"incremental_watermark_margin_seconds": 0})
    batches, incremental_seconds = _build(tmp_path / "incremental-target", "--vars", no_margin)
    incremental_wall = time.monotonic() - began

    full_lake = tmp_path / "full" / "lake"
    shutil.copytree(settings.lake_dir, full_lake)
    full_warehouse = tmp_path / "full" / "warehouse" / "kpi.duckdb"
    monkeypatch.setenv("KPI_LAKE_DIR", str(full_lake))
    monkeypatch.setenv("KPI_WAREHOUSE_PATH", str(full_warehouse))
    full_warehouse.parent.mkdir(parents=True)
    began = time.monotonic()
    full_batches, full_seconds = _build(tmp_path / "full-target", "--full-refresh")
    full_wall = time.monotonic() - began
    assert full_batches == {}  # a full refresh builds the table, no batch

    with duckdb.connect(str(full_warehouse), read_only=True) as con:
        con.execute(f"attach '{settings.warehouse_path}' as incr (read_only)")
        sizes = {}
        for fact in FACTS:
            full, incr = f"kpi.marts.{fact}", f"incr.marts.{fact}"
            (missing,) = con.execute(f"select count(*) from (from {full} except all from {incr})").fetchone()
            (extra,) = con.execute(f"select count(*) from (from {incr} except all from {full})").fetchone()
            assert (missing, extra) == (0, 0), fact
            sizes[fact] = con.execute(f"select count(*) from {full}").fetchone()[0]
        # the later window really changed older orders: refunds and cancellations of orders built before
        late_refunds = con.execute(
            "select count(*) from kpi.marts.fct_refunds where order_date <= ? and refunded_at >= ?",
            [first_end, first_clock.replace(tzinfo=None)],
        ).fetchone()[0]
        now_quarantined = dict(
            con.execute(
                "select store_id || order_id, exclusion_reason from kpi.intermediate.int_orders__quarantined"
            ).fetchall()
        )
    removed = {k: v for k, v in now_quarantined.items() if k in first_orders}
    assert late_refunds > 0
    assert "cancelled" in removed.values(), "an order built first was cancelled later (the pre-hook's delete)"

    print(f"\nfull: {sizes} in {full_seconds:.2f}s of fact models ({full_wall:.1f}s dbt build)")
    print(f"incremental: {batches} in {incremental_seconds:.2f}s of fact models ({incremental_wall:.1f}s dbt build)")
    assert set(batches) == set(FACTS)
    for fact in set(FACTS) - {"fct_inventory_daily"}:
        assert 0 < batches[fact] < sizes[fact], fact
    # inventory rebuilds the newest day already built and later ones: here both snapshot days
    assert batches["fct_inventory_daily"] == sizes["fct_inventory_daily"]


def test_fees_and_platform_totals_reconcile(settings, make_sandbox, monkeypatch, tmp_path):
    """Amazon's fee lines equal the sandbox's fee arithmetic (15% commission on the discounted line,
    3.22 per unit for FBA orders, the commission given back on refunds less a fifth), and the
    reconciliation shows Amazon's and TikTok's own daily totals against the marts with the quarantine
    spelled out; a tampered report makes its test fail."""
    start = END - timedelta(days=20)
    brushed_day = END - timedelta(days=6)
    sandbox = _sandbox(
        settings,
        make_sandbox,
        monkeypatch,
        ("acme-de", "amz-us", "tts-uk"),  # a Shopify store: the raw-orders suite needs a batch
        start - timedelta(days=30),
        CLOCK,
        incidents=(Brushing("amz-us", brushed_day), Brushing("tts-uk", brushed_day, sku="SOCK-WOOL")),
    )
    from orchestration.launch import run_pipeline

    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, start, END)
    assert outcome.success and outcome.checks_failed == [], outcome

    # -- fees ------------------------------------------------------------------------------------
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        fees = con.execute(
            "select order_id, order_line_id, event_kind, fee_type, fee_amount, posted_at from marts.fct_fees "
            "where store_id = 'amz-us'"
        ).fetchall()
    shop = sandbox.data.shop("amz-us")
    scale = Decimal(str(shop.price_scale))
    expected: dict[tuple, Decimal] = {}
    window = (datetime.combine(start, datetime.min.time(), UTC), CLOCK - timedelta(minutes=2))
    for order in sandbox.data.orders_by_shop["amz-us"]:
        if order.is_test:
            continue
        lines = {li.line_item_id: li for li in order.lines}
        visible = shipment_visible_at(order)
        if visible is not None and window[0] <= order.fulfilled_at < window[1] and visible <= window[1]:
            for li in order.lines:
                key = (amazon_order_id(order), str(li.line_item_id), "shipment")
                net = li.price * li.quantity - li.total_discount
                expected[(*key, "Commission")] = -money(-net * COMMISSION, order.currency)
                if order.platform_fulfilled:
                    fba = -money(-FBA_FEE_PER_UNIT_USD * scale * li.quantity, order.currency)
                    expected[(*key, "FBAPerUnitFulfillmentFee")] = fba
        if order.cancelled_at is not None:
            continue
        for refund in order.refunds:
            if window[0] <= refund.processed_at < window[1] and refund.created_at <= window[1]:
                for line in refund.lines:
                    key = (amazon_order_id(order), str(lines[line.line_item_id].line_item_id), "refund")
                    commission = money(line.subtotal * COMMISSION, order.currency)
                    expected[(*key, "Commission")] = -commission
                    expected[(*key, "RefundCommission")] = -money(-commission / 5, order.currency)
    got = {(o, li, kind, fee_type): amount for o, li, kind, fee_type, amount, posted in fees}
    in_window = {k: v for k, v in got.items() if k in expected}
    assert len(expected) > 500 and in_window == expected
    assert {k[3] for k in expected} == {"Commission", "FBAPerUnitFulfillmentFee", "RefundCommission"}
    assert all(posted < window[0].replace(tzinfo=None) for *k, _, posted in fees if tuple(k) not in expected)

    # -- reconciliation ----------------------------------------------------------------------------
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        cur = con.execute("select * from marts.kpi_reconciliation where report_date = ?", [brushed_day])
        cols = [d[0] for d in cur.description]
        rows = {(r["store_id"], r["metric"]): r for r in (dict(zip(cols, x, strict=True)) for x in cur.fetchall())}
        unexplained = con.execute(
            "select count(*) from marts.kpi_reconciliation where unexplained_difference <> 0 and is_complete_day"
        ).fetchone()[0]
    assert unexplained == 0
    amazon_day = [o for o in sandbox.data.orders_on("amz-us", brushed_day) if not o.is_test]
    sales = {
        "all": sum((li.price * li.quantity for o in amazon_day for li in o.lines), Decimal(0)),
        "counted": sum((li.price * li.quantity for o in amazon_day if o.counts_in_kpis for li in o.lines), Decimal(0)),
    }
    row = rows[("amz-us", "ordered_product_sales")]
    assert row["is_complete_day"] and row["is_within_tolerance"]
    assert (row["reported_value"], row["derived_value"]) == (sales["all"], sales["counted"])
    assert row["quarantined_value"] == sales["all"] - sales["counted"] > 0  # cancelled and brushed orders
    assert row["difference"] == row["quarantined_value"] and row["unexplained_difference"] == 0
    units = rows[("amz-us", "units_ordered")]
    assert units["reported_value"] == sum(o.units for o in amazon_day)
    assert units["derived_value"] == sum(o.units for o in amazon_day if o.counts_in_kpis)

    tiktok_day = [o for o in sandbox.data.orders_on("tts-uk", brushed_day) if not o.is_test]
    counted = [o for o in tiktok_day if o.cancelled_at is None or o.cancelled_at > CLOCK]
    brushed = [o for o in counted if o.is_brushing]
    assert len(brushed) >= 5
    gmv, orders = rows[("tts-uk", "gmv")], rows[("tts-uk", "orders")]
    assert gmv["reported_value"] == sum((o.subtotal for o in counted), Decimal(0))
    assert gmv["quarantined_value"] == sum((o.subtotal for o in brushed), Decimal(0))
    assert (orders["reported_value"], orders["derived_value"]) == (len(counted), len(counted) - len(brushed))
    assert all(r["unexplained_difference"] == 0 and r["is_within_tolerance"] for r in rows.values())

    # A report whose sales were tampered with (a newer version of the day's record) fails the test.
    lake = RawLake(settings.lake_dir)
    (payload,) = [
        json.loads(p)
        for (p,) in duckdb.connect()
        .execute(
            f"select _payload from read_parquet('{settings.lake_dir}/raw/amazon/sales_traffic/**/*.parquet') "
            "where _store_id = 'amz-us' and _record_id = ? order by _loaded_at desc limit 1",
            [brushed_day.isoformat()],
        )
        .fetchall()
    ]
    amount = payload["row"]["salesByDate"]["orderedProductSales"]
    amount["amount"] = float(Decimal(str(amount["amount"])) * Decimal("1.5"))
    lake.write(
        "amazon",
        "sales_traffic",
        "amz-us",
        [RawRecord(brushed_day.isoformat(), datetime.now(UTC), payload)],
        new_sync_id(),
    )
    with pytest.raises(AssertionError, match=r"FAIL 1 expression_is_true_kpi_reconciliation"):
        run_dbt("build", "--select", "kpi_reconciliation", "--target-path", str(tmp_path / "tampered"))
