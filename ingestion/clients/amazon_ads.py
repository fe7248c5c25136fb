"""Amazon Ads API client: the daily Sponsored Products campaign report (reporting v3).

Reports are asynchronous: `POST /reporting/reports` asks for one, `GET /reporting/reports/{id}`
is polled (PENDING -> PROCESSING -> COMPLETED | FAILED, with a growing pause), and the finished
report is a gzipped JSON array behind a pre-signed URL that expires; an expired URL is replaced by
asking for the report status again (once). Report dates are calendar days in the profile's time
zone, so the client first reads the profile (`GET /v2/profiles`, once per client) and turns the
UTC sync window into the profile-local dates it covers. A request identical to one still being
generated is answered 425 "... duplicate of : <reportId>"; the client then waits for that report
instead of failing (an interrupted sync that is re-run lands exactly what the first one asked for).

Attribution fills in for days after the ad day (purchases7d/sales7d grow for a week), so the look-back
is 7 days and every read of a day lands again; the record's `updated_at` is when the report was
generated, so the newest read of a day wins in staging.

Records: one per report row, `record_id` = "<profileId>:<date>:<campaignId>" (campaignId is an
integer in reporting v3 and a string in the entity APIs: it is normalised to its digits). The
payload is the row unchanged plus two fields added by this client: `profileId` (string) and
`reportId` (the report the row came from).

Rate limits are dynamic and unpublished: 429 + `Retry-After` is honoured by the HttpClient, and the
client-side limiters below are deliberately modest guesses (see docs/sources/amazon_ads.md).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from ingestion.clients.base import EntitySpec, Page, unknown_entity
from ingestion.clients.lwa import lwa_token
from ingestion.config import StoreConfig
from ingestion.errors import (
    AuthExpired,
    AuthInvalid,
    BadPayload,
    BadRequest,
    ConfigError,
    ConfigMismatch,
    ReportFailed,
    SyncError,
    WindowRejected,
)
from ingestion.http import HttpClient, RateLimiter, RetryPolicy, gunzip
from ingestion.lake import RawRecord
from ingestion.tokens import RefreshingToken, TokenStore, call_with_token
from ingestion.windows import Window

DEFAULT_BASE_URL = "https://advertising-api.amazon.com"  # North America
REGION_BASE_URLS = {
    "NA": "https://advertising-api.amazon.com",
    "EU": "https://advertising-api-eu.amazon.com",
    "FE": "https://advertising-api-fe.amazon.com",
}
# Marketplace country -> Ads API region (the same seller account has one profile per marketplace).
_FE_COUNTRIES = frozenset({"JP", "AU", "SG"})
_NA_COUNTRIES = frozenset({"US", "CA", "MX", "BR"})

CREATE_REPORT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
CREATE_REPORT_ACCEPT = "application/vnd.createasyncreportresponse.v3+json"
GET_REPORT_ACCEPT = "application/vnd.getasyncreportresponse.v3+json"

MAX_REPORT_DAYS = 31  # report dates per request, both ends inclusive
ATTRIBUTION_WINDOW_DAYS = 7
REPORT_COLUMNS: tuple[str, ...] = (
    "date",
    "campaignId",
    "campaignName",
    "campaignStatus",
    "campaignBudgetCurrencyCode",
    "impressions",
    "clicks",
    "cost",
    "purchases7d",
    "sales7d",
    "unitsSoldClicks7d",
)

# Documented nowhere (limits are dynamic): modest per-operation rates, requests per second and burst.
# Together they stay under 2 requests/s, well below what the API is reported to tolerate.
RATES: dict[str, tuple[float, float]] = {
    "profiles": (0.5, 1),
    "createReport": (0.5, 2),
    "getReport": (1.0, 2),
}

_DUPLICATE = re.compile(r"duplicate of\s*:\s*([0-9A-Za-z-]+)")
# The report dates themselves were refused (span, retention, order), as opposed to the configuration.
_WINDOW_WORDS = re.compile(r"date range|in the past|retention|before startDate", re.IGNORECASE)

ENTITIES = {
    "sp_campaigns": EntitySpec(
        "sp_campaigns",
        "Sponsored Products campaign metrics per profile-local day (spCampaigns report, DAILY, 7-day attribution); "
        "days are re-read for a week while attribution fills in.",
        # 31 report dates per request; a 30-day UTC slice covers at most 31 profile-local dates.
        max_window=timedelta(days=30),
        lookback=timedelta(days=7),
        max_history=timedelta(days=60),  # Airbyte's cap; retention is 60-95 days
    ),
}


class DuplicateReport(BadRequest):
    """425: an identical report is still being generated; its id is in the message."""

    def __init__(self, report_id: str, message: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.report_id = report_id


class DownloadUrlExpired(BadRequest):
    """The pre-signed report URL is past `urlExpiresAt` (S3 answers 403 'Request has expired')."""


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for key in ("details", "detail", "message", "code"):
            if isinstance(body.get(key), str):
                return body[key]
    return json.dumps(body)[:300]


class AdsTokenRejected(AuthInvalid):
    """401 for an access token the Ads API does not accept (invalid or revoked, not said to be expired).
    One refresh is tried: a cached token from an authority that was restarted or rotated is otherwise
    indistinguishable from a revoked one; a second rejection is final (auth_invalid)."""


def _classify(response: requests.Response) -> SyncError | None:
    status = response.status_code
    if status == 401:
        detail = _detail(response)
        if "expired" in detail.lower():
            return AuthExpired(f"Amazon Ads: access token expired: {detail}")
        return AdsTokenRejected(
            f"Amazon Ads refused the access token, client id or profile scope ({detail}): check that the "
            "authorization is not revoked and that the profile belongs to it"
        )
    if status == 403:
        return AuthInvalid(f"Amazon Ads: access denied: {_detail(response)}")
    if status == 425:
        detail = _detail(response)
        match = _DUPLICATE.search(detail)
        if match:
            return DuplicateReport(match.group(1), f"createReport: duplicate of report {match.group(1)}")
        return BadRequest(f"createReport: HTTP 425 without a report id: {detail}")
    if status == 400:
        detail = _detail(response)
        if _WINDOW_WORDS.search(detail):
            return WindowRejected(f"Amazon Ads refused the report dates: {detail}")
        return BadRequest(f"Amazon Ads refused the request: {detail}")
    return None


def _classify_download(response: requests.Response) -> SyncError | None:
    if response.status_code == 403 and "expired" in response.text.lower():
        return DownloadUrlExpired("report download: the pre-signed URL has expired")
    if response.status_code in (400, 403):
        return BadRequest(f"report download: HTTP {response.status_code}: {response.text[:300]}")
    return None


def parse_report_file(response: requests.Response) -> list:
    """gunzip + JSON array. Anything incomplete raises ValueError, so the HttpClient retries it and
    finally reports `bad_payload`: a truncated file must never pass for a report without rows."""
    content = response.content
    if content[:2] == b"\x1f\x8b":
        content = gunzip(content, "report file")
    rows = json.loads(content)
    if not isinstance(rows, list):
        raise ValueError("report file is not a JSON array")
    return rows


def _ts(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def report_dates(window: Window, tz: ZoneInfo) -> tuple[date, date]:
    """The profile-local dates (inclusive) that the UTC window [start, end) touches."""
    return window.start.astimezone(tz).date(), (window.end - timedelta(microseconds=1)).astimezone(tz).date()


def date_chunks(first: date, last: date, days: int = MAX_REPORT_DAYS) -> Iterator[tuple[date, date]]:
    cursor = first
    while cursor <= last:
        end = min(last, cursor + timedelta(days=days - 1))
        yield cursor, end
        cursor = end + timedelta(days=1)


class AmazonAdsClient:
    platform = "amazon_ads"
    entities = ENTITIES

    def __init__(
        self,
        base_url: str,
        access_token: str | RefreshingToken,
        *,
        client_id: str,
        profile_id: str,
        rate_scale: float = 1.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_base: float = 0.5,
        poll_max: float = 30.0,
        poll_timeout: float = 3 * 3600.0,  # "can take up to three hours"
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = access_token
        self.client_id = client_id
        self.profile_id = str(profile_id)
        self.poll_base, self.poll_max, self.poll_timeout = poll_base, poll_max, poll_timeout
        self._sleep = sleep
        self.http = HttpClient(
            platform=self.platform,
            retry=retry or RetryPolicy(),
            limiters={op: RateLimiter(rate * rate_scale, burst) for op, (rate, burst) in RATES.items()},
            request_id_header="x-amzn-RequestId",
            sleep=sleep,
        )
        self._profile: dict | None = None
        self.store_timezone: str | None = None  # the stores file's; ad days must be the store's days

    # -- transport ------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        scoped: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> tuple[object, requests.Response]:
        def send(token: str) -> tuple[object, requests.Response]:
            head = {"Authorization": f"Bearer {token}", "Amazon-Advertising-API-ClientId": self.client_id}
            if scoped:
                head["Amazon-Advertising-API-Scope"] = self.profile_id
            return self.http.request_json(
                method,
                self.base_url + path,
                operation=operation,
                classify=_classify,
                headers={**head, **(headers or {})},
                **kwargs,
            )

        return call_with_token(self.token, send, refresh_on=(AuthExpired, AdsTokenRejected))

    # -- profile --------------------------------------------------------------------------------
    def profile(self) -> dict:
        """The configured profile as `GET /v2/profiles` describes it (time zone, currency), read once."""
        if self._profile is None:
            body, response = self._call("GET", "/v2/profiles", "profiles", scoped=False)
            if not isinstance(body, list):
                raise BadPayload("GET /v2/profiles: body is not a list", request_id=_rid(response))
            found = next((p for p in body if isinstance(p, dict) and str(p.get("profileId")) == self.profile_id), None)
            if found is None:
                known = ", ".join(str(p.get("profileId")) for p in body if isinstance(p, dict)) or "none"
                raise AuthInvalid(
                    f"Amazon Ads profile {self.profile_id} is not among the profiles this authorization can "
                    f"access ({known}): check ads.profile_id in the stores file"
                )
            try:
                ZoneInfo(str(found.get("timezone")))
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise BadPayload(f"GET /v2/profiles: profile {self.profile_id} has no valid timezone") from exc
            if self.store_timezone and str(found.get("timezone")) != self.store_timezone:
                # ad days are joined to the store's local days: a different zone would shift them
                raise ConfigMismatch(
                    f"Amazon Ads profile {self.profile_id} reports days in {found.get('timezone')}, the store's "
                    f"timezone is {self.store_timezone}: set the store's timezone to the marketplace's"
                )
            self._profile = found
        return self._profile

    def timezone(self) -> ZoneInfo:
        return ZoneInfo(str(self.profile()["timezone"]))

    # -- report lifecycle -----------------------------------------------------------------------
    def report_request(
        self, start: date, end: date, *, columns: tuple[str, ...] = REPORT_COLUMNS, time_unit: str = "DAILY"
    ) -> dict:
        # No campaignStatus filter: a campaign paused today still spent money on the days it ran.
        return {
            "name": f"kpi sp_campaigns {start.isoformat()}..{end.isoformat()}",
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "configuration": {
                "adProduct": "SPONSORED_PRODUCTS",
                "reportTypeId": "spCampaigns",
                "groupBy": ["campaign"],
                "columns": list(columns),
                "timeUnit": time_unit,
                "format": "GZIP_JSON",
            },
        }

    def create_report(self, start: date, end: date, **options: object) -> str:
        """Ask for a report; a 425 duplicate answer hands back the id of the identical pending one."""
        payload = self.report_request(start, end, **options)  # type: ignore[arg-type]
        try:
            body, response = self._call(
                "POST",
                "/reporting/reports",
                "createReport",
                data=json.dumps(payload),
                headers={"Content-Type": CREATE_REPORT_TYPE, "Accept": CREATE_REPORT_ACCEPT},
            )
        except DuplicateReport as duplicate:
            return duplicate.report_id
        report_id = body.get("reportId") if isinstance(body, dict) else None
        if not isinstance(report_id, str) or not report_id:
            raise BadPayload("createReport: response has no reportId", request_id=_rid(response))
        return report_id

    def report_status(self, report_id: str) -> dict:
        body, response = self._call(
            "GET", f"/reporting/reports/{report_id}", "getReport", headers={"Accept": GET_REPORT_ACCEPT}
        )
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise BadPayload(f"getReport {report_id}: response has no status", request_id=_rid(response))
        return body

    def wait_for_report(self, report_id: str) -> dict:
        """Poll until COMPLETED (returns the status with its `url`); FAILED raises ReportFailed."""
        delay, waited = self.poll_base, 0.0
        while True:
            self._sleep(delay)
            waited += delay
            status = self.report_status(report_id)
            state = status["status"]
            if state == "COMPLETED":
                if not isinstance(status.get("url"), str):
                    raise BadPayload(f"getReport {report_id}: COMPLETED without a url")
                return status
            if state == "FAILED":
                raise ReportFailed(
                    f"report {report_id} ({status.get('startDate')}..{status.get('endDate')}) FAILED: "
                    f"{status.get('failureReason') or 'no reason given'}"
                )
            if state not in ("PENDING", "PROCESSING"):
                raise BadPayload(f"getReport {report_id}: unknown status {state!r}")
            if waited >= self.poll_timeout:
                raise ReportFailed(
                    f"report {report_id} still {state} after {waited:.0f}s; the next run asks again "
                    "(and is pointed to the same report while it is pending)"
                )
            delay = min(delay * 2, self.poll_max)

    def download(self, status: dict) -> list:
        """The report's rows; an expired pre-signed URL is replaced by a fresh status, once."""
        report_id = str(status.get("reportId"))
        for attempt in (1, 2):
            try:
                rows, _ = self.http.request(
                    "GET",
                    str(status["url"]),
                    operation="download",
                    classify=_classify_download,
                    parse=parse_report_file,
                )
                return rows  # type: ignore[return-value]
            except DownloadUrlExpired:
                if attempt == 2:
                    raise
                status = self.report_status(report_id)
                if status.get("status") != "COMPLETED" or not isinstance(status.get("url"), str):
                    raise BadPayload(f"getReport {report_id}: no fresh url after the old one expired") from None
        raise AssertionError("unreachable")

    # -- records --------------------------------------------------------------------------------
    def _records(self, rows: list, status: dict) -> list[RawRecord]:
        report_id = str(status.get("reportId"))
        generated = _ts(status.get("generatedAt")) or _ts(status.get("updatedAt"))
        if generated is None:
            raise BadPayload(f"getReport {report_id}: COMPLETED without generatedAt/updatedAt")
        records = []
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                raise BadPayload(f"report {report_id}: row {position} is not an object")
            try:
                day = date.fromisoformat(str(row["date"]))
                campaign_id = int(str(row["campaignId"]))
            except (KeyError, ValueError) as exc:
                raise BadPayload(f"report {report_id}: row {position} has no valid date/campaignId ({exc})") from exc
            records.append(
                RawRecord(
                    record_id=f"{self.profile_id}:{day.isoformat()}:{campaign_id}",
                    updated_at=generated,
                    payload={**row, "profileId": self.profile_id, "reportId": report_id},
                )
            )
        return records

    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity != "sp_campaigns":
            raise unknown_entity(self.platform, entity, self.entities)
        first, last = report_dates(window, self.timezone())
        for start, end in date_chunks(first, last):
            report_id = self.create_report(start, end)
            status = self.wait_for_report(report_id)
            rows = self.download(status)
            yield Page(self._records(rows, status), request_id=report_id)


def _rid(response: requests.Response) -> str | None:
    return response.headers.get("x-amzn-RequestId")


def default_base_url(country: str) -> str:
    if country in _NA_COUNTRIES:
        return REGION_BASE_URLS["NA"]
    if country in _FE_COUNTRIES:
        return REGION_BASE_URLS["FE"]
    return REGION_BASE_URLS["EU"]


def from_store(store: StoreConfig, token_store: TokenStore | None) -> AmazonAdsClient:
    ads = store.ads
    if ads is None:
        raise ConfigError(f"store {store.store_id}: no ads: block (Amazon Ads profile) in the stores file")
    token = lwa_token(
        store, f"amazon_ads-{store.store_id}", token_store, credentials=ads.credentials, auth_url=ads.auth_url
    )
    client = AmazonAdsClient(
        (ads.base_url or default_base_url(store.country)).rstrip("/"),
        token,
        client_id=store.secret("client_id_env", ads.credentials),
        profile_id=ads.profile_id,
        rate_scale=store.rate_limit_scale,
    )
    client.store_timezone = store.timezone
    return client
