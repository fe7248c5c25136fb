"""Sandbox of the Shopee Open Platform v2 (orders, returns, product comments and seller chat of a shop).

Reproduces what a client must cope with (domain.md §1.5):
- HMAC-SHA256 signing of every call (`partner_id + api_path + timestamp [+ access_token + shop_id]`
  keyed with the partner key) and a `timestamp` accepted only within 5 minutes of the sandbox clock;
- four-hour access tokens and single-use refresh tokens: `/api/v2/auth/access_token/get` hands out a
  new refresh token and the one it was called with stops working at once;
- the 15-day limit on every listing window (`error_param`), `cursor`/`more` paging of the order
  list, the 1-50 order cap of `get_order_detail`, `page_no` paging of the return list;
- the `{error, message, request_id, response}` envelope, with HTTP 403 for auth/sign errors, 400 for
  parameter errors, 429 for throttling, 500 for server errors, and HTTP 200 for the detail cap
  (Shopee answers some errors with 200: a client must read the body, not the status);
- product comments (`v2.product.get_comment`): no time filter, newest first, `cursor`/`more` paging
  of at most 100 a page and at most 500 comments a listing (then `more` stays true on an empty page);
- seller chat (`v2.sellerchat.get_conversation_list` / `get_message`): conversations newest first by
  their last message, paged by `next_timestamp_nano` (at most 25 a page), and each conversation's
  messages newest first, paged by an `offset` cursor (at most 60 a page). Buyer usernames and message
  text are in the payloads, as the real API sends them.

A shop is identified by its numeric `shop_id` (crc32 of the sandbox shop id). Tokens are signed by
the sandbox (not kept in a table), so a rotated refresh token stored by a client stays good across a
sandbox restart; single use and the `token_expired` knob are enforced for the life of the process.

Money is rendered as JSON numbers in the shop currency (integers for zero-decimal currencies),
timestamps as Unix seconds. Cancelled orders are served as CANCELLED and have no return (the
generator's "cancelled" refund is a Shopify artefact); Shopee has no test orders.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ingestion.sandbox.generator import (
    ZERO_DECIMAL_CURRENCIES,
    ChatMessage,
    Conversation,
    Order,
    Refund,
    Review,
    SandboxData,
    SandboxShop,
)
from ingestion.sandbox.server import Faults, Request, Response, SandboxApp, SandboxClock, TokenBucket

PARTNER_ID = 2_004_417
PARTNER_KEY = "sbx-shopee-partner-key-6f1c0a9e4b7d2c58"
ACCESS_TOKEN_SECONDS = 4 * 3600
REFRESH_TOKEN_SECONDS = 30 * 86400
TIMESTAMP_SKEW_SECONDS = 300
MAX_WINDOW_SECONDS = 15 * 86400
MAX_PAGE_SIZE = 100
MAX_DETAIL_IDS = 50
MAX_COMMENTS = 500  # get_comment serves at most this many comments per listing
MAX_CONVERSATION_PAGE = 25
MAX_MESSAGE_PAGE = 60
# Assumed per-partner limit per API (Shopee publishes none): requests/second and burst.
RATE_PER_SECOND = 10.0
BURST = 10

API = "/api/v2"
ORDER_LIST = f"{API}/order/get_order_list"
ORDER_DETAIL = f"{API}/order/get_order_detail"
RETURN_LIST = f"{API}/returns/get_return_list"
TOKEN_REFRESH = f"{API}/auth/access_token/get"
COMMENT_LIST = f"{API}/product/get_comment"
CONVERSATION_LIST = f"{API}/sellerchat/get_conversation_list"
MESSAGE_LIST = f"{API}/sellerchat/get_message"

# Fields get_order_detail returns without being asked (the rest need response_optional_fields).
DEFAULT_DETAIL_FIELDS = (
    "order_sn",
    "region",
    "currency",
    "cod",
    "order_status",
    "create_time",
    "update_time",
    "days_to_ship",
    "ship_by_date",
    "message_to_seller",
)

RETURN_REASONS = {
    "damaged": "ITEM_DAMAGED",
    "wrong size": "WRONG_ITEM",
    "not as described": "DIFF_DESC",
    "changed mind": "CHANGE_MIND",
}
CANCEL_REASONS = {
    "customer": ("buyer", "Need to change delivery address"),
    "inventory": ("seller", "Out of Stock"),
    "fraud": ("system", "Suspicious order"),
}


def shop_number(shop_id: str) -> int:
    """The numeric Shopee shop_id of a sandbox shop."""
    return zlib.crc32(shop_id.encode())


def sign(partner_key: str, base: str) -> str:
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def order_sn(order: Order) -> str:
    """A 14-character order_sn like Shopee's: local order date (yymmdd) + 8 base-36 characters."""
    local = order.created_at.astimezone(ZoneInfo(order.shop.timezone))
    n = order.order_id - 5_000_000_000_000
    digits = ""
    for _ in range(8):
        n, r = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r] + digits
    return f"{local:%y%m%d}{digits}"


