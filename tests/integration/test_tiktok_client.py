"""The TikTok Shop client against its sandbox over real HTTP: signing, rotating tokens, pagination,
analytics windows, throttling, every fault knob, and re-running an interrupted sync."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from ingestion.clients.tiktok import (
    ORDERS_PATH,
    REFRESH_MARGIN,
    TikTokClient,
    from_store,
    sign,
    tiktok_refresher,
    token_expiry,
)
from ingestion.config import StoreConfig
from ingestion.errors import AuthInvalid, WindowRejected
from ingestion.http import HttpClient, RetryPolicy
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, SandboxData
from ingestion.sandbox.server import SandboxClock, SandboxServer
from ingestion.sandbox.tiktok import APP_KEY, APP_SECRET, TikTokSandbox
from ingestion.sync import run_sync
from ingestion.tokens import RefreshingToken, TokenState, TokenStore
from ingestion.windows import Window
from tests.conftest import utc

SHOPS = tuple(s for s in MARKETPLACE_SHOPS if s.platform == "tiktok")
SHOP = SHOPS[0]  # tts-us: USD, America/Los_Angeles
OTHER = SHOPS[1]
CLOCK = utc(2026, 6, 1, 12)  # 05:00 in Los Angeles: analytics are available up to 2026-05-31
WINDOW = Window(utc(2026, 4, 29), CLOCK)
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture(scope="module")
def data() -> SandboxData:
    return SandboxData.generate(7, date(2026, 5, 1), date(2026, 5, 31), SHOPS)


@dataclass
class Running:
    app: TikTokSandbox
    url: str


@pytest.fixture
def make_sandbox(data):
    servers: list[SandboxServer] = []

    def _make(rate_scale: float = 50.0) -> Running:
        app = TikTokSandbox(data, SandboxClock(CLOCK), rate_scale=rate_scale)
        server = SandboxServer(app).start()
        servers.append(server)
        return Running(app, server.base_url)

    yield _make
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox) -> Running:
    return make_sandbox()


def token_for(sb: Running, state_dir, *, clock=None, seed: str | None = None, shop=SHOP) -> RefreshingToken:
    clock = clock or sb.app.clock.now
    store = TokenStore(state_dir)
    key = f"tiktok-{shop.shop_id}"
    refresh = tiktok_refresher(sb.url, APP_KEY, APP_SECRET, HttpClient("tiktok", retry=FAST_RETRY), clock=clock)
    seed_state = TokenState(None, None, seed or sb.app.seed_refresh[shop.shop_id])
    return RefreshingToken(key, store, seed_state, refresh, margin=REFRESH_MARGIN, clock=clock)


def client(
    sb: Running,
    state_dir,
    *,
    token: RefreshingToken | None = None,
    secret: str = APP_SECRET,
    cipher: str | None = None,
    page_size: int = 100,
    cs_page_size: int = 20,
    scale: float = 50.0,
    retry: RetryPolicy = FAST_RETRY,
    wall_clock=time.time,
) -> TikTokClient:
    return TikTokClient(
        sb.url,
        app_key=APP_KEY,
        app_secret=secret,
        shop_cipher=cipher or sb.app.ciphers[SHOP.shop_id],
        access_token=token or token_for(sb, state_dir),
        timezone=SHOP.timezone,
        rate_limit_scale=scale,
        retry=retry,
        page_size=page_size,
        cs_page_size=cs_page_size,
        wall_clock=wall_clock,
    )


def visible_orders(data: SandboxData, shop=SHOP):
    return [o for o in data.orders_by_shop[shop.shop_id] if not o.is_test and o.created_at <= CLOCK]


def cancelled_by(order, clock) -> bool:
    return order.cancelled_at is not None and order.cancelled_at <= clock


def live_gmv(data: SandboxData, session, day: date) -> tuple[Decimal, int]:
    """GMV and orders of a LIVE stream as counted at CLOCK (orders cancelled later still count then)."""
    sessions = data.live_sessions(SHOP.shop_id, day)
    orders = [
        o
        for o in data.orders_on(SHOP.shop_id, day)
        if not o.is_test and not cancelled_by(o, CLOCK) and data.live_session_of(o, sessions) is session
    ]
    return sum((o.subtotal for o in orders), Decimal("0")), len(orders)


def sync(c: TikTokClient, entity: str, lake, sync_log, window: Window = WINDOW):
    return run_sync(c, store_id=SHOP.shop_id, entity=entity, window=window, lake=lake, log=sync_log)


def payloads(lake, entity: str) -> dict[str, dict]:
    """The latest landed version of each record."""
    rows = sorted(lake.read("tiktok", entity).to_pylist(), key=lambda r: r["_loaded_at"])
    return {r["_record_id"]: json.loads(r["_payload"]) for r in rows}


# -- signing ----------------------------------------------------------------------------------------
def test_sign_follows_the_documented_algorithm():
    query = {"timestamp": "1700000000", "app_key": "k", "shop_cipher": "c", "sign": "x", "access_token": "t"}
    body = b'{"update_time_ge":1}'
    base = b"s" + b"/order/202309/orders/search" + b"app_keykshop_cipherctimestamp1700000000" + body + b"s"
    assert sign("s", "/order/202309/orders/search", query, body) == hmac.new(b"s", base, hashlib.sha256).hexdigest()


def test_a_wrong_app_secret_is_refused_as_auth_invalid(sandbox, lake, sync_log, tmp_path):
    result = sync(client(sandbox, tmp_path, secret="not-the-secret"), "orders", lake, sync_log)
    assert (result.attempt.status, result.attempt.error_class) == ("failed", "auth_invalid")
    assert "106001" in result.attempt.error_message and "app_secret" in result.attempt.error_message
    assert sandbox.app.errors == [106001]  # not retried: a person must fix it
    assert result.files == []


def test_a_body_changed_after_signing_is_refused(sandbox, tmp_path):
    token = token_for(sandbox, tmp_path).get()
    query = {"app_key": APP_KEY, "timestamp": str(int(time.time())), "shop_cipher": sandbox.app.ciphers[SHOP.shop_id]}
    signed_body = b'{"update_time_ge":1780000000,"update_time_lt":1780086400}'
    query["sign"] = sign(APP_SECRET, ORDERS_PATH, query, signed_body)
    headers = {"x-tts-access-token": token, "Content-Type": "application/json"}
    ok = requests.post(sandbox.url + ORDERS_PATH, params=query, data=signed_body, headers=headers, timeout=5)
    assert ok.status_code == 200 and ok.json()["code"] == 0
    reserialised = json.dumps(json.loads(signed_body)).encode()  # same JSON, other bytes
    bad = requests.post(sandbox.url + ORDERS_PATH, params=query, data=reserialised, headers=headers, timeout=5)
    assert bad.status_code == 200 and bad.json()["code"] == 106001


def test_a_clock_more_than_5_minutes_off_is_auth_invalid(sandbox, lake, sync_log, tmp_path):
    late = client(sandbox, tmp_path, wall_clock=lambda: time.time() - 400)
    result = sync(late, "orders", lake, sync_log)
    assert result.attempt.error_class == "auth_invalid" and "clock" in result.attempt.error_message
    assert sandbox.app.errors == [36009004]


# -- orders -----------------------------------------------------------------------------------------
def test_orders_page_through_and_land_every_order_once_with_per_unit_lines(sandbox, data, lake, sync_log, tmp_path):
    result = sync(client(sandbox, tmp_path, page_size=50), "orders", lake, sync_log)
    assert result.ok
    expected = {str(o.order_id): o for o in visible_orders(data)}
    landed = lake.read("tiktok", "orders").column("_record_id").to_pylist()
    assert sorted(landed) == sorted(expected)  # every order once, none lost between pages
    assert result.attempt.pages == math.ceil(len(expected) / 50) > 3
    assert sync_log.entries()[-1]["rows"] == len(expected)
    for order_id, payload in payloads(lake, "orders").items():
        order = expected[order_id]
        units = payload["line_items"]
        assert len(units) == order.units and {u["currency"] for u in units} == {"USD"}
        assert sum(Decimal(u["sale_price"]) for u in units) == order.subtotal
        assert sum(Decimal(u["seller_discount"]) for u in units) == order.total_discounts
        assert Decimal(payload["payment"]["original_total_product_price"]) == order.total_line_items_price
        assert Decimal(payload["payment"]["total_amount"]) == order.total_price
        assert payload["create_time"] == int(order.created_at.timestamp())
        assert (payload["status"] == "CANCELLED") == cancelled_by(order, CLOCK)
        assert "email" not in json.dumps(payload["recipient_address"])
    assert any(p["status"] == "CANCELLED" for p in payloads(lake, "orders").values())


def test_an_order_changed_between_pages_is_not_lost(sandbox, lake, sync_log, tmp_path):
    window = Window(utc(2026, 5, 20), CLOCK)
    now = int(CLOCK.timestamp())
    before = {str(r[1]) for r in sandbox.app.orders_in(SHOP.shop_id, now, int(window.start.timestamp()), now)}
    sandbox.app.faults[SHOP.shop_id].change_between_pages = 1
    result = sync(client(sandbox, tmp_path, page_size=20), "orders", lake, sync_log, window)
    assert result.ok and len(sandbox.app.touched_orders) == 1
    touched = str(sandbox.app.touched_orders[0])
    assert touched not in before
    assert set(lake.read("tiktok", "orders").column("_record_id").to_pylist()) == before | {touched}


# -- returns ----------------------------------------------------------------------------------------
def test_returns_are_one_line_per_refunded_unit_and_reconcile(sandbox, data, lake, sync_log, tmp_path):
    assert sync(client(sandbox, tmp_path, page_size=10), "returns", lake, sync_log).ok
    refunds = {
        str(r.refund_id): r
        for o in visible_orders(data)
        if o.cancelled_at is None
        for r in o.refunds
        if r.created_at <= CLOCK
    }
    landed = payloads(lake, "returns")
    assert sorted(landed) == sorted(refunds) and len(refunds) > 5
    for return_id, payload in landed.items():
        refund = refunds[return_id]
        items = payload["return_line_items"]
        assert len(items) == sum(line.quantity for line in refund.lines)
        assert sum(Decimal(i["refund_amount"]["refund_subtotal"]) for i in items) == refund.amount
        assert payload["create_time"] == int(refund.created_at.timestamp())
        assert payload["refund_time"] == int(refund.processed_at.timestamp())
    cancelled = {str(o.order_id) for o in visible_orders(data) if o.cancelled_at is not None}
    assert cancelled and not cancelled & {p["order_id"] for p in landed.values()}


# -- analytics --------------------------------------------------------------------------------------
def test_shop_performance_slices_the_window_and_reconciles_gmv_and_live_gmv(sandbox, data, lake, sync_log, tmp_path):
    window = Window(utc(2026, 4, 20), CLOCK)  # 42 days: two requests of <= 31 local dates
    result = sync(client(sandbox, tmp_path), "shop_performance", lake, sync_log, window)
    assert result.ok and result.attempt.requests == 2
    landed = payloads(lake, "shop_performance")
    assert min(landed) == "2026-04-19"  # the window starts at 17:00 on 04-19 in Los Angeles
    assert max(landed) == "2026-05-31"  # next-day availability: 2026-06-01 is not served yet
    for day in (date(2026, 5, 1) + timedelta(days=i) for i in range(31)):
        interval = landed[day.isoformat()]
        counted = [o for o in data.orders_on(SHOP.shop_id, day) if not o.is_test and not cancelled_by(o, CLOCK)]
        assert Decimal(interval["gmv"]["amount"]) == sum((o.subtotal for o in counted), Decimal("0"))
        live = {b["type"]: Decimal(b["amount"]) for b in interval["gmv_breakdowns"]}["LIVE"]
        sessions = data.live_sessions(SHOP.shop_id, day)
        assert live == sum((live_gmv(data, s, day)[0] for s in sessions), Decimal("0"))
        assert interval["orders"] == len(counted)
    assert any(Decimal(b["amount"]) > 0 for p in landed.values() for b in p["gmv_breakdowns"] if b["type"] == "LIVE")


def test_an_over_long_date_range_is_window_rejected(sandbox, tmp_path):
    c = client(sandbox, tmp_path)
    too_long = Window(utc(2026, 4, 1), utc(2026, 5, 15))  # 45 days in one request
    with pytest.raises(WindowRejected, match="date range"):
        list(c.iter_pages("shop_performance", too_long))
    with pytest.raises(WindowRejected):
        list(c.iter_pages("live_sessions", too_long))


def test_live_sessions_land_with_the_gmv_of_their_orders(sandbox, data, lake, sync_log, tmp_path):
    assert sync(client(sandbox, tmp_path, page_size=5), "live_sessions", lake, sync_log).ok
    tz = ZoneInfo(SHOP.timezone)
    expected = {
        s.live_id: (s, day)
        for day in (date(2026, 5, 1) + timedelta(days=i) for i in range(31))
        for s in data.live_sessions(SHOP.shop_id, day)
        if s.end <= CLOCK and s.start.astimezone(tz).date() == day
    }
    landed = payloads(lake, "live_sessions")
    assert sorted(landed) == sorted(expected) and len(expected) > 10
    for live_id, payload in landed.items():
        session, day = expected[live_id]
        gmv, orders = live_gmv(data, session, day)
        assert Decimal(payload["sales_performance"]["gmv"]["amount"]) == gmv
        assert payload["sales_performance"]["orders"] == orders
        assert (payload["username"], payload["start_time"]) == (session.host, int(session.start.timestamp()))


# -- tokens -----------------------------------------------------------------------------------------
def test_tokens_rotate_are_persisted_and_refreshed_a_day_before_expiry(sandbox, lake, sync_log, tmp_path):
    now = [CLOCK]
    token = token_for(sandbox, tmp_path, clock=lambda: now[0])
    c = client(sandbox, tmp_path, token=token)
    assert sync(c, "returns", lake, sync_log).ok
    stored = TokenStore(tmp_path).load(f"tiktok-{SHOP.shop_id}")
    seed = sandbox.app.seed_refresh[SHOP.shop_id]
    assert sandbox.app.refresh_calls == 1 and stored.refresh_token != seed
    assert stored.expires_at == CLOCK + timedelta(days=7)  # the epoch in access_token_expire_in

    # The seed is used up: the rotated token in the store is the only way in.
    with pytest.raises(AuthInvalid, match="re-authorize") as refused:
        tiktok_refresher(sandbox.url, APP_KEY, APP_SECRET, HttpClient("tiktok", retry=FAST_RETRY))(seed)
    assert APP_SECRET not in str(refused.value) and seed not in str(refused.value)

    # Six and a half days later the token has less than a day left: refreshed before the call.
    now[0] = CLOCK + timedelta(days=6, hours=12)
    sandbox.app.clock.set(now[0])
    assert sync(c, "returns", lake, sync_log).ok
    assert sandbox.app.refresh_calls == 2 and 105002 not in sandbox.app.errors
    rotated_again = TokenStore(tmp_path).load(f"tiktok-{SHOP.shop_id}").refresh_token
    assert rotated_again not in (seed, stored.refresh_token)


def test_expire_in_given_as_seconds_is_a_duration(sandbox, tmp_path):
    sandbox.app.expire_in_seconds = True
    token = token_for(sandbox, tmp_path)
    token.get()
    assert token.state.expires_at == CLOCK + timedelta(days=7)
    assert token_expiry(1_780_000_000, CLOCK) == datetime.fromtimestamp(1_780_000_000, CLOCK.tzinfo)
    assert token_expiry(3600, CLOCK) == CLOCK + timedelta(hours=1)


def test_an_access_token_expired_early_is_refreshed_once(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, tmp_path)
    assert sync(c, "orders", lake, sync_log).ok
    sandbox.app.faults[SHOP.shop_id].token_expired = True
    result = sync(c, "orders", lake, sync_log)
    assert result.ok and sandbox.app.errors == [105002] and sandbox.app.refresh_calls == 2


def test_a_revoked_authorization_is_auth_invalid_and_refresh_is_refused(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, tmp_path)
    assert sync(c, "orders", lake, sync_log).ok
    sandbox.app.faults[SHOP.shop_id].token_revoked = True
    result = sync(c, "orders", lake, sync_log)
    assert (result.attempt.error_class, result.attempt.http_status) == ("auth_invalid", 200)
    assert "105001" in result.attempt.error_message
    fresh = client(sandbox, tmp_path / "other", token=token_for(sandbox, tmp_path / "other", seed="TTP_unknown"))
    entry = sync(fresh, "orders", lake, sync_log).attempt
    assert entry.error_class == "auth_invalid" and "36004004" in entry.error_message
    assert [e["error_class"] for e in sync_log.entries()] == [None, "auth_invalid", "auth_invalid"]


def test_a_shop_cipher_of_another_shop_is_a_bad_request(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, tmp_path, cipher=sandbox.app.ciphers[OTHER.shop_id])
    result = sync(c, "orders", lake, sync_log)
    assert result.attempt.error_class == "bad_request" and "account.shop_cipher" in result.attempt.error_message


# -- throttling and faults --------------------------------------------------------------------------
def test_the_client_stays_under_the_rate_limit_and_recovers_from_429(make_sandbox, lake, sync_log, tmp_path):
    polite_box = make_sandbox(rate_scale=1.0)  # 50 requests/s per API, bursts of 50
    polite = client(polite_box, tmp_path / "a", page_size=5, scale=1.0)  # 20/s, bursts of 10
    result = sync(polite, "orders", lake, sync_log)
    assert result.ok and result.attempt.requests > 55 and result.attempt.throttled == 0
    assert 36009002 not in polite_box.app.errors

    rude_box = make_sandbox(rate_scale=1.0)
    retry = RetryPolicy(max_attempts=8, backoff_base=0.02, backoff_max=0.2)
    rude = client(rude_box, tmp_path / "b", page_size=5, scale=100.0, retry=retry)  # no effective limit
    result = sync(rude, "orders", lake, sync_log)
    assert result.ok and result.attempt.throttled > 0 and result.attempt.rows == len(visible_orders(rude_box.app.data))
    assert 36009002 in rude_box.app.errors and ("POST", ORDERS_PATH, 429) in rude_box.app.request_log


def test_throttle_next_is_retried(sandbox, data, lake, sync_log, tmp_path):
    sandbox.app.faults[SHOP.shop_id].throttle_next = 2
    result = sync(client(sandbox, tmp_path), "orders", lake, sync_log)
    assert result.ok and result.attempt.throttled == 2 and result.attempt.rows == len(visible_orders(data))


def test_server_errors_a_truncated_page_and_a_dropped_connection_are_retried(sandbox, data, lake, sync_log, tmp_path):
    faults = sandbox.app.faults[SHOP.shop_id]
    faults.server_error_next, faults.malformed_next, faults.drop_next = 2, 1, 1  # all on the first page
    patient = RetryPolicy(max_attempts=6, backoff_base=0.01, backoff_max=0.05)
    result = sync(client(sandbox, tmp_path, page_size=50, retry=patient), "orders", lake, sync_log)
    assert result.ok and result.attempt.retries == 4
    assert result.attempt.rows == len(visible_orders(data))
    assert ("POST", ORDERS_PATH, 500) in sandbox.app.request_log


def test_persistent_garbage_is_a_bad_payload_never_an_empty_page(sandbox, lake, sync_log, tmp_path):
    c = client(sandbox, tmp_path, page_size=50)
    c.token.get()
    sandbox.app.faults[SHOP.shop_id].malformed_next = 10
    result = sync(c, "orders", lake, sync_log)
    assert (result.attempt.status, result.attempt.error_class, result.attempt.rows) == ("failed", "bad_payload", 0)
    assert sync_log.entries()[-1]["error_class"] == "bad_payload"


def test_an_interrupted_sync_rerun_lands_every_order_once(sandbox, data, lake, sync_log, tmp_path):
    app, original = sandbox.app, sandbox.app.dispatch
    calls = [0]

    def dispatch(request):
        if request.path == ORDERS_PATH:
            calls[0] += 1
            if calls[0] == 3:  # the third page (and every retry of it) fails
                app.faults[SHOP.shop_id].server_error_next = FAST_RETRY.max_attempts
        return original(request)

    app.dispatch = dispatch
    c = client(sandbox, tmp_path, page_size=50)
    first = sync(c, "orders", lake, sync_log)
    assert (first.attempt.status, first.attempt.error_class, first.attempt.rows) == ("failed", "server_error", 100)
    assert len(lake.read("tiktok", "orders")) == 100  # the pages before the failure are kept
    second = sync(c, "orders", lake, sync_log)
    assert second.ok
    expected = {str(o.order_id) for o in visible_orders(data)}
    landed = lake.read("tiktok", "orders").column("_record_id").to_pylist()
    assert set(landed) == expected and len(payloads(lake, "orders")) == len(expected)
    assert len(landed) == len(expected) + 100  # 100 versions twice; staging keeps the latest of each


# -- the stores file ----------------------------------------------------------------------------------
def test_store_entry_and_from_store_sync_every_entity(sandbox, lake, sync_log, tmp_path, monkeypatch):
    entry, env = sandbox.app.store_entry(SHOP, sandbox.url)
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
    assert entry["credentials"]["refresh_token_env"] == "TIKTOK_REFRESH_TOKEN_TTS_US"
    tokens = TokenStore(tmp_path)
    for entity in ("orders", "returns", "shop_performance", "live_sessions"):
        # a new client per entity, as separate runs would build them: the stored token is reused
        result = run_sync(
            from_store(store, tokens), store_id=SHOP.shop_id, entity=entity, window=WINDOW, lake=lake, log=sync_log
        )
        assert result.ok and result.attempt.rows > 0, entity
    assert sandbox.app.refresh_calls == 1
    assert tokens.load(f"tiktok-{SHOP.shop_id}").refresh_token != env["TIKTOK_REFRESH_TOKEN_TTS_US"]


# -- customer service conversations -----------------------------------------------------------------
def chats_since(data: SandboxData, start: datetime, now: datetime) -> dict:
    """Conversations of the shop whose latest visible message is at or after `start`."""
    return {
        str(c.conversation_id): c
        for c in data.all_conversations(SHOP.shop_id)
        if c.visible(now) and c.visible(now)[-1].created_at >= start
    }


def test_conversations_land_whole_through_both_cursors(sandbox, data, lake, sync_log, tmp_path):
    result = sync(client(sandbox, tmp_path, cs_page_size=3), "conversations", lake, sync_log)
    assert result.ok, result.attempt.error_message
    expected = chats_since(data, WINDOW.start, CLOCK)
    assert len(expected) > 30 and result.attempt.pages > 10  # three conversations a page
    message_calls = [p for _, p, _ in sandbox.app.request_log if p.endswith("/messages")]
    assert len(message_calls) > len(expected)  # conversations with more than 3 messages take two pages
    landed = payloads(lake, "conversations")
    assert sorted(landed) == sorted(expected)
    for conversation_id, payload in landed.items():
        chat = expected[conversation_id]
        visible = chat.visible(CLOCK)
        assert sorted(int(m["id"]) for m in payload["messages"]) == [m.message_id for m in visible]
        roles = {m["id"]: m["sender"]["role"] for m in payload["messages"]}
        assert roles[str(visible[0].message_id)] == ("BUYER" if chat.started_by_buyer else "SHOP")
        buyer = next(p for p in payload["conversation"]["participants"] if p["role"] == "BUYER")
        assert buyer["user_id"] == str(7_000_000_000_000_000_000 + chat.buyer.customer_id)
    rows = lake.read("tiktok", "conversations").to_pylist()
    assert all(r["_record_updated_at"] == expected[r["_record_id"]].visible(CLOCK)[-1].created_at for r in rows)


def test_a_late_reply_makes_a_newer_version_of_the_conversation(sandbox, data, lake, sync_log, tmp_path):
    chat = next(
        c
        for c in data.all_conversations(SHOP.shop_id)
        if c.first_reply_at is not None and c.first_reply_at - c.started_at > timedelta(hours=12)
    )
    c = client(sandbox, tmp_path)
    for at in (chat.started_at + timedelta(hours=1), chat.first_reply_at + timedelta(minutes=5)):
        sandbox.app.clock.set(at)
        assert sync(c, "conversations", lake, sync_log, window=Window(at - timedelta(days=1), at)).ok
    versions = [
        (r["_record_updated_at"], json.loads(r["_payload"]))
        for r in lake.read("tiktok", "conversations").to_pylist()
        if r["_record_id"] == str(chat.conversation_id)
    ]
    assert len(versions) == 2
    (old_at, old), (new_at, new) = sorted(versions, key=lambda v: v[0])
    assert old_at < new_at and {m["sender"]["role"] for m in old["messages"]} == {"BUYER"}
    assert new_at == chat.first_reply_at and "CUSTOMER_SERVICE" in {m["sender"]["role"] for m in new["messages"]}


def test_conversation_calls_are_signed_over_their_own_path_and_re_signed_on_retry(sandbox, lake, sync_log, tmp_path):
    refused = sync(client(sandbox, tmp_path, secret="not-the-secret"), "conversations", lake, sync_log)
    assert (refused.attempt.status, refused.attempt.error_class) == ("failed", "auth_invalid")
    stamps: list[float] = []

    def wall_clock() -> float:
        stamps.append(time.time())
        return stamps[-1]

    faults = sandbox.app.faults[SHOP.shop_id]
    faults.throttle_next, faults.server_error_next, faults.malformed_next = 1, 1, 1
    logged = len(sandbox.app.request_log)
    result = sync(client(sandbox, tmp_path, wall_clock=wall_clock), "conversations", lake, sync_log)
    assert result.ok and result.attempt.retries == 3 and result.attempt.throttled == 1
    cs_calls = [s for _, p, s in sandbox.app.request_log[logged:] if p.startswith("/customer_service/")]
    assert len(stamps) == len(cs_calls) and {429, 500} <= set(cs_calls)  # one fresh signature per attempt
    assert sorted(payloads(lake, "conversations")) == sorted(chats_since(sandbox.app.data, WINDOW.start, CLOCK))
