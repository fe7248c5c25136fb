"""Shopee Open Platform v2 client (orders and returns of one shop).

Every call is signed: `sign = hex(HMAC-SHA256(partner_key, partner_id + api_path + timestamp +
access_token + shop_id))` (token calls sign `partner_id + api_path + timestamp` only), and Shopee
accepts the `timestamp` for about five minutes, so the host clock matters. Errors arrive in a
`{error, message, request_id, response}` envelope, with HTTP 403, 400, 429 or even 200, so
`_classify` reads the body first and the status second.

Orders are a composition of two calls: `get_order_list` (by `update_time`, windows of at most 15
days, `cursor`/`more` paging, 100 per page) names the orders that changed, and `get_order_detail`
(at most 50 `order_sn` per call) returns them. A record is one detail object exactly as returned;
the list call only decides which orders to ask for. A listed order missing from the detail answer
fails the page (BadPayload) instead of vanishing.

Returns come from `get_return_list` (by `update_time`, 15-day windows, `page_no` paging): one
record per return, as returned.

Reviews come from `get_comment`, which has no time filter: it lists the shop's newest comments first
(`cursor`/`more`, 100 a page, at most 500 per listing), so the client pages until it passes the window
start and keeps the comments written or replied to in the window. Conversations come from the Seller
Chat API: `get_conversation_list` (newest last message first, paged by `next_timestamp_nano`) names
the conversations with a message since the window start, and `get_message` (paged by `offset`) reads
each one whole. A conversation record is `{"conversation": <list entry>, "messages": [<message>...]}`,
both parts exactly as returned, with the time of its last message as `updated_at`: a reply that
arrives later makes a newer version of the conversation.

Access tokens last four hours; refresh tokens are single use (the refresh answer carries a new one
and the old one dies), so `RefreshingToken` persists each new pair before it is used.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

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

DEFAULT_BASE_URL = "https://partner.shopeemobile.com"

ORDER_LIST = "/api/v2/order/get_order_list"
ORDER_DETAIL = "/api/v2/order/get_order_detail"
RETURN_LIST = "/api/v2/returns/get_return_list"
COMMENT_LIST = "/api/v2/product/get_comment"
CONVERSATION_LIST = "/api/v2/sellerchat/get_conversation_list"
MESSAGE_LIST = "/api/v2/sellerchat/get_message"
TOKEN_REFRESH = "/api/v2/auth/access_token/get"

PAGE_SIZE = 100  # get_order_list and get_return_list allow 1..100
DETAIL_BATCH = 50  # get_order_detail allows 1..50 order_sn per call
CONVERSATION_PAGE_SIZE = 25  # get_conversation_list: larger pages come back empty (partner reports)
MESSAGE_PAGE_SIZE = 60  # get_message allows up to 60
MAX_WINDOW = timedelta(days=15)
REFRESH_TOKEN_DAYS = 30  # commonly cited, not in the public docs

# What the staging models read, and nothing more: buyer_username and recipient_address (names,
# phones, addresses) are not requested at all; buyer_user_id is hashed in staging.
DETAIL_FIELDS = (
    "buyer_user_id",
    "item_list",
    "pay_time",
    "total_amount",
    "estimated_shipping_fee",
    "actual_shipping_fee",
    "actual_shipping_fee_confirmed",
    "payment_method",
    "shipping_carrier",
    "package_list",
    "pickup_done_time",
    "fulfillment_flag",
    "cancel_by",
    "cancel_reason",
    "buyer_cancel_reason",
)

# Shopee publishes no per-call limit; partners report trouble well above 10 requests/s. The client
# keeps 8 requests/s per API (bursts of 8) and backs off on `error_too_many_request` / HTTP 429.
# The allowance belongs to the partner app, not the shop: every client of one partner id (one per
# shop, synced in parallel) takes its tokens from the same limiters (`partner_limiters`).
RATES = {
    "get_order_list": 8.0,
    "get_order_detail": 8.0,
    "get_return_list": 8.0,
    "get_comment": 8.0,
    "get_conversation_list": 8.0,
    "get_message": 8.0,
}
BURST = 8

_PARTNER_LIMITERS: dict[tuple[str, int, float], dict[str, RateLimiter]] = {}
_PARTNER_LIMITERS_LOCK = threading.Lock()


def partner_limiters(base_url: str, partner_id: int, rate_scale: float) -> dict[str, RateLimiter]:
    """The per-API limiters of one partner app at one endpoint, shared by all its shops' clients in
    this process: the limit is per partner, so two shops in parallel must not each take a full rate."""
    key = (base_url.rstrip("/"), int(partner_id), float(rate_scale))
    with _PARTNER_LIMITERS_LOCK:
        if key not in _PARTNER_LIMITERS:
            _PARTNER_LIMITERS[key] = {op: RateLimiter(rate * rate_scale, BURST) for op, rate in RATES.items()}
        return _PARTNER_LIMITERS[key]


ENTITIES = {
    "orders": EntitySpec(
        "orders",
        "Order details (get_order_detail) of the orders whose update_time falls in the window.",
        max_window=MAX_WINDOW,
        lookback=timedelta(days=2),
    ),
    "returns": EntitySpec(
        "returns",
        "Returns and refunds (get_return_list) whose update_time falls in the window.",
        max_window=MAX_WINDOW,
        lookback=timedelta(days=2),
    ),
    "reviews": EntitySpec(
        "reviews",
        "Product comments (get_comment) written or replied to in the window, newest first; no window limit. "
        "Shopee serves only a shop's newest 500 comments, so history is clipped to 60 days (a backfill cannot "
        "reach older ones; a shop with more than 500 comments in 60 days fails window_rejected and needs it "
        "shorter).",
        lookback=timedelta(days=3),
        max_history=timedelta(days=60),
    ),
    "conversations": EntitySpec(
        "conversations",
        "Buyer chats (sellerchat) with a message in the window, each with all its messages; replies arrive "
        "later, and every new message makes a newer version.",
        lookback=timedelta(days=3),
    ),
}


def signature(partner_key: str, base: str) -> str:
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def _unix_range(window: Window) -> tuple[int, int]:
    """Inclusive Unix-second bounds of a half-open window (Shopee's time_to is inclusive). A window
    shorter than a second still asks for one (time_from must be before time_to); overlap is harmless."""
    start = int(window.start.timestamp())
    end_whole = int(window.end.timestamp())
    end = end_whole if end_whole < window.end.timestamp() else end_whole - 1
    return start, max(start + 1, end)


def _utc(seconds: object, what: str) -> datetime:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise BadPayload(f"{what}: expected Unix seconds, got {seconds!r}")
    return datetime.fromtimestamp(seconds, UTC)


def _instant(value: object, what: str) -> datetime:
    """Chat times come as Unix seconds, milliseconds or nanoseconds depending on the field (and the
    docs are not explicit): read them by magnitude."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadPayload(f"{what}: expected a Unix time, got {value!r}")
    for threshold, scale in ((10**17, 10**9), (10**14, 10**6), (10**11, 10**3)):
        if value > threshold:
            return datetime.fromtimestamp(value // scale, UTC).replace(microsecond=value % scale * 10**6 // scale)
    return datetime.fromtimestamp(value, UTC)


def _classify(response: requests.Response) -> SyncError | None:
    """Turn Shopee's envelope errors into named errors, whatever the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        return None  # not JSON: the status rules or the parser (BadPayload, retried) take it
    error = body.get("error") if isinstance(body, dict) else None
    if not error:
        return None
    message = str(body.get("message") or "")
    request_id = body.get("request_id")
    text = f"Shopee {error}: {message}"
    lowered = message.lower()
    kwargs = {"http_status": response.status_code, "request_id": request_id}
    if error == "error_auth" and "access_token" in lowered:
        # Shopee says "Invalid access_token." for an expired token: refresh once and repeat.
        return AuthExpired(text, **kwargs)
    if error in ("error_auth", "error_permission", "error_shop"):
        return AuthInvalid(f"{text} (the shop must re-authorize the app, or partner_id/shop_id is wrong)", **kwargs)
    if error == "error_sign":
        return AuthInvalid(f"{text} (wrong partner_key, or partner_id/shop_id/token do not belong together)", **kwargs)
    if error == "error_too_many_request" or response.status_code == 429:
        return Throttled(text, **kwargs)
    if error in ("error_server", "error_inner", "error_network", "error_busy") or response.status_code >= 500:
        return ServerError(text, **kwargs)
    if error == "error_param" and ("15 day" in lowered or "15day" in lowered):
        return WindowRejected(text, **kwargs)
    if error == "error_param" and "timestamp" in lowered:
        return BadRequest(f"{text} (Shopee accepts a timestamp within 5 minutes: check the host clock)", **kwargs)
    return BadRequest(text, **kwargs)


class ShopeeClient:
    platform = "shopee"
    entities = ENTITIES

    def __init__(
        self,
        base_url: str,
        partner_id: int,
        partner_key: str,
        shop_id: int,
        access_token: str | RefreshingToken,
        *,
        rate_scale: float = 1.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        message_page_size: int = MESSAGE_PAGE_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.message_page_size = message_page_size
        self.partner_id, self.partner_key, self.shop_id = int(partner_id), partner_key, int(shop_id)
        self.token = access_token
        self.clock = clock
        self.http = HttpClient(
            platform=self.platform,
            retry=retry or RetryPolicy(),
            limiters=partner_limiters(base_url, partner_id, rate_scale),
        )
        self.http.session.headers.update({"Accept": "application/json"})

    # -- one signed shop-level call -------------------------------------------------------------
    def _signed(self, api_path: str, params: dict, token: str) -> dict:
        timestamp = int(self.clock().timestamp())
        base = f"{self.partner_id}{api_path}{timestamp}{token}{self.shop_id}"
        return {
            **params,
            "partner_id": self.partner_id,
            "timestamp": timestamp,
            "access_token": token,
            "shop_id": self.shop_id,
            "sign": signature(self.partner_key, base),
        }

    def call(self, api_path: str, params: dict) -> tuple[dict, str | None]:
        """GET a shop-level API; returns the envelope's `response` object and the request id."""
        operation = api_path.rsplit("/", 1)[-1]
        body, response = call_with_token(
            self.token,
            lambda token: self.http.request_json(
                "GET",
                self.base_url + api_path,
                operation=operation,
                sign=lambda: {"params": self._signed(api_path, params, token)},  # a fresh timestamp per attempt
                classify=_classify,
            ),
        )
        request_id = body.get("request_id") if isinstance(body, dict) else None
        self.http.stats.last_request_id = request_id or self.http.stats.last_request_id
        inner = body.get("response") if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise BadPayload(
                f"{operation}: the envelope has no 'response' object",
                http_status=response.status_code,
                request_id=request_id,
                url=api_path,
            )
        return inner, request_id

    # -- entities --------------------------------------------------------------------------------
    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity == "orders":
            yield from self._order_pages(window)
        elif entity == "returns":
            yield from self._return_pages(window)
        elif entity == "reviews":
            yield from self._review_pages(window)
        elif entity == "conversations":
            yield from self._conversation_pages(window)
        else:
            raise unknown_entity(self.platform, entity, self.entities)

    def _order_pages(self, window: Window) -> Iterator[Page]:
        time_from, time_to = _unix_range(window)
        cursor = ""
        while True:
            listing, request_id = self.call(
                ORDER_LIST,
                {
                    "time_range_field": "update_time",
                    "time_from": time_from,
                    "time_to": time_to,
                    "page_size": PAGE_SIZE,
                    "cursor": cursor,
                    "response_optional_fields": "order_status",
                },
            )
            orders, more = listing.get("order_list"), listing.get("more")
            if not isinstance(orders, list) or not isinstance(more, bool):
                raise BadPayload(
                    "get_order_list: response has no 'order_list' list / 'more' flag", request_id=request_id
                )
            sns = []
            for position, item in enumerate(orders):
                sn = item.get("order_sn") if isinstance(item, dict) else None
                if not isinstance(sn, str) or not sn:
                    raise BadPayload(f"get_order_list: entry {position} has no order_sn", request_id=request_id)
                sns.append(sn)
            sns = list(dict.fromkeys(sns))
            records = []
            for start in range(0, len(sns), DETAIL_BATCH):
                records.extend(self._details(sns[start : start + DETAIL_BATCH]))
            yield Page(records, request_id)
            if not more:
                return
            cursor = listing.get("next_cursor") or ""
            if not isinstance(cursor, str) or not cursor:
                raise BadPayload("get_order_list: 'more' is true but 'next_cursor' is empty", request_id=request_id)

    def _details(self, sns: list[str]) -> list[RawRecord]:
        detail, request_id = self.call(
            ORDER_DETAIL, {"order_sn_list": ",".join(sns), "response_optional_fields": ",".join(DETAIL_FIELDS)}
        )
        orders = detail.get("order_list")
        if not isinstance(orders, list):
            raise BadPayload("get_order_detail: response has no 'order_list' list", request_id=request_id)
        by_sn: dict[str, RawRecord] = {}
        for position, order in enumerate(orders):
            sn = order.get("order_sn") if isinstance(order, dict) else None
            if not isinstance(sn, str) or not sn:
                raise BadPayload(f"get_order_detail: order {position} has no order_sn", request_id=request_id)
            if not isinstance(order.get("item_list"), list):
                raise BadPayload(f"get_order_detail: order {sn} has no item_list", request_id=request_id)
            updated = _utc(order.get("update_time"), f"get_order_detail: order {sn} update_time")
            by_sn[sn] = RawRecord(record_id=sn, updated_at=updated, payload=order)
        missing = [sn for sn in sns if sn not in by_sn]
        if missing:
            raise BadPayload(
                f"get_order_detail: {len(missing)} listed order(s) missing from the answer, e.g. {missing[0]}",
                request_id=request_id,
            )
        return [by_sn[sn] for sn in sns]

    def _return_pages(self, window: Window) -> Iterator[Page]:
        time_from, time_to = _unix_range(window)
        page_no = 0
        while True:
            listing, request_id = self.call(
                RETURN_LIST,
                {
                    "page_no": page_no,
                    "page_size": PAGE_SIZE,
                    "update_time_from": time_from,
                    "update_time_to": time_to,
                },
            )
            returns, more = listing.get("return"), listing.get("more")
            if not isinstance(returns, list) or not isinstance(more, bool):
                raise BadPayload("get_return_list: response has no 'return' list / 'more' flag", request_id=request_id)
            records = []
            for position, item in enumerate(returns):
                sn = item.get("return_sn") if isinstance(item, dict) else None
                if not isinstance(sn, str) or not sn or not isinstance(item.get("item"), list):
                    raise BadPayload(
                        f"get_return_list: return {position} of page {page_no} has no return_sn/item list",
                        request_id=request_id,
                    )
                updated = _utc(item.get("update_time"), f"get_return_list: return {sn} update_time")
                records.append(RawRecord(record_id=sn, updated_at=updated, payload=item))
            yield Page(records, request_id)
            if not more:
                return
            page_no += 1

    def _review_pages(self, window: Window) -> Iterator[Page]:
        cursor = ""
        while True:
            listing, request_id = self.call(COMMENT_LIST, {"cursor": cursor, "page_size": PAGE_SIZE})
            comments, more = listing.get("item_comment_list"), listing.get("more")
            if comments is None and more is False:
                comments = []
            if not isinstance(comments, list) or not isinstance(more, bool):
                raise BadPayload(
                    "get_comment: response has no 'item_comment_list' list / 'more' flag", request_id=request_id
                )
            records, oldest = [], None
            for position, comment in enumerate(comments):
                cid = comment.get("comment_id") if isinstance(comment, dict) else None
                if isinstance(cid, bool) or not isinstance(cid, str | int) or not str(cid):
                    raise BadPayload(f"get_comment: comment {position} has no comment_id", request_id=request_id)
                created = _utc(comment.get("create_time"), f"get_comment: comment {cid} create_time")
                reply = comment.get("comment_reply")
                updated = created
                if isinstance(reply, dict) and reply.get("create_time"):
                    updated = max(created, _utc(reply["create_time"], f"get_comment: comment {cid} reply time"))
                oldest = created if oldest is None else min(oldest, created)
                if window.start <= created < window.end or window.start <= updated < window.end:
                    records.append(RawRecord(record_id=str(cid), updated_at=updated, payload=comment))
            yield Page(records, request_id)
            if oldest is not None and oldest < window.start:
                return  # newest first: the rest is older than the window
            if not more:
                return
            cursor = listing.get("next_cursor") or ""
            if not comments or not isinstance(cursor, str) or not cursor:
                # Shopee serves at most 500 comments per listing and then says `more` with nothing more
                raise WindowRejected(
                    "get_comment: Shopee serves only the newest 500 comments of a shop, and the window starts "
                    "before the oldest of them; sync reviews at least weekly so that the look-back covers it",
                    request_id=request_id,
                )

    def _conversation_pages(self, window: Window) -> Iterator[Page]:
        cursor = ""
        while True:
            params: dict = {"direction": "older", "type": "all", "page_size": CONVERSATION_PAGE_SIZE}
            if cursor:
                params["next_timestamp_nano"] = cursor
            listing, request_id = self.call(CONVERSATION_LIST, params)
            conversations, paging = listing.get("conversations"), listing.get("page_result")
            if conversations is None and isinstance(paging, dict) and paging.get("more") is False:
                conversations = []
            if not isinstance(conversations, list) or not isinstance(paging, dict):
                raise BadPayload(
                    "get_conversation_list: response has no 'conversations' list / 'page_result'",
                    request_id=request_id,
                )
            records, passed_start = [], False
            for position, conversation in enumerate(conversations):
                cid = conversation.get("conversation_id") if isinstance(conversation, dict) else None
                if isinstance(cid, bool) or not isinstance(cid, str | int) or not str(cid):
                    raise BadPayload(
                        f"get_conversation_list: conversation {position} has no conversation_id", request_id=request_id
                    )
                last = _instant(conversation.get("last_message_timestamp"), f"conversation {cid} last message")
                if last < window.start:
                    passed_start = True  # newest first: the rest had nothing to say in the window
                    break
                messages = self._messages(str(cid))
                times = [_instant(m.get("created_timestamp"), f"conversation {cid} message") for m in messages]
                record = {"conversation": conversation, "messages": messages}
                records.append(RawRecord(record_id=str(cid), updated_at=max(times, default=last), payload=record))
            yield Page(records, request_id)
            if passed_start or not paging.get("more"):
                return
            nxt = paging.get("next_cursor")
            cursor = str(nxt.get("next_message_time_nano") or "") if isinstance(nxt, dict) else ""
            if not cursor or cursor == params.get("next_timestamp_nano"):
                raise BadPayload(
                    "get_conversation_list: 'more' is true but next_message_time_nano is empty or did not move",
                    request_id=request_id,
                )

    def _messages(self, conversation_id: str) -> list[dict]:
        """Every message of one conversation, as returned (newest first, page after page)."""
        out: list[dict] = []
        offset = ""
        while True:
            params: dict = {"conversation_id": conversation_id, "page_size": self.message_page_size}
            if offset:
                params["offset"] = offset
            body, request_id = self.call(MESSAGE_LIST, params)
            messages, paging = body.get("messages"), body.get("page_result") or {}
            if not isinstance(messages, list) or not isinstance(paging, dict):
                raise BadPayload(
                    f"get_message: conversation {conversation_id} has no 'messages' list", request_id=request_id
                )
            for position, message in enumerate(messages):
                if not isinstance(message, dict) or not message.get("message_id"):
                    raise BadPayload(
                        f"get_message: message {position} of conversation {conversation_id} has no message_id",
                        request_id=request_id,
                    )
            out.extend(messages)
            if not paging.get("more"):
                return out
            nxt = str(paging.get("next_offset") or "")
            if not nxt or nxt == offset:
                raise BadPayload(
                    f"get_message: 'more' is true but next_offset is empty or did not move ({conversation_id})",
                    request_id=request_id,
                )
            offset = nxt


def shopee_refresher(
    base_url: str,
    partner_id: int,
    partner_key: str,
    shop_id: int,
    http: HttpClient,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[str], TokenState]:
    """Trade the (single-use) refresh token for a 4-hour access token and a new refresh token."""

    def refresh(refresh_token: str) -> TokenState:
        now = clock()
        timestamp = int(now.timestamp())
        body, _ = http.request_json(
            "POST",
            base_url.rstrip("/") + TOKEN_REFRESH,
            operation="access_token_get",
            params={
                "partner_id": partner_id,
                "timestamp": timestamp,
                "sign": signature(partner_key, f"{partner_id}{TOKEN_REFRESH}{timestamp}"),
            },
            json={"refresh_token": refresh_token, "shop_id": shop_id, "partner_id": partner_id},
            classify=_classify_refresh,
        )
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            raise BadPayload("access_token/get: response has no access_token/refresh_token", url=TOKEN_REFRESH)
        try:
            expire_in = int(body.get("expire_in") or 14400)
        except (TypeError, ValueError):
            raise BadPayload(f"token refresh: expire_in is not a number: {body.get('expire_in')!r}") from None
        return TokenState(
            access_token=body["access_token"],
            expires_at=now + timedelta(seconds=expire_in),
            refresh_token=body["refresh_token"],
            refresh_expires_at=now + timedelta(days=REFRESH_TOKEN_DAYS),
        )

    return refresh


def _classify_refresh(response: requests.Response) -> SyncError | None:
    """A refused refresh token needs a person (re-authorization); throttling and 5xx stay retryable."""
    error = _classify(response)
    if isinstance(error, AuthExpired | AuthInvalid):
        return AuthInvalid(
            f"Shopee refused the token refresh ({error.args[0]}): the refresh token is used up (they are "
            "single use), older than 30 days, or the shop revoked the app; the seller must re-authorize it",
            http_status=error.http_status,
            request_id=error.request_id,
        )
    return error


def from_store(store: StoreConfig, token_store: TokenStore | None) -> ShopeeClient:
    base_url = store.url(DEFAULT_BASE_URL)
    try:
        partner_id = int(store.secret("client_id_env"))
        shop_id = int(store.account["shop_id"])
    except ValueError as exc:
        raise ConfigError(f"store {store.store_id}: Shopee partner_id and account.shop_id must be numbers") from exc
    partner_key = store.secret("client_secret_env")
    if token_store is None:
        raise ConfigError(f"store {store.store_id}: Shopee tokens need a token store (KPI_STATE_DIR)")
    refresh = shopee_refresher(
        base_url, partner_id, partner_key, shop_id, HttpClient(platform="shopee", retry=RetryPolicy())
    )
    seed_access = store.secret("access_token_env") if store.credentials.access_token_env else None
    seed = TokenState(access_token=seed_access, expires_at=None, refresh_token=store.secret("refresh_token_env"))
    token = RefreshingToken(f"shopee-{store.store_id}", token_store, seed, refresh)
    return ShopeeClient(base_url, partner_id, partner_key, shop_id, token, rate_scale=store.rate_limit_scale)
