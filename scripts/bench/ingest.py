"""API ingestion throughput against the sandbox's rate limits, one run per platform the sandbox serves.

The real clients (ingestion/clients/*) call the real sandbox HTTP servers on loopback (ingestion/sandbox/*).
Each store is synced day window by day window, as a backfill of daily partitions does, stores of one
platform in parallel, so every store makes many small requests and the sandbox's own work per request
stays small: the rate limit, not the server, should set the pace.

One row per server-side bucket: every request a client sends is counted on the bucket the sandbox charges
it to (by URL path, per attempt, retries included), and every HTTP 429 the server answered. The achieved
rate (requests the server answered with anything but 429, per second of the store's sync) is set against
the most that bucket lets through in the same time (a full burst plus the refill).
Rate and burst are the sandbox's own: computed from the constants its module uses (imported, never
retyped) and checked against the live bucket objects of the running sandbox, so a change to the sandbox
cannot silently leave the bench comparing with a stale figure.

- Shopify: leaky bucket per store (the sandbox's defaults, which are Shopify's standard plan).
- TikTok Shop: token bucket per shop and API path, `QPS`; the client holds itself to 20 QPS by design.
- Amazon SP-API orders: token buckets per seller and operation (getOrders, getOrderItems). getOrders is
  one call a minute at scale 1, so this run uses the sandbox's demo usage plan (`start_sandbox` at
  `DEMO_RATE_SCALE` serves SP-API at `AMAZON_SANDBOX_RATE_SCALE`, announced in x-amzn-RateLimit-Limit,
  which the client adopts); the allowed rate is the scaled bucket's.
- Amazon Ads: one token bucket per profile across operations; reports are asynchronous, so the client
  spends most of a window polling.
- Shopee: token bucket per *partner* (app) and API path, shared by every shop of the partner.
- Rakuten: one token bucket per shop (license key) across searchOrder and getOrder.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from ingestion.config import StoreConfig, StoresFile
from ingestion.sandbox import amazon as amazon_sbx
from ingestion.sandbox import amazon_ads as ads_sbx
from ingestion.sandbox import rakuten as rakuten_sbx
from ingestion.sandbox import shopee as shopee_sbx
from ingestion.sandbox import tiktok as tiktok_sbx
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, SHOPIFY_SHOPS, SandboxShop
from ingestion.sandbox.run import AMAZON_SANDBOX_RATE_SCALE, DEMO_RATE_SCALE, Sandbox, start_sandbox
from ingestion.sandbox.server import SandboxClock
from ingestion.sources import source
from ingestion.tokens import TokenStore
from ingestion.windows import Window

# data up to yesterday and the sandbox's clock now: token lifetimes are counted against the real clock too
CLOCK = datetime.now(UTC).replace(microsecond=0)
END = CLOCK.date() - timedelta(days=1)


def allowed_rate(burst: float, rate: float, seconds: float) -> float:
    """The most requests per second a token bucket lets through over `seconds`, starting full."""
    return (burst + rate * seconds) / seconds


@dataclass(frozen=True)
class Bucket:
    """One server-side bucket a store's requests are charged to."""

    name: str  # the operation or API path, as the sandbox keys it
    client_ops: tuple[str, ...]  # the client's limiter operations that feed it
    shared: bool = False  # one bucket for every store of the run (Shopee: per partner)


@dataclass(frozen=True)
class Plan:
    platform: str  # the source (client) name
    shops: tuple[SandboxShop, ...]
    days: int  # day windows per store
    rate_scale: float  # passed to start_sandbox (and written to the stores file)
    entity: str
    bucket_of: Callable[[str], Bucket | None]  # URL path -> bucket (None: not rate limited)
    limit: Callable[[Sandbox, str, Bucket], tuple[float, float]]  # (rate, burst) of a store's bucket
    note: str = ""


