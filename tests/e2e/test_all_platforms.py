"""Every platform through the whole pipeline: one store per platform (two for Amazon), synced from
its sandbox over HTTP, built by dbt, and reconciled exactly with the generator, store-day by
store-day: orders, units, GMV, discounts, refunds and ad spend.

The sandbox clock is a few minutes past today's midnight (UTC): the Amazon Ads client only asks for
the last 60 days before the real now, as it would in production, and SP-API refuses windows that end
less than 2 minutes before its clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from ingestion.sandbox.generator import DEMO_SHOPS, Brushing
from tests.kpi_oracle import daily_extras, daily_kpis, rate_to
from tests.service_oracle import conversation_response_hours, daily_reviews

pytestmark = pytest.mark.e2e

STORES = ("acme-de", "amz-us", "amz-jp", "tts-uk", "shopee-sg", "rakuten-jp")
MIDNIGHT = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
CLOCK = MIDNIGHT + timedelta(minutes=3)
END = MIDNIGHT.date() - timedelta(days=1)
START = END - timedelta(days=13)


@pytest.fixture
def all_platforms(settings, make_sandbox, monkeypatch):
    shops = tuple(s for s in DEMO_SHOPS if s.shop_id in STORES)
    # generate from well before START so that refunds and late changes of older orders exist
    # brushing on Amazon (buyer hidden: the price rule) and TikTok (both rules)
    brushing = (
        Brushing("amz-us", END - timedelta(days=5)),
        Brushing("tts-uk", END - timedelta(days=4), sku="SOCK-WOOL"),
    )
    sandbox = make_sandbox(
        START - timedelta(days=40), END, CLOCK, shops=shops, bucket_size=80, leak_per_second=20, incidents=brushing
    )
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KPI_STORES_FILE", str(sandbox.write_stores_file(settings.warehouse_path.parent / "s.yaml")))
    return sandbox


def test_every_platform_reconciles_from_raw_to_kpi_daily(settings, all_platforms, tmp_path):
    from orchestration.launch import run_pipeline

    sandbox = all_platforms
    with dg.instance_for_test() as instance:
        outcome = run_pipeline(instance, START, END)
    assert outcome.success, outcome
    assert outcome.checks_failed == []

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        cur = con.execute("select * from marts.kpi_daily")
        cols = [d[0] for d in cur.description]
        rows = {(r["store_id"], r["kpi_date"]): r for r in (dict(zip(cols, x, strict=True)) for x in cur.fetchall())}
        platforms = dict(con.execute("select platform, count(*) from marts.fct_orders group by 1").fetchall())
        ad_platforms = con.execute("select distinct store_id from marts.fct_ad_performance_daily").fetchall()
        inventory = con.execute("select distinct store_id from marts.fct_inventory_daily").fetchall()
    assert set(platforms) == {"shopify", "amazon", "tiktok", "shopee", "rakuten"}
    assert {s for (s,) in ad_platforms} == {"amz-us", "amz-jp"}
    assert {s for (s,) in inventory} == {"acme-de", "amz-us", "amz-jp"}
    _assert_no_buyer_pii_in_marts(settings.warehouse_path, sandbox.data)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        brushed = con.execute(
            "select store_id, count(*) from intermediate.int_orders__quarantined "
            "where exclusion_reason = 'suspected_brushing' group by 1 order by 1"
        ).fetchall()
    assert brushed == [("amz-us", 6), ("tts-uk", 6)]
    _assert_semantic_layer_matches_the_mart(settings, tmp_path)

    expected = daily_kpis(sandbox.data, CLOCK, ads_since=START)
    checked = 0
    for store in STORES:
        day = START
        while day <= END:
            exp = expected.get((store, day))
            row = rows[(store, day)]
            key = (store, day.isoformat())
            if exp is None:
                assert row["orders"] == 0 and row["refund_amount"] == 0 and row["ad_spend"] == 0, key
            else:
                assert (row["orders"], row["units"], row["refunded_units"]) == (
                    exp.orders,
                    exp.units,
                    exp.refunded_units,
                ), key
                assert Decimal(row["gmv"]) == exp.gmv, key
                assert Decimal(row["discounts"]) == exp.discounts, key
                assert Decimal(row["refund_amount"]) == exp.refund_amount, key
                assert Decimal(row["ad_spend"]) == exp.ad_spend, key
                assert Decimal(row["ad_attributed_sales"]) == exp.ad_attributed_sales, key
                rate = rate_to(row["currency_code"], "USD", day)
                assert row["gmv_reporting"] == pytest.approx(float(exp.gmv) * rate, rel=1e-9, abs=1e-9), key
                assert row["ad_spend_reporting"] == pytest.approx(float(exp.ad_spend) * rate, rel=1e-9, abs=1e-9)
                checked += 1
            day += timedelta(days=1)
    assert checked > 60
    _assert_catalog_kpis_match_the_generator(rows, sandbox.data)
    _assert_service_kpis_match_the_generator(rows, sandbox.data)

    # One store-day by hand from the raw lake: Amazon US orders placed that local day (not cancelled),
    # and its Sponsored Products spend, as landed, equal the mart's row.
    day = END - timedelta(days=3)
    tz = ZoneInfo("America/Los_Angeles")
    lake = settings.lake_dir / "raw"
    with duckdb.connect() as con:
        orders = con.execute(
            f"select _record_id, _payload from read_parquet('{lake}/amazon/orders/**/*.parquet', union_by_name=true)"
        ).fetchall()
        ads = con.execute(
            f"select _record_id, _loaded_at, _payload from "
            f"read_parquet('{lake}/amazon_ads/sp_campaigns/**/*.parquet', union_by_name=true)"
        ).fetchall()
    latest: dict[str, dict] = {}
    for record_id, payload in orders:
        order = json.loads(payload)
        if record_id not in latest or order["LastUpdateDate"] > latest[record_id]["LastUpdateDate"]:
            latest[record_id] = order
    placed = [
        o
        for o in latest.values()
        if o["MarketplaceId"] == "ATVPDKIKX0DER"
        and datetime.fromisoformat(o["PurchaseDate"].replace("Z", "+00:00")).astimezone(tz).date() == day
        and o["OrderStatus"] != "Canceled"
    ]
    newest_ads: dict[str, tuple] = {}
    for record_id, loaded_at, payload in ads:
        if record_id not in newest_ads or loaded_at > newest_ads[record_id][0]:
            newest_ads[record_id] = (loaded_at, json.loads(payload))
    spend = sum(
        (
            Decimal(str(p["cost"]))
            for _, p in newest_ads.values()
            if p["date"] == day.isoformat() and "3311000000000001" in str(p["profileId"])
        ),
        Decimal("0"),
    )
    row = rows[("amz-us", day)]
    assert len(placed) == row["orders"] == expected[("amz-us", day)].orders
    assert spend == Decimal(row["ad_spend"]) == expected[("amz-us", day)].ad_spend


def _assert_catalog_kpis_match_the_generator(rows, data) -> None:
    """The rest of the catalog, exact: cohort refunds, COGS and gross margin, the 48-hour ship rate
    and late shipments, ad clicks and the ratios recomputed from the generator's own sums. Days up to
    END - 3, so every 48-hour window has closed."""
    extras = daily_extras(data, CLOCK, ads_since=START)
    basics = daily_kpis(data, CLOCK, ads_since=START)
    checked = ship_days = 0
    for store in STORES:
        day = START
        while day <= END - timedelta(days=3):
            key, row = (store, day.isoformat()), rows[(store, day)]
            exp, base = extras.get((store, day)), basics.get((store, day))
            if exp is None or base is None:
                day += timedelta(days=1)
                continue
            assert (row["cohort_refunded_units"], row["cohort_refunded_orders"]) == (
                exp.cohort_refunded_units,
                exp.cohort_refunded_orders,
            ), key
            assert Decimal(row["cohort_refund_amount"]) == exp.cohort_refund_amount, key
            assert row["cohort_refund_rate_by_units"] == pytest.approx(exp.cohort_refunded_units / base.units), key
            cogs = float(exp.cogs_usd) / rate_to(row["currency_code"], "USD", day)
            assert float(row["cogs"]) == pytest.approx(cogs, rel=1e-9), key
            assert float(row["cogs_reporting"]) == pytest.approx(float(exp.cogs_usd), rel=1e-9), key
            net = float(base.net_sales)
            if net > 0:
                assert row["gross_margin"] == pytest.approx((net - cogs) / net, rel=1e-9), key
            assert row["aov"] == pytest.approx(float(base.gmv) / base.orders, rel=1e-12), key
            if not store.startswith("amz"):
                assert (
                    row["ship_48h_eligible_orders"],
                    row["ship_48h_on_time_orders"],
                    row["shipped_orders"],
                    row["late_shipped_orders"],
                ) == (
                    exp.ship_48h_eligible_orders,
                    exp.ship_48h_on_time_orders,
                    exp.shipped_orders,
                    exp.late_shipped_orders,
                ), key
                if exp.ship_48h_eligible_orders:
                    ship_days += 1
                    assert row["ship_rate_48h"] == pytest.approx(
                        exp.ship_48h_on_time_orders / exp.ship_48h_eligible_orders
                    ), key
            else:
                assert (row["ad_clicks"], row["ad_impressions"]) == (exp.ad_clicks, exp.ad_impressions), key
                if base.ad_attributed_sales:
                    assert row["acos"] == pytest.approx(float(base.ad_spend / base.ad_attributed_sales)), key
                    assert row["cpc"] == pytest.approx(float(base.ad_spend) / exp.ad_clicks), key
            checked += 1
            day += timedelta(days=1)
    assert checked > 40 and ship_days > 20


def _percentile(values: list[float], q: float) -> float:
    """Continuous percentile (linear interpolation), as SQL's percentile_cont."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _assert_service_kpis_match_the_generator(rows, data) -> None:
    """Negative reviews (Shopee) and buyer conversations with their first-response median and p90
    (Shopee, TikTok), per store-day, exactly as the generator wrote them."""
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    reviewed = conversed = 0
    for day, exp in daily_reviews(data, "shopee-sg", CLOCK, days).items():
        row = rows[("shopee-sg", day)]
        assert (row["reviews"], row["negative_reviews"]) == (exp.reviews, exp.negative), day
        assert row["negative_review_rate"] == pytest.approx(exp.negative_rate), day
        reviewed += exp.reviews
    for store in ("shopee-sg", "tts-uk"):
        by_day: dict = {}
        for conversation in conversation_response_hours(data, store, CLOCK, days).values():
            by_day.setdefault(conversation.message_date, []).append(conversation.first_response_hours)
        for day in days:
            hours = by_day.get(day, [])
            row = rows[(store, day)]
            answered = [h for h in hours if h is not None]
            assert row["conversations"] == len(hours), (store, day)
            if answered:
                assert row["first_response_hours_median"] == pytest.approx(_percentile(answered, 0.5)), (store, day)
                assert row["first_response_hours_p90"] == pytest.approx(_percentile(answered, 0.9)), (store, day)
            else:
                assert row["first_response_hours_median"] is None, (store, day)
            conversed += len(hours)
    assert reviewed > 20 and conversed > 20


