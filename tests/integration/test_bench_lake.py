"""The benchmark's lake generator (scripts/bench/lake.py) lands what the Shopify client would: dbt's
staging reads it, and a day's sync lands exactly the orders placed or changed that day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb

from ingestion.sandbox.generator import orders_for_day
from scripts.bench.lake import bench_shops, land_history, land_next_day, land_stores_and_fx
from tests.conftest import run_dbt

START, END = date(2026, 3, 1), date(2026, 3, 31)
CLOCK = datetime(2026, 4, 1, tzinfo=UTC)
NEXT = datetime(2026, 4, 2, tzinfo=UTC)


def test_the_bench_lake_builds_through_staging(settings):
    shops = bench_shops(stores=3, order_lines=1_000, days=31)
    lake = str(settings.lake_dir)
    land_stores_and_fx(lake, shops, START, END)
    history = land_history(lake, shops, START, END, CLOCK, workers=1)
    assert 700 < history.lines < 1_300 and history.files == 3

    day = land_next_day(lake, shops, START, date(2026, 4, 1), CLOCK, NEXT, workers=1)
    # the day's sync: every order placed before NEXT and changed after CLOCK (new ones included)
    every = [
        o
        for no, shop in enumerate(shops)
        for d in range(32)
        for o in orders_for_day(7, shop, no, date(2026, 3, 1) + timedelta(days=d))
        if o.created_at <= NEXT
    ]
    assert day.orders == sum(1 for o in every if o.updated_at(NEXT) > CLOCK) > 0

    run_dbt(
        "build",
        "--select",
        "stg_config__stores",
        "stg_ecb__fx_rates",
        "stg_shopify__orders",
        "stg_shopify__order_lines",
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        stores = con.execute(
            "select count(*), count(distinct currency_code) from staging.stg_config__stores"
        ).fetchone()
        orders = con.execute("select count(*) from staging.stg_shopify__orders").fetchone()[0]
        lines = con.execute("select count(*) from staging.stg_shopify__order_lines").fetchone()[0]
    assert stores == (3, 3)
    # staging keeps one version of each order: every order placed before NEXT
    assert (orders, lines) == (len(every), sum(len(o.lines) for o in every))