class _Tally:
    """Counts, per bucket, every HTTP attempt a client's session sends and the 429s it gets back."""

    def __init__(self, client, bucket_of: Callable[[str], Bucket | None]) -> None:
        self.requests: Counter[Bucket] = Counter()
        self.throttled: Counter[Bucket] = Counter()
        session = client.http.session
        send = session.request

        def request(method, url, *args, **kwargs):
            bucket = bucket_of(urlsplit(url).path)
            if bucket is not None:
                self.requests[bucket] += 1
            response = send(method, url, *args, **kwargs)
            if bucket is not None and response.status_code == 429:
                self.throttled[bucket] += 1
            return response

        session.request = request


def _sync_windows(plan: Plan, store: StoreConfig, state_dir: str) -> dict:
    client = source(plan.platform).client(store, TokenStore(state_dir))
    tally = _Tally(client, plan.bucket_of)
    began, records = time.monotonic(), 0
    for d in range(plan.days):
        start = datetime.combine(END - timedelta(days=plan.days - 1 - d), datetime.min.time(), UTC)
        for page in client.iter_pages(plan.entity, Window(start, start + timedelta(days=1))):
            records += len(page.records)
    seconds = time.monotonic() - began
    stats = client.http.stats
    return {
        "store_id": store.store_id,
        "records": records,
        "seconds": seconds,
        "tally": tally,
        "client_limiters": {op: (lim.rate, lim.burst) for op, lim in client.http.limiters.items()},
        "client_requests": stats.requests,
        "client_throttled_429": stats.throttled,
        "retries": stats.retries,
        "limiter_wait_s": stats.slept_seconds,
    }


def _client_limit(limiters: dict[str, tuple[float, float]], ops: tuple[str, ...]) -> str:
    """The client's own pace on a bucket: its limiters for the operations charged to it."""
    return ", ".join(f"{op} {limiters[op][0]:g}/s burst {limiters[op][1]:g}" for op in ops)


def _run(plan: Plan) -> list[dict]:
    sandbox = start_sandbox(
        start=END - timedelta(days=plan.days + 5),
        end=END,
        shops=plan.shops,
        clock=SandboxClock(CLOCK),
        rate_scale=plan.rate_scale,
    )
    try:
        os.environ.update(sandbox.credentials_env())
        stores = source(plan.platform).stores(StoresFile.model_validate(sandbox.stores_document()).stores)
        with tempfile.TemporaryDirectory() as state, ThreadPoolExecutor(len(stores)) as pool:
            runs = list(pool.map(lambda s: _sync_windows(plan, s, state), stores))
        rows: list[dict] = []
        buckets = sorted({b for run in runs for b in run["tally"].requests}, key=lambda b: b.name)
        for bucket in buckets:
            groups = [runs] if bucket.shared else [[run] for run in runs if bucket in run["tally"].requests]
            for group in groups:
                rate, burst = plan.limit(sandbox, group[0]["store_id"], bucket)
                seconds = max(run["seconds"] for run in group)
                requests = sum(run["tally"].requests[bucket] for run in group)
                throttled = sum(run["tally"].throttled[bucket] for run in group)
                # what the bucket let through: a request answered 429 took no token
                achieved, allowed = (requests - throttled) / seconds, allowed_rate(burst, rate, seconds)
                rows.append(
                    {
                        "platform": plan.platform,
                        "store_id": " + ".join(run["store_id"] for run in group),
                        "bucket": bucket.name,
                        "requests": requests,
                        "seconds": seconds,
                        "throttled_429": throttled,
                        "achieved_rps": achieved,
                        "allowed_rps": allowed,
                        "steady_rate_rps": rate,
                        "burst": burst,
                        "share_of_allowed": achieved / allowed,
                        "rate_scale": _server_scale(sandbox, plan),
                        "windows": plan.days,
                        "records": sum(run["records"] for run in group),
                        "client_limit": _client_limit(group[0]["client_limiters"], bucket.client_ops),
                        "client_requests": sum(run["client_requests"] for run in group),
                        "client_throttled_429": sum(run["client_throttled_429"] for run in group),
                        "retries": sum(run["retries"] for run in group),
                        "limiter_wait_s": sum(run["limiter_wait_s"] for run in group),
                        "note": plan.note,
                    }
                )
        return rows
    finally:
        sandbox.stop()


