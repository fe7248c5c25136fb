"""Sandbox-shaped raw lake at scale, written straight to Parquet (no HTTP): what a backfill of many
Shopify stores would land.

Orders come from the sandbox's own generator (`orders_for_day`) and are shaped by the Shopify
sandbox's own serializer (`order_payload`), so the payloads are exactly what the Shopify client lands;
only the HTTP round trips are skipped. Stores are copies of the demo's Shopify shops (four currencies
and time zones) under new ids. Each store's history is one sync: its files land under today's load
date, as a single-run backfill would write them, with one success entry per store in the sync log.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ingestion.config import StoresFile
from ingestion.lake import RawLake, RawRecord, new_sync_id
from ingestion.runner import land_store_config, sync_fx
from ingestion.sandbox.generator import SHOPIFY_SHOPS, Order, SandboxShop, orders_for_day
from ingestion.sandbox.run import start_sandbox
from ingestion.sandbox.shopify import order_payload
from ingestion.sync_log import SyncAttempt, SyncLog

SEED = 7
LINES_PER_ORDER = 10 / 6  # the generator draws 1, 1, 1, 2, 2 or 3 lines
SEASONAL_MEAN = 1.16  # the generator's average seasonal factor, measured on the bench shops
RECORDS_PER_FILE = 50_000
REFUND_REACH_DAYS = 32  # an order changes at most this long after it was placed (refunds up to 28 days)


@dataclass(frozen=True)
class Landed:
    orders: int = 0
    lines: int = 0
    files: int = 0

    def __add__(self, other: Landed) -> Landed:
        return Landed(self.orders + other.orders, self.lines + other.lines, self.files + other.files)


def bench_shops(stores: int, order_lines: int, days: int) -> tuple[SandboxShop, ...]:
    """`stores` copies of the demo's Shopify shops, sized so the history holds about `order_lines` lines."""
    per_day = order_lines / (stores * days * LINES_PER_ORDER * SEASONAL_MEAN)
    return tuple(
        dataclasses.replace(
            SHOPIFY_SHOPS[i % len(SHOPIFY_SHOPS)],
            shop_id=f"bench-{i:04d}",
            name=f"Bench shop {i:04d}",
            base_daily_orders=per_day,
        )
        for i in range(stores)
    )


def _orders(shop: SandboxShop, no: int, first: date, last: date) -> Iterator[Order]:
    day = first
    while day <= last:
        yield from orders_for_day(SEED, shop, no, day)
        day += timedelta(days=1)


def _land(lake_dir: str, shop: SandboxShop, no: int, first: date, last: date, since: datetime | None, clock: datetime):
    """One store's sync of the orders updated in (since, clock] (every order placed before clock if
    since is None), as the Shopify client would land them: the order as the API shows it at clock."""
    lake, log = RawLake(lake_dir), SyncLog(lake_dir)
    sync_id, started = new_sync_id(), datetime.now(UTC)
    batch: list[RawRecord] = []
    landed = Landed()

    def flush() -> None:
        nonlocal batch, landed
        if batch:
            lake.write("shopify", "orders", shop.shop_id, batch, sync_id, part=landed.files)
            landed = dataclasses.replace(landed, files=landed.files + 1)
            batch = []

    for order in _orders(shop, no, first, last):
        if order.created_at > clock:
            continue
        updated = order.updated_at(clock)
        if since is not None and updated <= since:
            continue
        batch.append(RawRecord(str(order.order_id), updated, order_payload(order, clock)))
        landed = dataclasses.replace(landed, orders=landed.orders + 1, lines=landed.lines + len(order.lines))
        if len(batch) >= RECORDS_PER_FILE:
            flush()
    flush()
    log.append(
        SyncAttempt(
            sync_id=sync_id,
            platform="shopify",
            store_id=shop.shop_id,
            entity="orders",
            window_start=since or datetime.combine(first, datetime.min.time(), UTC),
            window_end=clock,
            started_at=started,
            finished_at=datetime.now(UTC),
            status="success",
            rows=landed.orders,
            pages=landed.files,
        )
    )
    return landed


def land_stores_and_fx(lake_dir: str, shops: tuple[SandboxShop, ...], start: date, end: date) -> None:
    """The stores file (as the sandbox writes it for these shops) and the ECB rates of the history,
    fetched from the sandbox's ECB server like the pipeline does."""
    lake, log = RawLake(lake_dir), SyncLog(lake_dir)
    sandbox = start_sandbox(seed=SEED, start=end, end=end, shops=shops)
    try:
        land_store_config(StoresFile.model_validate(sandbox.stores_document()), lake)
        fx_start = datetime.combine(start - timedelta(days=10), datetime.min.time(), UTC)
        fx_end = datetime.combine(end + timedelta(days=2), datetime.min.time(), UTC)
        result = sync_fx(sandbox.ecb_url, fx_start, fx_end, lake, log)
        if result is None or not result.ok:
            raise RuntimeError(f"the ECB sync failed: {result}")
    finally:
        sandbox.stop()


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers)


def land_history(
    lake_dir: str, shops: tuple[SandboxShop, ...], start: date, end: date, clock: datetime, workers: int
) -> Landed:
    """Every store's orders placed from `start` to `end` (local days), as seen at `clock`."""
    with _pool(workers) as pool:
        futures = [pool.submit(_land, lake_dir, shop, no, start, end, None, clock) for no, shop in enumerate(shops)]
        return sum((f.result() for f in futures), Landed())


def land_next_day(
    lake_dir: str,
    shops: tuple[SandboxShop, ...],
    history_start: date,
    day: date,
    since: datetime,
    clock: datetime,
    workers: int,
) -> Landed:
    """One daily sync: orders placed on `day` and older orders changed (refunded, fulfilled) since `since`."""
    first = max(history_start, day - timedelta(days=REFUND_REACH_DAYS))
    with _pool(workers) as pool:
        futures = [pool.submit(_land, lake_dir, shop, no, first, day, since, clock) for no, shop in enumerate(shops)]
        return sum((f.result() for f in futures), Landed())


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))
