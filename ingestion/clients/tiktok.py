"""TikTok Shop Partner API client (Open API "202309" generation): orders, returns, shop and LIVE analytics.

Every data call is signed: `sign = hex(HMAC-SHA256(app_secret, app_secret + path + sorted key+value of the
query (without sign and access_token) + the raw body + app_secret))`, with `app_key`, `timestamp` (Unix
seconds, refused when more than 5 minutes off TikTok's clock) and `shop_cipher` in the query and the access
token in the `x-tts-access-token` header. The body is serialised once, compactly, and sent as exactly the
bytes that were signed (re-serialised JSON is the classic cause of signature errors).

Errors arrive in the `{code, message, request_id, data}` envelope, mostly with HTTP 200 (429 for rate
limits, 5xx for server errors), so `classify` reads the code, not the status. The codes come from TikTok's
common-errors page as read by third-party SDKs; several are unverified against production (see
docs/sources/tiktok.md). Access tokens last about a week and refresh tokens rotate: the refresher writes the
new pair to the token store under a file lock before anything uses it.

Entities and how their records are keyed:
  orders            POST /order/202309/orders/search, by update_time; record = the order, id = `id`.
  returns           POST /return_refund/202309/returns/search, by update_time; record = the return (its
                    line items, one per refunded unit, nested), id = `return_id`.
  shop_performance  GET /analytics/202405/shop/performance, one interval per shop-local day; id = the date.
  live_sessions     GET /analytics/202509/shop_lives/performance (unverified, see the docs), one record per
                    LIVE stream started on the requested shop-local days; id = the stream's `id`.
  conversations     GET /customer_service/202309/conversations (newest latest message first, no time filter)
                    down to the window start, then GET .../conversations/{id}/messages for each; record =
                    {"conversation": <list entry>, "messages": [...]}, both as returned; id = the
                    conversation `id`, updated_at = its newest message, so a later reply is a newer version.
Analytics records carry no modification time (updated_at None): the latest read of a day or stream wins.
TikTok Shop offers no product-review API to sellers (only scrapers read reviews): there is no reviews entity.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from ingestion.clients.base import EntitySpec, Page, unknown_entity
from ingestion.config import StoreConfig
from ingestion.errors import (
    AuthExpired,
    AuthInvalid,
    BadPayload,
    BadRequest,
    ConfigError,
    ServerError,
    SyncError,
    Throttled,
    WindowRejected,
)
from ingestion.http import HttpClient, RateLimiter, RetryPolicy
from ingestion.lake import RawRecord
from ingestion.tokens import RefreshingToken, TokenState, TokenStore, call_with_token
from ingestion.windows import Window

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://open-api.tiktokglobalshop.com"
DEFAULT_AUTH_URL = "https://auth.tiktok-shops.com"

TOKEN_PATH = "/api/v2/token/refresh"
SHOPS_PATH = "/authorization/202309/shops"
ORDERS_PATH = "/order/202309/orders/search"
RETURNS_PATH = "/return_refund/202309/returns/search"
SHOP_PERFORMANCE_PATH = "/analytics/202405/shop/performance"
LIVE_SESSIONS_PATH = "/analytics/202509/shop_lives/performance"
CS_CONVERSATIONS_PATH = "/customer_service/202309/conversations"
CS_MESSAGES_PATH = "/customer_service/202309/conversations/{conversation_id}/messages"

# One limiter per API. TikTok's rate-limit page gives a starting figure of 50 QPS per app and API and
# says the real limit is dynamic (authorization scale, endpoint, platform load); the client stays well
# below it so that a sync lives on its own bucket, not on 429s.
DOCUMENTED_QPS = 50.0
CLIENT_QPS = 20.0
CLIENT_BURST = 10.0
OPERATIONS = (
    "orders_search",
    "returns_search",
    "shop_performance",
    "shop_lives_performance",
    "cs_conversations",
    "cs_messages",
)

PAGE_SIZE = 100  # the documented maximum of the order, return and LIVE lists
CS_PAGE_SIZE = 20  # customer service lists default to 10; 20 is the maximum the client assumes (unverified)
ANALYTICS_MAX_WINDOW = timedelta(days=30)  # <= 31 shop-local dates per request, whatever the time zone
REFRESH_MARGIN = timedelta(hours=24)  # access tokens last ~7 days: refresh a day early
REQUEST_ID_HEADER = "X-Tt-Logid"

# Envelope codes (common-errors page via third-party SDKs; partly unverified).
RATE_LIMITED = 36009002
SERVER_ERROR_CODES = frozenset({36009003, 36009007, 98001001})
TOKEN_EXPIRED = 105002
TOKEN_INVALID_CODES = frozenset({105001, 105003, 105004, 36004004, 101000})
PERMISSION_CODES = frozenset({105005, 36009033})
SIGNATURE_INVALID = 106001
OVERLOADED_PARAM_CODE = 36009004  # TikTok reuses it for a dozen failures: read the message

ENTITIES = {
    "orders": EntitySpec(
        "orders",
        "Orders with per-unit line items and payment totals, by update_time window, every version kept.",
        lookback=timedelta(days=2),
    ),
    "returns": EntitySpec(
        "returns",
        "Returns and refunds with their per-unit return line items, by update_time window.",
        lookback=timedelta(days=2),
    ),
    "shop_performance": EntitySpec(
        "shop_performance",
        "Shop analytics per shop-local day: GMV with its LIVE / VIDEO / PRODUCT_CARD breakdown, orders, buyers.",
        max_window=ANALYTICS_MAX_WINDOW,
        lookback=timedelta(days=3),
    ),
    "live_sessions": EntitySpec(
        "live_sessions",
        "LIVE streams of the shop with their sales and interaction performance, by shop-local start day.",
        max_window=ANALYTICS_MAX_WINDOW,
        lookback=timedelta(days=3),
    ),
    "conversations": EntitySpec(
        "conversations",
        "Buyer conversations (Customer Service API) with a message in the window, each with all its messages; "
        "replies arrive later, and every new message makes a newer version.",
        lookback=timedelta(days=3),
    ),
}


def sign(app_secret: str, path: str, query: Mapping[str, object], body: bytes = b"") -> str:
    """TikTok Shop request signature (path + sorted query key+value + raw body, wrapped in the secret)."""
    params = sorted(
        (k, str(v)) for k, v in query.items() if k not in ("sign", "access_token") and not isinstance(v, list | tuple)
    )
    secret = app_secret.encode()
    base = (path + "".join(k + v for k, v in params)).encode() + body
    return hmac.new(secret, secret + base + secret, hashlib.sha256).hexdigest()


def token_expiry(value: object, now: datetime) -> datetime | None:
    """`*_expire_in` is documented as seconds but returned as an absolute epoch by the live API (and SDK
    users handle it both ways): values above 1e9 are epochs, smaller ones a duration."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if number > 1_000_000_000:
        return datetime.fromtimestamp(number, UTC)
    return now + timedelta(seconds=number)


