"""Sandbox of Rakuten RMS RakutenPayOrderAPI (ES 2.0): `searchOrder` and `getOrder`.

Reproduces what a client must cope with (domain.md §1.6):
- ESA auth: `Authorization: ESA base64(serviceSecret:licenseKey)`; the shop is identified by its
  serviceSecret, and a licenseKey is valid for 90 days from issue (issued at start-up, at the
  sandbox clock). Rejected keys answer 401 `{"Results": {"errorCode": "ES01-01", "message": ...}}`:
  "Un-Authorised" for a wrong or revoked key, "Un-Authorised (licenseKey expired)" for an expired one
  (the sandbox's wording: the real service may not tell the two apart).
- `searchOrder` by order date (`dateType` 1) with JST timestamps `yyyy-MM-ddTHH:mm:ss+0900` only;
  windows of at most 63 days starting within the past 2 years; page-number pagination of at most
  1000 numbers a page, sorted by order date; `PaginationResponseModel` fields null when nothing
  matches; only the first 15,000 results can be paged to.
- `getOrder` of at most 100 order numbers with `version` required (`ORDER_EXT_API_GET_ORDER_ERROR_009`).
- Orders as the shop sees them at the sandbox clock: totals unconfirmed (-9999) until the order's
  `confirmed_at`, the shipping fee waived later by some shops (an edit recorded in
  `ChangeReasonModelList`), shipped at `fulfilled_at`, cancelled (orderProgress 900) at `cancelled_at`.
- One token bucket per shop across both operations at ~1 request/s (the pace ERP vendors recommend;
  Rakuten publishes no figure) times `rate_scale`; HTTP 429 when it is empty.

Validation errors answer 400 with `MessageModelList`. Codes 009-011 of searchOrder and 009 of
getOrder are the documented ones; the others (window, paging and list-size errors) are the sandbox's
own numbering, since the full code table is behind the RMS login.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import math
import re
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from ingestion.sandbox.generator import Order, SandboxData, SandboxShop
from ingestion.sandbox.server import Faults, Request, Response, SandboxApp, SandboxClock, TokenBucket

JST = timezone(timedelta(hours=9), "JST")
SEARCH_PATH = "/es/2.0/order/searchOrder/"
GET_PATH = "/es/2.0/order/getOrder/"
LICENSE_KEY_DAYS = 90
MAX_WINDOW = timedelta(days=63)
MAX_HISTORY = timedelta(days=730)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 30
MAX_GET_ORDERS = 100
MAX_RESULTS = 15_000
REQUESTS_PER_SECOND = 1.0
UNCONFIRMED = -9999  # what RMS shows in an amount that is not final yet (請求金額未確定)
TAX_RATE = Decimal("0.08")  # the generator's tax, added on top of tax-exclusive item prices
_JST_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0900$")

# Window errors (the client maps these to WindowRejected); the rest are plain bad requests.
SEARCH_ERRORS = {
    "missing_date_type": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_009", "dateTypeの項目を指定して下さい。"),
    "missing": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_010", "{field}の値を指定して下さい。"),
    "format": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_011", "{field}の書式が不正です。"),
    "too_old": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_012", "startDatetimeは過去2年以内の日時を指定して下さい。"),
    "too_long": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_013", "endDatetimeはstartDatetimeから63日以内で指定して下さい。"),
    "reversed": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_014", "endDatetimeはstartDatetime以降の日時を指定して下さい。"),
    "page_size": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_015", "requestRecordsAmountは1以上1000以下で指定して下さい。"),
    "page": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_016", "requestPageは1以上で指定して下さい。"),
    "sort": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_017", "SortModelListの値が不正です。"),
    "date_type": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_018", "dateTypeの値が不正です。(sandbox: 1 のみ)"),
    "body": ("ORDER_EXT_API_SEARCH_ORDER_ERROR_001", "リクエストの形式が不正です。"),
}
GET_ERRORS = {
    "missing": ("ORDER_EXT_API_GET_ORDER_ERROR_001", "orderNumberListの値を指定して下さい。"),
    "too_many": ("ORDER_EXT_API_GET_ORDER_ERROR_002", "orderNumberListは100件以下で指定して下さい。"),
    "not_found": ("ORDER_EXT_API_GET_ORDER_ERROR_005", "該当する注文が存在しません。"),
    "version": ("ORDER_EXT_API_GET_ORDER_ERROR_009", "versionの値を指定して下さい。"),
    "bad_version": ("ORDER_EXT_API_GET_ORDER_ERROR_010", "versionの値が不正です。"),
    "body": ("ORDER_EXT_API_GET_ORDER_ERROR_001", "リクエストの形式が不正です。"),
}


def shop_number(shop_id: str) -> int:
    """The six-digit RMS shop number that prefixes every order number of the shop."""
    return 100_000 + zlib.crc32(shop_id.encode()) % 900_000


def service_secret(shop_id: str) -> str:
    return f"SP{shop_number(shop_id)}_sbx_{hashlib.sha256(shop_id.encode()).hexdigest()[:16]}"


def esa_header(secret: str, license_key: str) -> str:
    return "ESA " + base64.b64encode(f"{secret}:{license_key}".encode()).decode()


def jst(value: datetime | None) -> str | None:
    """RMS timestamps: JST with a colon-less offset, whole seconds."""
    return None if value is None else value.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_jst(value: object) -> datetime | None:
    if not isinstance(value, str) or not _JST_FORMAT.match(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def order_number(order: Order) -> str:
    """`<shop number>-<JST order date>-<8 digits>`, e.g. `338421-20260501-00001201`."""
    day = order.created_at.astimezone(JST).strftime("%Y%m%d")
    return f"{shop_number(order.shop.shop_id)}-{day}-{order.order_id % 10_000 + 1:06d}01"


def _yen(value: Decimal) -> int:
    if value != value.to_integral_value():
        raise ValueError(f"Rakuten amounts are whole yen, got {value}")
    return int(value)


def _masked_email(order: Order) -> str:
    """RMS hands out a masked forwarding address per buyer, never the buyer's own e-mail."""
    digest = hashlib.sha256(order.customer.email.encode()).hexdigest()[:20]
    return f"{digest}@pc.fw.rakuten.ne.jp"


