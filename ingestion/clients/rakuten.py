"""Rakuten RMS RakutenPayOrderAPI (ES 2.0) client: orders, by order date.

RMS has no "updated since" filter: `searchOrder` only finds orders by a date type (1 = order date),
so every sync re-scans whole order-date windows (a long look-back, 30 days by default) and fetches
the current state of each order with `getOrder`. That is how late changes arrive: a total that was
unconfirmed (-9999) at the first scan, a shipping fee waived a few days later, a cancellation.

A record is the `getOrder` (version 7) `OrderModel`, unchanged, keyed by `orderNumber`. The record is
composed from two calls: `searchOrder` lists the order numbers of a window, `getOrder` returns the
models, 100 numbers a call. OrderModel carries no modification timestamp, so `updated_at` is None
and staging keeps the most recently loaded version.

Paging is by page number over a result set that can move while it is read: an order that becomes
visible (e.g. after Rakuten's screening) with an earlier order date shifts every later page by one,
so a naive reader sees one number twice and never sees the new one. The client therefore reads all
pages into a set of order numbers first, and accepts the set only from a pass in which
`totalRecordsAmount` stayed the same on every page and the pass found exactly that many distinct
numbers; otherwise it reads the pages again (keeping the union) a few times before failing the sync
as `bad_payload`. Only the first 15,000 results of a search can be paged to, so a window with more
is halved until each half fits.

Auth: `Authorization: ESA base64(serviceSecret:licenseKey)`. A licenseKey lasts 90 days and cannot
be refreshed by the client: an expired or wrong key fails the sync as `auth_invalid` with a message
telling the user to issue a new licenseKey in RMS and update the environment variable.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import requests

from ingestion.clients.base import EntitySpec, Page, unknown_entity
from ingestion.config import StoreConfig
from ingestion.errors import AuthInvalid, BadPayload, BadRequest, SyncError, Throttled, WindowRejected
from ingestion.http import HttpClient, RateLimiter, RetryPolicy
from ingestion.lake import RawRecord
from ingestion.tokens import TokenStore
from ingestion.windows import Window

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.rms.rakuten.co.jp"
SEARCH_PATH = "/es/2.0/order/searchOrder/"
GET_PATH = "/es/2.0/order/getOrder/"
GET_ORDER_VERSION = 7  # 7 = SKU support (SkuModelList)
PAGE_SIZE = 1000  # searchOrder requestRecordsAmount maximum
GET_BATCH = 100  # getOrder orderNumberList maximum
MAX_RESULTS = 15_000  # searchOrder results past this cannot be paged to
MAX_PASSES = 4  # full re-reads of a window whose result set keeps moving
REQUESTS_PER_SECOND = 1.0  # the pace ERP vendors recommend; Rakuten publishes no figure
JST = timezone(timedelta(hours=9), "JST")

# searchOrder errors about the date window itself: the span (63 days), the 2-year look-back, the
# order of start and end. Codes 012-014 are the sandbox's numbering (the full table is behind the
# RMS login); the message test catches the real service's wording as long as it names the limit.
WINDOW_ERROR_CODES = frozenset(
    {
        "ORDER_EXT_API_SEARCH_ORDER_ERROR_012",
        "ORDER_EXT_API_SEARCH_ORDER_ERROR_013",
        "ORDER_EXT_API_SEARCH_ORDER_ERROR_014",
    }
)
_WINDOW_WORDS = ("63日", "2年", "63 days", "2 years")

ENTITIES = {
    "orders": EntitySpec(
        "orders",
        "RakutenPayOrderAPI OrderModel (getOrder v7) of every order placed in the window (by order date, JST),"
        " re-read over a long look-back because totals are confirmed and edited after the order.",
        max_window=timedelta(days=63),
        lookback=timedelta(days=30),
        # startDatetime must lie within the past 2 years; a day of margin for the clock moving on
        max_history=timedelta(days=729),
    ),
}


def jst(ts: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ss+0900`: the only form searchOrder accepts (not `+09:00`, not UTC)."""
    return ts.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S%z")


def first_second_from(start: datetime) -> datetime:
    """RMS compares whole seconds: the first whole second at or after an inclusive start."""
    whole = start.replace(microsecond=0)
    return whole if whole == start else whole + timedelta(seconds=1)


def last_second_before(end: datetime) -> datetime:
    """endDatetime is inclusive: the last whole second strictly before an exclusive window end."""
    whole = end.replace(microsecond=0)
    return whole if whole < end else whole - timedelta(seconds=1)


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_messages(body: dict) -> list[tuple[str, str]]:
    messages = body.get("MessageModelList")
    if not isinstance(messages, list):
        return []
    return [
        (str(m.get("messageCode")), str(m.get("message")))
        for m in messages
        if isinstance(m, dict) and m.get("messageType") == "ERROR"
    ]