def _server_scale(sandbox: Sandbox, plan: Plan) -> float:
    app = sandbox.apps.get(plan.platform)
    return float(getattr(app, "rate_scale", plan.rate_scale)) if plan.platform != "shopify" else 1.0


def _same(expected: tuple[float, float], live: tuple[float, float], what: str) -> tuple[float, float]:
    """The bench's figure from the sandbox's constants must be the one its running bucket enforces."""
    if any(abs(a - b) > 1e-9 for a, b in zip(expected, live, strict=True)):
        raise AssertionError(f"{what}: the sandbox's constants give {expected}, its live bucket {live}")
    return expected


# -- the platforms -------------------------------------------------------------------------------------


def _shopify_limit(sandbox: Sandbox, store_id: str, bucket: Bucket) -> tuple[float, float]:
    live = sandbox.apps["shopify"]._buckets[store_id]  # a leaky bucket: `size` requests, leaking `leak`/s
    return live.leak, float(live.size)


def _tiktok_limit(sandbox: Sandbox, store_id: str, bucket: Bucket) -> tuple[float, float]:
    app = sandbox.apps["tiktok"]
    rate = tiktok_sbx.QPS * sandbox.rate_scale
    live = app._buckets[(store_id, bucket.name)]
    return _same((rate, max(1.0, rate)), (live.rate, live.burst), f"tiktok {bucket.name}")


def _amazon_limit(sandbox: Sandbox, store_id: str, bucket: Bucket) -> tuple[float, float]:
    app = sandbox.apps["amazon"]
    rate, burst = amazon_sbx.RATE_LIMITS[bucket.name]
    live = app._buckets[(store_id, bucket.name)]
    return _same((rate * app.rate_scale, float(burst)), (live.rate, live.burst), f"amazon {bucket.name}")


def _ads_limit(sandbox: Sandbox, store_id: str, bucket: Bucket) -> tuple[float, float]:
    app = sandbox.apps["amazon_ads"]
    live = app._buckets[store_id]
    expected = (ads_sbx.RATE_PER_SECOND * sandbox.rate_scale, float(ads_sbx.BURST))
    return _same(expected, (live.rate, live.burst), "amazon_ads")


def _shopee_limit(sandbox: Sandbox, store_id: str, bucket: Bucket) -> tuple[float, float]:
    app = sandbox.apps["shopee"]
    live = app._buckets[(app.partner_id, bucket.name)]
    expected = (shopee_sbx.RATE_PER_SECOND * app.rate_scale, float(shopee_sbx.BURST))
    return _same(expected, (live.rate, live.burst), f"shopee {bucket.name}")


def _rakuten_limit(sandbox: Sandbox, store_id: str, bucket: Bucket) -> tuple[float, float]:
    live = sandbox.apps["rakuten"]._buckets[store_id]
    # the burst is RakutenSandbox's `burst` default (no module constant): the live bucket is the source
    rate = rakuten_sbx.REQUESTS_PER_SECOND * sandbox.rate_scale
    return _same((rate, live.burst), (live.rate, live.burst), "rakuten")


