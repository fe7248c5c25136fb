"""The Shopee client against the Shopee sandbox over real HTTP: signing, single-use refresh tokens,
15-day windows, list + detail composition, paging, throttling, every fault knob, and re-runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from ingestion.clients.shopee import (
    ORDER_DETAIL,
    ShopeeClient,
    from_store,
    shopee_refresher,
)
from ingestion.config import StoreConfig
from ingestion.errors import AuthInvalid, BadPayload, BadRequest, ConfigError, WindowRejected
from ingestion.http import HttpClient, RetryPolicy
from ingestion.sandbox.generator import CATALOG, MARKETPLACE_SHOPS, Incident, SandboxData
from ingestion.sandbox.server import SandboxClock, SandboxServer
from ingestion.sandbox.shopee import PARTNER_ID, PARTNER_KEY, ShopeeSandbox, order_sn, return_sn, shop_number
from ingestion.sync import run_sync
from ingestion.tokens import RefreshingToken, TokenState, TokenStore
from ingestion.windows import Window
from tests.conftest import utc

SHOP = next(s for s in MARKETPLACE_SHOPS if s.shop_id == "shopee-sg")
SHOP_NUM = shop_number(SHOP.shop_id)
NOW = utc(2026, 6, 1)
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)
ONE_SLICE = Window(NOW - timedelta(days=15), NOW)


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """These tests never load the Dagster definitions, so they skip `dbt parse` (and leave the
    shared dbt target folder alone)."""
    return None


@pytest.fixture(scope="module")
def data() -> SandboxData:
    return SandboxData.generate(7, date(2026, 3, 1), date(2026, 5, 31), (SHOP,))


@dataclass
class Shopee:
    app: ShopeeSandbox
    server: SandboxServer
    clock: SandboxClock
    seed: str  # the refresh token the seller's authorization produced

    @property
    def url(self) -> str:
        return self.server.base_url

    def statuses(self, path_end: str = "") -> list[int]:
        return [s for _, p, s in self.app.request_log if p.endswith(path_end)]


def start(data: SandboxData, clock: SandboxClock, rate_scale: float = 50) -> Shopee:
    app = ShopeeSandbox(data, clock, rate_scale=rate_scale)
    server = SandboxServer(app).start()
    return Shopee(app, server, clock, app.issue_refresh_token(SHOP))


@pytest.fixture
def sandbox(data):
    shopee = start(data, SandboxClock(NOW))
    yield shopee
    shopee.server.stop()


def token(sb: Shopee, state_dir, seed: str | None = None, clock=None) -> RefreshingToken:
    clock = clock or sb.clock.now
    refresh = shopee_refresher(
        sb.url, PARTNER_ID, PARTNER_KEY, SHOP_NUM, HttpClient("shopee", retry=FAST_RETRY), clock=clock
    )
    seed_state = TokenState(None, None, seed or sb.seed)
    return RefreshingToken(f"shopee-{SHOP.shop_id}", TokenStore(state_dir), seed_state, refresh, clock=clock)


def client(
    sb: Shopee,
    access: str | RefreshingToken,
    *,
    partner_key: str = PARTNER_KEY,
    clock=None,
    retry: RetryPolicy = FAST_RETRY,
    rate_scale: float = 50,
) -> ShopeeClient:
    return ShopeeClient(
        sb.url,
        PARTNER_ID,
        partner_key,
        SHOP_NUM,
        access,
        rate_scale=rate_scale,
        retry=retry,
        clock=clock or sb.clock.now,
    )


def expected_orders(sb: Shopee, window: Window) -> set[str]:
    """order_sn of the orders whose update_time (as the platform shows it now) is in the window."""
    now = sb.clock.now()
    return {
        order_sn(o)
        for o in sb.app.data.orders_by_shop[SHOP.shop_id]
        if o.created_at <= now and window.start <= sb.app.update_time(o, now) < window.end
    }


def landed(lake, entity: str = "orders") -> list[str]:
    return lake.read("shopee", entity).column("_record_id").to_pylist()


def sync(c: ShopeeClient, window: Window, lake, sync_log, entity: str = "orders"):
    return run_sync(c, store_id=SHOP.shop_id, entity=entity, window=window, lake=lake, log=sync_log)


# -- orders: list + detail, paging, windows -------------------------------------------------------
def test_every_order_of_a_long_window_lands_once_through_cursor_pages(sandbox, lake, sync_log, tmp_path):
    window = Window(utc(2026, 3, 1), NOW)  # 92 days: 7 slices of at most 15 days
    result = sync(client(sandbox, token(sandbox, tmp_path)), window, lake, sync_log)
    assert result.ok, result.attempt.error_message
    expected = expected_orders(sandbox, window)
    assert len(expected) > 700
    assert sorted(landed(lake)) == sorted(expected)  # every order once, none lost between pages
    list_calls = len(sandbox.statuses("get_order_list"))
    assert result.attempt.pages == list_calls > 7  # several cursor pages per 15-day slice
    detail_calls = len(sandbox.statuses("get_order_detail"))
    assert detail_calls >= -(-len(expected) // 50)  # never more than 50 order_sn per detail call
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["rows"], entry["pages"]) == ("success", len(expected), list_calls)
    assert entry["request_id"] and entry["request_id"].startswith("sbx-")


def test_a_record_is_the_detail_object_with_the_generators_numbers(sandbox, lake, sync_log, tmp_path):
    assert sync(client(sandbox, token(sandbox, tmp_path)), ONE_SLICE, lake, sync_log).ok
    rows = {r["_record_id"]: r for r in lake.read("shopee", "orders").to_pylist()}
    discounted = next(
        o
        for o in sandbox.app.data.orders_by_shop[SHOP.shop_id]
        if order_sn(o) in rows and o.total_discounts > 0 and o.cancelled_at is None
    )
    row = rows[order_sn(discounted)]
    payload = json.loads(row["_payload"])
    assert payload["total_amount"] == float(discounted.total_price)
    assert payload["currency"] == "SGD"
    assert payload["create_time"] == int(discounted.created_at.timestamp())
    assert row["_record_updated_at"] == datetime.fromtimestamp(payload["update_time"], UTC)
    for item, li in zip(payload["item_list"], discounted.lines, strict=True):
        assert item["model_sku"] == li.product.sku
        assert item["model_quantity_purchased"] == li.quantity
        assert item["model_original_price"] == float(li.price)
        assert item["model_discounted_price"] == float(li.price - li.total_discount / li.quantity)
    # buyer names and addresses are never asked for, so they never reach the lake
    assert "recipient_address" not in payload and "buyer_username" not in payload
    cancelled = [json.loads(r["_payload"]) for r in rows.values() if json.loads(r["_payload"])["cancel_reason"]]
    assert cancelled and {p["order_status"] for p in cancelled} == {"CANCELLED"}


def test_windows_are_sliced_to_15_days_and_a_longer_one_is_rejected(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, token(sandbox, tmp_path))
    with pytest.raises(WindowRejected) as raised:
        list(c.iter_pages("orders", Window(NOW - timedelta(days=16), NOW)))
    assert raised.value.http_status == 400 and "15 days" in str(raised.value)
    with pytest.raises(WindowRejected):
        list(c.iter_pages("returns", Window(NOW - timedelta(days=16), NOW)))
    window = Window(NOW - timedelta(days=40), NOW)
    assert sync(c, window, lake, sync_log).ok  # the sync slices: 15 + 15 + 10 days
    assert sorted(landed(lake)) == sorted(expected_orders(sandbox, window))


def test_detail_cap_of_50_is_an_error_in_a_200_body(sandbox, tmp_path):
    c = client(sandbox, token(sandbox, tmp_path))
    sns = [order_sn(o) for o in sandbox.app.data.orders_by_shop[SHOP.shop_id][:51]]
    with pytest.raises(BadRequest) as raised:
        c.call(ORDER_DETAIL, {"order_sn_list": ",".join(sns)})
    assert raised.value.http_status == 200 and "error_param" in str(raised.value)
    detail, _ = c.call(ORDER_DETAIL, {"order_sn_list": ",".join(sns[:50])})
    assert len(detail["order_list"]) == 50


# -- signing and clocks ---------------------------------------------------------------------------
def test_a_wrong_partner_key_fails_the_signature_check(sandbox, lake, sync_log, tmp_path):
    good = token(sandbox, tmp_path).get()
    wrong = client(sandbox, good, partner_key="not-the-partner-key")
    with pytest.raises(AuthInvalid, match="error_sign") as raised:
        list(wrong.iter_pages("orders", ONE_SLICE))
    assert raised.value.http_status == 403
    result = sync(wrong, ONE_SLICE, lake, sync_log)
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["error_class"], entry["http_status"]) == ("failed", "auth_invalid", 403)
    assert result.files == []
    # the same token, correctly signed, works
    assert sync(client(sandbox, good), ONE_SLICE, lake, sync_log).ok


def test_a_timestamp_older_than_five_minutes_is_refused(sandbox, tmp_path):
    good = token(sandbox, tmp_path).get()
    late = client(sandbox, good, clock=lambda: NOW - timedelta(minutes=6))
    with pytest.raises(BadRequest, match="host clock"):
        list(late.iter_pages("orders", ONE_SLICE))
    skewed = client(sandbox, good, clock=lambda: NOW - timedelta(minutes=4))
    assert next(iter(skewed.iter_pages("orders", ONE_SLICE))).records


# -- tokens ---------------------------------------------------------------------------------------
def test_single_use_refresh_tokens_rotate_and_the_new_one_is_persisted(sandbox, lake, sync_log, tmp_path):
    now = [NOW]
    t = token(sandbox, tmp_path / "state", clock=lambda: now[0])
    c = client(sandbox, t, clock=lambda: now[0])
    assert sync(c, ONE_SLICE, lake, sync_log).ok
    assert sandbox.app.refresh_calls == 1
    first = TokenStore(tmp_path / "state").load(f"shopee-{SHOP.shop_id}")
    assert first.refresh_token != sandbox.seed and first.expires_at == NOW + timedelta(hours=4)

    # the seed was used once and is dead now: whoever still holds it must re-authorize
    with pytest.raises(AuthInvalid, match="refused the token refresh"):
        token(sandbox, tmp_path / "elsewhere").get()

    # four hours later the access token is stale: refreshed before asking, with the rotated token
    now[0] += timedelta(hours=3, minutes=56)
    sandbox.clock.set(now[0])
    assert sync(c, ONE_SLICE, lake, sync_log).ok
    assert sandbox.app.refresh_calls == 2
    second = TokenStore(tmp_path / "state").load(f"shopee-{SHOP.shop_id}")
    assert second.refresh_token not in (first.refresh_token, sandbox.seed)
    api_statuses = sandbox.statuses("get_order_list") + sandbox.statuses("get_order_detail")
    assert 403 not in api_statuses  # proactive: no API call was refused on the way

    # a fresh process (same state dir, stale seed in the environment) continues with the stored pair
    restarted = token(sandbox, tmp_path / "state", clock=lambda: now[0])
    assert restarted.get() == second.access_token and sandbox.app.refresh_calls == 2


def test_an_access_token_rejected_as_expired_is_refreshed_once(sandbox, lake, sync_log, tmp_path):
    t = token(sandbox, tmp_path)
    c = client(sandbox, t)
    t.get()
    sandbox.app.faults[SHOP.shop_id].token_expired = True
    result = sync(c, ONE_SLICE, lake, sync_log)
    assert result.ok and sandbox.app.refresh_calls == 2 and t.refreshes == 2
    assert sandbox.statuses().count(403) == 1
    assert sorted(landed(lake)) == sorted(expected_orders(sandbox, ONE_SLICE))


def test_a_revoked_authorization_is_auth_invalid_in_the_sync_log(sandbox, lake, sync_log, tmp_path):
    t = token(sandbox, tmp_path)
    t.get()
    sandbox.app.faults[SHOP.shop_id].token_revoked = True
    result = sync(client(sandbox, t), ONE_SLICE, lake, sync_log)
    assert (result.attempt.status, result.attempt.error_class) == ("failed", "auth_invalid")
    assert "re-authorize" in result.attempt.error_message and result.attempt.http_status == 403
    assert sync_log.entries()[-1]["error_class"] == "auth_invalid"


# -- throttling and faults ------------------------------------------------------------------------
def test_throttled_calls_are_retried(sandbox, lake, sync_log, tmp_path):
    sandbox.app.faults[SHOP.shop_id].throttle_next = 2
    result = sync(client(sandbox, token(sandbox, tmp_path)), ONE_SLICE, lake, sync_log)
    assert result.ok and result.attempt.throttled == 2 and result.attempt.retries >= 2
    assert sandbox.statuses().count(429) == 2
    assert result.attempt.rows == len(expected_orders(sandbox, ONE_SLICE))


def test_the_client_stays_under_the_partner_limit_and_recovers_when_it_does_not(sandbox, tmp_path):
    sandbox.app.set_rate_scale(1)  # 10 requests/s per API, bursts of 10
    t = token(sandbox, tmp_path)
    sn = order_sn(sandbox.app.data.orders_by_shop[SHOP.shop_id][0])
    polite = client(sandbox, t, rate_scale=1)  # 8 requests/s, bursts of 8
    for _ in range(30):
        polite.call(ORDER_DETAIL, {"order_sn_list": sn})
    assert polite.http.stats.throttled == 0 and 429 not in sandbox.statuses()
    assert polite.http.stats.slept_seconds > 2  # it waited for its own bucket instead
    # a client configured far above the partner's limit runs into 429s, backs off and still succeeds
    sandbox.app.set_rate_scale(1)
    greedy = client(sandbox, t, rate_scale=50, retry=RetryPolicy(max_attempts=8, backoff_base=0.1, backoff_max=0.4))
    for _ in range(30):
        greedy.call(ORDER_DETAIL, {"order_sn_list": sn})
    assert greedy.http.stats.throttled > 0 and sandbox.statuses().count(429) == greedy.http.stats.throttled


def test_server_errors_and_a_truncated_body_are_retried(sandbox, lake, sync_log, tmp_path):
    faults = sandbox.app.faults[SHOP.shop_id]
    faults.server_error_next, faults.malformed_next = 2, 1
    result = sync(client(sandbox, token(sandbox, tmp_path)), ONE_SLICE, lake, sync_log)
    assert result.ok and result.attempt.retries == 3
    assert sandbox.statuses().count(500) == 2
    assert sorted(landed(lake)) == sorted(expected_orders(sandbox, ONE_SLICE))


def test_a_connection_dropped_mid_body_is_retried(sandbox, lake, sync_log, tmp_path):
    sandbox.app.faults[SHOP.shop_id].drop_next = 2
    result = sync(client(sandbox, token(sandbox, tmp_path)), ONE_SLICE, lake, sync_log)
    assert result.ok and result.attempt.retries == 2
    assert sorted(landed(lake)) == sorted(expected_orders(sandbox, ONE_SLICE))


def test_persistent_garbage_is_a_bad_payload_never_an_empty_page(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, token(sandbox, tmp_path))
    sandbox.app.faults[SHOP.shop_id].malformed_next = 10
    with pytest.raises(BadPayload):
        list(c.iter_pages("orders", ONE_SLICE))
    result = sync(c, ONE_SLICE, lake, sync_log)
    assert (result.attempt.status, result.attempt.error_class, result.attempt.rows) == ("failed", "bad_payload", 0)
    assert sync_log.entries()[-1]["error_class"] == "bad_payload"


def test_an_order_that_changes_between_pages_is_caught_by_the_next_window(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, token(sandbox, tmp_path))
    before = expected_orders(sandbox, ONE_SLICE)
    sandbox.app.faults[SHOP.shop_id].change_between_pages = 1
    assert sync(c, ONE_SLICE, lake, sync_log).ok
    ((_, moved),) = sandbox.app._edits.keys()
    # the seller edited an order on page 2 while page 1 was read: its update_time moved past the
    # window, the others were not shifted by it (the cursor is a position, not an offset)
    assert moved in before and sorted(landed(lake)) == sorted(before - {moved})
    # the next scheduled window (with its look-back) brings it, edited
    sandbox.clock.set(NOW + timedelta(hours=1))
    assert sync(c, Window(NOW - timedelta(days=2), NOW + timedelta(hours=1)), lake, sync_log).ok
    assert set(landed(lake)) == before
    versions = [
        json.loads(r["_payload"]) for r in lake.read("shopee", "orders").to_pylist() if r["_record_id"] == moved
    ]
    assert versions[-1]["update_time"] >= int(NOW.timestamp())


def test_an_interrupted_sync_rerun_lands_the_same_records_without_loss(sandbox, lake, sync_log, tmp_path):
    window = Window(NOW - timedelta(days=46), NOW)  # 4 slices, about 20 calls
    expected = expected_orders(sandbox, window)
    t = token(sandbox, tmp_path)
    t.get()
    sandbox.app.set_rate_scale(0.0001)  # the partner's budget runs dry after a burst of 10 calls
    impatient = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02)
    first = sync(client(sandbox, t, retry=impatient), window, lake, sync_log)
    assert (first.attempt.status, first.attempt.error_class) == ("failed", "throttled")
    partial = landed(lake)
    assert 0 < len(partial) < len(expected) and first.files  # what was read is kept, not lost
    sandbox.app.set_rate_scale(50)
    second = sync(client(sandbox, t), window, lake, sync_log)
    assert second.ok and second.attempt.rows == len(expected)
    everything = landed(lake)
    assert set(everything) == expected and len(everything) == len(partial) + len(expected)
    assert [e["status"] for e in sync_log.entries()] == ["failed", "success"]


# -- returns --------------------------------------------------------------------------------------
def test_returns_land_once_with_the_generators_refund_amounts(lake, sync_log, tmp_path):
    # a recall of every SKU on one day: over a hundred returns in one window, so page_no paging runs
    recall = tuple(Incident(SHOP.shop_id, date(2026, 5, 20), p.sku, share=1.0) for p in CATALOG)
    data = SandboxData.generate(7, date(2026, 4, 1), date(2026, 5, 31), (SHOP,), recall)
    sb = start(data, SandboxClock(NOW))
    try:
        window = Window(utc(2026, 4, 1), NOW)
        result = sync(client(sb, token(sb, tmp_path)), window, lake, sync_log, entity="returns")
        assert result.ok, result.attempt.error_message
        orders = data.orders_by_shop[SHOP.shop_id]
        expected = {
            return_sn(r, o): (o, r)
            for o in orders
            if o.cancelled_at is None
            for r in o.refunds
            if window.start <= r.created_at < NOW
        }
        assert len(expected) > 100
        payloads = [json.loads(p) for p in lake.read("shopee", "returns").column("_payload").to_pylist()]
        assert sorted(p["return_sn"] for p in payloads) == sorted(expected)
        assert result.attempt.pages > 5  # 5 slices, one of them with two pages
        for p in payloads:
            order, refund = expected[p["return_sn"]]
            assert p["order_sn"] == order_sn(order)
            assert p["refund_amount"] == float(refund.amount)
            assert sorted(i["refund_amount"] for i in p["item"]) == sorted(float(rl.subtotal) for rl in refund.lines)
            assert p["create_time"] == int(refund.created_at.timestamp())
            assert p["refund_time"] == int(refund.processed_at.timestamp())
        # cancelled orders carry the generator's "cancelled" refund, which Shopee never shows
        assert any(o.cancelled_at is not None and o.refunds for o in orders)
        assert not {p["order_sn"] for p in payloads} & {order_sn(o) for o in orders if o.cancelled_at}
    finally:
        sb.server.stop()


# -- configuration --------------------------------------------------------------------------------
def test_the_sandbox_store_entry_configures_a_working_client(lake, sync_log, tmp_path, monkeypatch):
    today = datetime.now(UTC).date()
    data = SandboxData.generate(7, today - timedelta(days=6), today, (SHOP,))
    sb = start(data, SandboxClock())  # from_store signs with the real clock: the sandbox runs on it too
    try:
        entry, env = sb.app.store_entry(SHOP, sb.url)
        assert entry["account"] == {"shop_id": str(SHOP_NUM)}
        assert set(env) == {
            "SHOPEE_PARTNER_ID_SHOPEE_SG",
            "SHOPEE_PARTNER_KEY_SHOPEE_SG",
            "SHOPEE_REFRESH_TOKEN_SHOPEE_SG",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        store = StoreConfig.model_validate(
            {
                **entry,
                "store_id": SHOP.shop_id,
                "name": SHOP.name,
                "marketplace": SHOP.marketplace,
                "region": SHOP.region,
                "country": SHOP.country,
                "timezone": SHOP.timezone,
                "currency": SHOP.currency,
                "rate_limit_scale": 50,
            }
        )
        with pytest.raises(ConfigError, match="token store"):
            from_store(store, None)
        c = from_store(store, TokenStore(tmp_path))
        now = datetime.now(UTC)
        window = Window(now - timedelta(days=5), now)
        result = sync(c, window, lake, sync_log)
        assert result.ok, result.attempt.error_message
        assert result.attempt.rows == len(expected_orders(sb, window)) > 0
        stored = TokenStore(tmp_path).load(f"shopee-{SHOP.shop_id}")
        assert stored.refresh_token != env["SHOPEE_REFRESH_TOKEN_SHOPEE_SG"]
    finally:
        sb.server.stop()


# -- reviews and buyer chats ----------------------------------------------------------------------
def review_ids(data: SandboxData, window: Window, now: datetime) -> tuple[set[str], set[str]]:
    """Comments written in the window, and those written or replied to in it (as visible at now)."""
    written, touched = set(), set()
    for r in data.all_reviews(SHOP.shop_id):
        if r.created_at > now:
            continue
        if window.start <= r.created_at < window.end:
            written.add(str(r.review_id))
        if window.start <= r.updated_at(now) < window.end or str(r.review_id) in written:
            touched.add(str(r.review_id))
    return written, touched


def test_reviews_page_newest_first_until_the_window_start(sandbox, lake, sync_log, tmp_path):
    window = Window(utc(2026, 3, 1), NOW)
    c = client(sandbox, token(sandbox, tmp_path))
    result = sync(c, window, lake, sync_log, entity="reviews")
    assert result.ok, result.attempt.error_message
    written, touched = review_ids(sandbox.app.data, window, NOW)
    assert len(written) > 150 and result.attempt.pages == len(sandbox.statuses("get_comment")) >= 2
    rows = lake.read("shopee", "reviews").to_pylist()
    assert written <= {r["_record_id"] for r in rows} <= touched and len(rows) == len({r["_record_id"] for r in rows})
    by_id = {str(r.review_id): r for r in sandbox.app.data.all_reviews(SHOP.shop_id)}
    for row in rows:
        payload, review = json.loads(row["_payload"]), by_id[row["_record_id"]]
        assert (payload["rating_star"], payload["item_id"], payload["order_sn"]) == (
            review.rating,
            review.line.product.product_id,
            order_sn(review.order),
        )
        assert row["_record_updated_at"] == review.updated_at(NOW)  # a seller reply is a newer version
    # a short window reads one page only: the listing is newest first
    before = len(sandbox.statuses("get_comment"))
    assert sync(c, ONE_SLICE, lake, sync_log, entity="reviews").ok
    assert len(sandbox.statuses("get_comment")) - before == 1


def test_a_window_beyond_the_500_newest_comments_is_window_rejected(lake, sync_log, tmp_path):
    data = SandboxData.generate(7, date(2025, 6, 1), date(2026, 5, 31), (SHOP,))
    sb = start(data, SandboxClock(NOW))
    try:
        assert len(data.all_reviews(SHOP.shop_id)) > 500
        c = client(sb, token(sb, tmp_path))
        result = sync(c, Window(utc(2025, 6, 1), NOW), lake, sync_log, entity="reviews")
        assert (result.attempt.status, result.attempt.error_class) == ("failed", "window_rejected")
        assert "500 comments" in result.attempt.error_message
        assert sync(c, Window(NOW - timedelta(days=30), NOW), lake, sync_log, entity="reviews").ok
    finally:
        sb.server.stop()


def chats_in(data: SandboxData, window: Window, now: datetime) -> dict[str, object]:
    """Conversations with a visible message at or after the window start (the listing reads them all)."""
    return {
        str(c.conversation_id): c
        for c in data.all_conversations(SHOP.shop_id)
        if c.visible(now) and c.visible(now)[-1].created_at >= window.start
    }


def test_conversations_land_whole_with_every_message(sandbox, lake, sync_log, tmp_path):
    window = Window(utc(2026, 3, 1), NOW)
    c = ShopeeClient(
        sandbox.url, PARTNER_ID, PARTNER_KEY, SHOP_NUM, token(sandbox, tmp_path), retry=FAST_RETRY,
        clock=sandbox.clock.now, rate_scale=50, message_page_size=2,
    )  # fmt: skip
    result = sync(c, window, lake, sync_log, entity="conversations")
    assert result.ok, result.attempt.error_message
    expected = chats_in(sandbox.app.data, window, NOW)
    assert len(expected) > 100 and result.attempt.pages == len(sandbox.statuses("get_conversation_list")) > 4
    assert len(sandbox.statuses("get_message")) > len(expected)  # two messages a page: conversations page too
    rows = lake.read("shopee", "conversations").to_pylist()
    assert sorted(r["_record_id"] for r in rows) == sorted(expected)
    buyer_texts = 0
    for row in rows:
        payload, chat = json.loads(row["_payload"]), expected[row["_record_id"]]
        visible = chat.visible(NOW)
        assert sorted(int(m["message_id"]) for m in payload["messages"]) == [m.message_id for m in visible]
        assert row["_record_updated_at"] == visible[-1].created_at
        assert payload["conversation"]["to_id"] == chat.buyer.customer_id - 9_000_000_000
        buyer_texts += any(chat.buyer.first_name in m["content"]["text"] for m in payload["messages"])
    assert buyer_texts > 0  # the raw lake holds what the API sends, personal data included; staging drops it


def test_a_late_reply_makes_a_newer_version_of_the_conversation(sandbox, lake, sync_log, tmp_path):
    chat = next(
        c
        for c in sandbox.app.data.all_conversations(SHOP.shop_id)
        if c.first_reply_at is not None and (c.first_reply_at - c.started_at) > timedelta(hours=24)
    )
    before = chat.started_at + timedelta(hours=1)
    sandbox.clock.set(before)
    now = [before]
    t = token(sandbox, tmp_path, clock=lambda: now[0])
    c = client(sandbox, t, clock=lambda: now[0])
    assert sync(c, Window(before - timedelta(days=1), before), lake, sync_log, entity="conversations").ok
    first = json.loads(next(r for r in payloads_of(lake) if r[0] == str(chat.conversation_id))[1])
    assert {m["from_shop_id"] for m in first["messages"]} == {0}  # only the buyer has spoken
    now[0] = chat.first_reply_at + timedelta(hours=1)
    sandbox.clock.set(now[0])
    assert sync(c, Window(now[0] - timedelta(days=1), now[0]), lake, sync_log, entity="conversations").ok
    versions = [(u, json.loads(p)) for i, p, u in payloads_of(lake, with_time=True) if i == str(chat.conversation_id)]
    assert len(versions) == 2
    latest = max(versions, key=lambda v: v[0])[1]
    assert SHOP_NUM in {m["from_shop_id"] for m in latest["messages"]}  # the reply is in the newer version


def payloads_of(lake, with_time: bool = False) -> list[tuple]:
    rows = lake.read("shopee", "conversations").to_pylist()
    if with_time:
        return [(r["_record_id"], r["_payload"], r["_record_updated_at"]) for r in rows]
    return [(r["_record_id"], r["_payload"]) for r in rows]


def test_chat_calls_are_re_signed_on_retry_and_faults_are_retried(sandbox, lake, sync_log, tmp_path):
    t = token(sandbox, tmp_path)
    t.get()
    ticks = []

    def clock() -> datetime:  # a new timestamp for every signature
        ticks.append(1)
        return NOW + timedelta(seconds=len(ticks))

    faults = sandbox.app.faults[SHOP.shop_id]
    faults.throttle_next, faults.server_error_next, faults.drop_next = 1, 1, 1
    result = sync(client(sandbox, t, clock=clock), ONE_SLICE, lake, sync_log, entity="conversations")
    assert result.ok and result.attempt.retries == 3 and result.attempt.throttled == 1
    api_calls = len(sandbox.statuses("get_conversation_list")) + len(sandbox.statuses("get_message"))
    assert len(ticks) == api_calls  # every attempt signed afresh, none replayed
    assert sorted(r[0] for r in payloads_of(lake)) == sorted(chats_in(sandbox.app.data, ONE_SLICE, NOW))
    faults.token_revoked = True
    failed = sync(client(sandbox, t), ONE_SLICE, lake, sync_log, entity="reviews")
    assert (failed.attempt.status, failed.attempt.error_class) == ("failed", "auth_invalid")