class RakutenClient:
    platform = "rakuten"
    entities = ENTITIES

    def __init__(
        self,
        base_url: str,
        service_secret: str,
        license_key: str,
        *,
        license_key_env: str | None = None,
        requests_per_second: float = REQUESTS_PER_SECOND,
        page_size: int = PAGE_SIZE,
        batch_size: int = GET_BATCH,
        max_results: int = MAX_RESULTS,
        max_passes: int = MAX_PASSES,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.license_key_env = license_key_env or "the licenseKey environment variable"
        self.page_size, self.batch_size = page_size, batch_size
        self.max_results, self.max_passes = max_results, max_passes
        # One bucket for both operations: the recommended pace is per license key, not per call type.
        limiter = RateLimiter(requests_per_second, 1)
        self.http = HttpClient(
            platform=self.platform,
            retry=retry or RetryPolicy(),
            limiters={"searchOrder": limiter, "getOrder": limiter},
        )
        esa = base64.b64encode(f"{service_secret}:{license_key}".encode()).decode()
        self.http.session.headers.update(
            {
                "Authorization": f"ESA {esa}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            }
        )

    # -- transport ----------------------------------------------------------------------------------
    def _classify(self, response: requests.Response) -> SyncError | None:
        if response.status_code < 400:
            return None
        body = _json(response)
        results = body.get("Results") if isinstance(body.get("Results"), dict) else {}
        code, text = str(results.get("errorCode", "")), str(results.get("message", ""))
        operation = "getOrder" if GET_PATH.rstrip("/") in response.url else "searchOrder"
        if response.status_code == 401 or code == "ES01-01":
            if "expire" in text.lower():
                return AuthInvalid(
                    f"Rakuten RMS: the licenseKey has expired ({code} {text}); licenseKeys are valid for 90 days"
                    " and cannot be renewed by the client. Issue a new licenseKey in RMS (店舗様向け情報・サービス >"
                    f" WEB APIサービス > 利用設定 > ライセンスキー) and put it in {self.license_key_env}; a new key can"
                    " take up to an hour to become active."
                )
            return AuthInvalid(
                f"Rakuten RMS rejected the serviceSecret/licenseKey ({code} {text}). Check both environment"
                f" variables; if the licenseKey is 90 days old it has expired: issue a new one in RMS (WEB APIサービス"
                f" > 利用設定) and put it in {self.license_key_env}."
            )
        if code == "ES04-01":
            return AuthInvalid(
                f"Rakuten RMS refused {operation} ({code} {text}): enable RakutenPayOrderAPI (rpay.order.searchOrder"
                " and rpay.order.getOrder) for this license key in RMS (WEB APIサービス > 利用機能編集)."
            )
        if response.status_code == 429:
            return Throttled(f"{operation}: HTTP 429 {code} {text}".rstrip())
        errors = _error_messages(body)
        if response.status_code == 400 and errors:
            detail = "; ".join(f"{c} {m}" for c, m in errors)
            if any(c in WINDOW_ERROR_CODES or any(w in m for w in _WINDOW_WORDS) for c, m in errors):
                return WindowRejected(f"{operation} refused the window: {detail}")
            return BadRequest(f"{operation}: {detail}")
        return None  # the generic rules: 5xx -> ServerError, 403 -> AuthInvalid, other 4xx -> BadRequest

    def _post(self, operation: str, path: str, payload: dict) -> tuple[dict, str | None]:
        body, response = self.http.request_json(
            "POST",
            self.base_url + path,
            operation=operation,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            classify=self._classify,
        )
        request_id = response.headers.get("X-Request-Id")
        if not isinstance(body, dict):
            raise BadPayload(f"{operation}: body is not a JSON object", request_id=request_id, url=response.url)
        return body, request_id

    # -- searchOrder --------------------------------------------------------------------------------
    def _search_page(self, start: datetime, end: datetime, page: int) -> tuple[list[str], int, int]:
        """(order numbers, totalRecordsAmount, totalPages) of one page; zero results come with null
        pagination fields, which is the only case where they may be null."""
        body, request_id = self._post(
            "searchOrder",
            SEARCH_PATH,
            {
                "dateType": 1,
                "startDatetime": jst(start),
                "endDatetime": jst(end),
                "PaginationRequestModel": {
                    "requestRecordsAmount": self.page_size,
                    "requestPage": page,
                    "SortModelList": [{"sortColumn": 1, "sortDirection": 1}],
                },
            },
        )
        where = f"searchOrder {jst(start)}..{jst(end)} page {page}"
        numbers = body.get("orderNumberList")
        if not isinstance(numbers, list):
            raise BadPayload(f"{where}: body has no orderNumberList list", request_id=request_id)
        for position, number in enumerate(numbers):
            if not isinstance(number, str) or not number:
                raise BadPayload(f"{where}: orderNumberList[{position}] is not an order number", request_id=request_id)
        paging = body.get("PaginationResponseModel")
        paging = paging if isinstance(paging, dict) else {}
        total, pages = paging.get("totalRecordsAmount"), paging.get("totalPages")
        if total is None and pages is None and not numbers:
            return [], 0, 0
        if not isinstance(total, int) or not isinstance(pages, int) or total < len(numbers):
            raise BadPayload(
                f"{where}: PaginationResponseModel is missing or inconsistent ({paging or None})",
                request_id=request_id,
            )
        if paging.get("requestPage") not in (None, page):
            raise BadPayload(f"{where}: answered page {paging.get('requestPage')}", request_id=request_id)
        return numbers, total, pages

    def search(self, start: datetime, end: datetime) -> list[str]:
        """Every order number with an order date in [start, end] (whole seconds, inclusive)."""
        seen: dict[str, None] = {}
        for _ in range(self.max_passes):
            found: dict[str, None] = {}
            totals: set[int] = set()
            page, pages = 1, 1
            while page <= pages:
                numbers, total, pages = self._search_page(start, end, page)
                if total > self.max_results:
                    return self._search_halves(start, end, total)
                totals.add(total)
                found.update(dict.fromkeys(numbers))
                page += 1
            seen.update(found)
            if len(totals) == 1 and len(found) == next(iter(totals)):
                return list(seen)
            logger.info(
                "rakuten searchOrder %s..%s moved while it was paged (totals %s, %d distinct): reading it again",
                jst(start),
                jst(end),
                sorted(totals),
                len(found),
            )
        raise BadPayload(
            f"searchOrder {jst(start)}..{jst(end)}: the result set kept changing over {self.max_passes} passes;"
            " the next sync reads the window again"
        )

    def _search_halves(self, start: datetime, end: datetime, total: int) -> list[str]:
        if end - start < timedelta(seconds=2):
            raise BadPayload(f"searchOrder {jst(start)}..{jst(end)}: {total} orders in one second cannot be paged")
        mid = start + (end - start) // 2
        mid = mid.replace(microsecond=0)
        logger.info(
            "rakuten searchOrder %s..%s has %d results (> %d): halving", jst(start), jst(end), total, self.max_results
        )
        first = self.search(start, mid)
        known = set(first)
        return first + [n for n in self.search(mid + timedelta(seconds=1), end) if n not in known]

    # -- getOrder -----------------------------------------------------------------------------------
    def get_orders(self, numbers: list[str]) -> Page:
        body, request_id = self._post("getOrder", GET_PATH, {"orderNumberList": numbers, "version": GET_ORDER_VERSION})
        models = body.get("OrderModelList")
        if not isinstance(models, list):
            raise BadPayload("getOrder: body has no OrderModelList list", request_id=request_id)
        by_number: dict[str, dict] = {}
        for position, model in enumerate(models):
            if not isinstance(model, dict) or not isinstance(model.get("orderNumber"), str):
                raise BadPayload(f"getOrder: OrderModelList[{position}] has no orderNumber", request_id=request_id)
            if not isinstance(model.get("orderDatetime"), str):
                raise BadPayload(f"getOrder: order {model['orderNumber']} has no orderDatetime", request_id=request_id)
            by_number[model["orderNumber"]] = model
        missing = [n for n in numbers if n not in by_number]
        if missing:
            # searchOrder found them, so leaving them out would lose orders without a trace
            detail = "; ".join(f"{c} {m}" for c, m in _error_messages(body))
            raise BadPayload(
                f"getOrder: {len(missing)} order(s) found by searchOrder are missing, e.g. {missing[0]}"
                + (f" ({detail})" if detail else ""),
                request_id=request_id,
            )
        return Page([RawRecord(record_id=n, updated_at=None, payload=by_number[n]) for n in numbers], request_id)

    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity != "orders":
            raise unknown_entity(self.platform, entity, self.entities)
        start, end = first_second_from(window.start), last_second_before(window.end)
        if end < start:
            return  # a window shorter than a second holds no whole second to ask for
        numbers = self.search(start, end)
        for i in range(0, len(numbers), self.batch_size):
            yield self.get_orders(numbers[i : i + self.batch_size])


def from_store(store: StoreConfig, token_store: TokenStore | None) -> RakutenClient:
    """ESA credentials from the environment; no token store: a licenseKey cannot be refreshed."""
    return RakutenClient(
        store.url(DEFAULT_BASE_URL),
        store.secret("service_secret_env"),
        store.secret("license_key_env"),
        license_key_env=store.credentials.license_key_env,
        requests_per_second=REQUESTS_PER_SECOND * store.rate_limit_scale,
    )
