"""Sandbox of the TikTok Shop Partner API (202309 generation): orders, returns, analytics, customer service.

What a client must cope with, reproduced: HMAC-SHA256 request signatures over path + sorted query + raw
body (a wrong one is code 106001 with HTTP 200), request timestamps checked against the real clock (more
than 5 minutes off is code 36009004), access tokens in `x-tts-access-token` that expire after 7 days of
sandbox time (105002) and refresh tokens that rotate on every refresh (the used one is retired at once),
a `shop_cipher` that must belong to the token's shop, a per-API QPS token bucket answered with HTTP 429 and
code 36009002, opaque `page_token` cursors (`""` at the end), money as decimal strings, line items one row
per unit, and order `update_time` moving on every status transition. Analytics are computed from the same
orders: a day's GMV is the subtotal of its non-cancelled orders, its LIVE share the orders placed during a
LIVE stream (`SandboxData.content_type`), served up to yesterday (next-day availability).

Tokens are signed by the sandbox itself, so a restarted sandbox still accepts the tokens a previous run
stored (only the set of retired refresh tokens is per process). The request timestamp is checked against
the wall clock, not the (possibly pinned) data clock, because it is a transport property of the client.
Fault knobs per shop (`self.faults`) answer in TikTok's envelope: throttle_next (429 / 36009002),
server_error_next (500 / 36009003), malformed_next (truncated JSON), drop_next (connection cut mid-body),
token_expired (the shop's current access tokens expire now), token_revoked (105001 on data calls, refresh
refused with 36004004), change_between_pages (an older order's update_time moves into the listed window
after page 1).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from ingestion.clients.tiktok import (
    CS_CONVERSATIONS_PATH,
    LIVE_SESSIONS_PATH,
    ORDERS_PATH,
    RETURNS_PATH,
    SHOP_PERFORMANCE_PATH,
    SHOPS_PATH,
    TOKEN_PATH,
)
from ingestion.sandbox.generator import (
    ZERO_DECIMAL_CURRENCIES,
    ChatMessage,
    Conversation,
    LiveSession,
    Order,
    Refund,
    SandboxData,
    SandboxShop,
)
from ingestion.sandbox.server import Faults, Request, Response, SandboxApp, SandboxClock, TokenBucket

APP_KEY = "6sbxtts0001"
APP_SECRET = "sbx-tiktok-app-secret-0001"
_TOKEN_KEY = b"tiktok-sandbox-token-signing-key"

ACCESS_TOKEN_SECONDS = 7 * 86400
REFRESH_TOKEN_SECONDS = 365 * 86400
QPS = 50.0  # per shop and API; TikTok's starting figure, "dynamic" in reality
TIMESTAMP_SKEW_SECONDS = 300
MAX_PAGE_SIZE = 100
MAX_CS_PAGE_SIZE = 20  # customer service lists (unverified; the SDKs default to 10)
MAX_ANALYTICS_DAYS = 31  # unverified: no limit is documented in the material we have; this one is enforced

RATE_LIMITED = 36009002
INTERNAL_ERROR = 36009003
PARAM_ERROR = 36009004
TOKEN_INVALID = 105001
TOKEN_EXPIRED = 105002
SIGNATURE_INVALID = 106001
REFRESH_REFUSED = 36004004


def expected_signature(secret: str, path: str, query: dict[str, str], body: bytes) -> str:
    """The signature TikTok expects, written from the spec independently of the client's `sign`."""
    pieces = [path]
    for key in sorted(query):
        if key not in ("sign", "access_token"):
            pieces.append(key + query[key])
    message = secret.encode() + "".join(pieces).encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def shop_cipher(shop_id: str) -> str:
    digest = hashlib.sha256(f"cipher:{shop_id}".encode()).digest()[:18]
    return "ROW_" + base64.urlsafe_b64encode(digest).decode()


def _amount(value: Decimal, currency: str) -> str:
    return f"{value:.0f}" if currency in ZERO_DECIMAL_CURRENCIES else f"{value:.2f}"


def split_units(total: Decimal, units: int, currency: str) -> list[Decimal]:
    """Spread an amount over `units` rows in the currency's minor unit, the remainder on the first rows,
    so that the rows add up to the amount exactly."""
    step = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    base = (total / units).quantize(step, rounding=ROUND_DOWN)
    extra = int((total - base * units) / step)
    return [base + step if k < extra else base for k in range(units)]


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


