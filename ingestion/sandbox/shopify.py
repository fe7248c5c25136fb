"""Sandbox of the Shopify Admin REST API (orders and refunds), version 2025-10.

Reproduces what a client must cope with: `X-Shopify-Access-Token` auth, `Link` header cursor
pagination with opaque `page_info` (filters other than `limit` are rejected beside it), the
`updated_at_min/max` filters, a per-shop leaky bucket reported in `X-Shopify-Shop-Api-Call-Limit`
with 429 + `Retry-After` when full, and orders whose `updated_at` moves when they are cancelled,
fulfilled or refunded later. Fault knobs per shop inject throttling bursts, 5xx, malformed pages
and revoked tokens.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ingestion.sandbox.generator import CATALOG, ZERO_DECIMAL_CURRENCIES, Order, SandboxData
from ingestion.sandbox.server import Faults, Request, Response, SandboxApp, SandboxClock

API_VERSION = "2025-10"
MAX_LIMIT = 250


def sandbox_token(shop_id: str) -> str:
    return f"shpat_sandbox_{shop_id.replace('-', '_')}"


def sandbox_client(shop_id: str) -> tuple[str, str]:
    """(client_id, client_secret) of the sandbox app installed on a shop."""
    return f"sbx_client_{shop_id}", f"sbx_secret_{shop_id}"


ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 90 * 86400


def _ts(value: datetime | None, tz: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(tz).isoformat(timespec="seconds")


def _amount(value: Decimal, currency: str) -> str:
    return f"{value:.0f}" if currency in ZERO_DECIMAL_CURRENCIES else f"{value:.2f}"


def _money_set(value: Decimal, currency: str) -> dict:
    money = {"amount": _amount(value, currency), "currency_code": currency}
    return {"shop_money": money, "presentment_money": money}


def parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value}")
    return parsed


def order_payload(order: Order, clock: datetime) -> dict:
    """The REST representation of an order as the platform shows it at `clock`."""
    tz = ZoneInfo(order.shop.timezone)
    cur = order.currency
    refunds = order.visible_refunds(clock)
    refunded_total = sum((r.amount for r in refunds), Decimal("0"))
    cancelled = order.cancelled_at is not None and order.cancelled_at <= clock
    fulfilled = order.fulfilled_at is not None and order.fulfilled_at <= clock
    if cancelled:
        financial_status = "refunded"
    elif refunds:
        financial_status = "refunded" if refunded_total >= order.subtotal else "partially_refunded"
    else:
        financial_status = "paid"
    c = order.customer
    address = {
        "first_name": c.first_name,
        "last_name": c.last_name,
        "address1": c.address1,
        "city": c.city,
        "zip": c.zip,
        "country_code": order.shop.country,
        "phone": c.phone,
    }
    return {
        "id": order.order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order.order_id}",
        "name": f"#{order.number}",
        "order_number": order.number,
        "email": c.email,
        "phone": c.phone,
        "created_at": _ts(order.created_at, tz),
        "processed_at": _ts(order.created_at, tz),
        "updated_at": _ts(order.updated_at(clock), tz),
        "cancelled_at": _ts(order.cancelled_at, tz) if cancelled else None,
        "cancel_reason": order.cancel_reason if cancelled else None,
        "closed_at": None,
        "test": order.is_test,
        "currency": cur,
        "presentment_currency": cur,
        "financial_status": financial_status,
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "taxes_included": False,
        "total_line_items_price": _amount(order.total_line_items_price, cur),
        "total_discounts": _amount(order.total_discounts, cur),
        "subtotal_price": _amount(order.subtotal, cur),
        "total_tax": _amount(order.tax, cur),
        "total_price": _amount(order.total_price, cur),
        "total_shipping_price_set": _money_set(order.shipping, cur),
        "total_price_set": _money_set(order.total_price, cur),
        "source_name": "web",
        "customer": {
            "id": c.customer_id,
            "email": c.email,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "phone": c.phone,
        },
        "billing_address": address,
        "shipping_address": address,
        "line_items": [
            {
                "id": li.line_item_id,
                "product_id": li.product.product_id,
                "variant_id": li.product.variant_id,
                "sku": li.product.sku,
                "title": li.product.title,
                "quantity": li.quantity,
                "price": _amount(li.price, cur),
                "price_set": _money_set(li.price, cur),
                "total_discount": _amount(li.total_discount, cur),
                "fulfillable_quantity": 0 if (fulfilled or cancelled) else li.quantity,
                "fulfillment_status": "fulfilled" if fulfilled else None,
                "gift_card": False,
                "taxable": True,
            }
            for li in order.lines
        ],
        "fulfillments": (
            [{"id": order.order_id * 10 + 1, "status": "success", "created_at": _ts(order.fulfilled_at, tz)}]
            if fulfilled
            else []
        ),
        "refunds": [
            {
                "id": r.refund_id,
                "order_id": order.order_id,
                "created_at": _ts(r.created_at, tz),
                "processed_at": _ts(r.processed_at, tz),
                "note": r.note,
                "restock": True,
                "refund_line_items": [
                    {
                        "id": r.refund_id * 10 + k,
                        "line_item_id": rl.line_item_id,
                        "quantity": rl.quantity,
                        "restock_type": "return",
                        "subtotal": _amount(rl.subtotal, cur),
                        "subtotal_set": _money_set(rl.subtotal, cur),
                        "total_tax": _amount(Decimal("0"), cur),
                    }
                    for k, rl in enumerate(r.lines)
                ],
                "transactions": [
                    {
                        "id": r.refund_id * 10 + 9,
                        "kind": "refund",
                        "status": "success",
                        "amount": _amount(r.amount, cur),
                        "currency": cur,
                        "gateway": "shopify_payments",
                    }
                ],
                "order_adjustments": [],
            }
            for r in refunds
        ],
    }


class LeakyBucket:
    def __init__(self, size: int, leak_per_second: float) -> None:
        self.size, self.leak = size, leak_per_second
        self.level, self.at = 0.0, time.monotonic()

    def take(self) -> tuple[bool, int]:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.at) * self.leak)
        self.at = now
        if self.level + 1 > self.size:
            return False, int(self.level)
        self.level += 1
        return True, round(self.level)


class ShopifySandbox(SandboxApp):
    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock | None = None,
        bucket_size: int = 40,
        leak_per_second: float = 2.0,
    ) -> None:
        super().__init__()
        self.data = data
        self.clock = clock or SandboxClock()
        self.tokens = {shop.shop_id: sandbox_token(shop.shop_id) for shop in data.shops_of("shopify")}
        self.faults = {shop.shop_id: Faults() for shop in data.shops_of("shopify")}
        self._buckets = {shop.shop_id: LeakyBucket(bucket_size, leak_per_second) for shop in data.shops_of("shopify")}
        self._lock = threading.Lock()
        self.base_path = ""  # set by the server wrapper so Link headers carry absolute URLs
        # expiring offline tokens (opt-in per shop): access token -> (shop, expiry); refresh token ->
        # (shop, expiry, the refresh token it replaces, which stays valid until this one is used)
        self.expiring: set[str] = set()
        self._access: dict[str, tuple[str, datetime]] = {}
        self._refresh: dict[str, tuple[str, datetime, str | None]] = {}
        self.refresh_calls = 0
        prefix = rf"/(?P<shop>[a-z0-9-]+)/admin/api/{API_VERSION}"
        self.route("GET", prefix + r"/orders\.json", self.list_orders)
        self.route("GET", prefix + r"/orders/(?P<order_id>\d+)/refunds\.json", self.list_refunds)
        self.route("GET", prefix + r"/shop\.json", self.get_shop)
        self.route("GET", prefix + r"/locations\.json", self.list_locations)
        self.route("GET", prefix + r"/inventory_levels\.json", self.list_inventory_levels)
        self.route("GET", prefix + r"/inventory_items\.json", self.list_inventory_items)
        self.route("POST", r"/(?P<shop>[a-z0-9-]+)/admin/oauth/access_token", self.refresh_token)

    # -- cross-cutting behaviour: auth, call limit, faults ------------------------------------
    def _gate(self, request: Request) -> Response | None:
        shop_id = request.params["shop"]
        if shop_id not in self.tokens:
            return Response.json({"errors": "Not Found"}, 404)
        faults = self.faults[shop_id]
        token = request.header("X-Shopify-Access-Token")
        if shop_id in self.expiring and not faults.token_revoked:
            issued = self._access.get(token or "")
            if (
                issued is not None
                and issued[0] == shop_id
                and (issued[1] <= self.clock.now() or faults.credentials_expired)
            ):
                return Response.json({"errors": "[API] This access token has expired"}, 401)
            if issued is None or issued[0] != shop_id:
                return Response.json(
                    {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401
                )
        elif faults.token_revoked or token != self.tokens[shop_id]:
            return Response.json(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401
            )
        bucket = self._buckets[shop_id]
        with self._lock:
            if faults.take("throttle_next"):
                allowed, level = False, bucket.size
            else:
                allowed, level = bucket.take()
            request.headers["x-sandbox-call-limit"] = f"{level}/{bucket.size}"
            if allowed and faults.take("server_error_next"):
                return Response.json({"errors": "Service Unavailable"}, 503, {"X-Request-Id": self.request_id()})
        if not allowed:
            return Response.json(
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                    "uninterrupted service."
                },
                429,
                {"Retry-After": "1.0", "X-Shopify-Shop-Api-Call-Limit": f"{bucket.size}/{bucket.size}"},
            )
        return None

    def _ok(self, request: Request, payload: dict, headers: dict[str, str] | None = None) -> Response:
        shop_id = request.params["shop"]
        head = {
            "X-Shopify-Shop-Api-Call-Limit": request.headers["x-sandbox-call-limit"],
            "X-Request-Id": self.request_id(),
            **(headers or {}),
        }
        faults = self.faults[shop_id]
        with self._lock:
            if faults.take("drop_next"):
                return Response(200, json.dumps(payload).encode(), {"Content-Type": "application/json", **head}, True)
            if faults.take("malformed_next"):
                body = json.dumps(payload).encode()
                return Response(200, body[: max(1, len(body) // 2)], {"Content-Type": "application/json", **head})
        return Response.json(payload, 200, head)

    # -- expiring offline tokens ------------------------------------------------------------------
    def enable_expiring_tokens(self, shop_id: str) -> str:
        """Switch a shop to expiring tokens (as after installing a public app); returns the first
        refresh token, which the seller puts in the environment."""
        self.expiring.add(shop_id)
        token = f"shprt_{shop_id}_{time.monotonic_ns():x}"
        self._refresh[token] = (shop_id, self.clock.now() + timedelta(seconds=REFRESH_TOKEN_SECONDS), None)
        return token

    def refresh_token(self, request: Request) -> Response:
        shop_id = request.params["shop"]
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return Response.json({"error": "invalid_request"}, 400)
        if shop_id not in self.expiring or (body.get("client_id"), body.get("client_secret")) != sandbox_client(
            shop_id
        ):
            return Response.json({"error": "invalid_client", "error_description": "unknown client"}, 401)
        if body.get("grant_type") != "refresh_token":
            return Response.json({"error": "unsupported_grant_type"}, 400)
        now = self.clock.now()
        with self._lock:
            grant = self._refresh.get(body.get("refresh_token") or "")
            if grant is None or grant[0] != shop_id:
                return Response.json(
                    {"error": "invalid_grant", "error_description": "refresh token is invalid or already replaced"},
                    400,
                )
            if grant[1] <= now or self.faults[shop_id].credentials_expired:
                return Response.json({"error": "invalid_grant", "error_description": "refresh token expired"}, 400)
            old = body["refresh_token"]
            if grant[2] is not None:  # using a new refresh token retires the one it replaced
                self._refresh.pop(grant[2], None)
            access = f"shpat_{shop_id}_{time.monotonic_ns():x}"
            rotated = f"shprt_{shop_id}_{time.monotonic_ns():x}"
            self._access[access] = (shop_id, now + timedelta(seconds=ACCESS_TOKEN_SECONDS))
            self._refresh[rotated] = (shop_id, now + timedelta(seconds=REFRESH_TOKEN_SECONDS), old)
            self.refresh_calls += 1
        return Response.json(
            {
                "access_token": access,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token": rotated,
                "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
                "scope": "read_orders,read_all_orders",
            }
        )

    # -- endpoints ------------------------------------------------------------------------------
    def get_shop(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        shop = self.data.shop(request.params["shop"])
        return self._ok(
            request,
            {
                "shop": {
                    "id": zlib.crc32(shop.shop_id.encode()),
                    "name": shop.name,
                    "myshopify_domain": f"{shop.shop_id}.myshopify.com",
                    "currency": shop.currency,
                    "iana_timezone": shop.timezone,
                    "country_code": shop.country,
                    "plan_name": "basic",
                }
            },
        )

    def list_refunds(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        now = self.clock.now()
        order_id = int(request.params["order_id"])
        for order in self.data.orders_by_shop[request.params["shop"]]:
            if order.order_id == order_id and order.created_at <= now:
                return self._ok(request, {"refunds": order_payload(order, now)["refunds"]})
        return Response.json({"errors": "Not Found"}, 404)

    def list_orders(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        query = dict(request.query)
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            return Response.json({"errors": {"limit": ["is not a number"]}}, 400)
        if not 1 <= limit <= MAX_LIMIT:
            return Response.json({"errors": {"limit": [f"must be between 1 and {MAX_LIMIT}"]}}, 400)
        if "page_info" in query:
            extra = set(query) - {"page_info", "limit", "fields"}
            if extra:
                return Response.json(
                    {"errors": {"page_info": [f"cannot be combined with {', '.join(sorted(extra))}"]}}, 400
                )
            try:
                cursor = json.loads(base64.urlsafe_b64decode(query["page_info"].encode()))
            except ValueError:
                return Response.json({"errors": {"page_info": ["Invalid value."]}}, 400)
        else:
            cursor = {k: query[k] for k in ("updated_at_min", "updated_at_max", "status") if k in query}
            cursor["order"] = query.get("order", "created_at desc")
            if cursor["order"] not in ("updated_at asc", "created_at desc"):
                return Response.json({"errors": {"order": ["is not supported by the sandbox"]}}, 400)
        try:
            lo = parse_ts(cursor["updated_at_min"]) if "updated_at_min" in cursor else None
            hi = parse_ts(cursor["updated_at_max"]) if "updated_at_max" in cursor else None
        except ValueError as exc:
            return Response.json({"errors": {"updated_at": [str(exc)]}}, 400)

        now = self.clock.now()
        rows = []
        for order in self.data.orders_by_shop[request.params["shop"]]:
            if order.created_at > now:
                continue
            updated = order.updated_at(now).replace(microsecond=0)  # the platform keeps whole seconds
            if (lo is None or updated >= lo) and (hi is None or updated <= hi):
                rows.append((updated, order))
        if cursor["order"] == "updated_at asc":
            rows.sort(key=lambda r: (r[0], r[1].order_id))
            key = lambda r: [r[0].isoformat(), r[1].order_id]  # noqa: E731
            after = cursor.get("after")
            if after is not None:
                rows = [r for r in rows if key(r) > after]
        else:
            rows.sort(key=lambda r: (r[1].created_at, r[1].order_id), reverse=True)
            key = lambda r: [r[1].created_at.isoformat(), r[1].order_id]  # noqa: E731
            after = cursor.get("after")
            if after is not None:
                rows = [r for r in rows if key(r) < after]
        page, rest = rows[:limit], rows[limit:]
        headers = {}
        if rest:
            next_cursor = {**{k: v for k, v in cursor.items() if k != "after"}, "after": key(page[-1])}
            token = base64.urlsafe_b64encode(json.dumps(next_cursor).encode()).decode()
            url = f"{self.base_path}/{request.params['shop']}/admin/api/{API_VERSION}/orders.json?" + urlencode(
                {"limit": limit, "page_info": token}
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return self._ok(request, {"orders": [order_payload(o, now) for _, o in page]}, headers)

    def store_entry(self, shop, base_url: str) -> tuple[dict, dict[str, str]]:
        """The stores-file fields of a shop (a custom app's non-expiring token) and its env value."""
        env = "SHOPIFY_TOKEN_" + shop.shop_id.upper().replace("-", "_")
        return (
            {"platform": "shopify", "base_url": f"{base_url}/{shop.shop_id}", "credentials": {"access_token_env": env}},
            {env: sandbox_token(shop.shop_id)},
        )

    # -- inventory ------------------------------------------------------------------------------
    @staticmethod
    def location_id(shop_id: str) -> int:
        return 60_000_000 + zlib.crc32(shop_id.encode()) % 1_000_000

    def list_locations(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        shop = self.data.shop(request.params["shop"])
        location = {
            "id": self.location_id(shop.shop_id),
            "name": f"{shop.name} warehouse",
            "active": True,
            "country_code": shop.country,
        }
        return self._ok(request, {"locations": [location]})

    def list_inventory_levels(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        shop_id = request.params["shop"]
        query = dict(request.query)
        if "page_info" in query:
            try:
                offset = int(base64.urlsafe_b64decode(query["page_info"].encode()))
            except ValueError:
                return Response.json({"errors": {"page_info": ["Invalid value."]}}, 400)
            limit = int(query.get("limit", "50"))
        else:
            if "location_ids" not in query and "inventory_item_ids" not in query:
                return Response.json({"errors": {"base": ["location_ids or inventory_item_ids is required"]}}, 422)
            offset, limit = 0, int(query.get("limit", "50"))
        if not 1 <= limit <= MAX_LIMIT:
            return Response.json({"errors": {"limit": [f"must be between 1 and {MAX_LIMIT}"]}}, 400)
        now = self.clock.now()
        location = self.location_id(shop_id)
        wanted = {int(x) for x in query.get("location_ids", str(location)).split(",") if x}
        levels = [
            {
                "inventory_item_id": level.product.inventory_item_id,
                "location_id": location,
                "available": level.fulfillable,
                "updated_at": _ts(now.replace(microsecond=0), ZoneInfo(self.data.shop(shop_id).timezone)),
                "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id="
                f"{level.product.inventory_item_id}",
            }
            for level in self.data.inventory(shop_id, now)
            if location in wanted
        ]
        page, rest = levels[offset : offset + limit], levels[offset + limit :]
        headers = {}
        if rest:
            token = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
            url = f"{self.base_path}/{shop_id}/admin/api/{API_VERSION}/inventory_levels.json?" + urlencode(
                {"limit": limit, "page_info": token}
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return self._ok(request, {"inventory_levels": page}, headers)

    def list_inventory_items(self, request: Request) -> Response:
        if (denied := self._gate(request)) is not None:
            return denied
        try:
            ids = {int(x) for x in request.query.get("ids", "").split(",") if x}
        except ValueError:
            return Response.json({"errors": {"ids": ["must be integers"]}}, 400)
        if not ids or len(ids) > 100:
            return Response.json({"errors": {"ids": ["give between 1 and 100 ids"]}}, 400)
        items = [
            {"id": p.inventory_item_id, "sku": p.sku, "tracked": True, "requires_shipping": True}
            for p in CATALOG
            if p.inventory_item_id in ids
        ]
        return self._ok(request, {"inventory_items": items})