def _person(order: Order, *, email: bool) -> dict:
    c = order.customer
    zip7 = f"{int(c.zip):07d}"
    person = {
        "zipCode1": zip7[:3],
        "zipCode2": zip7[3:],
        "prefecture": "東京都",
        "city": c.city,
        "subAddress": c.address1,
        "familyName": c.last_name,
        "firstName": c.first_name,
        "familyNameKana": None,
        "firstNameKana": None,
        "phoneNumber1": "03",
        "phoneNumber2": c.phone[-4:],
        "phoneNumber3": f"{c.customer_id % 10_000:04d}",
    }
    if email:
        person |= {"emailAddress": _masked_email(order), "sex": None, "birthYear": None, "birthMonth": None}
    else:
        person["isolatedIslandFlag"] = 0
    return person


_CANCEL_REASONS = {
    # generator reason -> (changeReason 0 店舗様都合 / 1 お客様都合, changeReasonDetail)
    "customer": (1, 1),  # キャンセル
    "inventory": (0, 8),  # 欠品
    "fraud": (0, 10),  # 店舗様都合 - その他
}


def order_model(order: Order, now: datetime) -> dict:
    """The getOrder (version 7) OrderModel of an order as RMS shows it at `now`.

    Item prices are tax-exclusive (`includeTaxFlag` 0) so that `price` is the generator's unit price;
    `goodsTax` is the tax added on top. `totalPrice` = goods + tax + postage and `requestPrice` =
    totalPrice - coupons (what the buyer is billed); both, and `postagePrice`, are -9999 until the
    order's total is confirmed. The seller's 10% discounts are per-item shop coupons
    (`couponCapitalCode` 1) naming the line's `itemDetailId`.
    """
    number = order_number(order)
    confirmed = order.confirmed_at <= now
    cancelled = order.cancelled_at is not None and order.cancelled_at <= now
    shipped = order.fulfilled_at is not None and order.fulfilled_at <= now
    shop_confirmed = order.paid_at  # the shop's (automatic) order confirmation, minutes after the order

    goods = sum((li.price * li.quantity for li in order.lines), Decimal("0"))
    coupons = sum((li.total_discount for li in order.lines), Decimal("0"))
    tax = order.tax
    postage = order.shipping_at(now)
    total = goods + tax + postage
    request = total - coupons

    def amount(value: Decimal) -> int:
        return _yen(value) if confirmed else UNCONFIRMED

    if cancelled:
        progress = 900  # キャンセル確定
    elif shipped:
        progress = 700 if now >= order.fulfilled_at + timedelta(days=7) else 500  # 支払手続き済 / 発送済
    elif confirmed:
        progress = 300  # 発送待ち
    elif now >= shop_confirmed:
        progress = 200  # 楽天処理中
    else:
        progress = 100  # 注文確認待ち

    changes = []
    waived_at = order.shipping_waived_at
    if waived_at is not None and waived_at <= now:
        changes.append(
            {
                "changeId": order.order_id * 10 + 1,
                "changeType": 6,  # 変更完了
                "changeTypeDetail": 0,  # 減額
                "changeReason": 0,  # 店舗様都合
                "changeReasonDetail": 10,
                "changeApplyDatetime": jst(waived_at),
                "changeFixDatetime": jst(waived_at),
                "changeCmplDatetime": jst(waived_at),
            }
        )
    if cancelled:
        reason, detail = _CANCEL_REASONS.get(order.cancel_reason or "", (0, 10))
        changes.append(
            {
                "changeId": order.order_id * 10 + 2,
                "changeType": 2,  # キャンセル完了
                "changeTypeDetail": None,
                "changeReason": reason,
                "changeReasonDetail": detail,
                "changeApplyDatetime": jst(order.cancelled_at),
                "changeFixDatetime": jst(order.cancelled_at),
                "changeCmplDatetime": jst(order.cancelled_at),
            }
        )

    items = []
    for li in order.lines:
        p = li.product
        items.append(
            {
                "itemDetailId": li.line_item_id,
                "itemName": p.title,
                "itemId": p.product_id,
                "itemNumber": p.sku,
                "manageNumber": p.sku.lower(),
                "price": _yen(li.price),
                "units": li.quantity,
                "includePostageFlag": 0,
                "includeTaxFlag": 0,
                "includeCashOnDeliveryPostageFlag": 0,
                "selectedChoice": None,
                "pointRate": 1,
                "pointType": 0,
                "inventoryType": 1,
                "delvdateInfo": "1-2日以内に発送予定",
                "restoreInventoryFlag": 0,
                "dealFlag": 0,
                "drugFlag": 0,
                "deleteItemFlag": 0,
                "taxRate": float(TAX_RATE),
                "priceTaxIncl": _yen((li.price * (1 + TAX_RATE)).quantize(Decimal("1"), ROUND_HALF_UP)),
                "isSingleItemShipping": 0,
                "SkuModelList": [{"variantId": f"v{p.variant_id}", "merchantDefinedSkuId": p.sku, "skuInfo": None}],
            }
        )
    coupon_models = [
        {
            "couponCode": f"SHOP10-{li.product.sku}",
            "itemId": li.product.product_id,
            "couponName": "ショップ限定10%OFFクーポン",
            "couponSummary": "10%OFF",
            "couponCapital": "ショップ",
            "couponCapitalCode": 1,
            "expiryDate": (order.created_at.astimezone(JST) + timedelta(days=30)).strftime("%Y-%m-%d"),
            "couponPrice": _yen(li.total_discount / li.quantity),
            "couponUnit": li.quantity,
            "couponTotalPrice": _yen(li.total_discount),
            "itemDetailId": li.line_item_id,
        }
        for li in order.lines
        if li.total_discount > 0
    ]
    shipping_models = (
        [
            {
                "shippingDetailId": order.order_id * 10 + 3,
                "shippingNumber": f"{order.order_id % 10**12:012d}",
                "deliveryCompany": "1001",
                "deliveryCompanyName": "ヤマト運輸",
                "shippingDate": order.fulfilled_at.astimezone(JST).strftime("%Y-%m-%d"),
            }
        ]
        if shipped
        else []
    )
    return {
        "orderNumber": number,
        "orderProgress": progress,
        "subStatusId": None,
        "subStatusName": None,
        "orderDatetime": jst(order.created_at),
        "shopOrderCfmDatetime": jst(shop_confirmed) if now >= shop_confirmed else None,
        "orderFixDatetime": jst(order.confirmed_at) if confirmed else None,
        "shippingInstDatetime": None,
        "shippingCmplRptDatetime": jst(order.fulfilled_at) if shipped else None,
        "cancelDueDate": None,
        "deliveryDate": None,
        "shippingTerm": None,
        "remarks": "[配送日時指定:]",
        "giftCheckFlag": 0,
        "severalSenderFlag": 0,
        "equalSenderFlag": 1,
        "isolatedIslandFlag": 0,
        "rakutenMemberFlag": 1,
        "carrierCode": 11,
        "emailCarrierCode": 0,
        "orderType": 1,
        "reserveNumber": None,
        "reserveDeliveryCount": None,
        "cautionDisplayType": 0,
        "cautionDisplayDetailType": None,
        "rakutenConfirmFlag": 0,
        "goodsPrice": _yen(goods),
        "goodsTax": _yen(tax),
        "postagePrice": amount(postage),
        "deliveryPrice": 0,
        "paymentCharge": 0,
        "paymentChargeTaxRate": 0.1,
        "totalPrice": amount(total),
        "requestPrice": amount(request),
        "couponAllTotalPrice": _yen(coupons),
        "couponShopPrice": _yen(coupons),
        "couponOtherPrice": 0,
        "additionalFeeOccurAmountToUser": 0,
        "additionalFeeOccurAmountToShop": 0,
        "asurakuFlag": 0,
        "drugFlag": 0,
        "dealFlag": 0,
        "membershipType": 0,
        "memo": None,
        "operator": None,
        "mailPlugSentence": None,
        "modifyFlag": 1 if changes and not cancelled else 0,
        "receiptIssueCount": 0,
        "receiptIssueHistoryList": [],
        "isTaxRecalc": 0,
        "OrdererModel": _person(order, email=True),
        "SettlementModel": {
            "settlementMethodCode": 1,
            "settlementMethod": "クレジットカード",
            "rpaySettlementFlag": 1,
            "cardName": "VISA",
            "cardPayType": 0,
        },
        "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": 1},
        "PointModel": {"usedPoint": 0},
        "WrappingModel1": None,
        "WrappingModel2": None,
        "PackageModelList": [
            {
                "basketId": order.order_id % 10**10,
                "postagePrice": amount(postage),
                "postageTaxRate": 0.1,
                "deliveryPrice": 0,
                "deliveryTaxRate": 0.1,
                "goodsTax": _yen(tax),
                "goodsPrice": _yen(goods),
                "totalPrice": amount(total),
                "noshi": None,
                "packageDeleteFlag": 0,
                "SenderModel": _person(order, email=False),
                "ItemModelList": items,
                "ShippingModelList": shipping_models,
                "DeliveryCvsModel": None,
                "defaultDeliveryCompanyCode": "1001",
            }
        ],
        "CouponModelList": coupon_models,
        "ChangeReasonModelList": changes,
        "TaxSummaryModelList": [
            {
                "taxRate": float(TAX_RATE),
                "reqPrice": amount(request),
                "reqPriceTax": _yen(tax) if confirmed else UNCONFIRMED,
                "totalPrice": amount(total),
                "paymentCharge": 0,
                "couponPrice": _yen(coupons),
                "point": 0,
            }
        ],
        "DueDateModelList": [],
    }


