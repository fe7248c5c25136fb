"""The Amazon SP-API client against the sandbox over real HTTP, with Login with Amazon on its own
server: NextToken paging, the 2-minute and 180-day window rules, reports (state machine, expiring
document URLs, FATAL, CANCELLED), LWA refresh, per-operation rate limits, every fault knob, and a
re-sync that lands every order once in staging."""

from __future__ import annotations

import gzip
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests

from ingestion.clients.amazon import AmazonClient, complete_local_days, default_base_url, from_store
from ingestion.clients.lwa import lwa_token
from ingestion.config import StoreConfig
from ingestion.errors import AuthInvalid, BadPayload, BadRequest, WindowRejected
from ingestion.http import RetryPolicy
from ingestion.lake import RawLake
from ingestion.runner import sync_stores
from ingestion.sandbox.amazon import AmazonSandbox, amazon_order_id, shipment_visible_at
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, Order, SandboxData, SandboxShop
from ingestion.sandbox.lwa import LwaAuthority
from ingestion.sandbox.server import SandboxApp, SandboxClock, SandboxServer
from ingestion.sync import run_sync
from ingestion.sync_log import SyncLog
from ingestion.tokens import TokenState, TokenStore
from ingestion.windows import Window
from tests.conftest import run_dbt, utc

AMAZON_SHOPS = tuple(s for s in MARKETPLACE_SHOPS if s.platform == "amazon")
US, DE, JP = AMAZON_SHOPS  # America/Los_Angeles USD, Europe/Berlin EUR, Asia/Tokyo JPY
NOW = utc(2026, 6, 1, 12)
ORDERS_WINDOW = Window(utc(2026, 5, 22), utc(2026, 5, 29))  # 103 amz-us orders: two pages of 100
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)
SCALE = 2000.0  # the sandbox's (and by default the client's) multiple of the documented rates


def serve(app: SandboxApp) -> SandboxServer:
    server = SandboxServer(app)
    # The shared server writes headers and body in two sends; without TCP_NODELAY each response waits
    # ~40 ms for a delayed ACK, which thousands of getOrderItems calls cannot afford (see the report).
    server._httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server.start()


@pytest.fixture(scope="module")
def data() -> SandboxData:
    return SandboxData.generate(7, date(2026, 3, 1), date(2026, 6, 1), AMAZON_SHOPS)


@dataclass
class Amazon:
    data: SandboxData
    clock: SandboxClock
    lwa: LwaAuthority
    sandbox: AmazonSandbox
    url: str
    lwa_url: str
    state_dir: Path
    monkeypatch: pytest.MonkeyPatch

    def store(self, shop: SandboxShop, *, base_url: str | None = "", scale: float = SCALE) -> StoreConfig:
        entry, env = self.sandbox.store_entry(shop, self.url)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        if base_url != "":
            entry["base_url"] = base_url
        return StoreConfig.model_validate(
            {
                **entry,
                "store_id": shop.shop_id,
                "name": shop.name,
                "marketplace": shop.marketplace,
                "region": shop.region,
                "country": shop.country,
                "timezone": shop.timezone,
                "currency": shop.currency,
                "auth_url": self.lwa_url,
                "rate_limit_scale": min(scale, 1000),
            }
        )

    def client(
        self,
        shop: SandboxShop = US,
        *,
        scale: float = SCALE,
        retry: RetryPolicy = FAST_RETRY,
        state_dir: Path | None = None,
        marketplace_id: str | None = None,
        **kwargs,
    ) -> AmazonClient:
        store = self.store(shop)
        token = lwa_token(store, f"amazon-{shop.shop_id}", TokenStore(state_dir or self.state_dir))
        return AmazonClient(
            self.url,
            token,
            marketplace_id or shop.marketplace_id,
            rate_scale=scale,
            timezone=shop.timezone,
            retry=retry,
            **kwargs,
        )

    def calls(self, path_part: str, status: int | None = None) -> int:
        return sum(
            1 for _, path, s in self.sandbox.request_log if path_part in path and (status is None or s == status)
        )


def make_amazon(data, tmp_path, monkeypatch, **sandbox_kwargs) -> tuple[Amazon, list[SandboxServer]]:
    clock = SandboxClock(NOW)
    lwa = LwaAuthority(clock)
    sandbox = AmazonSandbox(data, clock, lwa=lwa, **{"rate_scale": SCALE, **sandbox_kwargs})
    servers = [serve(lwa), serve(sandbox)]
    amazon = Amazon(
        data, clock, lwa, sandbox, servers[1].base_url, servers[0].base_url, tmp_path / "state", monkeypatch
    )
    return amazon, servers