def return_sn(refund: Refund, order: Order) -> str:
    local = refund.created_at.astimezone(ZoneInfo(order.shop.timezone))
    return f"{local:%y%m%d}{refund.refund_id % 10**9:09d}"


def _unix(value: datetime) -> int:
    return int(value.timestamp())


def _num(value: Decimal, currency: str) -> int | float:
    """Shopee money: JSON numbers, integers in zero-decimal currencies."""
    return int(value) if currency in ZERO_DECIMAL_CURRENCIES else float(value)


@dataclass(frozen=True)
class Timeline:
    """When the order reaches each Shopee status (UTC); None where it never does."""

    paid: datetime
    arranged: datetime | None  # PROCESSED: shipment arranged, tracking number issued
    shipped: datetime | None  # SHIPPED: picked up by the carrier (= generator fulfilled_at)
    completed: datetime | None  # COMPLETED: buyer confirmed receipt
    cancelled: datetime | None

    def events(self) -> list[datetime]:
        return [t for t in (self.paid, self.arranged, self.shipped, self.completed, self.cancelled) if t]


def timeline(order: Order) -> Timeline:
    rng = random.Random(f"shopee-timeline:{order.order_id}")
    if order.cancelled_at is not None:
        return Timeline(min(order.paid_at, order.cancelled_at), None, None, None, order.cancelled_at)
    assert order.fulfilled_at is not None
    arranged = max(order.paid_at, order.fulfilled_at - timedelta(seconds=rng.randint(1800, 4 * 3600)))
    completed = order.fulfilled_at + timedelta(seconds=rng.randint(2 * 86400, 7 * 86400))
    return Timeline(order.paid_at, arranged, order.fulfilled_at, completed, None)


def returns_of(order: Order) -> tuple[Refund, ...]:
    """Refunds Shopee shows as returns: none for a cancelled order (nothing was charged)."""
    return () if order.cancelled_at is not None else order.refunds