@dataclass(frozen=True)
class Timeline:
    """An order's TikTok status transitions (Unix seconds); each moves update_time."""

    created: int
    paid: int
    rts: int | None  # ready to ship: the generator's fulfilled_at
    collected: int | None  # carrier pick-up: IN_TRANSIT
    delivered: int | None
    completed: int | None
    cancelled: int | None
    events: tuple[int, ...]

    @classmethod
    def of(cls, order: Order) -> Timeline:
        rng = random.Random(f"tts-ship:{order.order_id}")
        rts = _epoch(order.fulfilled_at)
        collected = delivered = completed = None
        if rts is not None:
            collected = rts + rng.randint(2 * 3600, 10 * 3600)
            delivered = collected + rng.randint(86400, 5 * 86400)
            completed = delivered + 7 * 86400
        cancelled = _epoch(order.cancelled_at)
        refunds = [] if cancelled is not None else [_epoch(r.created_at) for r in order.refunds]
        events = [_epoch(order.created_at), _epoch(order.paid_at), rts, collected, delivered, completed, cancelled]
        return cls(
            created=_epoch(order.created_at),  # type: ignore[arg-type]
            paid=_epoch(order.paid_at),  # type: ignore[arg-type]
            rts=rts,
            collected=collected,
            delivered=delivered,
            completed=completed,
            cancelled=cancelled,
            events=tuple(sorted(e for e in [*events, *refunds] if e is not None)),
        )

    def update_time(self, now: int) -> int:
        return self.events[bisect.bisect_right(self.events, now) - 1]

    def status(self, now: int) -> str:
        def reached(ts: int | None) -> bool:
            return ts is not None and ts <= now

        if reached(self.cancelled):
            return "CANCELLED"
        for ts, status in (
            (self.completed, "COMPLETED"),
            (self.delivered, "DELIVERED"),
            (self.collected, "IN_TRANSIT"),
            (self.rts, "AWAITING_COLLECTION"),
            (self.paid, "AWAITING_SHIPMENT"),
        ):
            if reached(ts):
                return status
        return "UNPAID"


def _unit_line_id(line_item_id: int, k: int) -> str:
    return str(line_item_id * 100 + k)


