"""Sandbox of the Amazon Ads API: profiles and the Sponsored Products campaign report (reporting v3).

Reproduces what a client must cope with: LWA bearer tokens checked against the LWA sandbox (401
`{"code":"UNAUTHORIZED",...}`, an expired token told apart so that a client refreshes once), the
`Amazon-Advertising-API-ClientId` and `-Scope` headers (the scope must be a profile of the token's
seller), report dates in the profile's time zone, the asynchronous report lifecycle
(PENDING -> PROCESSING -> COMPLETED | FAILED, one step per poll or per `step_seconds` of wall time),
a gzipped JSON file behind a pre-signed URL that expires after `url_ttl` seconds of sandbox clock,
425 for a request identical to one still pending ("... duplicate of : <reportId>"), 400 for a span
over 31 days, a start older than 95 days, `date` with SUMMARY or an unknown column, and dynamic
throttling (a token bucket per profile answering 429 + Retry-After).

Numbers come from `SandboxData.ad_days`, with attributed purchases/sales/units as the report shows
them when it is generated (`AdCampaignDay.as_seen`), so re-reading a recent day later shows more
attributed sales. A day is reported once it is over in the profile's time zone.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ingestion.sandbox.generator import ZERO_DECIMAL_CURRENCIES, SandboxData, SandboxShop
from ingestion.sandbox.lwa import LwaAuthority
from ingestion.sandbox.server import Faults, Request, Response, SandboxApp, SandboxClock, TokenBucket

CREATE_REPORT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
MAX_SPAN_DAYS = 31
RETENTION_DAYS = 95
RATE_PER_SECOND = 2.0  # per profile, across operations (the real limits are dynamic and unpublished)
BURST = 6
DOWNLOAD_PATH = "/sbx-offline-report-storage"
_URL_KEY = b"sandbox-presign-key"

# Columns of spCampaigns the sandbox can render (grouped by campaign). 14d/30d attribution equals
# 7d here: the generator attributes every ad order within a week.
METRIC_COLUMNS = frozenset(
    {
        "impressions",
        "clicks",
        "cost",
        "costPerClick",
        "clickThroughRate",
        *(f"{m}{w}d" for m in ("purchases", "sales", "unitsSoldClicks") for w in (7, 14, 30)),
    }
)
CAMPAIGN_COLUMNS = frozenset(
    {
        "campaignId",
        "campaignName",
        "campaignStatus",
        "campaignBudgetAmount",
        "campaignBudgetType",
        "campaignBudgetCurrencyCode",
    }
)
TIME_COLUMNS = {"DAILY": frozenset({"date"}), "SUMMARY": frozenset({"startDate", "endDate"})}
SUPPORTED_COLUMNS = METRIC_COLUMNS | CAMPAIGN_COLUMNS | TIME_COLUMNS["DAILY"] | TIME_COLUMNS["SUMMARY"]
STATES = ("PENDING", "PROCESSING")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _number(value: Decimal, currency: str) -> float | int:
    return int(value) if currency in ZERO_DECIMAL_CURRENCIES else float(value)


@dataclass
class Report:
    report_id: str
    shop_id: str
    name: str
    start: date
    end: date
    configuration: dict
    key: str  # what makes two requests duplicates: dates + configuration
    created_at: datetime
    created_mono: float
    fatal: bool
    polls: int = 0
    status: str = "PENDING"
    generated_at: datetime | None = None
    file: bytes = b""
    failure_reason: str | None = None
    urls: list[str] = field(default_factory=list)


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    # The reporting v3 endpoints answer {"code", "detail"}; the older ones {"code", "details"}.
    head = {"x-amzn-RequestId": SandboxApp.request_id(), **(headers or {})}
    return Response.json({"code": code, "detail": detail, "details": detail}, status, head)


def _s3_error(status: int, code: str, message: str, extra: str = "") -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}</Error>'
    )
    return Response(status, body.encode(), {"Content-Type": "application/xml"})


class AmazonAdsSandbox(SandboxApp):
    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock | None = None,
        *,
        lwa: LwaAuthority,
        rate_scale: float = 1.0,
        url_ttl: float = 60.0,
        step_seconds: float = 1.0,
    ) -> None:
        super().__init__()
        self.data = data
        self.clock = clock or SandboxClock()
        self.lwa = lwa
        self.url_ttl, self.step_seconds = url_ttl, step_seconds
        shops = [s for s in data.shops_of("amazon") if s.ads_profile_id]
        self.shops = {s.shop_id: s for s in shops}
        self.by_profile = {s.ads_profile_id: s for s in shops}
        self.faults = {s.shop_id: Faults() for s in shops}
        self._buckets = {s.shop_id: TokenBucket(RATE_PER_SECOND * rate_scale, BURST) for s in shops}
        self.reports: dict[str, Report] = {}
        self._lock = threading.Lock()
        self.base_url = ""  # fallback for download URLs when a request carries no Host header
        self.route("GET", r"/v2/profiles", self.list_profiles)
        self.route("POST", r"/reporting/reports", self.create_report)
        self.route("GET", r"/reporting/reports/(?P<report_id>[0-9a-f-]+)", self.get_report)
        self.route("GET", DOWNLOAD_PATH + r"/(?P<report_id>[0-9a-f-]+)\.json\.gz", self.download)

    # -- stores file --------------------------------------------------------------------------------
    def ads_entry(self, shop: SandboxShop, base_url: str) -> tuple[dict, dict[str, str]]:
        """The `ads:` block of the shop's Amazon store entry and the env values it names (the LWA
        authorization of the Ads app). The caller adds `auth_url` (the LWA sandbox)."""
        client_id, secret, refresh = self.lwa.register(shop.shop_id, "ads")
        suffix = shop.shop_id.upper().replace("-", "_")
        names = {
            "client_id_env": f"AMAZON_ADS_CLIENT_ID_{suffix}",
            "client_secret_env": f"AMAZON_ADS_CLIENT_SECRET_{suffix}",
            "refresh_token_env": f"AMAZON_ADS_REFRESH_TOKEN_{suffix}",
        }
        values = {names["client_id_env"]: client_id, names["client_secret_env"]: secret}
        values[names["refresh_token_env"]] = refresh
        return {"profile_id": shop.ads_profile_id, "base_url": base_url, "credentials": names}, values

    # -- cross-cutting: auth, throttling, faults -----------------------------------------------------
    def _gate(self, request: Request, *, scoped: bool) -> tuple[SandboxShop | None, Response | None]:
        auth = request.header("Authorization") or ""
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if scoped:
            shop = self.by_profile.get(request.header("Amazon-Advertising-API-Scope") or "")
        else:
            shop = self.shops.get(self.lwa.check(token)[0] or "")
        if shop is not None:
            faults = self.faults[shop.shop_id]
            if faults.token_revoked:
                self.lwa.revoke(shop.shop_id)
            if faults.token_expired:
                faults.token_expired = False
                self.lwa.expire_access_tokens(shop.shop_id)
        store_id, state = self.lwa.check(token)
        if state == "expired":
            return None, _error(401, "UNAUTHORIZED", "The access token has expired")
        if state != "ok":
            return None, _error(401, "UNAUTHORIZED", "The access token is invalid or has been revoked")
        if (request.header("Amazon-Advertising-API-ClientId") or "") not in self.lwa.apps:
            return None, _error(401, "UNAUTHORIZED", "Invalid or missing Amazon-Advertising-API-ClientId")
        if scoped:
            if shop is None or shop.shop_id != store_id:
                scope = request.header("Amazon-Advertising-API-Scope")
                return None, _error(401, "UNAUTHORIZED", f"Not authorized to access scope {scope}")
        elif shop is None:
            return None, None  # a seller without an Ads account: no profiles
        faults = self.faults[shop.shop_id]
        with self._lock:
            wait = 1.0 if faults.take("throttle_next") else self._buckets[shop.shop_id].wait()
            if wait > 0:
                return shop, _error(429, "429", "Too Many Requests", {"Retry-After": str(max(1, math.ceil(wait)))})
            if faults.take("server_error_next"):
                return shop, _error(500, "500", "Internal Server Error")
        return shop, None

    def _ok(self, shop: SandboxShop, payload: object, content_type: str = "application/json") -> Response:
        return self._faulty(shop, json.dumps(payload).encode(), content_type)

    def _faulty(self, shop: SandboxShop, body: bytes, content_type: str) -> Response:
        head = {"Content-Type": content_type, "x-amzn-RequestId": self.request_id()}
        faults = self.faults[shop.shop_id]
        with self._lock:
            if faults.take("drop_next"):
                return Response(200, body, head, cut=True)
            if faults.take("malformed_next"):
                return Response(200, body[: max(1, len(body) // 2)], head)
        return Response(200, body, head)

    # -- profiles -------------------------------------------------------------------------------------
    def list_profiles(self, request: Request) -> Response:
        shop, denied = self._gate(request, scoped=False)
        if denied is not None:
            return denied
        if shop is None:
            return Response.json([], 200, {"x-amzn-RequestId": self.request_id()})
        scale = Decimal(str(shop.price_scale))
        profile = {
            "profileId": int(shop.ads_profile_id),
            "countryCode": shop.country,
            "currencyCode": shop.currency,
            "dailyBudget": _number(Decimal("100") * scale, shop.currency),
            "timezone": shop.timezone,
            "accountInfo": {
                "marketplaceStringId": shop.marketplace_id,
                "id": f"A{int(shop.ads_profile_id) % 10**10:010d}SBX",
                "type": "seller",
                "name": shop.name,
                "validPaymentMethod": True,
            },
        }
        return self._ok(shop, [profile])

    # -- reports ----------------------------------------------------------------------------------
    def create_report(self, request: Request) -> Response:
        shop, denied = self._gate(request, scoped=True)
        if denied is not None:
            return denied
        assert shop is not None
        content_type = (request.header("Content-Type") or "").split(";")[0].strip()
        if content_type != CREATE_REPORT_TYPE:
            return _error(415, "415", f"Cannot consume content type {content_type or '(none)'}")
        try:
            body = json.loads(request.body or b"{}")
            start = date.fromisoformat(body["startDate"])
            end = date.fromisoformat(body["endDate"])
            config = body["configuration"]
            assert isinstance(config, dict)
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "400", "Request body must have startDate, endDate (YYYY-MM-DD) and configuration")
        problem = self._check_configuration(config)
        if problem:
            return _error(400, "400", problem)
        if end < start:
            return _error(400, "400", f"endDate {end} is before startDate {start}")
        if (end - start).days + 1 > MAX_SPAN_DAYS:
            return _error(
                400,
                "400",
                f"The report date range cannot exceed {MAX_SPAN_DAYS} days (startDate {start}, endDate {end})",
            )
        today = self.clock.now().astimezone(ZoneInfo(shop.timezone)).date()
        if start < today - timedelta(days=RETENTION_DAYS):
            return _error(
                400, "400", f"startDate {start} is too far in the past: reports cover the last {RETENTION_DAYS} days"
            )
        key = json.dumps([start.isoformat(), end.isoformat(), config], sort_keys=True)
        now = self.clock.now()
        with self._lock:
            for report in self.reports.values():
                if report.shop_id == shop.shop_id and report.key == key and report.status in STATES:
                    return _error(425, "425", f"The Request is a duplicate of : {report.report_id}")
            faults = self.faults[shop.shop_id]
            fatal = faults.take("report_fatal_next")
            report = Report(
                report_id=str(uuid.uuid4()),
                shop_id=shop.shop_id,
                name=str(body.get("name") or ""),
                start=start,
                end=end,
                configuration=config,
                key=key,
                created_at=now,
                created_mono=time.monotonic(),
                fatal=fatal,
            )
            self.reports[report.report_id] = report
        return self._ok(shop, self._status_body(report, request))

    @staticmethod
    def _check_configuration(config: dict) -> str | None:
        if config.get("adProduct") != "SPONSORED_PRODUCTS":
            return f"configuration adProduct {config.get('adProduct')!r} is not supported (SPONSORED_PRODUCTS)"
        if config.get("reportTypeId") != "spCampaigns":
            return f"configuration reportTypeId {config.get('reportTypeId')!r} is not supported by the sandbox"
        if config.get("groupBy") != ["campaign"]:
            return f"configuration groupBy {config.get('groupBy')!r} is not supported by the sandbox (['campaign'])"
        if config.get("format") != "GZIP_JSON":
            return f"configuration format {config.get('format')!r} is not supported (GZIP_JSON)"
        unit = config.get("timeUnit")
        if unit not in TIME_COLUMNS:
            return f"configuration timeUnit {unit!r} must be DAILY or SUMMARY"
        columns = config.get("columns")
        if not isinstance(columns, list) or not columns:
            return "configuration columns must be a non-empty list"
        invalid = [c for c in columns if c not in SUPPORTED_COLUMNS]
        if invalid:
            return (
                f"configuration columns includes invalid values: ({', '.join(map(str, invalid))}). "
                f"Allowed values: ({', '.join(sorted(SUPPORTED_COLUMNS))})"
            )
        other = "SUMMARY" if unit == "DAILY" else "DAILY"
        for column in columns:
            if column in TIME_COLUMNS[other]:
                return f"{column} is not a supported column for this time unit"
        for filt in config.get("filters") or []:
            if not isinstance(filt, dict) or filt.get("field") != "campaignStatus":
                return f"configuration filters: unsupported filter {filt!r}"
        return None

    def get_report(self, request: Request) -> Response:
        shop, denied = self._gate(request, scoped=True)
        if denied is not None:
            return denied
        assert shop is not None
        with self._lock:
            report = self.reports.get(request.params["report_id"])
            if report is None or report.shop_id != shop.shop_id:
                return _error(404, "404", f"Report {request.params['report_id']} not found")
            report.polls += 1
            self._advance(report, shop)
        return self._ok(shop, self._status_body(report, request))

    def _advance(self, report: Report, shop: SandboxShop) -> None:
        if report.status not in STATES:
            return
        step = max(report.polls, int((time.monotonic() - report.created_mono) / self.step_seconds))
        if step < 1:
            return
        if step == 1:
            report.status = "PROCESSING"
            return
        now = self.clock.now()
        report.generated_at = now
        if report.fatal:
            report.status = "FAILED"
            report.failure_reason = "Report generation failed due to an internal error. Please retry the request."
            return
        rows = self.render(shop, report.start, report.end, report.configuration, now)
        report.file = gzip.compress(json.dumps(rows).encode(), mtime=0)
        report.status = "COMPLETED"

    def _status_body(self, report: Report, request: Request) -> dict:
        body: dict = {
            "reportId": report.report_id,
            "name": report.name,
            "status": report.status,
            "configuration": report.configuration,
            "startDate": report.start.isoformat(),
            "endDate": report.end.isoformat(),
            "createdAt": _iso(report.created_at),
            "updatedAt": _iso(report.generated_at or report.created_at),
            "generatedAt": _iso(report.generated_at) if report.generated_at and report.status == "COMPLETED" else None,
            "url": None,
            "urlExpiresAt": None,
            "fileSize": None,
            "failureReason": report.failure_reason,
        }
        if report.status == "COMPLETED":
            issued = self.clock.now().replace(microsecond=0)
            url, expires = self.presign(report, issued, request)
            body.update(url=url, urlExpiresAt=_iso(expires), fileSize=len(report.file))
        return body

    # -- the pre-signed download ("S3") ------------------------------------------------------------
    def presign(self, report: Report, issued: datetime, request: Request | None = None) -> tuple[str, datetime]:
        host = request.header("Host") if request is not None else None
        base = f"http://{host}" if host else self.base_url
        stamp = issued.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        ttl = int(self.url_ttl)
        signature = self._sign(report.report_id, stamp, ttl)
        url = (
            f"{base}{DOWNLOAD_PATH}/{report.report_id}.json.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Date={stamp}&X-Amz-Expires={ttl}&X-Amz-Signature={signature}"
        )
        report.urls.append(url)
        return url, issued + timedelta(seconds=ttl)

    @staticmethod
    def _sign(report_id: str, stamp: str, ttl: int) -> str:
        return hmac.new(_URL_KEY, f"{report_id}|{stamp}|{ttl}".encode(), hashlib.sha256).hexdigest()

    def download(self, request: Request) -> Response:
        report = self.reports.get(request.params["report_id"])
        if request.header("Authorization"):
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                "string parameter or the Authorization header should be specified",
            )
        stamp, ttl_text = request.query.get("X-Amz-Date", ""), request.query.get("X-Amz-Expires", "")
        try:
            ttl = int(ttl_text)
            issued = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _s3_error(403, "AccessDenied", "Query-string authentication requires X-Amz-Date and X-Amz-Expires")
        expected = self._sign(request.params["report_id"], stamp, ttl)
        if report is None or not hmac.compare_digest(expected, request.query.get("X-Amz-Signature", "")):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
        now = self.clock.now()
        if now > issued + timedelta(seconds=ttl):
            return _s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                f"<X-Amz-Expires>{ttl}</X-Amz-Expires><Expires>{_iso(issued + timedelta(seconds=ttl))}</Expires>"
                f"<ServerTime>{_iso(now)}</ServerTime>",
            )
        shop = self.shops[report.shop_id]
        faults = self.faults[shop.shop_id]
        with self._lock:
            if faults.take("server_error_next"):
                return _s3_error(503, "SlowDown", "Please reduce your request rate.")
        return self._faulty(shop, report.file, "application/x-gzip")

    # -- report content -------------------------------------------------------------------------------
    def render(self, shop: SandboxShop, start: date, end: date, config: dict, now: datetime) -> list[dict]:
        """The report rows as the platform shows them at `now` (attribution as seen then)."""
        tz = ZoneInfo(shop.timezone)
        last = min(end, self.data.end, now.astimezone(tz).date() - timedelta(days=1))  # days that are over
        day = max(start, self.data.start)
        statuses = {v for f in config.get("filters") or [] for v in f.get("values") or []}
        if statuses and "ENABLED" not in statuses:
            return []  # every sandbox campaign is enabled
        daily: list[dict] = []
        while day <= last:
            for c in self.data.ad_days(shop.shop_id, day):
                purchases, sales, units = c.as_seen(now)
                daily.append(
                    {
                        "date": day.isoformat(),
                        "campaignId": c.campaign_id,
                        "campaignName": c.campaign_name,
                        "campaignStatus": "ENABLED",
                        "campaignBudgetAmount": _number(Decimal("50") * Decimal(str(shop.price_scale)), c.currency),
                        "campaignBudgetType": "DAILY_BUDGET",
                        "campaignBudgetCurrencyCode": c.currency,
                        "impressions": c.impressions,
                        "clicks": c.clicks,
                        "cost": c.cost,
                        "purchases": purchases,
                        "sales": sales,
                        "units": units,
                    }
                )
            day += timedelta(days=1)
        columns = config["columns"]
        if config.get("timeUnit") == "SUMMARY":
            merged: dict[int, dict] = {}
            for row in daily:
                into = merged.get(row["campaignId"])
                if into is None:
                    merged[row["campaignId"]] = {**row, "startDate": start.isoformat(), "endDate": end.isoformat()}
                    continue
                for k in ("impressions", "clicks", "cost", "purchases", "sales", "units"):
                    into[k] += row[k]
            daily = list(merged.values())
        return [self._columns(row, columns) for row in daily]

    @staticmethod
    def _columns(row: dict, columns: list[str]) -> dict:
        currency = row["campaignBudgetCurrencyCode"]
        out: dict = {}
        for column in columns:
            if column == "cost":
                out[column] = _number(row["cost"], currency)
            elif column == "costPerClick":
                out[column] = round(float(row["cost"]) / row["clicks"], 2) if row["clicks"] else 0.0
            elif column == "clickThroughRate":
                out[column] = round(row["clicks"] / row["impressions"], 4) if row["impressions"] else 0.0
            elif column.startswith("purchases"):
                out[column] = row["purchases"]
            elif column.startswith("sales"):
                out[column] = _number(row["sales"], currency)
            elif column.startswith("unitsSoldClicks"):
                out[column] = row["units"]
            else:
                out[column] = row[column]
        return out
