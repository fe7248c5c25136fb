"""Sandbox of the Amazon Selling Partner API: Orders v0, Finances v0 and Reports 2021-06-30.

Reproduces what a client must cope with (domain.md §1.1):
- LWA access tokens in `x-amz-access-token`, checked with the LWA sandbox; 403 `Unauthorized` for an
  unknown/revoked token and for an expired one ("...has expired.");
- per-operation token buckets per seller at the documented rate x `rate_scale` and documented burst,
  the rate in `x-amzn-RateLimit-Limit` on 2xx/400/404, and 429 `QuotaExceeded` without it (and
  without Retry-After);
- 400 `InvalidInput` for a `*Before` (or `*After`) within two minutes of now, for mixing the Created
  and LastUpdated families, for a missing or foreign `MarketplaceIds`;
- `NextToken` paging (it overrides every other criterion) for orders, order items and financial
  events; an empty first page of financial events; nothing at all when `PostedAfter/Before` are more
  than 180 days apart; shipment events that appear up to 48 hours after they were posted;
- reports moving IN_QUEUE -> IN_PROGRESS -> DONE|FATAL|CANCELLED, one state per `getReport` poll
  (the sandbox's processing time is the client's patience), gzip TSV/JSON documents behind
  pre-signed URLs that expire after five minutes, CANCELLED for Sales and Traffic starting more
  than two years back (or a day that is not over yet).

What it shows is the generator's timeline at `clock.now()`: orders placed by then, status Pending
until paid, Unshipped, Shipped at `fulfilled_at` or Canceled at `cancelled_at`; ItemPrice = unit
price x quantity and PromotionDiscount = the line's seller discount; refunds as RefundEvents posted
at `Refund.processed_at` (visible once `created_at` has passed) with Principal = -subtotal. The
generator's refund of a cancelled order is not shown: nothing was charged.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import gzip
import hashlib
import hmac
import json
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ingestion.sandbox.generator import (
    ZERO_DECIMAL_CURRENCIES,
    AsinTraffic,
    Order,
    Refund,
    SandboxData,
    SandboxShop,
    money,
)
from ingestion.sandbox.lwa import LwaAuthority
from ingestion.sandbox.server import Faults, Request, Response, SandboxApp, SandboxClock, TokenBucket

# Documented default usage plans (requests per second, burst), as in the client.
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "listFinancialEvents": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}
REGION_PREFIX = {"NA": "113", "EU": "302", "APAC": "503", "FE": "503"}
SALES_CHANNEL = {"US": "Amazon.com", "DE": "Amazon.de", "JP": "Amazon.co.jp", "GB": "Amazon.co.uk"}
LATENCY = timedelta(minutes=2)  # *Before must be at least this far behind now
FINANCES_MAX_SPAN = timedelta(days=180)
DOCUMENT_URL_SECONDS = 300
SALES_TRAFFIC_HISTORY_DAYS = 730
TAX_RATE = Decimal("0.08")  # the generator's tax: 8% of the discounted subtotal
COMMISSION = Decimal("0.15")

INVENTORY_COLUMNS_CLASSIC = (
    "sku",
    "fnsku",
    "asin",
    "product-name",
    "condition",
    "your-price",
    "mfn-listing-exists",
    "mfn-fulfillable-quantity",
    "afn-listing-exists",
    "afn-warehouse-quantity",
    "afn-fulfillable-quantity",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-total-quantity",
    "per-unit-volume",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-future-supply-buyable",
)
# The newer layout seen in EU/FE files: extra columns, some classic ones gone, another order.
INVENTORY_COLUMNS_NEWER = (
    "sku",
    "asin",
    "fnsku",
    "product-name",
    "condition",
    "your-price",
    "mfn-listing-exists",
    "mfn-fulfillable-quantity",
    "afn-listing-exists",
    "afn-warehouse-quantity",
    "afn-fulfillable-quantity",
    "afn-fulfillable-quantity-local",
    "afn-fulfillable-quantity-remote",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-total-quantity",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-fc-transfer-quantity",
    "store",
)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(value: Decimal, currency: str) -> str:
    """Orders API money: a decimal string (no minor units for JPY)."""
    return f"{value:.0f}" if currency in ZERO_DECIMAL_CURRENCIES else f"{value:.2f}"


def _money(value: Decimal, currency: str) -> dict:
    return {"CurrencyCode": currency, "Amount": _amount(value, currency)}


def _fin(value: Decimal, currency: str) -> dict:
    """Finances money: a JSON number."""
    return {"CurrencyCode": currency, "CurrencyAmount": float(money(value, currency))}


def _report_money(value: Decimal, currency: str) -> dict:
    return {"amount": float(money(value, currency)), "currencyCode": currency}


def amazon_order_id(order: Order) -> str:
    """3-7-7 digits, unique per generated order."""
    n = order.order_id % 10**14
    return f"{REGION_PREFIX.get(order.shop.region, '113')}-{(n // 10**7) % 10**7:07d}-{n % 10**7:07d}"


def shipment_visible_at(order: Order) -> datetime | None:
    """A shipment's financial event is listed up to 48 h after it was posted ("orders from the last
    48 hours might not be included")."""
    if order.fulfilled_at is None:
        return None
    delay = random.Random(f"fin-delay:{order.order_id}").randint(0, 48 * 3600)
    return order.fulfilled_at + timedelta(seconds=delay)


def _parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value}")
    return parsed.astimezone(UTC)