@pytest.fixture
def amazon(data, tmp_path, monkeypatch):
    amazon, servers = make_amazon(data, tmp_path, monkeypatch)
    yield amazon
    for server in servers:
        server.stop()


@pytest.fixture
def small_items_pages(data, tmp_path, monkeypatch):
    amazon, servers = make_amazon(data, tmp_path, monkeypatch, order_items_page_size=2)
    yield amazon
    for server in servers:
        server.stop()


# -- what the generator says the API should show at NOW -----------------------------------------
def served(data: SandboxData, shop: SandboxShop) -> list[Order]:
    return [o for o in data.orders_by_shop[shop.shop_id] if not o.is_test and o.created_at <= NOW]


def last_update(order: Order) -> datetime:
    stamps = (order.created_at, order.paid_at, order.fulfilled_at, order.cancelled_at)
    return max(t for t in stamps if t is not None and t <= NOW).replace(microsecond=0)


def orders_in(data: SandboxData, shop: SandboxShop, window: Window) -> dict[str, Order]:
    return {amazon_order_id(o): o for o in served(data, shop) if window.start <= last_update(o) <= window.end}


def landed(lake: RawLake, entity: str) -> list[dict]:
    return lake.read("amazon", entity).to_pylist()


def run(client: AmazonClient, entity: str, window: Window, lake: RawLake, log: SyncLog, shop: SandboxShop = US):
    return run_sync(client, store_id=shop.shop_id, entity=entity, window=window, lake=lake, log=log)


