"""API ingestion throughput against the sandbox's rate limits, at the documented limits (scale 1).

The real clients call real HTTP servers on loopback: Shopify's leaky bucket (40 requests, leaking 2 per
second, per store) and TikTok Shop's token bucket (50 per second per shop and API). Each store is synced
day window by day window, as a backfill of daily partitions does, so every store makes many small
requests and the sandbox's own work per request stays small: the rate limit, not the server, sets the
pace. Per store, the achieved request rate is set against the most the server's bucket lets through in
the same time (a full burst plus the refill), and every 429 the server answered is counted.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ingestion.config import StoreConfig, StoresFile
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, SHOPIFY_SHOPS
from ingestion.sandbox.run import start_sandbox
from ingestion.sandbox.server import SandboxClock
from ingestion.sandbox.tiktok import QPS as TIKTOK_QPS
from ingestion.sources import source
from ingestion.tokens import TokenStore
from ingestion.windows import Window

# data up to yesterday and the sandbox's clock now: token lifetimes are counted against the real clock too
CLOCK = datetime.now(UTC).replace(microsecond=0)
END = CLOCK.date() - timedelta(days=1)
SHOPIFY_BUCKET, SHOPIFY_LEAK = 40, 2.0  # Shopify REST, standard plans (the client's defaults too)


def allowed_rate(burst: float, rate: float, seconds: float) -> float:
    """The most requests per second a token bucket lets through over `seconds`, starting full."""
    return (burst + rate * seconds) / seconds


def _sync_windows(platform: str, store: StoreConfig, days: int, state_dir: str) -> dict:
    client = source(platform).client(store, TokenStore(state_dir))
    began, records = time.monotonic(), 0
    for d in range(days):
        start = datetime.combine(END - timedelta(days=days - 1 - d), datetime.min.time(), UTC)
        for page in client.iter_pages("orders", Window(start, start + timedelta(days=1))):
            records += len(page.records)
    seconds = time.monotonic() - began
    stats = client.http.stats
    return {
        "store_id": store.store_id,
        "records": records,
        "requests": stats.requests,
        "seconds": seconds,
        "throttled_429": stats.throttled,
        "retries": stats.retries,
        "limiter_wait_s": stats.slept_seconds,
    }


def _run(platform: str, shops, days: int, burst: float, rate: float) -> list[dict]:
    sandbox = start_sandbox(
        start=END - timedelta(days=days + 5),
        end=END,
        shops=shops,
        clock=SandboxClock(CLOCK),
        bucket_size=SHOPIFY_BUCKET,
        leak_per_second=SHOPIFY_LEAK,
        rate_scale=1.0,
    )
    try:
        os.environ.update(sandbox.credentials_env())
        stores = StoresFile.model_validate(sandbox.stores_document()).stores
        with tempfile.TemporaryDirectory() as state, ThreadPoolExecutor(len(stores)) as pool:
            rows = list(pool.map(lambda s: _sync_windows(platform, s, days, state), stores))
    finally:
        sandbox.stop()
    for row in rows:
        allowed = allowed_rate(burst, rate, row["seconds"])
        achieved = row["requests"] / row["seconds"]
        row |= {
            "platform": platform,
            "achieved_rps": achieved,
            "allowed_rps": allowed,
            "steady_rate_rps": rate,
            "burst": burst,
            "share_of_allowed": achieved / allowed,
        }
    return rows


def bench_ingestion() -> list[dict]:
    quiet = {"base_daily_orders": 30.0}  # one page per day window: the server's work stays small
    shopify = tuple(dataclasses.replace(s, **quiet) for s in SHOPIFY_SHOPS)
    tiktok = tuple(dataclasses.replace(s, **quiet) for s in MARKETPLACE_SHOPS if s.platform == "tiktok")
    return [
        *_run("shopify", shopify, 150, SHOPIFY_BUCKET, SHOPIFY_LEAK),
        # the sandbox's bucket per shop and API: TIKTOK_QPS per second, bursts of the same size
        *_run("tiktok", tiktok, 150, TIKTOK_QPS, TIKTOK_QPS),
    ]


if __name__ == "__main__":
    import json

    print(json.dumps(bench_ingestion(), indent=2, default=str))