def _encode_token(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> dict | None:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None
    return state if isinstance(state, dict) else None


@dataclass
class _Event:
    posted: datetime
    visible: datetime
    kind: str  # ShipmentEvent | RefundEvent
    order: Order
    refund: Refund | None = None

    @property
    def key(self) -> tuple[str, int, str]:
        return (_iso(self.posted), self.order.order_id, self.kind)


@dataclass
class _Report:
    report_id: str
    shop_id: str
    report_type: str
    marketplace_id: str
    created: datetime
    data_start: date | None = None
    data_end: date | None = None
    options: dict = field(default_factory=dict)
    status: str = "IN_QUEUE"
    fatal: bool = False
    started: datetime | None = None
    ended: datetime | None = None
    document_id: str | None = None


@dataclass
class _Document:
    shop_id: str
    body: bytes
    content_type: str
    gzip: bool


class AmazonSandbox(SandboxApp):
    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock | None = None,
        *,
        rate_scale: float = 1.0,
        lwa: LwaAuthority | None = None,
        order_items_page_size: int = 100,
    ) -> None:
        super().__init__()
        self.data = data
        self.clock = clock or SandboxClock()
        self.lwa = lwa or LwaAuthority(self.clock)
        self.rate_scale = rate_scale
        self.order_items_page_size = order_items_page_size
        self.shops = {shop.shop_id: shop for shop in data.shops_of("amazon")}
        self.faults = {shop_id: Faults() for shop_id in self.shops}
        self.expire_next_document_urls = 0  # sandbox-only: hand out the next N URLs already expired
        self.base_path = ""  # absolute URL prefix of document downloads; else the request's Host
        self._lock = threading.Lock()
        self._buckets = {
            (shop_id, op): TokenBucket(rate * rate_scale, burst)
            for shop_id in self.shops
            for op, (rate, burst) in RATE_LIMITS.items()
        }
        self._url_secret = b"sbx-presign-secret"
        self._bumps: dict[int, datetime] = {}  # order id -> a later LastUpdateDate (change between pages)
        self._orders: dict[str, tuple[list[datetime], list[Order]]] = {}
        self._by_amazon_id: dict[str, dict[str, Order]] = {}
        self._events: dict[str, list[_Event]] = {}
        self._event_times: dict[str, list[datetime]] = {}
        self._reports: dict[str, _Report] = {}
        self._documents: dict[str, _Document] = {}
        self._seq = 0
        self.route("GET", r"/orders/v0/orders", self.get_orders)
        self.route("GET", r"/orders/v0/orders/(?P<order_id>[0-9-]+)/orderItems", self.get_order_items)
        self.route("GET", r"/finances/v0/financialEvents", self.list_financial_events)
        self.route("POST", r"/reports/2021-06-30/reports", self.create_report)
        self.route("GET", r"/reports/2021-06-30/reports/(?P<report_id>[0-9]+)", self.get_report)
        self.route("GET", r"/reports/2021-06-30/documents/(?P<document_id>[A-Za-z0-9.-]+)", self.get_report_document)
        self.route("GET", r"/sbx-report-documents/(?P<document_id>[A-Za-z0-9.-]+)", self.download_document)

    # -- stores-file entry --------------------------------------------------------------------
    def store_entry(self, shop: SandboxShop, base_url: str) -> tuple[dict, dict[str, str]]:
        """The platform part of a shop's stores-file entry and the env values it names."""
        client_id, client_secret, refresh_token = self.lwa.register(shop.shop_id, "sp")
        suffix = shop.shop_id.upper().replace("-", "_")
        names = {
            "client_id_env": f"AMAZON_CLIENT_ID_{suffix}",
            "client_secret_env": f"AMAZON_CLIENT_SECRET_{suffix}",
            "refresh_token_env": f"AMAZON_REFRESH_TOKEN_{suffix}",
        }
        entry = {
            "platform": "amazon",
            "base_url": base_url,
            "account": {"marketplace_id": shop.marketplace_id},
            "credentials": names,
        }
        env = {
            names["client_id_env"]: client_id,
            names["client_secret_env"]: client_secret,
            names["refresh_token_env"]: refresh_token,
        }
        return entry, env

    # -- cross-cutting: auth, buckets, faults, envelopes ----------------------------------------
    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC).replace(microsecond=0)

    def _headers(self, shop_id: str | None, operation: str, with_rate: bool) -> dict[str, str]:
        headers = {"x-amzn-RequestId": self.request_id()}
        if with_rate and shop_id is not None:
            headers["x-amzn-RateLimit-Limit"] = f"{self._buckets[(shop_id, operation)].rate:g}"
        return headers

    def _error(
        self, shop_id: str | None, operation: str, status: int, code: str, message: str, details: str | None = None
    ) -> Response:
        error = {"code": code, "message": message}
        if details is not None:
            error["details"] = details
        return Response.json(
            {"errors": [error]}, status, self._headers(shop_id, operation, with_rate=status in (400, 404))
        )

    def _invalid(self, shop_id: str, operation: str, message: str) -> Response:
        return self._error(shop_id, operation, 400, "InvalidInput", message)

    def _gate(self, request: Request, operation: str) -> tuple[SandboxShop | None, Response | None]:
        token = request.header("x-amz-access-token")
        store_id, state = self.lwa.check(token)
        faults = self.faults.get(store_id or "")
        if faults is not None:
            if faults.token_revoked:
                self.lwa.revoke(store_id)
                store_id, state = self.lwa.check(token)
            elif faults.token_expired and state == "ok":
                faults.token_expired = False  # once: a refreshed token works again
                self.lwa.expire_access_tokens(store_id)
                store_id, state = self.lwa.check(token)
        if state == "expired":
            return None, self._error(
                None,
                operation,
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided has expired.",
            )
        if state != "ok" or store_id not in self.shops:
            return None, self._error(
                None,
                operation,
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided is revoked, malformed or invalid.",
            )
        faults = self.faults[store_id]
        with self._lock:
            allowed = False if faults.take("throttle_next") else self._buckets[store_id, operation].take()
            if allowed and faults.take("server_error_next"):
                return None, self._error(
                    None, operation, 500, "InternalFailure", "We encountered an internal error. Please try again."
                )
        if not allowed:
            return None, self._error(
                None, operation, 429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        return self.shops[store_id], None

    def _finish(self, shop_id: str, response: Response) -> Response:
        """Connection drops and truncated bodies, on any successful answer of the store."""
        faults = self.faults[shop_id]
        with self._lock:
            if faults.take("drop_next"):
                response.cut = True
            elif faults.take("malformed_next"):
                response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    def _ok(self, shop_id: str, operation: str, payload: object, status: int = 200) -> Response:
        return self._finish(shop_id, Response.json(payload, status, self._headers(shop_id, operation, True)))

    # -- orders ---------------------------------------------------------------------------------
    def _index(self, shop_id: str) -> tuple[list[datetime], list[Order]]:
        index = self._orders.get(shop_id)
        if index is None:
            orders = sorted(self._served(shop_id), key=lambda o: o.created_at)
            index = ([o.created_at for o in orders], orders)
            self._orders[shop_id] = index
            self._by_amazon_id[shop_id] = {amazon_order_id(o): o for o in orders}
        return index

    def _served(self, shop_id: str) -> list[Order]:
        """Test orders are a Shopify notion: Amazon has none, so the sandbox serves none."""
        return [o for o in self.data.orders_by_shop.get(shop_id, []) if not o.is_test]

    def last_update(self, order: Order, now: datetime) -> datetime:
        """LastUpdateDate: the last status change visible at `now` (payment, shipment, cancellation)."""
        events = [order.created_at]
        for ts in (order.paid_at, order.fulfilled_at, order.cancelled_at):
            if ts is not None and ts <= now:
                events.append(ts)
        bump = self._bumps.get(order.order_id)
        if bump is not None and bump <= now:
            events.append(bump)
        return max(events).replace(microsecond=0)

    @staticmethod
    def status(order: Order, now: datetime) -> str:
        if order.cancelled_at is not None and order.cancelled_at <= now:
            return "Canceled"
        if order.fulfilled_at is not None and order.fulfilled_at <= now:
            return "Shipped"
        if order.paid_at <= now:
            return "Unshipped"
        return "Pending"

    def order_payload(self, order: Order, now: datetime) -> dict:
        shop = order.shop
        status = self.status(order, now)
        afn = order.platform_fulfilled
        shipped_units = order.units if status == "Shipped" else 0
        payload = {
            "AmazonOrderId": amazon_order_id(order),
            "SellerOrderId": amazon_order_id(order),
            "PurchaseDate": _iso(order.created_at),
            "LastUpdateDate": _iso(self.last_update(order, now)),
            "OrderStatus": status,
            "FulfillmentChannel": "AFN" if afn else "MFN",
            "SalesChannel": SALES_CHANNEL.get(shop.country, "Amazon.com"),
            "ShipServiceLevel": "Std Dom",
            "NumberOfItemsShipped": shipped_units,
            "NumberOfItemsUnshipped": 0 if status in ("Shipped", "Canceled") else order.units,
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": shop.marketplace_id,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "EarliestShipDate": _iso(order.created_at + timedelta(days=1)),
            "LatestShipDate": _iso(order.created_at + timedelta(days=2)),
            "IsBusinessOrder": False,
            "IsPrime": afn,
            "IsPremiumOrder": False,
            "IsGlobalExpressEnabled": False,
            "IsReplacementOrder": False,
            "IsSoldByAB": False,
            "IsISPU": False,
            "IsAccessPointOrder": False,
            "HasRegulatedItems": False,
            "ShippingAddress": {"City": order.customer.city, "CountryCode": shop.country},
        }
        if status not in ("Pending", "Canceled"):  # Amazon shows no total before payment or after cancel
            payload["OrderTotal"] = _money(order.total_price, order.currency)
        return payload

    def item_payloads(self, order: Order, now: datetime) -> list[dict]:
        cur = order.currency
        status = self.status(order, now)
        taxes = self._item_taxes(order)
        items = []
        for k, li in enumerate(order.lines):
            item = {
                "ASIN": li.product.asin,
                "SellerSKU": li.product.sku,
                "OrderItemId": str(li.line_item_id),
                "Title": li.product.title,
                "QuantityOrdered": li.quantity,
                "QuantityShipped": li.quantity if status == "Shipped" else 0,
                "ProductInfo": {"NumberOfItems": "1"},
                "ItemPrice": _money(li.price * li.quantity, cur),
                "ItemTax": _money(taxes[k], cur),
                "ShippingPrice": _money(order.shipping if k == 0 else Decimal("0"), cur),
                "ShippingTax": _money(Decimal("0"), cur),
                "ShippingDiscount": _money(Decimal("0"), cur),
                "PromotionDiscount": _money(li.total_discount, cur),
                "PromotionDiscountTax": _money(Decimal("0"), cur),
                "IsGift": "false",
                "ConditionId": "New",
                "ConditionSubtypeId": "New",
                "IsTransparency": False,
                "SerialNumberRequired": False,
            }
            if li.total_discount:
                item["PromotionIds"] = [f"SBX-PROMO-{li.product.sku}"]
            if status == "Canceled" and order.cancel_reason == "customer":
                item["BuyerRequestedCancel"] = {
                    "IsBuyerRequestedCancel": "true",
                    "BuyerCancelReason": "Customer changed mind",
                }
            items.append(item)
        return items

    @staticmethod
    def _item_taxes(order: Order) -> list[Decimal]:
        """The order's tax spread over its items by net amount; the last item takes the rounding rest."""
        nets = [li.price * li.quantity - li.total_discount for li in order.lines]
        total = sum(nets, Decimal("0"))
        taxes = [money(order.tax * net / total, order.currency) if total else Decimal("0") for net in nets[:-1]]
        taxes.append(order.tax - sum(taxes, Decimal("0")))
        return taxes

    def _order_rows(
        self, shop_id: str, family: str, lo: datetime, hi: datetime, now: datetime
    ) -> list[tuple[datetime, str, Order]]:
        created, orders = self._index(shop_id)
        end = bisect.bisect_right(created, min(hi, now))
        rows = []
        for order in orders[:end]:
            ts = order.created_at.replace(microsecond=0) if family == "created" else self.last_update(order, now)
            if lo <= ts <= hi:
                rows.append((ts, amazon_order_id(order), order))
        rows.sort(key=lambda r: (r[0], r[1]))
        return rows

    def get_orders(self, request: Request) -> Response:
        op = "getOrders"
        shop, denied = self._gate(request, op)
        if denied is not None:
            return denied
        assert shop is not None
        q, now = request.query, self.now()
        marketplaces = [m for m in q.get("MarketplaceIds", "").split(",") if m]
        if not marketplaces:
            return self._invalid(shop.shop_id, op, "Missing required parameter: MarketplaceIds.")
        if any(m != shop.marketplace_id for m in marketplaces):
            return self._invalid(
                shop.shop_id, op, f"Invalid MarketplaceIds: the seller does not sell in {','.join(marketplaces)}."
            )
        if q.get("NextToken"):
            state = _decode_token(q["NextToken"])
            if state is None or state.get("shop") != shop.shop_id:
                return self._invalid(shop.shop_id, op, "Invalid NextToken.")
            family, size = state["family"], state["size"]
            lo, hi = _parse_ts(state["lo"]), _parse_ts(state["hi"])
            after = (state["after"][0], state["after"][1])
        else:
            created = [p for p in ("CreatedAfter", "CreatedBefore") if q.get(p)]
            updated = [p for p in ("LastUpdatedAfter", "LastUpdatedBefore") if q.get(p)]
            if created and updated:
                return self._invalid(
                    shop.shop_id, op, "CreatedAfter/CreatedBefore cannot be combined with LastUpdatedAfter/Before."
                )
            family = "created" if created else "updated"
            first, last = ("CreatedAfter", "CreatedBefore") if created else ("LastUpdatedAfter", "LastUpdatedBefore")
            if not q.get(first):
                return self._invalid(shop.shop_id, op, "Exactly one of CreatedAfter or LastUpdatedAfter is required.")
            try:
                lo = _parse_ts(q[first])
                hi = _parse_ts(q[last]) if q.get(last) else now - LATENCY
            except ValueError:
                return self._invalid(shop.shop_id, op, f"{first}/{last} must be ISO 8601 date-times.")
            for name, value in ((first, lo), (last, hi)):
                if value > now - LATENCY:
                    return self._invalid(
                        shop.shop_id,
                        op,
                        f"{name} must be at least 2 minutes before the current time: "
                        "there is a systematic delay in data retrieval.",
                    )
            if hi < lo:
                return self._invalid(shop.shop_id, op, f"{last} must be later than or equal to {first}.")
            try:
                size = int(q.get("MaxResultsPerPage", "100"))
            except ValueError:
                size = 0
            if not 1 <= size <= 100:
                return self._invalid(shop.shop_id, op, "MaxResultsPerPage must be between 1 and 100.")
            after = None
        rows = self._order_rows(shop.shop_id, family, lo, hi, now)
        if after is not None:
            rows = [r for r in rows if (_iso(r[0]), r[1]) > after]
        page, rest = rows[:size], rows[size:]
        payload: dict = {"Orders": [self.order_payload(o, now) for _, _, o in page]}
        if rest:
            payload["NextToken"] = _encode_token(
                {
                    "shop": shop.shop_id,
                    "family": family,
                    "size": size,
                    "lo": _iso(lo),
                    "hi": _iso(hi),
                    "after": [_iso(page[-1][0]), page[-1][1]],
                }
            )
            faults = self.faults[shop.shop_id]
            with self._lock:
                if after is None and family == "updated" and faults.change_between_pages > 0:
                    # The seller's first order on this page changes right after it was served: its
                    # LastUpdateDate moves to the end of the window, so it comes again on a later page.
                    faults.change_between_pages -= 1
                    self._bumps[page[0][2].order_id] = hi.replace(microsecond=0)
        payload["LastUpdatedBefore" if family == "updated" else "CreatedBefore"] = _iso(hi)
        return self._ok(shop.shop_id, op, {"payload": payload})

    def get_order_items(self, request: Request) -> Response:
        op = "getOrderItems"
        shop, denied = self._gate(request, op)
        if denied is not None:
            return denied
        assert shop is not None
        now = self.now()
        self._index(shop.shop_id)
        amazon_id = request.params["order_id"]
        order = self._by_amazon_id[shop.shop_id].get(amazon_id)
        if order is None or order.created_at > now:
            return self._error(shop.shop_id, op, 404, "NotFound", f"Order {amazon_id} not found.")
        offset = 0
        if request.query.get("NextToken"):
            state = _decode_token(request.query["NextToken"])
            if state is None or state.get("order") != amazon_id:
                return self._invalid(shop.shop_id, op, "Invalid NextToken.")
            offset = int(state["offset"])
        items = self.item_payloads(order, now)
        size = self.order_items_page_size
        payload: dict = {"AmazonOrderId": amazon_id, "OrderItems": items[offset : offset + size]}
        if offset + size < len(items):
            payload["NextToken"] = _encode_token({"order": amazon_id, "offset": offset + size})
        return self._ok(shop.shop_id, op, {"payload": payload})

    # -- finances -------------------------------------------------------------------------------
    def events(self, shop_id: str) -> list[_Event]:
        """Every shipment and refund event of the shop's timelines, by posted date (built once)."""
        cached = self._events.get(shop_id)
        if cached is not None:
            return cached
        out = []
        for order in self._served(shop_id):
            visible = shipment_visible_at(order)
            if order.fulfilled_at is not None and visible is not None:
                out.append(_Event(order.fulfilled_at, visible, "ShipmentEvent", order))
            if order.cancelled_at is not None:
                continue  # the generator's "refund" of a cancelled order: nothing was charged
            for refund in order.refunds:
                out.append(_Event(refund.processed_at, refund.created_at, "RefundEvent", order, refund))
        out.sort(key=lambda e: e.key)
        self._event_times[shop_id] = [e.posted for e in out]
        self._events[shop_id] = out
        return out

    def shipment_event(self, order: Order) -> dict:
        cur, scale = order.currency, Decimal(str(order.shop.price_scale))
        taxes = self._item_taxes(order)
        items = []
        for k, li in enumerate(order.lines):
            net = li.price * li.quantity - li.total_discount
            charges = [
                {"ChargeType": "Principal", "ChargeAmount": _fin(li.price * li.quantity, cur)},
                {"ChargeType": "Tax", "ChargeAmount": _fin(taxes[k], cur)},
            ]
            if k == 0 and order.shipping:
                charges.append({"ChargeType": "ShippingCharge", "ChargeAmount": _fin(order.shipping, cur)})
            fees = [{"FeeType": "Commission", "FeeAmount": _fin(-net * COMMISSION, cur)}]
            if order.platform_fulfilled:
                fees.append(
                    {
                        "FeeType": "FBAPerUnitFulfillmentFee",
                        "FeeAmount": _fin(-Decimal("3.22") * scale * li.quantity, cur),
                    }
                )
            item = {
                "SellerSKU": li.product.sku,
                "OrderItemId": str(li.line_item_id),
                "QuantityShipped": li.quantity,
                "ItemChargeList": charges,
                "ItemFeeList": fees,
            }
            if li.total_discount:
                item["PromotionList"] = [
                    {
                        "PromotionType": "PromotionMetaDataDefinitionValue",
                        "PromotionId": f"SBX-PROMO-{li.product.sku}",
                        "PromotionAmount": _fin(-li.total_discount, cur),
                    }
                ]
            items.append(item)
        return {
            "AmazonOrderId": amazon_order_id(order),
            "SellerOrderId": amazon_order_id(order),
            "MarketplaceName": SALES_CHANNEL.get(order.shop.country, "Amazon.com"),
            "PostedDate": _iso(order.fulfilled_at),  # type: ignore[arg-type]
            "ShipmentItemList": items,
        }

    def refund_event(self, order: Order, refund: Refund) -> dict:
        cur = order.currency
        skus = {li.line_item_id: li.product.sku for li in order.lines}
        adjustments = []
        for k, line in enumerate(refund.lines):
            commission = money(line.subtotal * COMMISSION, cur)
            adjustments.append(
                {
                    "SellerSKU": skus.get(line.line_item_id),
                    "OrderItemId": str(line.line_item_id),
                    "OrderAdjustmentItemId": str(refund.refund_id * 100 + k),
                    "QuantityShipped": line.quantity,
                    "ItemChargeAdjustmentList": [
                        {"ChargeType": "Principal", "ChargeAmount": _fin(-line.subtotal, cur)},
                        {"ChargeType": "Tax", "ChargeAmount": _fin(-line.subtotal * TAX_RATE, cur)},
                    ],
                    "ItemFeeAdjustmentList": [
                        {"FeeType": "Commission", "FeeAmount": _fin(commission, cur)},
                        {"FeeType": "RefundCommission", "FeeAmount": _fin(-commission / 5, cur)},
                    ],
                }
            )
        return {
            "AmazonOrderId": amazon_order_id(order),
            "SellerOrderId": amazon_order_id(order),
            "MarketplaceName": SALES_CHANNEL.get(order.shop.country, "Amazon.com"),
            "PostedDate": _iso(refund.processed_at),
            "ShipmentItemAdjustmentList": adjustments,
        }

    @staticmethod
    def _empty_events() -> dict:
        return {
            name: []
            for name in (
                "ShipmentEventList",
                "RefundEventList",
                "GuaranteeClaimEventList",
                "ChargebackEventList",
                "ServiceFeeEventList",
                "AdjustmentEventList",
                "ProductAdsPaymentEventList",
            )
        }

    def list_financial_events(self, request: Request) -> Response:
        op = "listFinancialEvents"
        shop, denied = self._gate(request, op)
        if denied is not None:
            return denied
        assert shop is not None
        q, now = request.query, self.now()
        try:
            size = int(q.get("MaxResultsPerPage", "100"))
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            return self._invalid(shop.shop_id, op, "MaxResultsPerPage must be between 1 and 100.")
        if q.get("NextToken"):
            state = _decode_token(q["NextToken"])
            if state is None or state.get("shop") != shop.shop_id:
                return self._invalid(shop.shop_id, op, "Invalid NextToken.")
            lo, hi, after = _parse_ts(state["lo"]), _parse_ts(state["hi"]), state.get("after")
        else:
            if not q.get("PostedAfter"):
                return self._invalid(shop.shop_id, op, "PostedAfter is required.")
            try:
                lo = _parse_ts(q["PostedAfter"])
                hi = _parse_ts(q["PostedBefore"]) if q.get("PostedBefore") else now - LATENCY
            except ValueError:
                return self._invalid(shop.shop_id, op, "PostedAfter/PostedBefore must be ISO 8601 date-times.")
            for name, value in (("PostedAfter", lo), ("PostedBefore", hi)):
                if value > now - LATENCY:
                    return self._invalid(
                        shop.shop_id, op, f"{name} must be no later than 2 minutes before the current time."
                    )
            if hi <= lo:
                return self._invalid(shop.shop_id, op, "PostedAfter must be earlier than PostedBefore.")
            if hi - lo > FINANCES_MAX_SPAN:
                # documented: more than 180 days apart -> an empty response, not an error
                return self._ok(shop.shop_id, op, {"payload": {"FinancialEvents": self._empty_events()}})
            after = None
            # The first page of a listing is empty (a deferred group); the events follow with the token.
            token = _encode_token({"shop": shop.shop_id, "lo": _iso(lo), "hi": _iso(hi), "after": None})
            if any(True for _ in self._visible_events(shop.shop_id, lo, hi, now, None)):
                return self._ok(
                    shop.shop_id, op, {"payload": {"FinancialEvents": self._empty_events(), "NextToken": token}}
                )
        events = list(self._visible_events(shop.shop_id, lo, hi, now, after))
        page, rest = events[:size], events[size:]
        groups = self._empty_events()
        for event in page:
            if event.kind == "ShipmentEvent":
                groups["ShipmentEventList"].append(self.shipment_event(event.order))
            else:
                assert event.refund is not None
                groups["RefundEventList"].append(self.refund_event(event.order, event.refund))
        payload: dict = {"FinancialEvents": groups}
        if rest:
            payload["NextToken"] = _encode_token(
                {"shop": shop.shop_id, "lo": _iso(lo), "hi": _iso(hi), "after": list(page[-1].key)}
            )
        return self._ok(shop.shop_id, op, {"payload": payload})

    def _visible_events(self, shop_id: str, lo: datetime, hi: datetime, now: datetime, after: list | None):
        events = self.events(shop_id)
        start = bisect.bisect_left(self._event_times[shop_id], lo)
        marker = tuple(after) if after else None
        for event in events[start:]:
            if event.posted >= hi:
                break
            if event.visible > now or (marker is not None and event.key <= marker):
                continue
            yield event

    # -- reports --------------------------------------------------------------------------------
    def create_report(self, request: Request) -> Response:
        op = "createReport"
        shop, denied = self._gate(request, op)
        if denied is not None:
            return denied
        assert shop is not None
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return self._invalid(shop.shop_id, op, "The request body is not valid JSON.")
        report_type = body.get("reportType")
        if report_type not in ("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "GET_SALES_AND_TRAFFIC_REPORT"):
            return self._invalid(shop.shop_id, op, f"reportType {report_type!r} is not supported by the sandbox.")
        marketplaces = body.get("marketplaceIds") or []
        if marketplaces != [shop.marketplace_id]:
            return self._invalid(shop.shop_id, op, f"marketplaceIds must be [{shop.marketplace_id!r}].")
        now = self.now()
        with self._lock:
            self._seq += 1
            report_id = f"{50_000_000_000 + self._seq}"
        report = _Report(report_id, shop.shop_id, report_type, shop.marketplace_id, now)
        if report_type == "GET_SALES_AND_TRAFFIC_REPORT":
            options = body.get("reportOptions") or {}
            if options.get("dateGranularity", "DAY") != "DAY" or options.get("asinGranularity", "PARENT") != "CHILD":
                return self._invalid(shop.shop_id, op, "The sandbox serves dateGranularity=DAY, asinGranularity=CHILD.")
            try:
                report.data_start = date.fromisoformat(str(body["dataStartTime"])[:10])
                report.data_end = date.fromisoformat(str(body.get("dataEndTime", body["dataStartTime"]))[:10])
            except (KeyError, ValueError):
                return self._invalid(shop.shop_id, op, "dataStartTime/dataEndTime must be ISO 8601 dates.")
            if report.data_end < report.data_start:
                return self._invalid(shop.shop_id, op, "dataEndTime must not be before dataStartTime.")
            report.options = options
        faults = self.faults[shop.shop_id]
        with self._lock:
            if faults.take("report_fatal_next"):
                report.fatal = True
            self._reports[report_id] = report
        return self._ok(shop.shop_id, op, {"reportId": report_id}, status=202)

    def get_report(self, request: Request) -> Response:
        op = "getReport"
        shop, denied = self._gate(request, op)
        if denied is not None:
            return denied
        assert shop is not None
        report = self._reports.get(request.params["report_id"])
        if report is None or report.shop_id != shop.shop_id:
            return self._error(shop.shop_id, op, 404, "NotFound", "The report was not found.")
        body = self._report_body(report)
        with self._lock:
            # One state per poll: IN_QUEUE -> IN_PROGRESS -> DONE | FATAL | CANCELLED.
            if report.status == "IN_QUEUE":
                report.status, report.started = "IN_PROGRESS", self.now()
            elif report.status == "IN_PROGRESS":
                self._complete(report)
        return self._ok(shop.shop_id, op, body)

    def _report_body(self, report: _Report) -> dict:
        body: dict = {
            "reportId": report.report_id,
            "reportType": report.report_type,
            "marketplaceIds": [report.marketplace_id],
            "processingStatus": report.status,
            "createdTime": _iso(report.created),
        }
        if report.data_start is not None and report.data_end is not None:
            body["dataStartTime"] = f"{report.data_start.isoformat()}T00:00:00Z"
            body["dataEndTime"] = f"{report.data_end.isoformat()}T23:59:59Z"
        if report.started is not None:
            body["processingStartTime"] = _iso(report.started)
        if report.ended is not None:
            body["processingEndTime"] = _iso(report.ended)
        if report.document_id is not None:
            body["reportDocumentId"] = report.document_id
        return body

    def _complete(self, report: _Report) -> None:
        now = self.now()
        report.ended = now
        shop = self.shops[report.shop_id]
        if report.fatal:
            report.status = "FATAL"
            report.document_id = self._store_document(
                shop.shop_id,
                json.dumps({"errorDetails": "The report could not be generated. Please try again later."}).encode(),
                "application/json; charset=UTF-8",
                compress=False,
            )
            return
        if report.report_type == "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA":
            content, content_type = self.inventory_tsv(shop, now), "text/tab-separated-values; charset=UTF-8"
        else:
            assert report.data_start is not None and report.data_end is not None
            tz = ZoneInfo(shop.timezone)
            today = now.astimezone(tz).date()
            over = datetime.combine(report.data_end + timedelta(days=1), dtime(0), tz) <= now
            if report.data_start < today - timedelta(days=SALES_TRAFFIC_HISTORY_DAYS) or not over:
                report.status = "CANCELLED"  # more than two years back, or the day is not over: no data
                return
            document = self.sales_traffic_document(shop, report.data_start, report.data_end, now)
            content, content_type = json.dumps(document).encode(), "application/json; charset=UTF-8"
        report.status = "DONE"
        report.document_id = self._store_document(shop.shop_id, content, content_type, compress=True)

    def _store_document(self, shop_id: str, content: bytes, content_type: str, *, compress: bool) -> str:
        self._seq += 1
        region = self.shops[shop_id].region.lower()
        document_id = f"amzn1.spdoc.1.4.{region}.sbx-{self._seq:08d}"
        body = gzip.compress(content, mtime=0) if compress else content
        self._documents[document_id] = _Document(shop_id, body, content_type, compress)
        return document_id

    def _signature(self, document_id: str, issued: str) -> str:
        return hmac.new(self._url_secret, f"{document_id}|{issued}".encode(), hashlib.sha256).hexdigest()

    def get_report_document(self, request: Request) -> Response:
        op = "getReportDocument"
        shop, denied = self._gate(request, op)
        if denied is not None:
            return denied
        assert shop is not None
        document_id = request.params["document_id"]
        document = self._documents.get(document_id)
        if document is None or document.shop_id != shop.shop_id:
            return self._error(shop.shop_id, op, 404, "NotFound", "The report document was not found.")
        issued_at = self.now()
        with self._lock:
            if self.expire_next_document_urls > 0:
                self.expire_next_document_urls -= 1
                issued_at -= timedelta(seconds=DOCUMENT_URL_SECONDS + 60)
        issued = issued_at.strftime("%Y%m%dT%H%M%SZ")
        base = self.base_path or f"http://{request.header('host')}"
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": issued,
                "X-Amz-Expires": str(DOCUMENT_URL_SECONDS),
                "X-Amz-Signature": self._signature(document_id, issued),
            }
        )
        body: dict = {"reportDocumentId": document_id, "url": f"{base}/sbx-report-documents/{document_id}?{query}"}
        if document.gzip:
            body["compressionAlgorithm"] = "GZIP"
        return self._ok(shop.shop_id, op, body)

    def download_document(self, request: Request) -> Response:
        """The pre-signed S3 GET: no access token, an S3 XML error when the signature is wrong or old."""
        document = self._documents.get(request.params["document_id"])
        issued = request.query.get("X-Amz-Date", "")
        if document is None or not hmac.compare_digest(
            request.query.get("X-Amz-Signature", ""), self._signature(request.params["document_id"], issued)
        ):
            return self._s3_error("SignatureDoesNotMatch", "The request signature we calculated does not match.")
        issued_at = datetime.strptime(issued, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if self.now() > issued_at + timedelta(seconds=int(request.query.get("X-Amz-Expires", "0"))):
            return self._s3_error("AccessDenied", "Request has expired")
        response = Response(200, document.body, {"Content-Type": document.content_type})
        return self._finish(document.shop_id, response)

    @staticmethod
    def _s3_error(code: str, message: str) -> Response:
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
        return Response(403, xml.encode(), {"Content-Type": "application/xml"})

    # -- report content -------------------------------------------------------------------------
    def inventory_rows(self, shop: SandboxShop, at: datetime) -> list[dict[str, str]]:
        """FBA stock per SKU (AFN only: the seller ships nothing itself from this listing)."""
        rows = []
        for level in self.data.inventory(shop.shop_id, at):
            product = level.product
            shipped = level.inbound // 2
            receiving = level.inbound // 5
            working = level.inbound - shipped - receiving
            warehouse = level.fulfillable + level.unsellable + level.reserved
            price = money(product.base_price_usd * Decimal(str(shop.price_scale)), shop.currency)
            rows.append(
                {
                    "sku": product.sku,
                    "fnsku": f"X00{product.product_id % 10**7:07d}",
                    "asin": product.asin,
                    "product-name": product.title,
                    "condition": "New",
                    "your-price": _amount(price, shop.currency),
                    "mfn-listing-exists": "No",
                    "mfn-fulfillable-quantity": "",
                    "afn-listing-exists": "Yes",
                    "afn-warehouse-quantity": str(warehouse),
                    "afn-fulfillable-quantity": str(level.fulfillable),
                    "afn-fulfillable-quantity-local": str(level.fulfillable),
                    "afn-fulfillable-quantity-remote": "0",
                    "afn-unsellable-quantity": str(level.unsellable),
                    "afn-reserved-quantity": str(level.reserved),
                    "afn-total-quantity": str(warehouse + level.inbound),
                    "per-unit-volume": "0.35",
                    "afn-inbound-working-quantity": str(working),
                    "afn-inbound-shipped-quantity": str(shipped),
                    "afn-inbound-receiving-quantity": str(receiving),
                    "afn-researching-quantity": "0",
                    "afn-reserved-future-supply": "0",
                    "afn-future-supply-buyable": "0",
                    "afn-fc-transfer-quantity": "0",
                    "store": shop.country,
                }
            )
        return rows

    def inventory_tsv(self, shop: SandboxShop, at: datetime) -> bytes:
        columns = INVENTORY_COLUMNS_CLASSIC if shop.region == "NA" else INVENTORY_COLUMNS_NEWER
        lines = ["\t".join(columns)]
        lines.extend("\t".join(row[c] for c in columns) for row in self.inventory_rows(shop, at))
        return ("\r\n".join(lines) + "\r\n").encode()

    def sales_traffic_document(self, shop: SandboxShop, start: date, end: date, now: datetime) -> dict:
        """By date: one entry per day. By ASIN: the whole range aggregated (as Amazon does)."""
        cur = shop.currency
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        by_date = []
        per_asin: dict[str, list[AsinTraffic]] = {}
        for day in days:
            rows = self.data.traffic(shop.shop_id, day)
            for row in rows:
                per_asin.setdefault(row.product.asin, []).append(row)
            by_date.append(self._by_date(shop, day, rows, now))
        total_sessions = sum(r.sessions for rows in per_asin.values() for r in rows) or 1
        total_views = sum(r.page_views for rows in per_asin.values() for r in rows) or 1
        by_asin = []
        for asin, rows in per_asin.items():
            sessions = sum(r.sessions for r in rows)
            views = sum(r.page_views for r in rows)
            units = sum(r.units_ordered for r in rows)
            browser = sum(round(r.sessions * 0.4) for r in rows)
            browser_views = sum(round(r.page_views * 0.4) for r in rows)
            by_asin.append(
                {
                    "parentAsin": asin,
                    "childAsin": asin,
                    "sku": rows[0].product.sku,
                    "salesByAsin": {
                        "unitsOrdered": units,
                        "unitsOrderedB2B": 0,
                        "orderedProductSales": _report_money(sum((r.ordered_sales for r in rows), Decimal(0)), cur),
                        "orderedProductSalesB2B": _report_money(Decimal("0"), cur),
                        "totalOrderItems": sum(r.order_items for r in rows),
                        "totalOrderItemsB2B": 0,
                    },
                    "trafficByAsin": {
                        "browserSessions": browser,
                        "mobileAppSessions": sessions - browser,
                        "sessions": sessions,
                        "sessionPercentage": round(100 * sessions / total_sessions, 2),
                        "browserPageViews": browser_views,
                        "mobileAppPageViews": views - browser_views,
                        "pageViews": views,
                        "pageViewsPercentage": round(100 * views / total_views, 2),
                        "buyBoxPercentage": _weighted_buy_box(rows),
                        "unitSessionPercentage": round(100 * units / sessions, 2) if sessions else 0.0,
                    },
                }
            )
        return {
            "reportSpecification": {
                "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                "dataStartTime": start.isoformat(),
                "dataEndTime": end.isoformat(),
                "marketplaceIds": [shop.marketplace_id],
            },
            "salesAndTrafficByDate": by_date,
            "salesAndTrafficByAsin": by_asin,
        }

    def _by_date(self, shop: SandboxShop, day: date, rows: list[AsinTraffic], now: datetime) -> dict:
        cur = shop.currency
        sessions = sum(r.sessions for r in rows)
        views = sum(r.page_views for r in rows)
        units = sum(r.units_ordered for r in rows)
        items = sum(r.order_items for r in rows)
        sales = sum((r.ordered_sales for r in rows), Decimal("0"))
        browser = sum(round(r.sessions * 0.4) for r in rows)
        browser_views = sum(round(r.page_views * 0.4) for r in rows)
        refunded = self._units_refunded(shop, day, now)
        return {
            "date": day.isoformat(),
            "salesByDate": {
                "orderedProductSales": _report_money(sales, cur),
                "orderedProductSalesB2B": _report_money(Decimal("0"), cur),
                "unitsOrdered": units,
                "unitsOrderedB2B": 0,
                "totalOrderItems": items,
                "totalOrderItemsB2B": 0,
                "averageSalesPerOrderItem": _report_money(sales / items if items else Decimal("0"), cur),
                "averageUnitsPerOrderItem": round(units / items, 2) if items else 0.0,
                "averageSellingPrice": _report_money(sales / units if units else Decimal("0"), cur),
                "unitsRefunded": refunded,
                "refundRate": round(100 * refunded / units, 2) if units else 0.0,
                "claimsGranted": 0,
                "claimsAmount": _report_money(Decimal("0"), cur),
            },
            "trafficByDate": {
                "browserPageViews": browser_views,
                "mobileAppPageViews": views - browser_views,
                "pageViews": views,
                "browserSessions": browser,
                "mobileAppSessions": sessions - browser,
                "sessions": sessions,
                "buyBoxPercentage": _weighted_buy_box(rows),
                "orderItemSessionPercentage": round(100 * items / sessions, 2) if sessions else 0.0,
                "unitSessionPercentage": round(100 * units / sessions, 2) if sessions else 0.0,
                "averageOfferCount": 1,
                "feedbackReceived": 0,
                "negativeFeedbackReceived": 0,
                "receivedNegativeFeedbackRate": 0.0,
            },
        }

    def _units_refunded(self, shop: SandboxShop, day: date, now: datetime) -> int:
        """Units of the refunds posted on the day and known by now."""
        tz = ZoneInfo(shop.timezone)
        start = datetime.combine(day, dtime(0), tz)
        end = datetime.combine(day + timedelta(days=1), dtime(0), tz)
        return sum(
            sum(line.quantity for line in e.refund.lines)
            for e in self._visible_events(shop.shop_id, start, end, now, None)
            if e.refund is not None
        )


def _weighted_buy_box(rows: list[AsinTraffic]) -> float:
    """Buy Box share weighted by page views (the unweighted mean of daily shares is the classic error)."""
    views = sum(r.page_views for r in rows)
    if not views:
        return 0.0
    return round(sum(r.buy_box_pct * r.page_views for r in rows) / views, 2)