# -- orders ---------------------------------------------------------------------------------------
def test_orders_page_through_next_tokens_with_every_item(small_items_pages, data, lake, sync_log):
    amazon = small_items_pages
    result = run(amazon.client(), "orders", ORDERS_WINDOW, lake, sync_log)
    expected = orders_in(data, US, ORDERS_WINDOW)
    rows = landed(lake, "orders")
    assert result.ok and sorted(r["_record_id"] for r in rows) == sorted(expected)
    assert result.attempt.pages == 2 and len(expected) == 103  # 100 + 3, NextToken followed
    # items come in pages of two: an order with three items needs its own NextToken
    assert amazon.calls("/orderItems") == sum(-(-len(o.lines) // 2) for o in expected.values())
    for row in rows:
        payload, order = json.loads(row["_payload"]), expected[row["_record_id"]]
        assert [i["OrderItemId"] for i in payload["OrderItems"]] == [str(li.line_item_id) for li in order.lines]
        for item, line in zip(payload["OrderItems"], order.lines, strict=True):
            assert Decimal(item["ItemPrice"]["Amount"]) == line.price * line.quantity
            assert Decimal(item["PromotionDiscount"]["Amount"]) == line.total_discount
        assert row["_record_updated_at"] == last_update(order)
        if order.cancelled_at is not None:
            assert payload["OrderStatus"] == "Canceled" and "OrderTotal" not in payload
        else:
            assert payload["OrderStatus"] == "Shipped" if order.fulfilled_at <= NOW else "Unshipped"
            assert Decimal(payload["OrderTotal"]["Amount"]) == order.total_price
        assert payload["FulfillmentChannel"] == ("AFN" if order.platform_fulfilled else "MFN")
        assert "BuyerInfo" not in payload  # no PII without a Restricted Data Token


def test_jpy_amounts_regional_host_and_the_runner_keeps_behind_two_minutes(amazon, data, lake, sync_log, tmp_path):
    assert default_base_url(JP.marketplace_id) == "https://sellingpartnerapi-fe.amazon.com"
    assert default_base_url(DE.marketplace_id) == "https://sellingpartnerapi-eu.amazon.com"
    assert from_store(amazon.store(JP, base_url=None), TokenStore(tmp_path)).base_url.endswith("-fe.amazon.com")

    # The stores-file path end to end: from_store, env var credentials, the runner's safety lag.
    results = sync_stores(
        [amazon.store(JP)],
        "orders",
        utc(2026, 5, 31),
        NOW,
        lake,
        sync_log,
        source="amazon",
        now=NOW,
        token_store=TokenStore(tmp_path),
    )
    assert [r.attempt.status for r in results] == ["success"]
    window = Window(results[0].attempt.window_start, results[0].attempt.window_end)
    assert window.end == NOW - timedelta(minutes=2, seconds=30)
    assert window.start == utc(2026, 5, 29)  # two days of look-back
    rows = landed(lake, "orders")
    assert sorted(r["_record_id"] for r in rows) == sorted(orders_in(data, JP, window))
    amounts = [json.loads(r["_payload"])["OrderItems"][0]["ItemPrice"]["Amount"] for r in rows]
    assert all(a.isdigit() for a in amounts)  # yen: no minor units


def test_window_rules_are_enforced_and_classified(amazon, lake, sync_log):
    client = amazon.client()
    # LastUpdatedBefore within two minutes of now: 400 InvalidInput -> window_rejected
    with pytest.raises(WindowRejected, match="2 minutes"):
        list(client.iter_pages("orders", Window(utc(2026, 5, 31), NOW - timedelta(seconds=60))))
    result = run(client, "orders", Window(utc(2026, 5, 31), NOW), lake, sync_log)
    assert (result.attempt.error_class, result.attempt.http_status) == ("window_rejected", 400)
    assert sync_log.entries()[-1]["error_class"] == "window_rejected"

    token = client.token.get()
    url = f"{amazon.url}/orders/v0/orders"
    mixed = requests.get(
        url,
        params={
            "MarketplaceIds": US.marketplace_id,
            "CreatedAfter": "2026-05-01T00:00:00Z",
            "LastUpdatedAfter": "2026-05-01T00:00:00Z",
        },
        headers={"x-amz-access-token": token},
        timeout=5,
    )
    assert mixed.status_code == 400 and mixed.json()["errors"][0]["code"] == "InvalidInput"
    assert float(mixed.headers["x-amzn-RateLimit-Limit"]) == pytest.approx(0.0167 * SCALE)
    missing = requests.get(
        url, params={"LastUpdatedAfter": "2026-05-01T00:00:00Z"}, headers={"x-amz-access-token": token}, timeout=5
    )
    assert missing.status_code == 400 and "MarketplaceIds" in missing.json()["errors"][0]["message"]
    with pytest.raises(BadRequest, match="MarketplaceIds"):
        list(amazon.client(marketplace_id=DE.marketplace_id).iter_pages("orders", ORDERS_WINDOW))


# -- finances -------------------------------------------------------------------------------------
def expected_events(data: SandboxData, shop: SandboxShop, window: Window) -> set[tuple[str, str, str]]:
    out = set()
    for order in served(data, shop):
        visible = shipment_visible_at(order)
        if order.fulfilled_at and window.start <= order.fulfilled_at < window.end and visible <= NOW:
            out.add(("ShipmentEvent", amazon_order_id(order), order.fulfilled_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
        if order.cancelled_at is not None:
            continue
        for refund in order.refunds:
            if window.start <= refund.processed_at < window.end and refund.created_at <= NOW:
                out.add(("RefundEvent", amazon_order_id(order), refund.processed_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return out


def test_financial_events_are_sliced_to_30_days_and_land_every_event(amazon, data, lake, sync_log):
    window = Window(utc(2026, 3, 20), utc(2026, 5, 29))  # 70 days -> slices of 30, 30 and 10 days
    client = amazon.client()
    result = run(client, "financial_events", window, lake, sync_log)
    assert result.ok
    rows = [json.loads(r["_payload"]) for r in landed(lake, "financial_events")]
    got = {(p["event_type"], p["event"]["AmazonOrderId"], p["event"]["PostedDate"]) for p in rows}
    expected = expected_events(data, US, window)
    assert got == expected and len(rows) == len(expected)
    assert amazon.calls("/financialEvents") == result.attempt.pages
    # every slice starts with an empty page that carries a NextToken: never the end of the listing
    empty_pages = [p for p in client.iter_pages("financial_events", Window(utc(2026, 5, 1), utc(2026, 5, 29)))]
    assert len(empty_pages[0].records) == 0 and len(empty_pages) > 1

    # refunds: Principal = -subtotal, posted at processed_at; none for a cancelled order
    by_id = {amazon_order_id(o): o for o in served(data, US)}
    refunds = [p["event"] for p in rows if p["event_type"] == "RefundEvent"]
    assert refunds
    for event in refunds:
        order = by_id[event["AmazonOrderId"]]
        assert order.cancelled_at is None
        refund = next(r for r in order.refunds if r.processed_at.strftime("%Y-%m-%dT%H:%M:%SZ") == event["PostedDate"])
        principal = [
            Decimal(str(c["ChargeAmount"]["CurrencyAmount"]))
            for adj in event["ShipmentItemAdjustmentList"]
            for c in adj["ItemChargeAdjustmentList"]
            if c["ChargeType"] == "Principal"
        ]
        assert sum(principal) == -refund.amount
    cancelled_with_refund = [o for o in served(data, US) if o.cancelled_at and o.refunds]
    assert cancelled_with_refund  # the generator has them; the API must not
    assert not {amazon_order_id(o) for o in cancelled_with_refund} & {e["AmazonOrderId"] for e in refunds}


def test_more_than_180_days_apart_is_empty_on_amazon_and_refused_by_the_client(amazon):
    client = amazon.client()
    before = len(amazon.sandbox.request_log)
    with pytest.raises(WindowRejected, match="180 days"):
        list(client.iter_pages("financial_events", Window(utc(2025, 11, 1), utc(2026, 5, 29))))
    assert len(amazon.sandbox.request_log) == before  # refused before asking
    answer = requests.get(
        f"{amazon.url}/finances/v0/financialEvents",
        params={"PostedAfter": "2025-11-01T00:00:00Z", "PostedBefore": "2026-05-29T00:00:00Z"},
        headers={"x-amz-access-token": client.token.get()},
        timeout=5,
    ).json()
    assert answer["payload"]["FinancialEvents"]["ShipmentEventList"] == [] and "NextToken" not in answer["payload"]


# -- reports ----------------------------------------------------------------------------------------
def test_fba_inventory_report_goes_through_its_states_and_parses_by_header(amazon, data, lake, sync_log):
    for shop in (US, DE):  # classic TSV layout in NA, the newer one (extra and missing columns) in EU
        result = run(amazon.client(shop), "fba_inventory", Window(NOW - timedelta(days=1), NOW), lake, sync_log, shop)
        assert result.ok and result.attempt.rows == 10
    assert amazon.calls("/reports/2021-06-30/reports/") == 2 * 3  # IN_QUEUE, IN_PROGRESS, DONE each
    assert amazon.calls("/sbx-report-documents/") == 2
    rows = landed(lake, "fba_inventory")
    for shop in (US, DE):
        stock = {level.product.sku: level for level in data.inventory(shop.shop_id, NOW)}
        mine = [r for r in rows if r["_store_id"] == shop.shop_id]
        assert sorted(r["_record_id"] for r in mine) == sorted(stock)
        for row in mine:
            payload, level = json.loads(row["_payload"]), stock[row["_record_id"]]
            inbound = sum(int(payload[f"afn-inbound-{k}-quantity"]) for k in ("working", "shipped", "receiving"))
            assert (int(payload["afn-fulfillable-quantity"]), inbound) == (level.fulfillable, level.inbound)
            assert payload["snapshot_at"] == "2026-06-01T12:00:00Z" and row["_record_updated_at"] == NOW
            assert ("per-unit-volume" in payload) == (shop is US) and ("store" in payload) == (shop is DE)


def test_a_fatal_report_is_report_failed_and_cancelled_is_an_empty_success(amazon, lake, sync_log):
    amazon.sandbox.faults[US.shop_id].report_fatal_next = 1
    result = run(amazon.client(), "fba_inventory", Window(NOW - timedelta(days=1), NOW), lake, sync_log)
    assert (result.attempt.status, result.attempt.error_class) == ("failed", "report_failed")
    assert "could not be generated" in result.attempt.error_message  # the error document's text
    # Sales and Traffic starting more than two years back: CANCELLED, i.e. no data, not a failure
    old = Window(utc(2024, 3, 1, 8), utc(2024, 3, 3, 8))
    result = run(amazon.client(), "sales_traffic", old, lake, sync_log)
    assert result.ok and result.attempt.rows == 0 and amazon.calls("/reports/2021-06-30/reports", None) >= 2


def test_an_expired_document_url_is_asked_for_again_once(amazon, lake, sync_log):
    amazon.sandbox.expire_next_document_urls = 1
    result = run(amazon.client(), "fba_inventory", Window(NOW - timedelta(days=1), NOW), lake, sync_log)
    assert result.ok and result.attempt.rows == 10
    assert amazon.calls("/documents/") == 2 and amazon.calls("/sbx-report-documents/", 403) == 1
    amazon.sandbox.expire_next_document_urls = 2
    result = run(amazon.client(), "fba_inventory", Window(NOW - timedelta(days=1), NOW), lake, sync_log)
    assert result.attempt.status == "failed" and "expired" in result.attempt.error_message


def test_sales_traffic_is_one_report_per_complete_local_day(amazon, data, lake, sync_log):
    # Los Angeles days inside [05-25T00Z, 05-29T00Z): 25, 26 and 27 (the 28th ends at 05-29T07Z).
    window = Window(utc(2026, 5, 25), utc(2026, 5, 29))
    result = run(amazon.client(), "sales_traffic", window, lake, sync_log)
    days = [date(2026, 5, 25), date(2026, 5, 26), date(2026, 5, 27)]
    assert result.ok and result.attempt.pages == 3 and result.attempt.rows == 3 * 11
    rows = {r["_record_id"]: json.loads(r["_payload"]) for r in landed(lake, "sales_traffic")}
    for day in days:
        traffic = data.traffic(US.shop_id, day)
        by_date = rows[day.isoformat()]["row"]
        views = sum(t.page_views for t in traffic)
        assert by_date["trafficByDate"]["sessions"] == sum(t.sessions for t in traffic)
        assert by_date["trafficByDate"]["buyBoxPercentage"] == round(
            sum(t.buy_box_pct * t.page_views for t in traffic) / views, 2
        )
        assert by_date["salesByDate"]["unitsOrdered"] == sum(t.units_ordered for t in traffic)
        for t in traffic:
            row = rows[f"{day.isoformat()}:{t.product.asin}"]
            assert row["record_type"] == "by_asin" and row["date"] == day.isoformat()
            assert (row["row"]["trafficByAsin"]["pageViews"], row["row"]["salesByAsin"]["unitsOrdered"]) == (
                t.page_views,
                t.units_ordered,
            )
            assert Decimal(str(row["row"]["salesByAsin"]["orderedProductSales"]["amount"])) == t.ordered_sales


# -- LWA tokens -------------------------------------------------------------------------------------
def test_the_lwa_token_is_refreshed_once_and_kept_in_the_token_store(amazon, lake, sync_log, tmp_path):
    state = tmp_path / "tokens-a"
    assert run(amazon.client(state_dir=state), "orders", ORDERS_WINDOW, lake, sync_log).ok
    assert amazon.lwa.refresh_calls == 1
    stored = TokenStore(state).load(f"amazon-{US.shop_id}")
    assert stored.access_token.startswith("Atza|") and stored.refresh_token == f"Atzr|sbx-sp-{US.shop_id}"
    # A later client of the same store reuses the stored access token while it is valid.
    assert run(amazon.client(state_dir=state), "orders", ORDERS_WINDOW, lake, sync_log).ok
    assert amazon.lwa.refresh_calls == 1

    # A stored token Amazon does not know (an earlier authorization): one refresh, then it works.
    other = tmp_path / "tokens-b"
    TokenStore(other).save(
        f"amazon-{US.shop_id}",
        TokenState("Atza|from-another-life", datetime.now(UTC) + timedelta(hours=1), f"Atzr|sbx-sp-{US.shop_id}"),
    )
    assert run(amazon.client(state_dir=other), "orders", ORDERS_WINDOW, lake, sync_log).ok
    assert amazon.lwa.refresh_calls == 2


def test_an_expired_access_token_is_refreshed_once_mid_sync(amazon, lake, sync_log):
    client = amazon.client()
    client.token.get()
    amazon.sandbox.faults[US.shop_id].token_expired = True
    result = run(client, "orders", ORDERS_WINDOW, lake, sync_log)
    assert result.ok and amazon.lwa.refresh_calls == 2
    assert amazon.calls("/orders/v0/orders", 403) == 1


def test_a_revoked_authorization_is_auth_invalid(amazon, lake, sync_log):
    client = amazon.client()
    client.token.get()
    amazon.sandbox.faults[US.shop_id].token_revoked = True
    with pytest.raises(AuthInvalid, match="invalid_grant"):
        list(client.iter_pages("orders", ORDERS_WINDOW))
    result = run(amazon.client(), "orders", ORDERS_WINDOW, lake, sync_log)
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["error_class"]) == ("failed", "auth_invalid") and result.files == []


# -- rate limits and faults ---------------------------------------------------------------------------
def test_the_client_adopts_the_rate_header_and_stays_under_the_limit(data, tmp_path, monkeypatch, lake, sync_log):
    amazon, servers = make_amazon(data, tmp_path, monkeypatch, rate_scale=50)  # getOrderItems 25/s, burst 30
    try:
        client = amazon.client(scale=500)  # configured ten times too fast
        window = Window(utc(2026, 5, 24), utc(2026, 5, 29))
        result = run(client, "orders", window, lake, sync_log)
        assert result.ok and result.attempt.rows == len(orders_in(data, US, window)) > 40
        assert client.limiters["getOrderItems"].rate == pytest.approx(25.0)  # from x-amzn-RateLimit-Limit
        assert amazon.calls("", 429) == 0 and result.attempt.throttled == 0
    finally:
        for server in servers:
            server.stop()


def test_quota_exceeded_is_retried_after_one_token_of_wait(amazon, lake, sync_log):
    amazon.sandbox.faults[US.shop_id].throttle_next = 1
    token = amazon.client().token.get()
    throttled = requests.get(
        f"{amazon.url}/orders/v0/orders/{'1' * 3}-0000000-0000000/orderItems",
        headers={"x-amz-access-token": token},
        timeout=5,
    )
    assert throttled.status_code == 429 and throttled.json()["errors"][0]["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in throttled.headers and "Retry-After" not in throttled.headers

    # No Retry-After: the client waits 1/rate of the operation (getOrders: 1 / 33.4 s here)...
    amazon.sandbox.faults[US.shop_id].throttle_next = 2
    client = amazon.client()
    result = run(client, "orders", ORDERS_WINDOW, lake, sync_log)
    assert result.ok and result.attempt.throttled == 2 and result.attempt.retries == 2
    assert amazon.calls("/orders/v0/orders", 429) == 3
    assert 2 / (0.0167 * SCALE) <= client.http.stats.slept_seconds < 2 * FAST_RETRY.backoff_max + 0.05

    # ...capped by the retry policy: at 1/min a real getOrders would otherwise wait a minute per 429.
    amazon.sandbox.faults[US.shop_id].throttle_next = 2
    slow = amazon.client(scale=1.0)
    assert run(slow, "orders", ORDERS_WINDOW, lake, sync_log).ok
    assert 2 * FAST_RETRY.backoff_max <= slow.http.stats.slept_seconds < 1.0


@pytest.mark.parametrize("knob", ["server_error_next", "malformed_next", "drop_next"])
def test_transient_faults_are_retried_without_losing_records(amazon, data, lake, sync_log, knob):
    setattr(amazon.sandbox.faults[US.shop_id], knob, 2)
    result = run(amazon.client(), "orders", ORDERS_WINDOW, lake, sync_log)
    assert result.ok and result.attempt.retries == 2
    assert sorted(r["_record_id"] for r in landed(lake, "orders")) == sorted(orders_in(data, US, ORDERS_WINDOW))


def test_a_truncated_page_or_document_never_becomes_no_data(amazon, lake, sync_log):
    amazon.sandbox.faults[US.shop_id].malformed_next = 10
    with pytest.raises(BadPayload):
        list(amazon.client().iter_pages("orders", ORDERS_WINDOW))
    result = run(amazon.client(), "orders", ORDERS_WINDOW, lake, sync_log)
    assert (result.attempt.status, result.attempt.error_class, result.attempt.rows) == ("failed", "bad_payload", 0)

    # a gzip document cut in half is retried, then lands whole
    amazon.sandbox.faults[US.shop_id].malformed_next = 0
    client = amazon.client()
    report_id = client._create_report(
        {"reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "marketplaceIds": [US.marketplace_id]}
    )
    report = client._await_reports([report_id])[report_id]
    amazon.sandbox.faults[US.shop_id].malformed_next = 2  # the metadata answer and then the download
    document = client._document(report["reportDocumentId"])
    assert gzip.compress(document.content)  # a whole, decompressed TSV
    assert document.content.decode().count("\n") == 11


def test_pages_that_change_and_an_interrupted_sync_land_every_order_once_in_staging(
    amazon, data, lake, sync_log, settings, monkeypatch, tmp_path
):
    faults = amazon.sandbox.faults[US.shop_id]
    expected = orders_in(data, US, ORDERS_WINDOW)
    # 1. An order changes after page 1 was served: it comes again on page 2 (two versions, no loss).
    faults.change_between_pages = 1
    first = run(amazon.client(), "orders", ORDERS_WINDOW, lake, sync_log)
    ids = [r["_record_id"] for r in landed(lake, "orders")]
    assert first.ok and len(ids) == len(expected) + 1 and set(ids) == set(expected)

    # 2. An outage starts after the first page: the attempt fails and keeps what it landed.
    class OutageAfterFirstPage(AmazonClient):
        def iter_pages(self, entity, window):
            for number, page in enumerate(super().iter_pages(entity, window)):
                yield page
                if number == 0:
                    faults.server_error_next = 100

    broken = amazon.client()
    broken.__class__ = OutageAfterFirstPage
    second = run(broken, "orders", ORDERS_WINDOW, lake, sync_log)
    assert (second.attempt.status, second.attempt.error_class, second.attempt.rows) == ("failed", "server_error", 100)
    # 3. The re-run lands the same records.
    faults.server_error_next = 0
    assert run(amazon.client(), "orders", ORDERS_WINDOW, lake, sync_log).ok

    finance_window = Window(utc(2026, 5, 1), utc(2026, 5, 29))
    for entity, window in (
        ("financial_events", finance_window),
        ("fba_inventory", Window(NOW - timedelta(days=1), NOW)),
        ("sales_traffic", Window(utc(2026, 5, 27), utc(2026, 5, 29))),
    ):
        assert run(amazon.client(), entity, window, lake, sync_log).ok

    monkeypatch.setenv("KPI_PII_SALT", "test-salt")
    run_dbt(
        "build",
        "--select",
        "staging.amazon",
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        orders = con.execute("select count(*), count(distinct order_id) from staging.stg_amazon__orders").fetchone()
        gmv = con.execute(
            "select sum(l.unit_price * l.quantity), sum(l.discount_amount) from staging.stg_amazon__orders o "
            "join staging.stg_amazon__order_lines l using (store_id, order_id) where not o.is_cancelled"
        ).fetchone()
        shipped = dict(con.execute("select order_id, shipped_at from staging.stg_amazon__orders").fetchall())
        refunds = con.execute("select count(*), sum(refund_amount) from staging.stg_amazon__refunds").fetchone()
        inventory = con.execute(
            "select count(*), sum(fulfillable_quantity) from staging.stg_amazon__fba_inventory"
        ).fetchone()
        traffic = con.execute("select count(*) from staging.stg_amazon__sales_traffic_by_asin").fetchone()[0]
    kept = [o for o in expected.values() if o.cancelled_at is None]
    assert orders == (len(expected), len(expected))
    assert gmv == (
        sum(li.price * li.quantity for o in kept for li in o.lines),
        sum(li.total_discount for o in kept for li in o.lines),
    )
    assert all(
        shipped[oid] == (o.fulfilled_at.replace(tzinfo=None) if o.fulfilled_at and o.fulfilled_at <= NOW else None)
        for oid, o in expected.items()
    )  # the bumped order keeps its real ship time
    refund_lines = [
        line
        for o in served(data, US)
        if o.cancelled_at is None
        for r in o.refunds
        if finance_window.start <= r.processed_at < finance_window.end and r.created_at <= NOW
        for line in r.lines
    ]
    assert refunds == (len(refund_lines), sum(line.subtotal for line in refund_lines))
    assert inventory == (10, sum(level.fulfillable for level in data.inventory(US.shop_id, NOW)))
    assert traffic == 10  # one Los Angeles day complete inside [05-27T00Z, 05-29T00Z)
    assert os.environ["KPI_PII_SALT"] == "test-salt"


def test_marketplace_local_days_follow_the_store_time_zone():
    window = Window(utc(2026, 5, 25), utc(2026, 5, 29))
    days = [date(2026, 5, d) for d in (25, 26, 27, 28)]
    assert complete_local_days(window, ZoneInfo("Asia/Tokyo")) == days[1:]
    assert complete_local_days(window, ZoneInfo("America/Los_Angeles")) == days[:3]
    assert complete_local_days(Window(utc(2026, 5, 25), utc(2026, 5, 25, 12)), ZoneInfo("UTC")) == []