@dataclass
class License:
    shop_id: str
    expires_at: datetime


def _messages(errors: list[tuple[str, str]]) -> list[dict]:
    return [{"messageType": "ERROR", "messageCode": code, "message": text} for code, text in errors]


class RakutenSandbox(SandboxApp):
    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock | None = None,
        *,
        rate_scale: float = 1.0,
        burst: float = 3.0,
        max_results: int = MAX_RESULTS,
    ) -> None:
        super().__init__()
        self.data = data
        self.clock = clock or SandboxClock()
        self.max_results = max_results
        shops = data.shops_of("rakuten")
        self.secrets = {service_secret(s.shop_id): s.shop_id for s in shops}
        self.licenses: dict[str, License] = {}
        self.license_keys: dict[str, str] = {}  # shop -> the newest key issued
        self.faults = {s.shop_id: Faults() for s in shops}
        self._buckets = {s.shop_id: TokenBucket(REQUESTS_PER_SECOND * rate_scale, burst) for s in shops}
        self._lock = threading.Lock()
        self._index: dict[str, tuple[list[datetime], list[Order]]] | None = None
        self._numbers: dict[str, Order] = {}
        self.searches: list[dict] = []  # (shop, accepted searchOrder body): what tests inspect
        self.get_order_calls = 0
        for shop in shops:
            self.issue_license_key(shop.shop_id)
        self.route("POST", r"/es/2\.0/order/searchOrder/?", self.search_order)
        self.route("POST", r"/es/2\.0/order/getOrder/?", self.get_order)

    # -- credentials ------------------------------------------------------------------------------
    def issue_license_key(self, shop_id: str) -> str:
        """Issue a new licenseKey valid for 90 days (older keys keep working until they expire)."""
        with self._lock:
            key = f"SL{shop_number(shop_id)}_{time.monotonic_ns():x}"
            self.licenses[key] = License(shop_id, self.clock.now() + timedelta(days=LICENSE_KEY_DAYS))
            self.license_keys[shop_id] = key
        return key

    def store_entry(self, shop: SandboxShop, base_url: str) -> tuple[dict, dict[str, str]]:
        suffix = shop.shop_id.upper().replace("-", "_")
        secret_env, key_env = f"RAKUTEN_SERVICE_SECRET_{suffix}", f"RAKUTEN_LICENSE_KEY_{suffix}"
        entry = {
            "platform": "rakuten",
            "base_url": base_url,
            "account": {},
            "credentials": {"service_secret_env": secret_env, "license_key_env": key_env},
        }
        return entry, {secret_env: service_secret(shop.shop_id), key_env: self.license_keys[shop.shop_id]}

    # -- index --------------------------------------------------------------------------------------
    def _orders(self, shop_id: str) -> tuple[list[datetime], list[Order]]:
        with self._lock:
            if self._index is None:
                self._index = {}
                for shop in self.data.shops_of("rakuten"):
                    orders = [o for o in self.data.orders_by_shop.get(shop.shop_id, []) if not o.is_test]
                    orders.sort(key=lambda o: (o.created_at, o.order_id))  # Rakuten has no test orders
                    self._index[shop.shop_id] = ([o.created_at for o in orders], orders)
                    self._numbers.update({order_number(o): o for o in orders})
            return self._index[shop_id]

    # -- cross-cutting: auth, rate limit, faults ------------------------------------------------------
    def _unauthorised(self, message: str) -> Response:
        return Response.json(
            {"Results": {"errorCode": "ES01-01", "message": message}}, 401, {"X-Request-Id": self.request_id()}
        )

    def _gate(self, request: Request) -> tuple[str, Response | None]:
        auth = request.header("Authorization") or ""
        shop_id, key = None, ""
        if auth.startswith("ESA "):
            try:
                secret, _, key = base64.b64decode(auth[4:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                secret = ""
            shop_id = self.secrets.get(secret)
        grant = self.licenses.get(key)
        if shop_id is None or grant is None or grant.shop_id != shop_id or self.faults[shop_id].token_revoked:
            return "", self._unauthorised("Un-Authorised")
        faults = self.faults[shop_id]
        if faults.token_expired or grant.expires_at <= self.clock.now():
            return "", self._unauthorised("Un-Authorised (licenseKey expired)")
        if "application/json" not in (request.header("Content-Type") or ""):
            return "", Response.json(
                {"Results": {"errorCode": "UNSUPPORTED_MEDIA_TYPE", "message": "Unsupported Media Type"}}, 415
            )
        with self._lock:
            allowed = False if faults.take("throttle_next") else self._buckets[shop_id].take()
            if allowed and faults.take("server_error_next"):
                return "", Response.json(
                    {"Results": {"errorCode": "SERVICE_UNAVAILABLE", "message": "Service Unavailable"}},
                    503,
                    {"X-Request-Id": self.request_id()},
                )
        if not allowed:
            return "", Response.json(
                {"Results": {"errorCode": "TOO_MANY_REQUESTS", "message": "Too Many Requests"}},
                429,
                {"X-Request-Id": self.request_id()},
            )
        return shop_id, None

    def _ok(self, shop_id: str, payload: dict) -> Response:
        head = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": self.request_id()}
        body = json.dumps(payload, ensure_ascii=False).encode()
        faults = self.faults[shop_id]
        with self._lock:
            if faults.take("drop_next"):
                return Response(200, body, head, cut=True)
            if faults.take("malformed_next"):
                return Response(200, body[: max(1, len(body) // 2)], head)
        return Response(200, body, head)

    @staticmethod
    def _bad(payload: dict, errors: list[tuple[str, str]]) -> Response:
        return Response.json({**payload, "MessageModelList": _messages(errors)}, 400)

    # -- searchOrder ------------------------------------------------------------------------------
    def search_order(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        empty = {"orderNumberList": None, "PaginationResponseModel": None}
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._bad(empty, [SEARCH_ERRORS["body"]])
        errors: list[tuple[str, str]] = []
        if body.get("dateType") is None:
            errors.append(SEARCH_ERRORS["missing_date_type"])
        elif body["dateType"] != 1:
            errors.append(SEARCH_ERRORS["date_type"])
        bounds = {}
        for field in ("startDatetime", "endDatetime"):
            code, text = SEARCH_ERRORS["missing"] if not body.get(field) else SEARCH_ERRORS["format"]
            bounds[field] = parse_jst(body.get(field))
            if bounds[field] is None:
                errors.append((code, text.format(field=field)))
        if errors:
            return self._bad(empty, errors)
        start, end = bounds["startDatetime"], bounds["endDatetime"]
        now = self.clock.now()
        if end < start:
            errors.append(SEARCH_ERRORS["reversed"])
        elif end - start > MAX_WINDOW:
            errors.append(SEARCH_ERRORS["too_long"])
        if start < now - MAX_HISTORY:
            errors.append(SEARCH_ERRORS["too_old"])
        paging = body.get("PaginationRequestModel") or {}
        size = paging.get("requestRecordsAmount", DEFAULT_PAGE_SIZE)
        page = paging.get("requestPage", 1)
        if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
            errors.append(SEARCH_ERRORS["page_size"])
        if not isinstance(page, int) or page < 1:
            errors.append(SEARCH_ERRORS["page"])
        sorts = paging.get("SortModelList") or [{"sortColumn": 1, "sortDirection": 1}]
        valid_sorts = ({"sortColumn": 1, "sortDirection": 1}, {"sortColumn": 1, "sortDirection": 2})
        if not all(s in valid_sorts for s in sorts):
            errors.append(SEARCH_ERRORS["sort"])
        if errors:
            return self._bad(empty, errors)

        times, orders = self._orders(shop_id)
        lo = bisect.bisect_left(times, start)
        hi = bisect.bisect_right(times, min(end, now))
        numbers = [order_number(o) for o in orders[lo:hi]]
        if sorts[0]["sortDirection"] == 2:
            numbers.reverse()
        faults = self.faults[shop_id]
        with self._lock:
            self.searches.append({"shop_id": shop_id, **body})
            if page == 1 and faults.change_between_pages > 0 and len(numbers) > size:
                # An order still in Rakuten's screening is left out of page 1 and surfaces before
                # page 2 is asked for: it sorts before the pages still to come, so each of them
                # shifts by one (page 2 repeats the end of page 1, and the order is never on a page
                # the client has yet to read).
                faults.change_between_pages -= 1
                numbers = numbers[1:]
        total = len(numbers)
        if total == 0:
            return self._ok(
                shop_id,
                {
                    "orderNumberList": [],
                    "MessageModelList": [
                        {
                            "messageType": "INFO",
                            "messageCode": "ORDER_EXT_API_SEARCH_ORDER_INFO_102",
                            "message": "注文検索に成功しました。(検索結果０件)",
                        }
                    ],
                    "PaginationResponseModel": {"totalRecordsAmount": None, "totalPages": None, "requestPage": None},
                },
            )
        reachable = numbers[: self.max_results]  # results past 15,000 cannot be paged to
        return self._ok(
            shop_id,
            {
                "orderNumberList": reachable[(page - 1) * size : page * size],
                "MessageModelList": [
                    {
                        "messageType": "INFO",
                        "messageCode": "ORDER_EXT_API_SEARCH_ORDER_INFO_101",
                        "message": "注文検索に成功しました。",
                    }
                ],
                "PaginationResponseModel": {
                    "totalRecordsAmount": total,
                    "totalPages": math.ceil(len(reachable) / size),
                    "requestPage": page,
                },
            },
        )

    # -- getOrder ---------------------------------------------------------------------------------
    def get_order(self, request: Request) -> Response:
        shop_id, denied = self._gate(request)
        if denied is not None:
            return denied
        empty = {"OrderModelList": None}
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._bad(empty, [GET_ERRORS["body"]])
        numbers = body.get("orderNumberList")
        errors = []
        if not isinstance(numbers, list) or not numbers:
            errors.append(GET_ERRORS["missing"])
        elif len(numbers) > MAX_GET_ORDERS:
            errors.append(GET_ERRORS["too_many"])
        version = body.get("version")
        if version is None:
            errors.append(GET_ERRORS["version"])
        elif not isinstance(version, int) or not 1 <= version <= 8:
            errors.append(GET_ERRORS["bad_version"])
        if errors:
            return self._bad(empty, errors)
        self._orders(shop_id)
        now = self.clock.now()
        models, messages = [], []
        for number in numbers:
            order = self._numbers.get(number) if isinstance(number, str) else None
            if order is None or order.shop.shop_id != shop_id or order.created_at > now:
                code, text = GET_ERRORS["not_found"]
                messages.append({"messageType": "ERROR", "messageCode": code, "message": text, "orderNumber": number})
                continue
            models.append(order_model(order, now))
        if models:
            messages.insert(
                0,
                {
                    "messageType": "INFO",
                    "messageCode": "ORDER_EXT_API_GET_ORDER_INFO_101",
                    "message": "受注情報取得に成功しました。",
                    "orderNumber": None,
                },
            )
        with self._lock:
            self.get_order_calls += 1
        return self._ok(shop_id, {"MessageModelList": messages, "OrderModelList": models, "version": version})