def _envelope(response: requests.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "code" in body else None


def classify_envelope(operation: str, response: requests.Response) -> SyncError | None:
    """Turn a TikTok error envelope (HTTP 200 or not) into the named sync error, or None for success."""
    body = _envelope(response)
    if body is None:
        if response.status_code == 429:
            return Throttled(f"{operation}: HTTP 429 (rate limited)")
        return None  # the generic status rules (and the body parser) decide
    try:
        code = int(body["code"])
    except (TypeError, ValueError):
        return BadPayload(f"{operation}: envelope code {body['code']!r} is not a number")
    if code == 0:
        return None
    message = str(body.get("message") or "")
    request_id = body.get("request_id") if isinstance(body.get("request_id"), str) else None
    text = f"{operation}: TikTok code {code}: {message}"
    lowered = message.lower()
    error: SyncError
    if code == RATE_LIMITED or response.status_code == 429:
        error = Throttled(text)
    elif code in SERVER_ERROR_CODES or response.status_code >= 500:
        error = ServerError(text)
    elif code == TOKEN_EXPIRED:
        error = AuthExpired(text)
    elif code == SIGNATURE_INVALID:
        error = AuthInvalid(
            f"{text} - the signature was refused: check the app_secret (credentials.client_secret_env) and "
            "the host clock"
        )
    elif code in TOKEN_INVALID_CODES:
        error = AuthInvalid(
            f"{text} - the access token is invalid or the seller revoked the authorization: re-authorize the "
            "app and put the new refresh token in the environment"
        )
    elif code in PERMISSION_CODES:
        error = AuthInvalid(f"{text} - the app lacks the scope this API needs (orders, returns or analytics)")
    elif code == OVERLOADED_PARAM_CODE and "timestamp" in lowered:
        error = AuthInvalid(
            f"{text} - the request timestamp is more than 5 minutes off TikTok's clock: sync the host clock (NTP)"
        )
    elif code == OVERLOADED_PARAM_CODE and ("signature" in lowered or "missing credentials" in lowered):
        error = AuthInvalid(f"{text} - check app_secret / clock")
    elif code == OVERLOADED_PARAM_CODE and "app_key" in lowered:
        error = AuthInvalid(f"{text} - check the app_key (credentials.client_id_env)")
    elif "shop_cipher" in lowered:
        error = BadRequest(
            f"{text} - check account.shop_cipher: GET {SHOPS_PATH} lists the ciphers this authorization can use"
        )
    elif code == OVERLOADED_PARAM_CODE and ("access_token" in lowered or "access token" in lowered):
        error = AuthInvalid(f"{text} - the access token was refused")
    elif "date range" in lowered or "time range" in lowered:
        error = WindowRejected(text)
    else:
        error = BadRequest(text)
    error.request_id = request_id
    return error


def _classify_token_response(response: requests.Response) -> SyncError | None:
    """The token endpoint: throttling and server errors are retried, anything else needs a person."""
    body = _envelope(response)
    if body is None:
        return None
    code = body.get("code")
    if code == 0:
        return None
    if code == RATE_LIMITED or response.status_code == 429:
        return Throttled(f"token refresh: TikTok code {code}: {body.get('message')}")
    if code in SERVER_ERROR_CODES or response.status_code >= 500:
        return ServerError(f"token refresh: TikTok code {code}: {body.get('message')}")
    return AuthInvalid(
        f"TikTok refused the token refresh (code {code}: {body.get('message')}): the refresh token is invalid, "
        "expired or already used, or the seller revoked the app; re-authorize and put the new refresh token in "
        "the environment (and remove the stored one under KPI_STATE_DIR/tokens)"
    )


def _redacted(error: SyncError, secrets: tuple[str, ...]) -> SyncError:
    """The token call carries app_secret and refresh_token in its query: keep them out of the sync log."""
    message = str(error.args[0])
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    clean = type(error)(message, http_status=error.http_status, request_id=error.request_id, url=error.url)
    return clean


def tiktok_refresher(
    auth_url: str,
    app_key: str,
    app_secret: str,
    http: HttpClient,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    margin: timedelta = REFRESH_MARGIN,
) -> Callable[[str], TokenState]:
    """`GET {auth_url}/api/v2/token/refresh`: a new access token and a new (rotated) refresh token.

    `RefreshingToken` calls it under the store's cross-process lock and saves the new pair before use.
    """
    url = auth_url.rstrip("/") + TOKEN_PATH

    def refresh(refresh_token: str) -> TokenState:
        try:
            body, response = http.request_json(
                "GET",
                url,
                operation="token_refresh",
                params={
                    "app_key": app_key,
                    "app_secret": app_secret,
                    "refresh_token": refresh_token,
                    "grant_type": "refresh_token",
                },
                classify=_classify_token_response,
            )
        except SyncError as exc:
            raise _redacted(exc, (app_secret, refresh_token)) from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
            raise BadPayload(
                "token refresh: response has no data.access_token/refresh_token",
                http_status=response.status_code,
                request_id=body.get("request_id") if isinstance(body, dict) else None,
            )
        now = clock()
        expires_at = token_expiry(data.get("access_token_expire_in"), now)
        if expires_at is not None and expires_at - margin <= now:
            # A token just issued cannot be about to expire: our clock and TikTok's disagree. Use it
            # until TikTok says it expired (105002) instead of refreshing before every call.
            logger.warning("TikTok token expiry %s is within the refresh margin of now %s: ignored", expires_at, now)
            expires_at = None
        state = TokenState(
            access_token=str(data["access_token"]),
            expires_at=expires_at,
            refresh_token=str(data["refresh_token"]),
            refresh_expires_at=token_expiry(data.get("refresh_token_expire_in"), now),
        )
        return state

    return refresh


def _ceil_epoch(ts: datetime) -> int:
    """Whole-second bound equivalent to a window bound that may carry microseconds (`[ge, lt)` stays exact
    for whole-second update_time values)."""
    return math.ceil(ts.timestamp())


class TikTokClient:
    platform = "tiktok"
    entities = ENTITIES

    def __init__(
        self,
        base_url: str,
        *,
        app_key: str,
        app_secret: str,
        shop_cipher: str,
        access_token: str | RefreshingToken,
        timezone: str = "UTC",
        rate_limit_scale: float = 1.0,
        retry: RetryPolicy | None = None,
        page_size: int = PAGE_SIZE,
        cs_page_size: int = CS_PAGE_SIZE,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_key, self.app_secret, self.shop_cipher = app_key, app_secret, shop_cipher
        self.token = access_token
        self.tz = ZoneInfo(timezone)
        self.page_size = page_size
        self.cs_page_size = cs_page_size
        self.wall_clock = wall_clock  # the request timestamp: real time, whatever the data's clock
        self.limiters = {
            op: RateLimiter(CLIENT_QPS * rate_limit_scale, max(1.0, CLIENT_BURST * rate_limit_scale))
            for op in OPERATIONS
        }
        self.http = HttpClient(
            platform=self.platform,
            retry=retry or RetryPolicy(),
            limiters=dict(self.limiters),
            request_id_header=REQUEST_ID_HEADER,
            sleep=sleep,
        )
        self.http.session.headers.update({"Accept": "application/json"})

    # -- one signed call --------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, operation: str, params: dict[str, str], body: dict | None = None
    ) -> tuple[dict, str | None]:
        """Send one signed request (refreshing the token once if TikTok says it expired); returns the
        envelope's `data` and the request id."""
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        url = self.base_url + path

        def signed(token: str) -> dict:
            query = {
                "app_key": self.app_key,
                "timestamp": str(int(self.wall_clock())),
                "shop_cipher": self.shop_cipher,
                **params,
            }
            query["sign"] = sign(self.app_secret, path, query, payload if method != "GET" else b"")
            kwargs: dict = {
                "params": query,
                "headers": {"x-tts-access-token": token, "Content-Type": "application/json"},
            }
            if method != "GET":
                kwargs["data"] = payload  # exactly the signed bytes
            return kwargs

        def send(token: str) -> tuple[object, requests.Response]:
            return self.http.request_json(
                method,
                url,
                operation=operation,
                classify=lambda r: classify_envelope(operation, r),
                sign=lambda: signed(token),  # a fresh timestamp and signature per attempt
            )

        envelope, response = call_with_token(self.token, send)
        request_id = response.headers.get(REQUEST_ID_HEADER)
        if isinstance(envelope, dict) and isinstance(envelope.get("request_id"), str):
            request_id = envelope["request_id"]
        if not isinstance(envelope, dict) or envelope.get("code") != 0 or not isinstance(envelope.get("data"), dict):
            raise BadPayload(
                f"{operation}: response is not a TikTok envelope with a data object",
                http_status=response.status_code,
                request_id=request_id,
                url=url,
            )
        return envelope["data"], request_id

    # -- entities ---------------------------------------------------------------------------------
    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity == "orders":
            yield from self._search(ORDERS_PATH, "orders_search", window, list_key="orders", id_key="id")
        elif entity == "returns":
            yield from self._search(
                RETURNS_PATH, "returns_search", window, list_key="return_orders", id_key="return_id"
            )
        elif entity == "shop_performance":
            yield from self._shop_performance(window)
        elif entity == "live_sessions":
            yield from self._live_sessions(window)
        elif entity == "conversations":
            yield from self._conversations(window)
        else:
            raise unknown_entity(self.platform, entity, self.entities)

    def _next_token(self, operation: str, data: dict, items: list, current: str, request_id: str | None) -> str:
        token = data.get("next_page_token")
        if token is None and len(items) < self.page_size:
            return ""
        if not isinstance(token, str):
            raise BadPayload(f"{operation}: a full page without next_page_token", request_id=request_id)
        if token and token == current:
            raise BadPayload(f"{operation}: the same next_page_token twice (would loop)", request_id=request_id)
        return token

    def _items(self, operation: str, data: dict, list_key: str, request_id: str | None) -> list:
        items = data.get(list_key)
        if items is None and data.get("total_count") == 0:
            return []  # empty results may omit the list; a missing list with data is a broken page
        if not isinstance(items, list):
            raise BadPayload(f"{operation}: data has no '{list_key}' list", request_id=request_id)
        return items

    def _search(self, path: str, operation: str, window: Window, *, list_key: str, id_key: str) -> Iterator[Page]:
        body = {"update_time_ge": _ceil_epoch(window.start), "update_time_lt": _ceil_epoch(window.end)}
        page_token = ""
        while True:
            params = {"page_size": str(self.page_size), "sort_field": "update_time", "sort_order": "ASC"}
            if page_token:
                params["page_token"] = page_token
            data, request_id = self._call("POST", path, operation, params, body)
            items = self._items(operation, data, list_key, request_id)
            records = []
            for position, item in enumerate(items):
                updated = item.get("update_time") if isinstance(item, dict) else None
                if not isinstance(item, dict) or not item.get(id_key) or not isinstance(updated, int):
                    raise BadPayload(
                        f"{operation}: record {position} has no {id_key}/update_time", request_id=request_id
                    )
                records.append(
                    RawRecord(
                        record_id=str(item[id_key]), updated_at=datetime.fromtimestamp(updated, UTC), payload=item
                    )
                )
            yield Page(records, request_id)
            page_token = self._next_token(operation, data, items, page_token, request_id)
            if not page_token:
                return

    def _local_dates(self, window: Window) -> tuple[date, date]:
        """The shop-local calendar days a UTC window touches: [first, last] inclusive."""
        first = window.start.astimezone(self.tz).date()
        last = (window.end - timedelta(microseconds=1)).astimezone(self.tz).date()
        return first, last

    def _date_params(self, window: Window) -> dict[str, str]:
        first, last = self._local_dates(window)
        return {"start_date_ge": first.isoformat(), "end_date_lt": (last + timedelta(days=1)).isoformat()}

    def _shop_performance(self, window: Window) -> Iterator[Page]:
        operation = "shop_performance"
        params = {**self._date_params(window), "granularity": "1D", "currency": "LOCAL"}
        data, request_id = self._call("GET", SHOP_PERFORMANCE_PATH, operation, params)
        performance = data.get("performance")
        # One SDK shows `performance` as a list of {intervals}; the documented shape is one object.
        blocks = performance if isinstance(performance, list) else [performance]
        records = []
        for block in blocks:
            intervals = block.get("intervals") if isinstance(block, dict) else None
            if not isinstance(intervals, list):
                raise BadPayload(f"{operation}: data.performance has no 'intervals' list", request_id=request_id)
            for position, interval in enumerate(intervals):
                day = interval.get("start_date") if isinstance(interval, dict) else None
                try:
                    date.fromisoformat(day)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    raise BadPayload(
                        f"{operation}: interval {position} has no valid start_date", request_id=request_id
                    ) from None
                if not isinstance(interval.get("gmv"), dict):
                    raise BadPayload(f"{operation}: interval {day} has no gmv", request_id=request_id)
                records.append(RawRecord(record_id=day, updated_at=None, payload=interval))
        yield Page(records, request_id)

    def _live_sessions(self, window: Window) -> Iterator[Page]:
        operation = "shop_lives_performance"
        base = {
            **self._date_params(window),
            "page_size": str(self.page_size),
            "sort_field": "gmv",
            "sort_order": "DESC",
            "currency": "LOCAL",
            "account_type": "ALL",
        }
        page_token = ""
        while True:
            params = {**base, "page_token": page_token} if page_token else dict(base)
            data, request_id = self._call("GET", LIVE_SESSIONS_PATH, operation, params)
            items = self._items(operation, data, "live_stream_sessions", request_id)
            records = []
            for position, item in enumerate(items):
                if not isinstance(item, dict) or not item.get("id") or not isinstance(item.get("start_time"), int):
                    raise BadPayload(f"{operation}: session {position} has no id/start_time", request_id=request_id)
                records.append(RawRecord(record_id=str(item["id"]), updated_at=None, payload=item))
            yield Page(records, request_id)
            page_token = self._next_token(operation, data, items, page_token, request_id)
            if not page_token:
                return

    def _conversations(self, window: Window) -> Iterator[Page]:
        operation = "cs_conversations"
        page_token = ""
        while True:
            params = {"page_size": str(self.cs_page_size), "locale": "en"}
            if page_token:
                params["page_token"] = page_token
            data, request_id = self._call("GET", CS_CONVERSATIONS_PATH, operation, params)
            items = self._items(operation, data, "conversations", request_id)
            records, passed_start = [], False
            for position, item in enumerate(items):
                latest = item.get("latest_message") if isinstance(item, dict) else None
                if not isinstance(item, dict) or not item.get("id"):
                    raise BadPayload(f"{operation}: conversation {position} has no id", request_id=request_id)
                last = latest.get("create_time") if isinstance(latest, dict) else None
                if isinstance(last, int) and datetime.fromtimestamp(last, UTC) < window.start:
                    passed_start = True  # newest first: the rest had nothing to say in the window
                    break
                messages = self._messages(str(item["id"]))
                times = [m["create_time"] for m in messages]
                updated = datetime.fromtimestamp(max(times), UTC) if times else None
                payload = {"conversation": item, "messages": messages}
                records.append(RawRecord(record_id=str(item["id"]), updated_at=updated, payload=payload))
            yield Page(records, request_id)
            if passed_start:
                return
            token = data.get("next_page_token")
            if not token:
                return
            if not isinstance(token, str) or token == page_token:
                raise BadPayload(f"{operation}: next_page_token did not move (would loop)", request_id=request_id)
            page_token = token

    def _messages(self, conversation_id: str) -> list[dict]:
        """Every message of one conversation, as returned, page after page."""
        operation = "cs_messages"
        path = CS_MESSAGES_PATH.format(conversation_id=conversation_id)
        out: list[dict] = []
        page_token = ""
        while True:
            params = {
                "page_size": str(self.cs_page_size),
                "sort_field": "create_time",
                "sort_order": "DESC",
                "locale": "en",
            }
            if page_token:
                params["page_token"] = page_token
            data, request_id = self._call("GET", path, operation, params)
            items = self._items(operation, data, "messages", request_id)
            for position, item in enumerate(items):
                if not isinstance(item, dict) or not item.get("id") or not isinstance(item.get("create_time"), int):
                    raise BadPayload(
                        f"{operation}: message {position} of conversation {conversation_id} has no id/create_time",
                        request_id=request_id,
                    )
            out.extend(items)
            token = data.get("next_page_token")
            if not token:
                return out
            if not isinstance(token, str) or token == page_token:
                raise BadPayload(f"{operation}: next_page_token did not move (would loop)", request_id=request_id)
            page_token = token


def from_store(store: StoreConfig, token_store: TokenStore | None) -> TikTokClient:
    """app_key / app_secret / refresh token from the env vars the stores file names; `account.shop_cipher`
    from the stores file. An optional `access_token_env` seeds the first access token."""
    if token_store is None:
        raise ConfigError(f"store {store.store_id}: TikTok tokens rotate and need a token store (KPI_STATE_DIR)")
    app_key = store.secret("client_id_env")
    app_secret = store.secret("client_secret_env")
    key = f"tiktok-{store.store_id}"
    refresh = tiktok_refresher(
        store.auth_url or DEFAULT_AUTH_URL,
        app_key,
        app_secret,
        HttpClient(platform="tiktok", retry=RetryPolicy(), request_id_header=REQUEST_ID_HEADER),
    )
    access = os.environ.get(store.credentials.access_token_env) if store.credentials.access_token_env else None
    seed = TokenState(access_token=access or None, expires_at=None, refresh_token=store.secret("refresh_token_env"))
    return TikTokClient(
        store.url(DEFAULT_BASE_URL),
        app_key=app_key,
        app_secret=app_secret,
        shop_cipher=store.account["shop_cipher"],
        access_token=RefreshingToken(key, token_store, seed, refresh, margin=REFRESH_MARGIN),
        timezone=store.timezone,
        rate_limit_scale=store.rate_limit_scale,
    )