def _assert_no_buyer_pii_in_marts(warehouse, data) -> None:
    """Every text value of every mart, against the buyers' e-mails, phones, names and addresses the
    sandbox served (GDPR, APPI): none may appear; buyer_id_hash is a salted SHA-256, not an id."""
    pii = set()
    for orders in data.orders_by_shop.values():
        for o in orders:
            c = o.customer
            pii.update({c.email, c.phone, c.last_name, c.address1, c.zip, str(c.customer_id)})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("create temp table pii(v varchar)")
        con.executemany("insert into pii values (?)", [(v,) for v in pii])
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and data_type = 'VARCHAR'"
        ).fetchall()
        leaks = []
        for table, column in columns:
            (hits,) = con.execute(
                f'select count(*) from marts."{table}" where "{column}" in (select v from pii)'
            ).fetchone()
            if hits:
                leaks.append(f"{table}.{column}: {hits}")
        hashes = con.execute(
            "select count(*), count(*) filter (where regexp_full_match(buyer_id_hash, '[0-9a-f]{64}')) "
            "from marts.fct_orders where buyer_id_hash is not null"
        ).fetchone()
    assert leaks == [], leaks
    assert hashes[0] > 0 and hashes[0] == hashes[1]


def _mf_query(settings, out, *args: str) -> list[dict]:
    """`mf query` against the built warehouse (MetricFlow reads dbt_project/target's semantic manifest)."""
    import csv
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import DBT_DIR

    result = subprocess.run(
        [str(Path(sys.executable).parent / "mf"), "query", *args, "--csv", str(out), "--quiet"],
        cwd=DBT_DIR,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(out) as fh:
        return list(csv.DictReader(fh))


def _assert_semantic_layer_matches_the_mart(settings, tmp) -> None:
    """MetricFlow's GMV, orders and AOV by platform equal sums over kpi_daily, and AOV, ACoS,
    conversion and the 48-hour ship rate are ratios of those sums (never averages of daily ratios)."""
    rows = _mf_query(
        settings,
        tmp / "mf.csv",
        "--metrics",
        "gmv,orders,aov,ad_spend,acos,conversion_rate,ship_rate_48h",
        "--group-by",
        "store_day__platform",
        "--start-time",
        START.isoformat(),
        "--end-time",
        END.isoformat(),
    )
    got = {r["store_day__platform"]: r for r in rows}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        sums = con.execute(
            "select platform, sum(gmv_reporting), sum(orders), sum(ad_spend_reporting), "
            "sum(ad_attributed_sales_reporting), sum(orders_with_sessions), sum(sessions), "
            "sum(ship_48h_on_time_orders), sum(ship_48h_eligible_orders) "
            "from marts.kpi_daily where kpi_date between ? and ? group by 1",
            [START, END],
        ).fetchall()
    assert set(got) == {p for p, *_ in sums}
    for platform, gmv, orders, spend, attributed, converted, sessions, on_time, eligible in sums:
        row = got[platform]
        assert float(row["gmv"]) == pytest.approx(float(gmv), rel=1e-9)
        assert int(float(row["orders"])) == orders
        assert float(row["aov"]) == pytest.approx(float(gmv) / orders, rel=1e-9)
        if attributed:
            assert float(row["acos"]) == pytest.approx(float(spend) / float(attributed), rel=1e-9)
        if sessions:
            assert float(row["conversion_rate"]) == pytest.approx(converted / sessions, rel=1e-9)
        else:
            assert row["conversion_rate"] in ("", None), platform
        assert float(row["ship_rate_48h"]) == pytest.approx(on_time / eligible, rel=1e-9)
