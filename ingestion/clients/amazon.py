"""Amazon Selling Partner API client: orders, financial events, FBA inventory and sales & traffic.

Auth is Login with Amazon (an hour-long access token sent as `x-amz-access-token`, refreshed from the
seller's refresh token; see `ingestion.clients.lwa`). SP-API throttles per operation with token
buckets whose rate (requests per second) comes back in `x-amzn-RateLimit-Limit` on 2xx/400/404
answers: the client starts from the documented rate x `rate_limit_scale` and adopts the header, so a
seller on a different usage plan is paced by what Amazon says. A 429 (`QuotaExceeded`) carries no
`Retry-After`; the client waits 1/rate, as Airbyte's connector does.

Entities and how each record is composed:
- `orders`: Orders API v0 `getOrders` by `LastUpdatedAfter/Before` (the 2-minute rule keeps the end
  behind now), then `getOrderItems` for each order. A record is the Order object unchanged plus a key
  `OrderItems` holding the OrderItem objects of every items page. Amazon hides buyer PII without a
  Restricted Data Token, so none is asked for.
- `financial_events`: Finances v0 `listFinancialEvents` by `PostedAfter/Before`. One record per
  ShipmentEvent of `ShipmentEventList` and of `RefundEventList` (refunds are ShipmentEvents whose items
  carry the *Adjustment* lists with negative amounts), as `{"event_type", "event"}`; the record id is a
  hash of the type, order, posted date and item ids, since events have no id of their own.
- `fba_inventory`: the `GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA` report (gzip TSV, a snapshot). One
  record per SKU: the row as column -> text, parsed by header name (columns vary by marketplace and
  over time), plus `snapshot_at`, the report's processing time.
- `sales_traffic`: `GET_SALES_AND_TRAFFIC_REPORT` (gzip JSON), one report per marketplace-local day
  because the by-ASIN section aggregates the whole report range. Only days that lie completely inside
  the window are requested, so a window cut at "now" never lands half a day. Records are
  `{"record_type": "by_date"|"by_asin", "date", "row"}`.

Reports go createReport -> getReport (polled with a doubling backoff) -> getReportDocument -> a
pre-signed download that expires after five minutes (asked for again once if it did). FATAL raises
`ReportFailed`; CANCELLED means "no data" and lands nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import requests

from ingestion.clients.base import EntitySpec, Page, unknown_entity
from ingestion.clients.lwa import lwa_token
from ingestion.config import StoreConfig
from ingestion.errors import (
    AuthExpired,
    AuthInvalid,
    BadPayload,
    BadRequest,
    ReportFailed,
    SyncError,
    Throttled,
    WindowRejected,
)
from ingestion.http import HttpClient, RateLimiter, RetryPolicy, gunzip
from ingestion.lake import RawRecord
from ingestion.tokens import RefreshingToken, TokenStore, call_with_token
from ingestion.windows import Window

DEFAULT_BASE_URL = "https://sellingpartnerapi-na.amazon.com"
REGION_HOSTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}

# marketplace id -> (SP-API region, country, the marketplace's time zone: its reporting day)
MARKETPLACES: dict[str, tuple[str, str, str]] = {
    "ATVPDKIKX0DER": ("NA", "US", "America/Los_Angeles"),
    "A2EUQ1WTGCTBG2": ("NA", "CA", "America/Los_Angeles"),
    "A1AM78C64UM0Y8": ("NA", "MX", "America/Los_Angeles"),
    "A2Q3Y263D00KWC": ("NA", "BR", "America/Sao_Paulo"),
    "A1F83G8C2ARO7P": ("EU", "GB", "Europe/London"),
    "A1PA6795UKMFR9": ("EU", "DE", "Europe/Berlin"),
    "A13V1IB3VIYZZH": ("EU", "FR", "Europe/Paris"),
    "APJ6JRA9NG5V4": ("EU", "IT", "Europe/Rome"),
    "A1RKKUPIHCS9HS": ("EU", "ES", "Europe/Madrid"),
    "A1805IZSGTT6HS": ("EU", "NL", "Europe/Amsterdam"),
    "A2NODRKZP88ZB9": ("EU", "SE", "Europe/Stockholm"),
    "A1C3SOZRARQ6R3": ("EU", "PL", "Europe/Warsaw"),
    "AMEN7PMS3EDWL": ("EU", "BE", "Europe/Brussels"),
    "A28R8C7NBKEWEA": ("EU", "IE", "Europe/Dublin"),
    "A33AVAJ2PDY3EV": ("EU", "TR", "Europe/Istanbul"),
    "ARBP9OOSHTCHU": ("EU", "EG", "Africa/Cairo"),
    "A17E79C6D8DWNP": ("EU", "SA", "Asia/Riyadh"),
    "A2VIGQ35RCS4UG": ("EU", "AE", "Asia/Dubai"),
    "A21TJRUUN4KGV": ("EU", "IN", "Asia/Kolkata"),
    "AE08WJ6YKNBMC": ("EU", "ZA", "Africa/Johannesburg"),
    "A1VC38T7YXB528": ("FE", "JP", "Asia/Tokyo"),
    "A39IBJ37TRP1C6": ("FE", "AU", "Australia/Sydney"),
    "A19VAU5U5O7RUS": ("FE", "SG", "Asia/Singapore"),
}

# Documented default usage plans (requests per second, burst) per operation.
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "listFinancialEvents": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}

ORDERS_PAGE_SIZE = 100
EVENTS_PAGE_SIZE = 100
FINANCES_MAX_SPAN = timedelta(days=180)  # farther apart, Amazon answers with an empty list, not an error
INVENTORY_REPORT = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
SALES_TRAFFIC_REPORT = "GET_SALES_AND_TRAFFIC_REPORT"
REPORT_TERMINAL = ("DONE", "CANCELLED", "FATAL")
REPORT_RUNNING = ("IN_QUEUE", "IN_PROGRESS")
_WINDOW_PARAMS = (
    "CreatedAfter",
    "CreatedBefore",
    "LastUpdatedAfter",
    "LastUpdatedBefore",
    "PostedAfter",
    "PostedBefore",
    "dataStartTime",
    "dataEndTime",
)

ENTITIES = {
    "orders": EntitySpec(
        "orders",
        "Orders (Orders API v0) with their order items added under `OrderItems`, by LastUpdateDate.",
        lookback=timedelta(days=2),
        safety_lag=timedelta(minutes=2, seconds=30),  # LastUpdatedBefore must be >= 2 min before now
        max_history=timedelta(days=730),  # getOrders returns the last two years
    ),
    "financial_events": EntitySpec(
        "financial_events",
        "Shipment and refund financial events (Finances v0), one record per event, by PostedDate.",
        max_window=timedelta(days=30),  # well inside the 180-day limit beyond which Amazon returns nothing
        lookback=timedelta(days=3),  # events of the last 48 h may not be included yet
        safety_lag=timedelta(minutes=2, seconds=30),
    ),
    "fba_inventory": EntitySpec(
        "fba_inventory",
        "FBA Manage Inventory report (unsuppressed), one record per SKU per snapshot.",
        snapshot=True,
    ),
    "sales_traffic": EntitySpec(
        "sales_traffic",
        "Sales and Traffic report per marketplace-local day: store totals and per child ASIN.",
        lookback=timedelta(days=3),
        max_history=timedelta(days=729),  # a start more than two years back is CANCELLED
    ),
}


def default_base_url(marketplace_id: str) -> str:
    """The regional SP-API host of a marketplace (JP/AU/SG in FE, UK/DE/.../IN in EU)."""
    region = MARKETPLACES.get(marketplace_id, ("NA", "", ""))[0]
    return REGION_HOSTS[region]


def marketplace_timezone(marketplace_id: str) -> str:
    return MARKETPLACES.get(marketplace_id, ("NA", "US", "America/Los_Angeles"))[2]


def _iso(ts: datetime) -> str:
    """SP-API timestamps: ISO 8601 in UTC, whole seconds (a window end clipped at now carries
    microseconds; cutting them moves the end earlier, which the next window's look-back covers)."""
    return ts.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise BadPayload(f"{what}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"{what}: not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise BadPayload(f"{what}: timestamp without offset: {value!r}")
    return parsed.astimezone(UTC)


def _errors_text(response: requests.Response) -> str:
    """`{"errors":[{"code","message","details"}]}` as one line (or the start of the raw body)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        parts = []
        for err in errors:
            if isinstance(err, dict):
                parts.append(": ".join(str(err[k]) for k in ("code", "message", "details") if err.get(k)))
        return "; ".join(parts)
    return json.dumps(body)[:200]


def event_record_id(event_type: str, event: dict) -> str:
    """Financial events carry no id: a stable hash of what identifies one (type, order, posted date,
    the order items or adjustment items it covers)."""
    items = event.get("ShipmentItemList") or event.get("ShipmentItemAdjustmentList") or []
    ids = sorted(
        f"{item.get('OrderItemId', '')}/{item.get('OrderAdjustmentItemId', '')}"
        for item in items
        if isinstance(item, dict)
    )
    posted = event.get("PostedDate")
    # the instant, not its spelling: "...00Z" and "...00.000Z" are the same event
    posted_key = parse_time(posted, "financial event PostedDate").isoformat() if posted else ""
    key = "|".join([event_type, str(event.get("AmazonOrderId", "")), posted_key, *ids])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def complete_local_days(window: Window, tz: ZoneInfo) -> list[date]:
    """Local days that lie entirely inside the window (a day cut by the window is left to the
    next window, whose look-back covers it whole)."""
    first = window.start.astimezone(tz).date()
    if datetime.combine(first, dtime(0), tz) < window.start:
        first += timedelta(days=1)
    days = []
    day = first
    while datetime.combine(day + timedelta(days=1), dtime(0), tz) <= window.end:
        days.append(day)
        day += timedelta(days=1)
    return days


class TokenRejected(AuthInvalid):
    """403 Unauthorized for a token that is "revoked, malformed or invalid" (not merely expired)."""


class DocumentUrlExpired(AuthExpired):
    """The pre-signed report document URL is past its five minutes (the signature expired)."""


@dataclass(frozen=True)
class Document:
    content: bytes
    content_type: str


class AmazonClient:
    platform = "amazon"
    entities = ENTITIES

    def __init__(
        self,
        base_url: str,
        access_token: str | RefreshingToken,
        marketplace_id: str,
        *,
        rate_scale: float = 1.0,
        timezone: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        report_batch: int = 10,
        poll_initial: float | None = None,
        poll_max: float = 30.0,
        report_timeout: float = 3600.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = access_token
        self.marketplace_id = marketplace_id
        self.tz = ZoneInfo(timezone or marketplace_timezone(marketplace_id))
        # One token of headroom below Amazon's burst: the server's bucket starts counting when a
        # request arrives, not when it was sent, and network jitter would otherwise cost a 429 now and then.
        self.limiters = {
            op: RateLimiter(rate * rate_scale, max(1, burst - 1), sleep=sleep)
            for op, (rate, burst) in RATE_LIMITS.items()
        }
        self.http = HttpClient(
            platform=self.platform,
            retry=retry or RetryPolicy(),
            limiters=dict(self.limiters),
            request_id_header="x-amzn-RequestId",
            sleep=sleep,
        )
        self.http.session.headers.update(
            {"Accept": "application/json", "User-Agent": "kpi-platform/0.1 (Language=Python)"}
        )
        self._sleep = sleep
        self.report_batch = max(1, report_batch)
        # None: start at one getReport token (0.5 s on the default plan), so a usage plan (or the
        # sandbox) granting more, as told by x-amzn-RateLimit-Limit, lets the client poll sooner.
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.report_timeout = report_timeout
        self._classifiers = {op: self._classifier(op) for op in RATE_LIMITS}

    # -- HTTP -----------------------------------------------------------------------------------
    def _classifier(self, operation: str) -> Callable[[requests.Response], SyncError | None]:
        limiter = self.limiters[operation]

        def classify(response: requests.Response) -> SyncError | None:
            rate = response.headers.get("x-amzn-RateLimit-Limit")
            if rate:
                try:
                    value = float(rate)
                except ValueError:
                    value = 0.0
                if value > 0:
                    limiter.rate = value  # the seller's actual usage plan for this operation
            status = response.status_code
            if status == 429:
                # No Retry-After on SP-API 429s: wait one token's worth (1/rate, Airbyte's rule), capped
                # by the retry policy; by then the server's bucket holds a token again.
                return Throttled(
                    f"{operation}: {_errors_text(response)}",
                    retry_after=min(1 / limiter.rate, self.http.retry.backoff_max),
                )
            if status in (401, 403):
                text = _errors_text(response)
                if "expired" in text.lower():
                    return AuthExpired(f"{operation}: LWA access token expired: {text}")
                return TokenRejected(
                    f"{operation}: access denied ({text}); check the app's roles and the seller's authorization"
                )
            if status == 400:
                text = _errors_text(response)
                if any(param.lower() in text.lower() for param in _WINDOW_PARAMS):
                    return WindowRejected(f"{operation}: {text}")
                return BadRequest(f"{operation}: {text}")
            return None

        return classify

    def _call(
        self, method: str, path: str, operation: str, *, params: dict | None = None, body: dict | None = None
    ) -> tuple[object, requests.Response]:
        url = f"{self.base_url}{path}"
        kwargs: dict[str, object] = {"params": params}
        if body is not None:
            kwargs["json"] = body

        def send(token: str) -> tuple[object, requests.Response]:
            return self.http.request_json(
                method,
                url,
                operation=operation,
                classify=self._classifiers[operation],
                headers={"x-amz-access-token": token},
                **kwargs,
            )

        # Expired early (clock skew), or a stored token Amazon does not know (issued to an earlier
        # authorization, or by another LWA app): one fresh token decides. A revoked authorization
        # fails the refresh itself (LWA invalid_grant); a second rejection is final.
        return call_with_token(self.token, send, refresh_on=(AuthExpired, TokenRejected))

    @staticmethod
    def _payload(body: object, response: requests.Response, what: str) -> dict:
        payload = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            raise BadPayload(
                f"{what}: body has no 'payload' object",
                http_status=response.status_code,
                request_id=response.headers.get("x-amzn-RequestId"),
                url=response.url,
            )
        return payload

    # -- entities -------------------------------------------------------------------------------
    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity == "orders":
            yield from self._orders(window)
        elif entity == "financial_events":
            yield from self._financial_events(window)
        elif entity == "fba_inventory":
            yield from self._fba_inventory()
        elif entity == "sales_traffic":
            yield from self._sales_traffic(window)
        else:
            raise unknown_entity(self.platform, entity, self.entities)

    def _orders(self, window: Window) -> Iterator[Page]:
        params: dict = {
            "MarketplaceIds": self.marketplace_id,
            "LastUpdatedAfter": _iso(window.start),
            "LastUpdatedBefore": _iso(window.end),
            "MaxResultsPerPage": ORDERS_PAGE_SIZE,
        }
        while True:
            body, response = self._call("GET", "/orders/v0/orders", "getOrders", params=params)
            payload = self._payload(body, response, "getOrders")
            orders = payload.get("Orders")
            if not isinstance(orders, list):
                raise BadPayload("getOrders: payload has no 'Orders' list", request_id=_rid(response))
            records = []
            for position, order in enumerate(orders):
                if not isinstance(order, dict) or not order.get("AmazonOrderId") or "LastUpdateDate" not in order:
                    raise BadPayload(
                        f"getOrders: order {position} has no AmazonOrderId/LastUpdateDate", request_id=_rid(response)
                    )
                order_id = order["AmazonOrderId"]
                updated = parse_time(order["LastUpdateDate"], f"order {order_id} LastUpdateDate")
                records.append(RawRecord(order_id, updated, {**order, "OrderItems": self._order_items(order_id)}))
            yield Page(records, _rid(response))
            token = payload.get("NextToken")
            if not token:
                return
            # NextToken overrides every other criterion; MarketplaceIds is still required.
            params = {"MarketplaceIds": self.marketplace_id, "NextToken": token}

    def _order_items(self, order_id: str) -> list[dict]:
        items: list[dict] = []
        params: dict | None = None
        while True:
            body, response = self._call(
                "GET", f"/orders/v0/orders/{order_id}/orderItems", "getOrderItems", params=params
            )
            payload = self._payload(body, response, f"getOrderItems {order_id}")
            page = payload.get("OrderItems")
            if not isinstance(page, list):
                raise BadPayload(
                    f"getOrderItems {order_id}: payload has no 'OrderItems' list", request_id=_rid(response)
                )
            for position, item in enumerate(page):
                if not isinstance(item, dict) or not item.get("OrderItemId"):
                    raise BadPayload(f"getOrderItems {order_id}: item {position} has no OrderItemId")
            items.extend(page)
            token = payload.get("NextToken")
            if not token:
                return items
            params = {"NextToken": token}

    def _financial_events(self, window: Window) -> Iterator[Page]:
        if window.end - window.start > FINANCES_MAX_SPAN:
            # Amazon would answer with an empty list, which must never pass for "no events".
            raise WindowRejected(
                f"listFinancialEvents: PostedAfter and PostedBefore are more than 180 days apart ({window}); "
                "Amazon returns nothing for such a window"
            )
        params: dict = {
            "PostedAfter": _iso(window.start),
            "PostedBefore": _iso(window.end),
            "MaxResultsPerPage": EVENTS_PAGE_SIZE,
        }
        while True:
            body, response = self._call("GET", "/finances/v0/financialEvents", "listFinancialEvents", params=params)
            payload = self._payload(body, response, "listFinancialEvents")
            groups = payload.get("FinancialEvents")
            if not isinstance(groups, dict):
                raise BadPayload(
                    "listFinancialEvents: payload has no 'FinancialEvents' object", request_id=_rid(response)
                )
            records = []
            for list_name, event_type in (("ShipmentEventList", "ShipmentEvent"), ("RefundEventList", "RefundEvent")):
                events = groups.get(list_name) or []
                if not isinstance(events, list):
                    raise BadPayload(f"listFinancialEvents: {list_name} is not a list", request_id=_rid(response))
                for position, event in enumerate(events):
                    if not isinstance(event, dict) or "PostedDate" not in event:
                        raise BadPayload(f"listFinancialEvents: {list_name}[{position}] has no PostedDate")
                    posted = parse_time(event["PostedDate"], f"{list_name}[{position}] PostedDate")
                    records.append(
                        RawRecord(
                            event_record_id(event_type, event), posted, {"event_type": event_type, "event": event}
                        )
                    )
            yield Page(records, _rid(response))  # pages can be empty with a NextToken: keep going
            token = payload.get("NextToken")
            if not token:
                return
            params = {"NextToken": token, "MaxResultsPerPage": EVENTS_PAGE_SIZE}

    def _fba_inventory(self) -> Iterator[Page]:
        body = {"reportType": INVENTORY_REPORT, "marketplaceIds": [self.marketplace_id]}
        for _, report, document in self._run_reports([(None, body)]):
            if document is None:
                continue
            snapshot = report_time(report)
            records = []
            for line_no, row in parse_tsv(document, INVENTORY_REPORT):
                sku = row.get("sku", "").strip()
                if not sku:
                    raise BadPayload(f"{INVENTORY_REPORT} line {line_no}: empty sku")
                records.append(RawRecord(sku, snapshot, {**row, "snapshot_at": _iso(snapshot)}))
            yield Page(records, report.get("reportId"))

    def _sales_traffic(self, window: Window) -> Iterator[Page]:
        requests_ = [
            (
                day,
                {
                    "reportType": SALES_TRAFFIC_REPORT,
                    "marketplaceIds": [self.marketplace_id],
                    # the time component is ignored: the day is the marketplace's calendar day
                    "dataStartTime": f"{day.isoformat()}T00:00:00Z",
                    "dataEndTime": f"{day.isoformat()}T23:59:59Z",
                    "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
                },
            )
            for day in complete_local_days(window, self.tz)
        ]
        for day, report, document in self._run_reports(requests_):
            if document is None:
                continue
            yield Page(sales_traffic_records(day, document, report_time(report)), report.get("reportId"))

    # -- reports --------------------------------------------------------------------------------
    def _run_reports(self, requests_: Sequence[tuple[object, dict]]) -> Iterator[tuple[object, dict, Document | None]]:
        """Create reports a batch at a time, poll the batch together, then fetch each document:
        createReport is the bottleneck (about one a minute), so reports process while others wait."""
        for start in range(0, len(requests_), self.report_batch):
            batch = requests_[start : start + self.report_batch]
            created = [(key, self._create_report(body)) for key, body in batch]
            finished = self._await_reports([report_id for _, report_id in created])
            for key, report_id in created:
                report = finished[report_id]
                status = report["processingStatus"]
                if status == "FATAL":
                    raise ReportFailed(
                        f"report {report_id} ({report.get('reportType')}, {report.get('dataStartTime', 'snapshot')}) "
                        f"ended FATAL{self._fatal_details(report)}; Amazon rarely says why: retry later"
                    )
                if status == "CANCELLED":
                    yield key, report, None  # no data to return
                    continue
                document_id = report.get("reportDocumentId")
                if not document_id:
                    raise BadPayload(f"getReport {report_id}: DONE without a reportDocumentId")
                yield key, report, self._document(document_id)

    def _create_report(self, body: dict) -> str:
        result, response = self._call("POST", "/reports/2021-06-30/reports", "createReport", body=body)
        report_id = result.get("reportId") if isinstance(result, dict) else None
        if not report_id:
            raise BadPayload("createReport: response has no reportId", request_id=_rid(response))
        return str(report_id)

    def _await_reports(self, report_ids: list[str]) -> dict[str, dict]:
        done: dict[str, dict] = {}
        pending = list(report_ids)
        delay = self.poll_initial if self.poll_initial is not None else 1 / self.limiters["getReport"].rate
        waited = 0.0
        while pending:
            self._sleep(delay)
            waited += delay
            still: list[str] = []
            for report_id in pending:
                report, response = self._call("GET", f"/reports/2021-06-30/reports/{report_id}", "getReport")
                status = report.get("processingStatus") if isinstance(report, dict) else None
                if status in REPORT_TERMINAL:
                    done[report_id] = report  # type: ignore[assignment]
                elif status in REPORT_RUNNING:
                    still.append(report_id)
                else:
                    raise BadPayload(
                        f"getReport {report_id}: unknown processingStatus {status!r}", request_id=_rid(response)
                    )
            pending = still
            if pending and waited >= self.report_timeout:
                raise ReportFailed(f"reports {', '.join(pending)} still not done after {waited:.0f} s")
            delay = min(delay * 2, self.poll_max)
        return done

    def _document(self, document_id: str) -> Document:
        """getReportDocument, then the pre-signed download; a URL that expired before it was used
        (five minutes, e.g. after a long wait on the rate limiter) is asked for again, once."""
        try:
            return self._download(document_id)
        except DocumentUrlExpired:
            return self._download(document_id)

    def _download(self, document_id: str) -> Document:
        meta, response = self._call("GET", f"/reports/2021-06-30/documents/{document_id}", "getReportDocument")
        url = meta.get("url") if isinstance(meta, dict) else None
        if not url:
            raise BadPayload(f"getReportDocument {document_id}: response has no url", request_id=_rid(response))
        compressed = (meta.get("compressionAlgorithm") or "").upper() == "GZIP"

        def parse(download: requests.Response) -> Document:
            content = download.content
            if compressed:
                content = gunzip(content, f"report document {document_id}")
            return Document(content, download.headers.get("Content-Type", ""))

        def classify(download: requests.Response) -> SyncError | None:
            if download.status_code == 403 and "expired" in download.text.lower():
                return DocumentUrlExpired(f"report document {document_id}: the pre-signed URL has expired")
            return None

        # A pre-signed S3 URL: no access token, and not counted against the SP-API limits.
        document, _ = self.http.request("GET", url, operation="downloadReportDocument", classify=classify, parse=parse)
        return document  # type: ignore[return-value]

    def _fatal_details(self, report: dict) -> str:
        """A FATAL report may come with an error document; its text is the only hint of why."""
        document_id = report.get("reportDocumentId")
        if not document_id:
            return ""
        try:
            document = self._document(document_id)
        except SyncError:
            return ""
        return f": {decode_text(document)[:300].strip()}"


def _rid(response: requests.Response) -> str | None:
    return response.headers.get("x-amzn-RequestId")


def report_time(report: dict) -> datetime:
    """When the report's data was taken: its processing end (the snapshot instant)."""
    for key in ("processingEndTime", "processingStartTime", "createdTime"):
        if report.get(key):
            return parse_time(report[key], f"report {report.get('reportId')} {key}")
    raise BadPayload(f"report {report.get('reportId')}: no processing or creation time")


def decode_text(document: Document) -> str:
    """Flat files are UTF-8 unless the download says otherwise (some marketplaces use Cp1252/Shift_JIS)."""
    charset = "utf-8"
    for part in document.content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip().strip('"')
    try:
        return document.content.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise BadPayload(f"report document is not valid {charset} text: {exc}") from exc


def parse_tsv(document: Document, report_type: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as column -> text, by header name: Amazon adds, drops and reorders columns by marketplace."""
    reader = csv.reader(io.StringIO(decode_text(document)), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
    if "sku" not in header:
        raise BadPayload(f"{report_type}: no 'sku' column in the header {header[:5]}")
    for line_no, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BadPayload(f"{report_type} line {line_no}: {len(row)} cells for {len(header)} columns")
        yield line_no, dict(zip(header, row, strict=True))


def sales_traffic_records(day: date, document: Document, computed_at: datetime) -> list[RawRecord]:
    """By-date rows keep their own date; by-ASIN rows aggregate the report range (one day here).
    A day's numbers are revised for a while (refunds, late sessions): the newest report wins."""
    try:
        report = json.loads(decode_text(document))
    except ValueError as exc:
        raise BadPayload(f"{SALES_TRAFFIC_REPORT} {day}: not JSON: {exc}") from exc
    by_date = report.get("salesAndTrafficByDate") if isinstance(report, dict) else None
    by_asin = report.get("salesAndTrafficByAsin") if isinstance(report, dict) else None
    if not isinstance(by_date, list) or not isinstance(by_asin, list):
        raise BadPayload(f"{SALES_TRAFFIC_REPORT} {day}: salesAndTrafficByDate/ByAsin lists missing")
    records = []
    for position, row in enumerate(by_date):
        if not isinstance(row, dict) or not row.get("date"):
            raise BadPayload(f"{SALES_TRAFFIC_REPORT} {day}: salesAndTrafficByDate[{position}] has no date")
        records.append(RawRecord(row["date"], computed_at, {"record_type": "by_date", "date": row["date"], "row": row}))
    for position, row in enumerate(by_asin):
        if not isinstance(row, dict) or not row.get("childAsin"):
            raise BadPayload(f"{SALES_TRAFFIC_REPORT} {day}: salesAndTrafficByAsin[{position}] has no childAsin")
        records.append(
            RawRecord(
                f"{day.isoformat()}:{row['childAsin']}",
                computed_at,
                {"record_type": "by_asin", "date": day.isoformat(), "row": row},
            )
        )
    return records


def from_store(store: StoreConfig, token_store: TokenStore | None) -> AmazonClient:
    marketplace_id = store.account["marketplace_id"]
    return AmazonClient(
        store.url(default_base_url(marketplace_id)),
        lwa_token(store, f"amazon-{store.store_id}", token_store),
        marketplace_id,
        rate_scale=store.rate_limit_scale,
        timezone=store.timezone,
    )