class ShopeeSandbox(SandboxApp):
    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock | None = None,
        *,
        rate_scale: float = 1.0,
        partner_id: int = PARTNER_ID,
        partner_key: str = PARTNER_KEY,
    ) -> None:
        super().__init__()
        self.data = data
        self.clock = clock or SandboxClock()
        self.partner_id, self.partner_key = partner_id, partner_key
        self.rate_scale = rate_scale
        shops = data.shops_of("shopee")
        self.shops: dict[int, SandboxShop] = {shop_number(s.shop_id): s for s in shops}
        self.faults: dict[str, Faults] = {s.shop_id: Faults() for s in shops}
        self._lock = threading.Lock()
        self._buckets: dict[tuple[int, str], TokenBucket] = {}
        self._nonce = itertools.count(1)
        self._used_refresh: set[str] = set()
        self._expired_access: set[str] = set()
        self._edits: dict[tuple[str, str], datetime] = {}  # (shop, order_sn) -> when the seller edited it
        self.refresh_calls = 0
        self._index: dict[str, _ShopIndex] = {s.shop_id: _ShopIndex(data.orders_by_shop[s.shop_id]) for s in shops}
        self.route("GET", ORDER_LIST, self.get_order_list)
        self.route("GET", ORDER_DETAIL, self.get_order_detail)
        self.route("GET", RETURN_LIST, self.get_return_list)
        self.route("POST", TOKEN_REFRESH, self.refresh_access_token)
        self.route("GET", COMMENT_LIST, self.get_comment)
        self.route("GET", CONVERSATION_LIST, self.get_conversation_list)
        self.route("GET", MESSAGE_LIST, self.get_message)

    # -- configuration used by the demo and tests ------------------------------------------------
    def set_rate_scale(self, scale: float) -> None:
        """Change the partner limit (and start with full buckets)."""
        with self._lock:
            self.rate_scale = scale
            self._buckets.clear()

    def issue_refresh_token(self, shop: SandboxShop) -> str:
        """A refresh token as after the seller authorized the app (the code exchange)."""
        return self._token("r", shop_number(shop.shop_id), self.clock.now())

    def store_entry(self, shop: SandboxShop, base_url: str) -> tuple[dict, dict[str, str]]:
        suffix = shop.shop_id.upper().replace("-", "_")
        names = {
            "client_id_env": f"SHOPEE_PARTNER_ID_{suffix}",
            "client_secret_env": f"SHOPEE_PARTNER_KEY_{suffix}",
            "refresh_token_env": f"SHOPEE_REFRESH_TOKEN_{suffix}",
        }
        entry = {
            "platform": "shopee",
            "base_url": base_url,
            "account": {"shop_id": str(shop_number(shop.shop_id))},
            "credentials": names,
        }
        env = {
            names["client_id_env"]: str(self.partner_id),
            names["client_secret_env"]: self.partner_key,
            names["refresh_token_env"]: self.issue_refresh_token(shop),
        }
        return entry, env

    # -- tokens: signed by the sandbox, so they survive a restart --------------------------------
    def _token(self, kind: str, shop_num: int, issued: datetime) -> str:
        body = f"{kind}.{shop_num}.{_unix(issued)}.{next(self._nonce)}{time.monotonic_ns() % 10**6:06d}"
        mac = sign(self.partner_key, "sbx-token:" + body)[:20]
        return f"{body}.{mac}"

    def _check_token(self, token: str, kind: str, shop_num: int, lifetime: int) -> bool:
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != kind:
            return False
        body, mac = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(mac, sign(self.partner_key, "sbx-token:" + body)[:20]):
            return False
        try:
            owner, issued = int(parts[1]), int(parts[2])
        except ValueError:
            return False
        return owner == shop_num and issued + lifetime > _unix(self.clock.now())

    # -- envelope ----------------------------------------------------------------------------------
    def _error(self, status: int, error: str, message: str) -> Response:
        return Response.json({"error": error, "message": message, "request_id": self.request_id()}, status)

    def _ok(self, shop: SandboxShop, response: dict) -> Response:
        payload = {"error": "", "message": "", "request_id": self.request_id(), "response": response}
        faults = self.faults[shop.shop_id]
        with self._lock:
            if faults.take("drop_next"):
                return Response(200, json.dumps(payload).encode(), {"Content-Type": "application/json"}, cut=True)
            if faults.take("malformed_next"):
                body = json.dumps(payload).encode()
                return Response(200, body[: max(1, len(body) // 2)], {"Content-Type": "application/json"})
        return Response.json(payload)

    def _common(self, request: Request, path: str, shop_level: bool) -> tuple[int, Response | None]:
        """Partner, timestamp and signature checks shared by every call; returns the timestamp."""
        q = request.query
        try:
            partner_id, timestamp = int(q.get("partner_id", "")), int(q.get("timestamp", ""))
        except ValueError:
            return 0, self._error(400, "error_param", "partner_id and timestamp are required integers.")
        if partner_id != self.partner_id:
            return 0, self._error(403, "error_auth", "Invalid partner_id.")
        if not self.clock.is_fresh(timestamp, TIMESTAMP_SKEW_SECONDS):
            return 0, self._error(400, "error_param", "Invalid timestamp: it must be within 5 minutes of now.")
        base = f"{partner_id}{path}{timestamp}"
        if shop_level:
            base += f"{q.get('access_token', '')}{q.get('shop_id', '')}"
        if not hmac.compare_digest(q.get("sign", ""), sign(self.partner_key, base)):
            return 0, self._error(403, "error_sign", "Wrong sign.")
        return timestamp, None

    def _take(self, path: str) -> bool:
        with self._lock:
            bucket = self._buckets.get((self.partner_id, path))
            if bucket is None:
                bucket = self._buckets[(self.partner_id, path)] = TokenBucket(RATE_PER_SECOND * self.rate_scale, BURST)
            return bucket.take()

    def _gate(self, request: Request, path: str) -> tuple[SandboxShop | None, Response | None]:
        _, denied = self._common(request, path, shop_level=True)
        if denied is not None:
            return None, denied
        try:
            shop = self.shops.get(int(request.query.get("shop_id", "")))
        except ValueError:
            shop = None
        if shop is None:
            return None, self._error(403, "error_auth", "Invalid shop_id.")
        faults = self.faults[shop.shop_id]
        token = request.query.get("access_token", "")
        with self._lock:
            if faults.token_expired and token:
                faults.token_expired = False
                self._expired_access.add(token)
        if (
            faults.token_revoked
            or token in self._expired_access
            or not self._check_token(token, "a", shop_number(shop.shop_id), ACCESS_TOKEN_SECONDS)
        ):
            return None, self._error(403, "error_auth", "Invalid access_token.")
        with self._lock:
            throttled = faults.take("throttle_next")
        if throttled or not self._take(path):
            return None, self._error(429, "error_too_many_request", "Too many requests, please try again later.")
        with self._lock:
            if faults.take("server_error_next"):
                return None, self._error(500, "error_server", "Something wrong. Please try later.")
        return shop, None

    @staticmethod
    def _window(q: dict[str, str], frm: str, to: str) -> tuple[int, int] | str:
        try:
            start, end = int(q[frm]), int(q[to])
        except (KeyError, ValueError):
            return f"{frm} and {to} are required integers."
        if end <= start or end - start > MAX_WINDOW_SECONDS:
            return "Start time must be earlier than end time and diff in 15 days."
        return start, end

    @staticmethod
    def _page_size(q: dict[str, str]) -> int | None:
        try:
            size = int(q.get("page_size", ""))
        except ValueError:
            return None
        return size if 1 <= size <= MAX_PAGE_SIZE else None

    # -- what the platform shows at the sandbox clock --------------------------------------------
    def _sn(self, order: Order) -> str:
        return self._index[order.shop.shop_id].sn[order.order_id]

    def _timeline(self, order: Order) -> Timeline:
        return self._index[order.shop.shop_id].timelines[order.order_id]

    def update_time(self, order: Order, now: datetime) -> datetime:
        events = [order.created_at, *(t for t in self._timeline(order).events() if t <= now)]
        events.extend(r.created_at for r in returns_of(order) if r.created_at <= now)
        edited = self._edits.get((order.shop.shop_id, self._sn(order)))
        if edited is not None and edited <= now:
            events.append(edited)
        return max(events)

    def status(self, order: Order, now: datetime) -> str:
        t = self._timeline(order)
        if t.cancelled is not None and t.cancelled <= now:
            return "CANCELLED"
        if now < t.paid:
            return "UNPAID"
        for at, status in ((t.completed, "COMPLETED"), (t.shipped, "SHIPPED"), (t.arranged, "PROCESSED")):
            if at is not None and at <= now:
                return status
        return "READY_TO_SHIP"

    def order_detail(self, order: Order, now: datetime, fields: set[str]) -> dict:
        """The get_order_detail object of an order at `now`, with the optional fields asked for."""
        cur, shop, t = order.currency, order.shop, self._timeline(order)
        rng = random.Random(f"shopee-order:{order.order_id}")
        carrier = rng.choice(("SPX Express", "Ninja Van", "J&T Express"))
        status = self.status(order, now)
        sn = self._sn(order)
        edited = self._edits.get((shop.shop_id, sn))
        c = order.customer
        cancelled = status == "CANCELLED"
        logistics = {
            "UNPAID": "LOGISTICS_NOT_STARTED",
            "READY_TO_SHIP": "LOGISTICS_READY",
            "PROCESSED": "LOGISTICS_REQUEST_CREATED",
            "SHIPPED": "LOGISTICS_PICKUP_DONE",
            "COMPLETED": "LOGISTICS_DELIVERY_DONE",
            "CANCELLED": "LOGISTICS_INVALID",
        }[status]
        cancel_by, cancel_reason = CANCEL_REASONS.get(order.cancel_reason or "", ("", ""))
        optional = {
            "buyer_user_id": c.customer_id - 9_000_000_000,
            "buyer_username": f"{c.first_name}{c.last_name}{c.customer_id % 1000}".lower(),
            "estimated_shipping_fee": _num(order.shipping, cur),
            "actual_shipping_fee": _num(order.shipping, cur),
            "actual_shipping_fee_confirmed": t.shipped is not None and t.shipped <= now,
            "recipient_address": {
                "name": f"{c.first_name} {c.last_name}",
                "phone": c.phone,
                "town": "",
                "district": "",
                "city": c.city,
                "state": "",
                "region": shop.country,
                "zipcode": c.zip,
                "full_address": f"{c.address1}, {c.city} {c.zip}",
            },
            "note": "Gift wrap requested by phone" if edited is not None and edited <= now else "",
            "note_update_time": _unix(edited) if edited is not None and edited <= now else 0,
            "item_list": [
                {
                    "item_id": li.product.product_id,
                    "item_name": li.product.title,
                    "item_sku": li.product.sku,
                    "model_id": li.product.variant_id,
                    "model_name": "Standard",
                    "model_sku": li.product.sku,
                    "model_quantity_purchased": li.quantity,
                    "model_original_price": _num(li.price, cur),
                    # the seller discount is exactly 10% per unit, so the per-unit price is exact
                    "model_discounted_price": _num(li.price - li.total_discount / li.quantity, cur),
                    "wholesale": False,
                    "weight": 0.5,
                    "add_on_deal": False,
                    "main_item": False,
                    "add_on_deal_id": 0,
                    "promotion_type": "product_promotion" if li.total_discount else "",
                    "promotion_id": 0,
                    "order_item_id": li.line_item_id,
                }
                for li in order.lines
            ],
            "pay_time": _unix(t.paid) if t.paid <= now else None,
            "total_amount": _num(order.total_price, cur),
            "payment_method": rng.choice(("Credit Card/Debit Card", "ShopeePay", "Online Banking")),
            "shipping_carrier": carrier,
            "checkout_shipping_carrier": carrier,
            "split_up": False,
            "buyer_cancel_reason": cancel_reason if cancelled and cancel_by == "buyer" else "",
            "cancel_by": cancel_by if cancelled else "",
            "cancel_reason": cancel_reason if cancelled else "",
            "fulfillment_flag": "fulfilled_by_local_seller",
            "pickup_done_time": _unix(t.shipped) if t.shipped is not None and t.shipped <= now else 0,
            "package_list": [
                {
                    "package_number": f"OFG{order.order_id % 10**12:012d}",
                    "logistics_status": logistics,
                    "shipping_carrier": carrier,
                    "item_list": [
                        {
                            "item_id": li.product.product_id,
                            "model_id": li.product.variant_id,
                            "model_quantity": li.quantity,
                        }
                        for li in order.lines
                    ],
                }
            ],
        }
        detail = {
            "order_sn": sn,
            "region": shop.country,
            "currency": cur,
            "cod": False,
            "order_status": status,
            "create_time": _unix(order.created_at),
            "update_time": _unix(self.update_time(order, now)),
            "days_to_ship": 3,
            "ship_by_date": _unix(order.created_at + timedelta(days=3)),
            "message_to_seller": "",
        }
        detail.update({k: v for k, v in optional.items() if k in fields})
        return detail

    def return_payload(self, order: Order, refund: Refund) -> dict:
        cur = order.currency
        lines = {li.line_item_id: li for li in order.lines}
        c = order.customer
        items = []
        for rl in refund.lines:
            li = lines[rl.line_item_id]
            items.append(
                {
                    "item_id": li.product.product_id,
                    "model_id": li.product.variant_id,
                    "name": li.product.title,
                    "images": [],
                    "amount": rl.quantity,
                    "item_price": _num(li.price - li.total_discount / li.quantity, cur),
                    "is_add_on_deal": False,
                    "is_main_item": False,
                    "add_on_deal_id": 0,
                    "item_sku": li.product.sku,
                    "variation_sku": li.product.sku,
                    "refund_amount": _num(rl.subtotal, cur),
                }
            )
        created = _unix(refund.created_at)
        return {
            "return_sn": return_sn(refund, order),
            "order_sn": self._sn(order),
            "status": "ACCEPTED",
            "reason": RETURN_REASONS.get(refund.note, "OTHER"),
            "text_reason": refund.note,
            "create_time": created,
            "update_time": created,
            # Not in Shopee's public DTOs: when the money went back to the buyer (the generator's
            # processed_at, which can precede the record). See docs/sources/shopee.md.
            "refund_time": _unix(refund.processed_at),
            "due_date": created + 7 * 86400,
            "refund_amount": _num(refund.amount, cur),
            "amount_before_discount": _num(
                sum((lines[rl.line_item_id].price * rl.quantity for rl in refund.lines), Decimal("0")), cur
            ),
            "currency": cur,
            "needs_logistics": not refund.note.startswith("recall"),
            "tracking_number": "",
            "user": {"username": f"{c.first_name}{c.last_name}".lower(), "email": c.email, "portrait": ""},
            "item": items,
            "image": [],
            "negotiation_status": "TERMINATED",
            "seller_proof_status": "NOT_NEEDED",
            "seller_compensation_status": "NOT_REQUIRED",
        }

    # -- endpoints -------------------------------------------------------------------------------
    def get_order_list(self, request: Request) -> Response:
        shop, denied = self._gate(request, ORDER_LIST)
        if denied is not None:
            return denied
        assert shop is not None
        q = request.query
        if q.get("time_range_field") not in ("create_time", "update_time"):
            return self._error(400, "error_param", "time_range_field must be create_time or update_time.")
        window = self._window(q, "time_from", "time_to")
        if isinstance(window, str):
            return self._error(400, "error_param", window)
        size = self._page_size(q)
        if size is None:
            return self._error(400, "error_param", f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        after: list | None = None
        if q.get("cursor"):
            try:
                after = json.loads(base64.urlsafe_b64decode(q["cursor"].encode()))
            except ValueError:
                return self._error(400, "error_param", "Invalid cursor.")
        now = self.clock.now()
        field = q["time_range_field"]
        rows = []
        for order in self._index[shop.shop_id].candidates(window, now, field, self._edited_orders(shop)):
            at = _unix(order.created_at if field == "create_time" else self.update_time(order, now))
            if window[0] <= at <= window[1]:
                rows.append(([at, self._sn(order)], order))
        rows.sort(key=lambda r: r[0])
        if after is not None:  # keyset cursor: a record that moves cannot shift the others
            rows = [r for r in rows if r[0] > after]
        page, rest = rows[:size], rows[size:]
        faults = self.faults[shop.shop_id]
        with self._lock:
            if after is None and rest and faults.change_between_pages > 0:
                faults.change_between_pages -= 1
                # the seller edits an order the client has not seen yet: its update_time moves to now
                moved = rest[0][1]
                edited_at = max(now.replace(microsecond=0), self.update_time(moved, now) + timedelta(seconds=1))
                self._edits[(shop.shop_id, self._sn(moved))] = edited_at
        want_status = "order_status" in q.get("response_optional_fields", "")
        order_list = []
        for _, order in page:
            item = {"order_sn": self._sn(order)}
            if want_status:
                item["order_status"] = self.status(order, now)
            order_list.append(item)
        cursor = base64.urlsafe_b64encode(json.dumps(page[-1][0]).encode()).decode() if rest else ""
        return self._ok(shop, {"more": bool(rest), "next_cursor": cursor, "order_list": order_list})

    def _edited_orders(self, shop: SandboxShop) -> list[Order]:
        sns = {sn for (sid, sn) in self._edits if sid == shop.shop_id}
        return [self._index[shop.shop_id].by_sn[sn] for sn in sns]

    def get_order_detail(self, request: Request) -> Response:
        shop, denied = self._gate(request, ORDER_DETAIL)
        if denied is not None:
            return denied
        assert shop is not None
        wanted = [s for s in request.query.get("order_sn_list", "").split(",") if s]
        if not wanted:
            return self._error(400, "error_param", "order_sn_list is required.")
        if len(wanted) > MAX_DETAIL_IDS:
            # Shopee answers some parameter errors with HTTP 200 and the error in the body.
            return self._error(200, "error_param", f"order_sn_list should contain 1 to {MAX_DETAIL_IDS} order_sn.")
        fields = set(DEFAULT_DETAIL_FIELDS) | {
            f.strip() for f in request.query.get("response_optional_fields", "").split(",") if f.strip()
        }
        now = self.clock.now()
        index = self._index[shop.shop_id]
        orders = [index.by_sn[sn] for sn in dict.fromkeys(wanted) if sn in index.by_sn]
        visible = [o for o in orders if o.created_at <= now]  # unknown order_sn are left out
        return self._ok(shop, {"order_list": [self.order_detail(o, now, fields) for o in visible]})

    def get_return_list(self, request: Request) -> Response:
        shop, denied = self._gate(request, RETURN_LIST)
        if denied is not None:
            return denied
        assert shop is not None
        q = request.query
        field = "update_time" if "update_time_from" in q or "update_time_to" in q else "create_time"
        window = self._window(q, f"{field}_from", f"{field}_to")
        if isinstance(window, str):
            return self._error(400, "error_param", window)
        size = self._page_size(q)
        try:
            page_no = int(q.get("page_no", ""))
        except ValueError:
            page_no = -1
        if size is None or page_no < 0:
            return self._error(400, "error_param", f"page_no >= 0 and page_size 1..{MAX_PAGE_SIZE} are required.")
        now = self.clock.now()
        rows = [
            (refund, order)
            for refund, order in self._index[shop.shop_id].returns_between(window)
            if refund.created_at <= now
        ]  # a return's create_time and update_time are both its created_at
        page = rows[page_no * size : (page_no + 1) * size]
        more = len(rows) > (page_no + 1) * size
        return self._ok(shop, {"more": more, "return": [self.return_payload(o, r) for r, o in page]})

    # -- product comments ------------------------------------------------------------------------
    def comment_payload(self, review: Review, now: datetime) -> dict:
        c = review.order.customer
        payload = {
            "order_sn": self._sn(review.order),
            "comment_id": str(review.review_id),
            "comment": review.text,
            "buyer_username": f"{c.first_name}{c.last_name}{c.customer_id % 1000}".lower(),
            "item_id": review.line.product.product_id,
            "model_id": 0,  # deprecated by Shopee: always 0, model_id_list replaces it
            "model_id_list": [review.line.product.variant_id],
            "rating_star": review.rating,
            "editable": "EDITABLE" if now - review.created_at < timedelta(days=30) else "EXPIRED",
            "hidden": False,
            "create_time": _unix(review.created_at),
            "media": {"image_url_list": [], "video_url_list": []},
        }
        if review.reply_at is not None and review.reply_at <= now:
            payload["comment_reply"] = {
                "reply": "Thank you for your feedback!",
                "hidden": False,
                "create_time": _unix(review.reply_at),
            }
        return payload

    def get_comment(self, request: Request) -> Response:
        shop, denied = self._gate(request, COMMENT_LIST)
        if denied is not None:
            return denied
        assert shop is not None
        q = request.query
        size = self._page_size(q)
        if size is None:
            return self._error(400, "error_param", f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        try:
            offset = int(base64.urlsafe_b64decode(q["cursor"].encode())) if q.get("cursor") else 0
        except ValueError:
            return self._error(400, "error_param", "Invalid cursor.")
        now = self.clock.now()
        rows = [r for r in self.data.all_reviews(shop.shop_id) if r.created_at <= now]
        if q.get("item_id"):
            rows = [r for r in rows if str(r.line.product.product_id) == q["item_id"]]
        if q.get("comment_id"):
            rows = [r for r in rows if str(r.review_id) == q["comment_id"]]
        rows.sort(key=lambda r: (r.created_at, r.review_id), reverse=True)
        served = rows[:MAX_COMMENTS]
        page = served[offset : offset + size]
        # beyond the 500th comment Shopee still says `more`, with nothing more to give
        more = offset + size < len(served) or len(rows) > MAX_COMMENTS
        cursor = base64.urlsafe_b64encode(str(offset + size).encode()).decode() if more else ""
        return self._ok(
            shop,
            {"more": more, "next_cursor": cursor, "item_comment_list": [self.comment_payload(r, now) for r in page]},
        )

    # -- seller chat -------------------------------------------------------------------------------
    @staticmethod
    def _nano(message: ChatMessage) -> int:
        """Shopee chat times are nanoseconds; the sandbox keeps them unique per message."""
        return _unix(message.created_at) * 10**9 + (message.message_id % 999_983) * 1000

    def _chat_user(self, shop: SandboxShop) -> int:
        """The seller's own chat user id (distinct from the numeric shop_id)."""
        return 1_000_000_000 + shop_number(shop.shop_id) % 10**9

    def _chats(self, shop: SandboxShop, now: datetime) -> list[tuple[int, Conversation, tuple[ChatMessage, ...]]]:
        """(last message nano, conversation, visible messages) of every conversation visible at now."""
        rows = []
        for chat in self.data.all_conversations(shop.shop_id):
            visible = chat.visible(now)
            if visible:
                rows.append((self._nano(visible[-1]), chat, visible))
        return rows

    def message_payload(self, shop: SandboxShop, chat: Conversation, message: ChatMessage) -> dict:
        buyer = chat.buyer.customer_id - 9_000_000_000
        from_buyer = message.sender == "buyer"
        shop_num = shop_number(shop.shop_id)
        return {
            "message_id": str(message.message_id),
            "message_type": "text",
            "from_id": buyer if from_buyer else self._chat_user(shop),
            "from_shop_id": 0 if from_buyer else shop_num,
            "to_id": self._chat_user(shop) if from_buyer else buyer,
            "to_shop_id": shop_num if from_buyer else 0,
            "conversation_id": str(chat.conversation_id),
            "created_timestamp": _unix(message.created_at),
            "region": shop.country,
            "status": "normal",
            "source": "order" if message is chat.messages[0] else "",
            "content": {"text": message.text},
            "source_content": {"order_sn": self._sn(chat.order)} if message is chat.messages[0] else {},
            "message_option": 0,
        }

    def conversation_payload(self, shop: SandboxShop, chat: Conversation, visible: tuple[ChatMessage, ...]) -> dict:
        c = chat.buyer
        last = visible[-1]
        latest = self.message_payload(shop, chat, last)
        answered = any(m.sender == "seller" for m in visible if m.created_at >= last.created_at)
        return {
            "conversation_id": str(chat.conversation_id),
            "to_id": c.customer_id - 9_000_000_000,
            "to_name": f"{c.first_name}{c.last_name}{c.customer_id % 1000}".lower(),
            "to_avatar": "",
            "shop_id": shop_number(shop.shop_id),
            "unread_count": 0 if answered else sum(1 for m in visible if m.sender == "buyer"),
            "pinned": False,
            "mute": False,
            "last_read_message_id": latest["message_id"],
            "latest_message_id": latest["message_id"],
            "latest_message_type": "text",
            "latest_message_content": {"text": last.text},
            "latest_message_from_id": latest["from_id"],
            "last_message_timestamp": self._nano(last),
            "last_message_option": 0,
            "max_general_option_hide_time": "",
        }

    def get_conversation_list(self, request: Request) -> Response:
        shop, denied = self._gate(request, CONVERSATION_LIST)
        if denied is not None:
            return denied
        assert shop is not None
        q = request.query
        direction = q.get("direction", "")
        if direction not in ("latest", "older") or q.get("type", "all") not in ("all", "unread", "pinned"):
            return self._error(400, "error_param", "direction must be latest or older; type all, unread or pinned.")
        try:
            size = int(q.get("page_size", "25"))
            cursor = int(q["next_timestamp_nano"]) if q.get("next_timestamp_nano") else None
        except ValueError:
            return self._error(400, "error_param", "page_size and next_timestamp_nano must be integers.")
        if not 1 <= size <= MAX_CONVERSATION_PAGE:
            return self._error(400, "error_param", f"page_size must be between 1 and {MAX_CONVERSATION_PAGE}.")
        rows = self._chats(shop, self.clock.now())
        if q.get("type") == "unread":
            rows = [r for r in rows if r[2][-1].sender == "buyer"]
        if q.get("type") == "pinned":
            rows = []
        if direction == "older":  # newest first, older than the cursor
            rows.sort(key=lambda r: r[0], reverse=True)
            rows = [r for r in rows if cursor is None or r[0] < cursor]
        else:  # newer than the cursor, oldest first
            rows.sort(key=lambda r: r[0])
            rows = [r for r in rows if cursor is None or r[0] > cursor]
        page, rest = rows[:size], rows[size:]
        last = page[-1] if page else None
        return self._ok(
            shop,
            {
                "conversations": [self.conversation_payload(shop, chat, visible) for _, chat, visible in page],
                "page_result": {
                    "page_size": len(page),
                    "next_cursor": {
                        "next_message_time_nano": str(last[0]) if rest and last else "",
                        "conversation_id": str(last[1].conversation_id) if rest and last else "",
                    },
                    "more": bool(rest),
                },
            },
        )

    def get_message(self, request: Request) -> Response:
        shop, denied = self._gate(request, MESSAGE_LIST)
        if denied is not None:
            return denied
        assert shop is not None
        q = request.query
        try:
            size = int(q.get("page_size", "25"))
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_MESSAGE_PAGE:
            return self._error(400, "error_param", f"page_size must be between 1 and {MAX_MESSAGE_PAGE}.")
        now = self.clock.now()
        found = next(
            (r for r in self._chats(shop, now) if str(r[1].conversation_id) == q.get("conversation_id", "")), None
        )
        if found is None:
            return self._error(400, "error_not_found", "Conversation not found.")
        _, chat, visible = found
        newest_first = sorted(visible, key=lambda m: m.message_id, reverse=True)
        if q.get("offset"):
            try:
                after = int(q["offset"])
            except ValueError:
                return self._error(400, "error_param", "Invalid offset.")
            newest_first = [m for m in newest_first if m.message_id < after]
        page, rest = newest_first[:size], newest_first[size:]
        return self._ok(
            shop,
            {
                "messages": [self.message_payload(shop, chat, m) for m in page],
                "page_result": {
                    "page_size": len(page),
                    "next_offset": str(page[-1].message_id) if rest else "",
                    "more": bool(rest),
                },
            },
        )

    def refresh_access_token(self, request: Request) -> Response:
        _, denied = self._common(request, TOKEN_REFRESH, shop_level=False)
        if denied is not None:
            return denied
        if not self._take(TOKEN_REFRESH):
            return self._error(429, "error_too_many_request", "Too many requests, please try again later.")
        try:
            body = json.loads(request.body or b"{}")
            shop_num, partner_id, token = int(body["shop_id"]), int(body["partner_id"]), str(body["refresh_token"])
        except (ValueError, KeyError, TypeError):
            return self._error(400, "error_param", "refresh_token, shop_id and partner_id are required.")
        shop = self.shops.get(shop_num)
        if partner_id != self.partner_id or shop is None:
            return self._error(403, "error_auth", "Invalid partner_id or shop_id.")
        with self._lock:
            valid = (
                not self.faults[shop.shop_id].token_revoked
                and token not in self._used_refresh
                and self._check_token(token, "r", shop_num, REFRESH_TOKEN_SECONDS)
            )
            if not valid:
                return self._error(403, "error_auth", "Invalid refresh_token.")
            self._used_refresh.add(token)  # single use: the old refresh token dies now
            now = self.clock.now()
            access, refresh = self._token("a", shop_num, now), self._token("r", shop_num, now)
            self.refresh_calls += 1
        return Response.json(
            {
                "error": "",
                "message": "",
                "request_id": self.request_id(),
                "partner_id": partner_id,
                "shop_id": shop_num,
                "access_token": access,
                "refresh_token": refresh,
                "expire_in": ACCESS_TOKEN_SECONDS,
            }
        )


class _ShopIndex:
    """Orders of one shop sorted by creation, and returns by creation, for window look-ups."""

    def __init__(self, orders: list[Order]) -> None:
        self.orders = sorted(orders, key=lambda o: (o.created_at, o.order_id))
        self.created = [_unix(o.created_at) for o in self.orders]
        self.sn = {o.order_id: order_sn(o) for o in self.orders}
        self.by_sn = {self.sn[o.order_id]: o for o in self.orders}
        self.timelines = {o.order_id: timeline(o) for o in self.orders}
        # the longest time between an order's creation and its last event (return, completion...)
        self.max_lag = max(
            (
                _unix(max([o.created_at, *self.timelines[o.order_id].events(), *(r.created_at for r in returns_of(o))]))
                - _unix(o.created_at)
                for o in self.orders
            ),
            default=0,
        )
        returns = [(r, o) for o in self.orders for r in returns_of(o)]
        self.returns = sorted(returns, key=lambda ro: (ro[0].created_at, ro[0].refund_id))
        self.return_created = [_unix(r.created_at) for r, _ in self.returns]

    def candidates(self, window: tuple[int, int], now: datetime, field: str, edited: list[Order]) -> list[Order]:
        lag = 0 if field == "create_time" else self.max_lag
        lo = bisect.bisect_left(self.created, window[0] - lag)
        hi = bisect.bisect_right(self.created, min(window[1], _unix(now)))
        found = {o.order_id: o for o in self.orders[lo:hi]}
        found.update({o.order_id: o for o in edited if o.created_at <= now})
        return list(found.values())

    def returns_between(self, window: tuple[int, int]) -> list[tuple[Refund, Order]]:
        lo = bisect.bisect_left(self.return_created, window[0])
        hi = bisect.bisect_right(self.return_created, window[1])
        return self.returns[lo:hi]