class TikTokSandbox(SandboxApp):
    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock | None = None,
        *,
        rate_scale: float = 1.0,
        wall_clock=time.time,
    ) -> None:
        super().__init__()
        self.data = data
        self.clock = clock or SandboxClock()
        self.wall_clock = wall_clock
        self.shops = {shop.shop_id: shop for shop in data.shops_of("tiktok")}
        self.ciphers = {shop_id: shop_cipher(shop_id) for shop_id in self.shops}
        self.faults = {shop_id: Faults() for shop_id in self.shops}
        self.rate = QPS * rate_scale
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.RLock()
        self._serial = time.time_ns()
        self._retired: set[str] = set()
        self._expired_upto: dict[str, int] = {}  # token serials at or below are expired (token_expired knob)
        self._touched: dict[int, int] = {}  # order id -> forced update_time (change_between_pages)
        self.touched_orders: list[int] = []
        self.errors: list[int] = []  # envelope error codes answered, for tests
        self.refresh_calls = 0
        self.expire_in_seconds = False  # answer *_expire_in as durations instead of epochs
        self._timelines = {
            shop_id: [(o, Timeline.of(o)) for o in data.orders_by_shop[shop_id] if not o.is_test]
            for shop_id in self.shops
        }
        self._timeline_of = {shop_id: {o.order_id: t for o, t in rows} for shop_id, rows in self._timelines.items()}
        self._returns = {shop_id: self._index_returns(shop_id) for shop_id in self.shops}
        self.seed_refresh = {shop_id: self._mint("rt", shop_id, REFRESH_TOKEN_SECONDS) for shop_id in self.shops}
        self.route("GET", TOKEN_PATH, self.token_refresh)
        self.route("GET", SHOPS_PATH, self.authorized_shops)
        self.route("POST", ORDERS_PATH, self.search_orders)
        self.route("POST", RETURNS_PATH, self.search_returns)
        self.route("GET", SHOP_PERFORMANCE_PATH, self.shop_performance)
        self.route("GET", LIVE_SESSIONS_PATH, self.live_sessions)
        self.route("GET", CS_CONVERSATIONS_PATH, self.cs_conversations)
        self.route("GET", CS_CONVERSATIONS_PATH + "/(?P<conversation_id>[^/]+)/messages", self.cs_messages)

    # -- tokens: signed by the sandbox, so they survive a restart ---------------------------------
    def _mint(self, kind: str, shop_id: str, lifetime: int) -> str:
        with self._lock:
            self._serial = max(self._serial + 1, time.time_ns())
            serial = self._serial
        exp = int(self.clock.now().timestamp()) + lifetime
        body = f"{kind}.{shop_id}.{serial}.{exp}"
        sig = hmac.new(_TOKEN_KEY, body.encode(), hashlib.sha256).hexdigest()[:24]
        return f"TTP_{body}.{sig}"

    def _read(self, token: str | None, kind: str) -> tuple[str, int, int] | None:
        """(shop_id, serial, expiry) of a token this sandbox minted, or None."""
        if not token or not token.startswith("TTP_"):
            return None
        parts = token[4:].split(".")
        if len(parts) != 5 or parts[0] != kind:
            return None
        body = ".".join(parts[:4])
        if not hmac.compare_digest(parts[4], hmac.new(_TOKEN_KEY, body.encode(), hashlib.sha256).hexdigest()[:24]):
            return None
        shop_id = parts[1]
        if shop_id not in self.shops:
            return None
        try:
            return shop_id, int(parts[2]), int(parts[3])
        except ValueError:
            return None

    def expire_access_tokens(self, shop_id: str) -> None:
        """Every access token issued to the shop so far is expired from now on."""
        with self._lock:
            self._expired_upto[shop_id] = self._serial

    def token_refresh(self, request: Request) -> Response:
        q = request.query
        if q.get("app_key") != APP_KEY or q.get("app_secret") != APP_SECRET:
            return self._error(REFRESH_REFUSED, "Invalid app_key or app_secret.")
        if q.get("grant_type") != "refresh_token":
            return self._error(PARAM_ERROR, "Invalid param: grant_type must be refresh_token.")
        token = q.get("refresh_token", "")
        parsed = self._read(token, "rt")
        now = int(self.clock.now().timestamp())
        with self._lock:
            if parsed is None or token in self._retired:
                return self._error(REFRESH_REFUSED, "The refresh_token is invalid or has already been used.")
            shop_id, _, exp = parsed
            if self.faults[shop_id].token_revoked:
                return self._error(REFRESH_REFUSED, "The seller has revoked the authorization of this app.")
            if exp <= now:
                return self._error(REFRESH_REFUSED, "The refresh_token has expired: authorize the app again.")
            self._retired.add(token)  # rotation: the used refresh token is retired at once
            self.refresh_calls += 1
        access = self._mint("at", shop_id, ACCESS_TOKEN_SECONDS)
        rotated = self._mint("rt", shop_id, REFRESH_TOKEN_SECONDS)
        shop = self.shops[shop_id]
        if self.expire_in_seconds:
            access_in, refresh_in = ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_SECONDS
        else:
            access_in, refresh_in = now + ACCESS_TOKEN_SECONDS, now + REFRESH_TOKEN_SECONDS
        return self._success(
            {
                "access_token": access,
                "access_token_expire_in": access_in,
                "refresh_token": rotated,
                "refresh_token_expire_in": refresh_in,
                "open_id": f"sbx-open-{shop_id}",
                "seller_name": shop.name,
                "seller_base_region": shop.country,
                "user_type": 0,
                "granted_scopes": [
                    "seller.order.info",
                    "seller.return_refund.basic",
                    "data.shop_analytics.public.read",
                    "seller.customer_service",
                ],
            }
        )

    # -- envelope, auth gate, limits and faults ---------------------------------------------------
    def _request_id(self) -> str:
        with self._lock:
            self._serial += 1
            serial = self._serial
        return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"{serial % 16**20:020X}"

    def _envelope(self, code: int, message: str, data: dict | None, status: int) -> tuple[dict, dict[str, str]]:
        rid = self._request_id()
        body: dict = {"code": code, "message": message, "request_id": rid}
        if data is not None:
            body["data"] = data
        return body, {"X-Tt-Logid": rid}

    def _error(self, code: int, message: str, status: int = 200) -> Response:
        with self._lock:
            self.errors.append(code)
        body, headers = self._envelope(code, message, None, status)
        return Response.json(body, status, headers)

    def _success(self, data: dict) -> Response:
        body, headers = self._envelope(0, "Success", data, 200)
        return Response.json(body, 200, headers)

    def _gate(self, request: Request, *, needs_cipher: bool = True) -> tuple[str | None, Response | None]:
        """Authenticate one data call; returns (shop_id, None) or (None, the error response)."""
        q = request.query
        if q.get("app_key") != APP_KEY:
            return None, self._error(PARAM_ERROR, "Invalid credentials. Invalid `app_key` query parameter.")
        if not q.get("sign"):
            return None, self._error(
                PARAM_ERROR, "Missing credentials. The request does not include a required signature in the query."
            )
        try:
            ts = int(q.get("timestamp", ""))
        except ValueError:
            return None, self._error(PARAM_ERROR, "Invalid timestamp. The `timestamp` query parameter is required.")
        if abs(self.wall_clock() - ts) > TIMESTAMP_SKEW_SECONDS:
            return None, self._error(
                PARAM_ERROR,
                "Invalid timestamp. The value of the `timestamp` query parameter must not be earlier than 5 minutes "
                "before (or later than 5 minutes after) the current time.",
            )
        expected = expected_signature(APP_SECRET, request.path, q, request.body if request.method != "GET" else b"")
        if not hmac.compare_digest(expected, q["sign"]):
            return None, self._error(SIGNATURE_INVALID, "Invalid signature.")
        token = request.header("x-tts-access-token")
        parsed = self._read(token, "at")
        if parsed is None:
            return None, self._error(TOKEN_INVALID, "Invalid credentials. The `x-tts-access-token` header is invalid.")
        shop_id, serial, exp = parsed
        faults = self.faults[shop_id]
        if faults.token_revoked:
            return None, self._error(
                TOKEN_INVALID, "The access token is invalid: the seller revoked the authorization."
            )
        if faults.token_expired:
            faults.token_expired = False
            self.expire_access_tokens(shop_id)
        if exp <= int(self.clock.now().timestamp()) or serial <= self._expired_upto.get(shop_id, 0):
            return None, self._error(TOKEN_EXPIRED, "Access token is expired, please refresh it.")
        if needs_cipher and q.get("shop_cipher") != self.ciphers[shop_id]:
            return None, self._error(
                PARAM_ERROR, "Invalid identifier. The `shop_cipher` query parameter is invalid for this access token."
            )
        with self._lock:
            bucket = self._buckets.setdefault((shop_id, request.path), TokenBucket(self.rate, max(1.0, self.rate)))
            allowed = False if faults.take("throttle_next") else bucket.take()
            server_error = allowed and faults.take("server_error_next")
        if not allowed:
            return None, self._error(RATE_LIMITED, "Too many requests: the rate limit of this API is exceeded.", 429)
        if server_error:
            return None, self._error(INTERNAL_ERROR, "Internal error, please retry later.", 500)
        return shop_id, None

    def _ok(self, shop_id: str, data: dict) -> Response:
        body, headers = self._envelope(0, "Success", data, 200)
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **headers}
        faults = self.faults[shop_id]
        with self._lock:
            if faults.take("drop_next"):
                return Response(200, raw, headers, cut=True)
            if faults.take("malformed_next"):
                return Response(200, raw[: max(1, len(raw) // 2)], headers)
        return Response(200, raw, headers)

    @staticmethod
    def _page_size(request: Request, default: int) -> int | None:
        try:
            size = int(request.query.get("page_size", default))
        except ValueError:
            return None
        return size if 1 <= size <= MAX_PAGE_SIZE else None

    @staticmethod
    def _encode_cursor(cursor: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode()

    @staticmethod
    def _decode_cursor(token: str) -> dict | None:
        try:
            cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
        except ValueError:
            return None
        return cursor if isinstance(cursor, dict) else None

    # -- shops ------------------------------------------------------------------------------------
    def authorized_shops(self, request: Request) -> Response:
        shop_id, denied = self._gate(request, needs_cipher=False)
        if denied is not None:
            return denied
        assert shop_id is not None
        shop = self.shops[shop_id]
        return self._ok(
            shop_id,
            {
                "shops": [
                    {
                        "id": str(
                            7_490_000_000_000_000_000 + int(hashlib.sha256(shop_id.encode()).hexdigest()[:12], 16)
                        ),
                        "name": shop.name,
                        "region": shop.country,
                        "seller_type": "LOCAL",
                        "cipher": self.ciphers[shop_id],
                        "code": shop_id.upper().replace("-", ""),
                    }
                ]
            },
        )

    # -- orders -----------------------------------------------------------------------------------
    def order_payload(self, order: Order, timeline: Timeline, now: int) -> dict:
        """The order as TikTok shows it at `now`: per-unit line items, decimal-string money."""
        cur = order.currency
        status = timeline.status(now)
        update_time = max(timeline.update_time(now), self._touched.get(order.order_id, 0))
        original = sum((li.price * li.quantity for li in order.lines), Decimal("0"))
        seller_discount = sum((li.total_discount for li in order.lines), Decimal("0"))
        sub_total = original - seller_discount
        units = []
        for li in order.lines:
            unit_discount = li.total_discount / li.quantity  # exact: the generator discounts 10% per unit
            for k in range(li.quantity):
                unit = {
                    "id": _unit_line_id(li.line_item_id, k),
                    "product_id": str(li.product.product_id),
                    "sku_id": str(li.product.variant_id),
                    "seller_sku": li.product.sku,
                    "product_name": li.product.title,
                    "sku_name": "Default",
                    "original_price": _amount(li.price, cur),
                    "sale_price": _amount(li.price - unit_discount, cur),
                    "seller_discount": _amount(unit_discount, cur),
                    "platform_discount": _amount(Decimal("0"), cur),
                    "currency": cur,
                    "display_status": status,
                    "is_gift": False,
                    "package_id": str(order.order_id * 10 + 1),
                }
                if timeline.rts is not None and timeline.rts <= now:
                    unit["rts_time"] = timeline.rts
                if status == "CANCELLED":
                    unit["cancel_reason"] = order.cancel_reason
                    unit["cancel_user"] = "BUYER" if order.cancel_reason == "customer" else "SELLER"
                units.append(unit)
        c = order.customer
        payload: dict = {
            "id": str(order.order_id),
            "status": status,
            "create_time": timeline.created,
            "update_time": update_time,
            "user_id": str(7_000_000_000_000_000_000 + c.customer_id),
            "buyer_email": f"{hashlib.sha256(c.email.encode()).hexdigest()[:10]}@scs2.tiktok.com",
            "fulfillment_type": "FULFILLMENT_BY_SELLER",
            "shipping_type": "SELLER",
            "delivery_option_name": "Standard Shipping",
            "is_cod": False,
            "is_sample_order": False,
            "payment_method_name": "CCDC",
            "payment": {
                "currency": cur,
                "original_total_product_price": _amount(original, cur),
                "seller_discount": _amount(seller_discount, cur),
                "platform_discount": _amount(Decimal("0"), cur),
                "sub_total": _amount(sub_total, cur),
                "original_shipping_fee": _amount(order.shipping, cur),
                "shipping_fee": _amount(order.shipping, cur),
                "shipping_fee_seller_discount": _amount(Decimal("0"), cur),
                "shipping_fee_platform_discount": _amount(Decimal("0"), cur),
                "tax": _amount(order.tax, cur),
                "product_tax": _amount(order.tax, cur),
                "shipping_fee_tax": _amount(Decimal("0"), cur),
                "total_amount": _amount(sub_total + order.shipping + order.tax, cur),
            },
            "recipient_address": {
                "name": f"{c.first_name[0]}*** {c.last_name[0]}***",
                "phone_number": f"(+1){c.phone[-4:-2]}*****{c.phone[-2:]}",
                "full_address": f"{c.address1}, {c.city}",
                "postal_code": c.zip,
                "region_code": order.shop.country,
            },
            "line_items": units,
        }
        if timeline.paid <= now:
            payload["paid_time"] = timeline.paid
        for key, ts in (
            ("rts_time", timeline.rts),
            ("collection_time", timeline.collected),
            ("delivery_time", timeline.delivered),
        ):
            if ts is not None and ts <= now:
                payload[key] = ts
        if status == "CANCELLED":
            payload["cancel_time"] = timeline.cancelled
            payload["cancel_reason"] = order.cancel_reason
            payload["cancellation_initiator"] = "BUYER" if order.cancel_reason == "customer" else "SELLER"
        return payload

    def orders_in(self, shop_id: str, now: int, ge: int | None, lt: int | None) -> list[tuple[int, int, Order]]:
        """(update_time, order id, order) of the shop's orders visible at `now` in [ge, lt), sorted."""
        rows = []
        for order, timeline in self._timelines[shop_id]:
            if timeline.created > now:
                continue
            updated = max(timeline.update_time(now), self._touched.get(order.order_id, 0))
            if (ge is None or updated >= ge) and (lt is None or updated < lt):
                rows.append((updated, order.order_id, order))
        rows.sort(key=lambda r: (r[0], r[1]))
        return rows

    def _window_body(self, request: Request) -> tuple[int | None, int | None] | Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return self._error(PARAM_ERROR, "Invalid param: the request body is not valid JSON.")
        if not isinstance(body, dict):
            return self._error(PARAM_ERROR, "Invalid param: the request body must be a JSON object.")
        ge, lt = body.get("update_time_ge"), body.get("update_time_lt")
        for value in (ge, lt):
            if value is not None and not isinstance(value, int):
                return self._error(PARAM_ERROR, "Invalid param: update_time_ge/update_time_lt must be Unix seconds.")
        if ge is not None and lt is not None and ge >= lt:
            return self._error(PARAM_ERROR, "Invalid param: update_time_ge must be earlier than update_time_lt.")
        return ge, lt

    def _list_params(self, request: Request, default_size: int) -> tuple[int, dict | None] | Response:
        size = self._page_size(request, default_size)
        if size is None:
            return self._error(PARAM_ERROR, f"Invalid param: page_size must be between 1 and {MAX_PAGE_SIZE}.")
        cursor = None
        if request.query.get("page_token"):
            cursor = self._decode_cursor(request.query["page_token"])
            if cursor is None:
                return self._error(PARAM_ERROR, "Invalid param: page_token is invalid.")
        return size, cursor

    def search_orders(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        assert shop_id is not None
        window = self._window_body(request)
        if isinstance(window, Response):
            return window
        listing = self._list_params(request, 20)
        if isinstance(listing, Response):
            return listing
        if (request.query.get("sort_field", "update_time"), request.query.get("sort_order", "ASC")) != (
            "update_time",
            "ASC",
        ):
            return self._error(PARAM_ERROR, "Invalid param: the sandbox lists by sort_field=update_time ASC only.")
        (ge, lt), (size, cursor) = window, listing
        query_key = f"orders:{ge}:{lt}"
        if cursor is not None and cursor.get("q") != query_key:
            return self._error(PARAM_ERROR, "Invalid param: page_token does not belong to this query.")
        now = int(self.clock.now().timestamp())
        rows = self.orders_in(shop_id, now, ge, lt)
        total = len(rows)
        if cursor is not None:
            after = (int(cursor["a"][0]), int(cursor["a"][1]))
            rows = rows[bisect.bisect_right([(r[0], r[1]) for r in rows], after) :]
        page, rest = rows[:size], rows[size:]
        next_token = self._encode_cursor({"q": query_key, "a": [page[-1][0], page[-1][1]]}) if rest else ""
        if cursor is None and rest and ge is not None:
            self._maybe_touch(shop_id, now, ge, lt, (page[-1][0], page[-1][1]))
        timelines = self._timeline_of[shop_id]
        return self._ok(
            shop_id,
            {
                "orders": [self.order_payload(o, timelines[o.order_id], now) for _, _, o in page],
                "next_page_token": next_token,
                "total_count": total,
            },
        )

    def _maybe_touch(self, shop_id: str, now: int, ge: int, lt: int | None, cursor: tuple[int, int]) -> None:
        """change_between_pages: after page 1, an order last updated before the window changes again
        (e.g. the seller adds a note) with an update_time inside it, past the cursor."""
        faults = self.faults[shop_id]
        with self._lock:
            if faults.change_between_pages <= 0:
                return
            faults.change_between_pages -= 1
        new_time = min(now, (lt if lt is not None else now + 1) - 1)
        older = [
            (t.update_time(now), o.order_id)
            for o, t in self._timelines[shop_id]
            if t.created <= now and t.update_time(now) < ge and o.order_id not in self._touched
        ]
        for _, order_id in sorted(older, reverse=True):
            if (new_time, order_id) > cursor:
                self._touched[order_id] = new_time
                self.touched_orders.append(order_id)
                return

    # -- returns ----------------------------------------------------------------------------------
    def _index_returns(self, shop_id: str) -> list[tuple[int, int, Refund, Order]]:
        """Refunds of orders that were not cancelled (a cancelled order's money was never taken: no return)."""
        rows = [
            (_epoch(r.created_at), r.refund_id, r, o)
            for o in self.data.orders_by_shop[shop_id]
            if not o.is_test and o.cancelled_at is None
            for r in o.refunds
        ]
        rows.sort(key=lambda r: (r[0], r[1]))
        return rows  # type: ignore[return-value]

    @staticmethod
    def return_payload(refund: Refund, order: Order) -> dict:
        cur = order.currency
        zero = _amount(Decimal("0"), cur)
        lines_by_id = {li.line_item_id: li for li in order.lines}
        items = []
        for rl in refund.lines:
            li = lines_by_id[rl.line_item_id]
            for k, share in enumerate(split_units(rl.subtotal, rl.quantity, cur)):
                items.append(
                    {
                        "return_line_item_id": str(refund.refund_id * 1000 + len(items)),
                        "order_line_item_id": _unit_line_id(li.line_item_id, k),
                        "sku_id": str(li.product.variant_id),
                        "seller_sku": li.product.sku,
                        "product_name": li.product.title,
                        "refund_amount": {
                            "currency": cur,
                            "refund_subtotal": _amount(share, cur),
                            "refund_shipping_fee": zero,
                            "refund_tax": zero,
                            "refund_total": _amount(share, cur),
                        },
                    }
                )
        recall = refund.note.startswith("recall")
        return {
            "return_id": str(refund.refund_id),
            "order_id": str(order.order_id),
            "return_type": "REFUND_ONLY" if recall else "RETURN_AND_REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_reason_text": refund.note,
            "role": "SELLER" if recall else "BUYER",
            "create_time": _epoch(refund.created_at),
            "update_time": _epoch(refund.created_at),
            "refund_time": _epoch(refund.processed_at),
            "refund_amount": {
                "currency": cur,
                "refund_subtotal": _amount(refund.amount, cur),
                "refund_shipping_fee": zero,
                "refund_tax": zero,
                "refund_total": _amount(refund.amount, cur),
            },
            "return_line_items": items,
        }

    def search_returns(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        assert shop_id is not None
        window = self._window_body(request)
        if isinstance(window, Response):
            return window
        listing = self._list_params(request, 20)
        if isinstance(listing, Response):
            return listing
        (ge, lt), (size, cursor) = window, listing
        query_key = f"returns:{ge}:{lt}"
        if cursor is not None and cursor.get("q") != query_key:
            return self._error(PARAM_ERROR, "Invalid param: page_token does not belong to this query.")
        now = int(self.clock.now().timestamp())
        rows = [
            r
            for r in self._returns[shop_id]
            if r[0] <= now and (ge is None or r[0] >= ge) and (lt is None or r[0] < lt)
        ]
        total = len(rows)
        if cursor is not None:
            after = (int(cursor["a"][0]), int(cursor["a"][1]))
            rows = [r for r in rows if (r[0], r[1]) > after]
        page, rest = rows[:size], rows[size:]
        next_token = self._encode_cursor({"q": query_key, "a": [page[-1][0], page[-1][1]]}) if rest else ""
        return self._ok(
            shop_id,
            {
                "return_orders": [self.return_payload(refund, order) for _, _, refund, order in page],
                "next_page_token": next_token,
                "total_count": total,
            },
        )

    # -- analytics --------------------------------------------------------------------------------
    def _date_range(self, request: Request) -> tuple[date, date] | Response:
        try:
            start = date.fromisoformat(request.query["start_date_ge"])
            end = date.fromisoformat(request.query["end_date_lt"])
        except (KeyError, ValueError):
            return self._error(PARAM_ERROR, "Invalid param: start_date_ge and end_date_lt (YYYY-MM-DD) are required.")
        if end <= start:
            return self._error(PARAM_ERROR, "Invalid param: end_date_lt must be later than start_date_ge.")
        if (end - start).days > MAX_ANALYTICS_DAYS:
            return self._error(
                PARAM_ERROR,
                "Invalid param: the date range between start_date_ge and end_date_lt exceeds "
                f"{MAX_ANALYTICS_DAYS} days.",
            )
        if request.query.get("currency", "USD") != "LOCAL":
            return self._error(PARAM_ERROR, "Invalid param: the sandbox serves currency=LOCAL only.")
        return start, end

    def _latest_available(self, shop_id: str) -> date:
        """Analytics are available the next day: yesterday in the shop's time zone."""
        tz = ZoneInfo(self.shops[shop_id].timezone)
        return self.clock.now().astimezone(tz).date() - timedelta(days=1)

    def counted_orders(self, shop_id: str, day: date, now: datetime) -> list[Order]:
        """The day's orders that count in analytics at `now`: placed, not cancelled (yet), no test orders."""
        return [
            o
            for o in self.data.orders_on(shop_id, day)
            if o.created_at <= now and not o.is_test and not (o.cancelled_at is not None and o.cancelled_at <= now)
        ]

    def day_interval(self, shop_id: str, day: date, now: datetime) -> dict:
        shop = self.shops[shop_id]
        cur = shop.currency
        orders = self.counted_orders(shop_id, day, now)
        by_type = {"LIVE": Decimal("0"), "VIDEO": Decimal("0"), "PRODUCT_CARD": Decimal("0")}
        for order in orders:
            by_type[self.data.content_type(order)] += order.subtotal
        gmv = sum(by_type.values(), Decimal("0"))
        units = sum(o.units for o in orders)
        rng = random.Random(f"{self.data.seed}:tts-traffic:{shop_id}:{day.isoformat()}")
        page_views = int(units / rng.uniform(0.04, 0.08)) + rng.randint(20, 120)
        return {
            "start_date": day.isoformat(),
            "end_date": (day + timedelta(days=1)).isoformat(),
            "gmv": {"amount": _amount(gmv, cur), "currency": cur},
            "gmv_breakdowns": [
                {"type": kind, "amount": _amount(value, cur), "currency": cur} for kind, value in by_type.items()
            ],
            "orders": len(orders),
            "sku_orders": sum(len(o.lines) for o in orders),
            "units_sold": units,
            "buyers": len({o.customer.customer_id for o in orders}),
            "product_impressions": int(page_views * rng.uniform(4, 9)),
            "product_page_views": page_views,
        }

    def shop_performance(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        assert shop_id is not None
        dates = self._date_range(request)
        if isinstance(dates, Response):
            return dates
        start, end = dates
        if request.query.get("granularity", "ALL") != "1D":
            return self._error(PARAM_ERROR, "Invalid param: the sandbox serves granularity=1D only.")
        now = self.clock.now()
        latest = self._latest_available(shop_id)
        days = [start + timedelta(days=i) for i in range((min(end, latest + timedelta(days=1)) - start).days)]
        return self._ok(
            shop_id,
            {
                "performance": {"intervals": [self.day_interval(shop_id, d, now) for d in days]},
                "latest_available_date": latest.isoformat(),
            },
        )

    def session_payload(self, shop_id: str, day: date, session: LiveSession, now: datetime) -> dict:
        """A LIVE stream with the sales of the orders placed during it, as counted at `now`."""
        cur = self.shops[shop_id].currency
        sessions = self.data.live_sessions(shop_id, day)
        orders = [
            o for o in self.counted_orders(shop_id, day, now) if self.data.live_session_of(o, sessions) is session
        ]
        gmv = sum((o.subtotal for o in orders), Decimal("0"))
        return {
            "id": session.live_id,
            "title": session.title,
            "username": session.host,
            "start_time": _epoch(session.start),
            "end_time": _epoch(session.end),
            "sales_performance": {
                "gmv": {"amount": _amount(gmv, cur), "currency": cur},
                "orders": len(orders),
                "sku_orders": sum(len(o.lines) for o in orders),
                "items_sold": sum(o.units for o in orders),
                "customers": len({o.customer.customer_id for o in orders}),
            },
            "interaction_performance": {
                "viewers": session.viewers,
                "product_impressions": session.product_impressions,
                "product_clicks": session.product_clicks,
            },
        }

    def live_sessions(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        assert shop_id is not None
        dates = self._date_range(request)
        if isinstance(dates, Response):
            return dates
        listing = self._list_params(request, 10)
        if isinstance(listing, Response):
            return listing
        (start, end), (size, cursor) = dates, listing
        query_key = f"lives:{start}:{end}"
        if cursor is not None and cursor.get("q") != query_key:
            return self._error(PARAM_ERROR, "Invalid param: page_token does not belong to this query.")
        now = self.clock.now()
        rows = []
        for i in range((end - start).days):
            day = start + timedelta(days=i)
            if not self.data.start <= day <= self.data.end:
                continue  # the shop streamed only while it traded
            for session in self.data.live_sessions(shop_id, day):
                if session.end <= now:
                    rows.append(self.session_payload(shop_id, day, session, now))
        rows.sort(key=lambda s: (-Decimal(s["sales_performance"]["gmv"]["amount"]), s["id"]))
        offset = int(cursor.get("o", 0)) if cursor is not None else 0
        page = rows[offset : offset + size]
        more = offset + size < len(rows)
        return self._ok(
            shop_id,
            {
                "live_stream_sessions": page,
                "next_page_token": self._encode_cursor({"q": query_key, "o": offset + size}) if more else "",
                "total_count": len(rows),
            },
        )

    # -- customer service --------------------------------------------------------------------------
    def _cs_user(self, shop_id: str, role: str, chat: Conversation) -> dict:
        if role == "BUYER":
            c = chat.buyer
            return {
                "role": "BUYER",
                "user_id": str(7_000_000_000_000_000_000 + c.customer_id),
                "im_user_id": str(8_000_000_000_000_000_000 + c.customer_id),
                "nickname": f"{c.first_name} {c.last_name[0]}.",
                "avatar": "",
            }
        shop = self.shops[shop_id]
        return {
            "role": role,
            "user_id": "",
            "im_user_id": str(8_100_000_000_000_000_000 + int(hashlib.sha256(shop_id.encode()).hexdigest()[:8], 16)),
            "nickname": shop.name,
            "avatar": "",
        }

    def cs_message(self, shop_id: str, chat: Conversation, message: ChatMessage) -> dict:
        # the seller's first message in a chat is the shop's notice; its answers come from an agent
        role = "BUYER" if message.sender == "buyer" else ("SHOP" if message is chat.messages[0] else "CUSTOMER_SERVICE")
        return {
            "id": str(message.message_id),
            "type": "TEXT",
            "content": json.dumps({"content": message.text}),
            "sender": self._cs_user(shop_id, role, chat),
            "create_time": _epoch(message.created_at),
            "is_visible": True,
        }

    def _cs_chats(self, shop_id: str, now: datetime) -> list[tuple[int, int, Conversation, tuple[ChatMessage, ...]]]:
        """(latest message time, id, conversation, visible messages), newest latest message first."""
        rows = []
        for chat in self.data.all_conversations(shop_id):
            visible = chat.visible(now)
            if visible:
                rows.append((_epoch(visible[-1].created_at), chat.conversation_id, chat, visible))
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        return rows  # type: ignore[return-value]

    def cs_conversations(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        assert shop_id is not None
        listing = self._list_params(request, 10)
        if isinstance(listing, Response):
            return listing
        size, cursor = listing
        if size > MAX_CS_PAGE_SIZE:
            return self._error(PARAM_ERROR, f"Invalid param: page_size must be between 1 and {MAX_CS_PAGE_SIZE}.")
        rows = self._cs_chats(shop_id, self.clock.now())
        if cursor is not None:
            after = (int(cursor["a"][0]), int(cursor["a"][1]))
            rows = [r for r in rows if (r[0], r[1]) < after]
        page, rest = rows[:size], rows[size:]
        conversations = []
        for _, _, chat, visible in page:
            conversations.append(
                {
                    "id": str(chat.conversation_id),
                    "participant_count": 2,
                    "unread_count": 0 if visible[-1].sender == "seller" else 1,
                    "create_time": _epoch(visible[0].created_at),
                    "can_send_message": True,
                    "participants": [
                        self._cs_user(shop_id, "BUYER", chat),
                        self._cs_user(shop_id, "SHOP", chat),
                    ],
                    "latest_message": self.cs_message(shop_id, chat, visible[-1]),
                }
            )
        token = self._encode_cursor({"q": "cs", "a": [page[-1][0], page[-1][1]]}) if rest else ""
        return self._ok(shop_id, {"conversations": conversations, "next_page_token": token})

    def cs_messages(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        assert shop_id is not None
        listing = self._list_params(request, 10)
        if isinstance(listing, Response):
            return listing
        size, cursor = listing
        if size > MAX_CS_PAGE_SIZE:
            return self._error(PARAM_ERROR, f"Invalid param: page_size must be between 1 and {MAX_CS_PAGE_SIZE}.")
        wanted = request.params.get("conversation_id", "")
        found = next((r for r in self._cs_chats(shop_id, self.clock.now()) if str(r[1]) == wanted), None)
        if found is None:
            return self._error(PARAM_ERROR, "Invalid param: the conversation does not exist in this shop.")
        _, _, chat, visible = found
        ordered = list(visible) if request.query.get("sort_order", "DESC") == "ASC" else list(reversed(visible))
        offset = int(cursor.get("o", 0)) if cursor is not None else 0
        page = ordered[offset : offset + size]
        more = offset + size < len(ordered)
        return self._ok(
            shop_id,
            {
                "messages": [self.cs_message(shop_id, chat, m) for m in page],
                "next_page_token": self._encode_cursor({"q": f"msg:{wanted}", "o": offset + size}) if more else "",
                "unsupported_msg_tips": "",
            },
        )

    # -- stores file --------------------------------------------------------------------------------
    def store_entry(self, shop: SandboxShop, base_url: str) -> tuple[dict, dict[str, str]]:
        """The shop's TikTok part of the stores file and the env values of its credentials."""
        suffix = shop.shop_id.upper().replace("-", "_")
        names = {
            "client_id_env": f"TIKTOK_APP_KEY_{suffix}",
            "client_secret_env": f"TIKTOK_APP_SECRET_{suffix}",
            "refresh_token_env": f"TIKTOK_REFRESH_TOKEN_{suffix}",
        }
        entry = {
            "platform": "tiktok",
            "base_url": base_url,
            "auth_url": base_url,
            "account": {"shop_cipher": self.ciphers[shop.shop_id]},
            "credentials": names,
        }
        env = {
            names["client_id_env"]: APP_KEY,
            names["client_secret_env"]: APP_SECRET,
            names["refresh_token_env"]: self.seed_refresh[shop.shop_id],
        }
        return entry, env