SHOPIFY_BUCKET = Bucket("orders (leaky bucket per store)", ("orders",))
AMAZON_ORDERS = Bucket("getOrders", ("getOrders",))
AMAZON_ITEMS = Bucket("getOrderItems", ("getOrderItems",))
ADS_BUCKET = Bucket("per profile, all operations", ("profiles", "createReport", "getReport"))
RAKUTEN_BUCKET = Bucket("per shop, searchOrder + getOrder", ("searchOrder", "getOrder"))
TIKTOK_ORDERS = Bucket(tiktok_sbx.ORDERS_PATH, ("orders_search",))
SHOPEE_BUCKETS = {
    path: Bucket(path, (path.rsplit("/", 1)[-1],), shared=True)
    for path in (shopee_sbx.ORDER_LIST, shopee_sbx.ORDER_DETAIL)
}


def _amazon_bucket(path: str) -> Bucket | None:
    if path == "/orders/v0/orders":
        return AMAZON_ORDERS
    if path.startswith("/orders/v0/orders/") and path.endswith("/orderItems"):
        return AMAZON_ITEMS
    return None


def _ads_bucket(path: str) -> Bucket | None:
    # report downloads go to pre-signed storage URLs, outside the API's throttling
    return ADS_BUCKET if path == "/v2/profiles" or path.startswith("/reporting/reports") else None


def plans() -> list[Plan]:
    def quiet(shops, per_day: float) -> tuple[SandboxShop, ...]:
        return tuple(dataclasses.replace(s, base_daily_orders=per_day) for s in shops)

    marketplace = {
        p: tuple(s for s in MARKETPLACE_SHOPS if s.platform == p) for p in ("amazon", "tiktok", "shopee", "rakuten")
    }
    # 30 orders a day: one page per day window, so the server's work stays small
    return [
        Plan(
            "shopify",
            quiet(SHOPIFY_SHOPS, 30.0),
            150,
            1.0,
            "orders",
            lambda path: SHOPIFY_BUCKET,
            _shopify_limit,
            "the client's limiter is the bucket itself (2/s, 40)",
        ),
        Plan(
            "tiktok",
            quiet(marketplace["tiktok"], 30.0),
            150,
            1.0,
            "orders",
            lambda path: TIKTOK_ORDERS if path == tiktok_sbx.ORDERS_PATH else None,
            _tiktok_limit,
            "the client holds itself to CLIENT_QPS (20/s, burst 10) of the documented 50 QPS, by design",
        ),
        Plan(
            "amazon",
            # 2 orders a day: each window is one getOrders and about two getOrderItems
            quiet(marketplace["amazon"], 2.0),
            365,
            DEMO_RATE_SCALE,  # start_sandbox serves SP-API at AMAZON_SANDBOX_RATE_SCALE for the demo scale
            "orders",
            _amazon_bucket,
            _amazon_limit,
            f"demo usage plan: SP-API buckets at {AMAZON_SANDBOX_RATE_SCALE:g}x the documented rate, same burst",
        ),
        Plan(
            "amazon_ads",
            quiet(marketplace["amazon"], 2.0),
            25,
            1.0,
            "sp_campaigns",
            _ads_bucket,
            _ads_limit,
            "one async report per window: create, poll, download",
        ),
        Plan(
            "shopee",
            quiet(marketplace["shopee"], 30.0),
            100,
            1.0,
            "orders",
            lambda path: SHOPEE_BUCKETS.get(path),
            _shopee_limit,
            "the bucket is per partner (shared by the shops); so is the client's limiter (partner_limiters)",
        ),
        Plan(
            "rakuten",
            quiet(marketplace["rakuten"], 30.0),
            40,
            1.0,
            "orders",
            lambda path: RAKUTEN_BUCKET,
            _rakuten_limit,
            "one limiter for both operations, burst 1",
        ),
    ]


def bench_ingestion(platforms: tuple[str, ...] | None = None) -> list[dict]:
    rows = []
    for plan in plans():
        if platforms and plan.platform not in platforms:
            continue
        began = time.monotonic()
        rows.extend(_run(plan))
        print(f"[ingest] {plan.platform}: {time.monotonic() - began:.0f}s", file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(bench_ingestion(tuple(sys.argv[1:]) or None), indent=2, default=str))
