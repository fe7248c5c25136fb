"""Shopify Admin REST API client (orders with their refunds), API version 2025-10.

Incremental by `updated_at` (an order's `updated_at` moves when it is cancelled, fulfilled or
refunded, so late refunds come back with their order); `status=any` so that cancelled and closed
orders are not silently dropped; `Link` header cursor pagination, using the next URL verbatim.
The leaky bucket is modelled on the client (2 requests/s, bursts of 40 on standard plans) and
re-aligned from `X-Shopify-Shop-Api-Call-Limit` on every response.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import requests

from ingestion.clients.base import EntitySpec, Page, unknown_entity
from ingestion.config import StoreConfig
from ingestion.errors import AuthExpired, AuthInvalid, BadPayload, ConfigError
from ingestion.http import HttpClient, RateLimiter, RetryPolicy
from ingestion.lake import RawRecord
from ingestion.tokens import RefreshingToken, TokenState, TokenStore, call_with_token
from ingestion.windows import Window

API_VERSION = "2025-10"
PAGE_LIMIT = 250
_LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def next_link(link_header: str | None) -> str | None:
    if not link_header:
        return None
    match = _LINK_NEXT.search(link_header)
    return match.group(1) if match else None


def parse_call_limit(value: str | None) -> tuple[int, int] | None:
    if not value or "/" not in value:
        return None
    used, size = value.split("/", 1)
    try:
        return int(used), int(size)
    except ValueError:
        return None


def last_second_before(end: datetime) -> datetime:
    """updated_at_max is inclusive and Shopify's timestamps are whole seconds: the last whole second
    strictly before an exclusive window end (which may carry microseconds when clipped at now)."""
    whole = end.replace(microsecond=0)
    return whole if whole < end else whole - timedelta(seconds=1)


def _fmt(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds")


ENTITIES = {
    "orders": EntitySpec(
        "orders",
        "Orders with line items and refunds nested, by updated_at window, every version kept.",
        lookback=timedelta(days=2),
    ),
    "inventory_levels": EntitySpec(
        "inventory_levels",
        "Available units per inventory item and location, with the item's SKU (a snapshot).",
        snapshot=True,
    ),
}


class ShopifyClient:
    platform = "shopify"
    entities = ENTITIES

    def __init__(
        self,
        base_url: str,
        access_token: str | RefreshingToken,
        *,
        requests_per_second: float = 2.0,
        bucket_size: int = 40,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._limiter = RateLimiter(requests_per_second, bucket_size)
        self.http = HttpClient(
            platform=self.platform,
            retry=retry or RetryPolicy(),
            limiters={"orders": self._limiter},
        )
        self.token = access_token
        self.http.session.headers.update({"Accept": "application/json"})

    def _classify(self, response: requests.Response) -> AuthInvalid | AuthExpired | None:
        if response.status_code == 401 and "expired" in response.text:
            return AuthExpired("Shopify access token expired", http_status=401)
        if response.status_code == 401:
            return AuthInvalid(
                "Shopify rejected the access token (revoked, uninstalled app or wrong shop)",
                http_status=401,
            )
        return None

    def _get(self, url: str, params: dict | None) -> tuple[object, requests.Response]:
        return call_with_token(
            self.token,
            lambda token: self.http.request_json(
                "GET",
                url,
                operation="orders",
                params=params,
                classify=self._classify,
                headers={"X-Shopify-Access-Token": token},
            ),
        )

    def _inventory_pages(self) -> Iterator[Page]:
        """Every location's inventory levels, each with its inventory item (for the SKU).

        A composed record: `{"inventory_level": <InventoryLevel>, "inventory_item": <InventoryItem>,
        "snapshot_at": <when read>}`; the REST API has no history, so each sync is one snapshot.
        """
        base = f"{self.base_url}/admin/api/{API_VERSION}"
        snapshot_at = datetime.now(UTC).replace(microsecond=0)
        locations, _ = self._get(f"{base}/locations.json", None)
        if not isinstance(locations, dict) or not isinstance(locations.get("locations"), list):
            raise BadPayload("locations.json: body has no 'locations' list", url=f"{base}/locations.json")
        location_ids = ",".join(str(loc["id"]) for loc in locations["locations"] if loc.get("active", True))
        if not location_ids:
            return
        url: str | None = f"{base}/inventory_levels.json"
        params: dict | None = {"location_ids": location_ids, "limit": PAGE_LIMIT}
        while url:
            body, response = self._get(url, params)
            levels = body.get("inventory_levels") if isinstance(body, dict) else None
            if not isinstance(levels, list):
                raise BadPayload("inventory_levels.json: body has no 'inventory_levels' list", url=url)
            if any(not isinstance(level, dict) or "inventory_item_id" not in level for level in levels):
                raise BadPayload("inventory_levels.json: a level has no inventory_item_id", url=url)
            items: dict[int, dict] = {}
            ids = sorted({level["inventory_item_id"] for level in levels})
            for i in range(0, len(ids), INVENTORY_ITEMS_PER_CALL):
                chunk = ",".join(str(x) for x in ids[i : i + INVENTORY_ITEMS_PER_CALL])
                found, _ = self._get(f"{base}/inventory_items.json", {"ids": chunk, "limit": PAGE_LIMIT})
                if not isinstance(found, dict) or not isinstance(found.get("inventory_items"), list):
                    raise BadPayload("inventory_items.json: body has no 'inventory_items' list")
                items.update({item["id"]: item for item in found["inventory_items"]})
            missing = sorted(set(ids) - set(items))
            if missing:
                # a level without its item has no SKU: it must not be summed into a null-SKU row
                raise BadPayload(f"inventory_items.json: no item for inventory_item_id {missing[:5]}")
            yield Page(
                [
                    RawRecord(
                        record_id=f"{level['inventory_item_id']}:{level['location_id']}",
                        updated_at=snapshot_at,
                        payload={
                            "inventory_level": level,
                            "inventory_item": items.get(level["inventory_item_id"]),
                            "snapshot_at": snapshot_at.isoformat(),
                        },
                    )
                    for level in levels
                ],
                response.headers.get("X-Request-Id"),
            )
            url, params = next_link(response.headers.get("Link")), None

    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity == "inventory_levels":
            yield from self._inventory_pages()
            return
        if entity != "orders":
            raise unknown_entity(self.platform, entity, self.entities)
        url: str | None = f"{self.base_url}/admin/api/{API_VERSION}/orders.json"
        params: dict | None = {
            "status": "any",
            "limit": PAGE_LIMIT,
            "order": "updated_at asc",
            "updated_at_min": _fmt(window.start),
            "updated_at_max": _fmt(last_second_before(window.end)),
        }
        while url:
            body, response = self._get(url, params)
            limit = parse_call_limit(response.headers.get("X-Shopify-Shop-Api-Call-Limit"))
            if limit is not None:
                used, size = limit
                self._limiter.drain_to(size - used)
            orders = body.get("orders") if isinstance(body, dict) else None
            if not isinstance(orders, list):
                raise BadPayload(
                    "orders.json: body has no 'orders' list",
                    http_status=response.status_code,
                    request_id=response.headers.get("X-Request-Id"),
                    url=url,
                )
            records = []
            for position, order in enumerate(orders):
                if not isinstance(order, dict) or "id" not in order or "updated_at" not in order:
                    raise BadPayload(
                        f"orders.json: record {position} has no id/updated_at",
                        request_id=response.headers.get("X-Request-Id"),
                        url=url,
                    )
                records.append(
                    RawRecord(
                        record_id=str(order["id"]),
                        updated_at=datetime.fromisoformat(order["updated_at"]).astimezone(UTC),
                        payload=order,
                    )
                )
            yield Page(records, response.headers.get("X-Request-Id"))
            url, params = next_link(response.headers.get("Link")), None


DEFAULT_BASE_URL = "https://{store_id}.myshopify.com"


INVENTORY_ITEMS_PER_CALL = 100


def from_store(store: StoreConfig, token_store: TokenStore | None) -> ShopifyClient:
    base_url = store.url(DEFAULT_BASE_URL)
    if not store.credentials.expiring:
        return ShopifyClient(base_url, store.secret())
    if token_store is None:
        raise ConfigError(f"store {store.store_id}: expiring tokens need a token store (KPI_STATE_DIR)")
    refresh = shopify_refresher(
        base_url,
        store.secret("client_id_env"),
        store.secret("client_secret_env"),
        HttpClient(platform="shopify", retry=RetryPolicy()),
    )
    seed = TokenState(access_token=None, expires_at=None, refresh_token=store.secret("refresh_token_env"))
    return ShopifyClient(base_url, RefreshingToken(f"shopify-{store.store_id}", token_store, seed, refresh))


def shopify_refresher(
    base_url: str,
    client_id: str,
    client_secret: str,
    http: HttpClient,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[str], TokenState]:
    """Exchange a refresh token for a new access token and a new (rotated) refresh token."""

    def refresh(refresh_token: str) -> TokenState:
        body, _ = http.request_json(
            "POST",
            f"{base_url.rstrip('/')}/admin/oauth/access_token",
            operation="token",
            json={
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            classify=_classify_token_error,
        )
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            raise BadPayload("token refresh: response has no access_token/refresh_token")
        now = clock()
        refresh_in = body.get("refresh_token_expires_in")
        return TokenState(
            access_token=body["access_token"],
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
            refresh_token=body["refresh_token"],
            refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        )

    return refresh


def _classify_token_error(response: requests.Response) -> AuthInvalid | AuthExpired | None:
    if response.status_code in (400, 401):
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error", "") if isinstance(body, dict) else ""
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        if error == "invalid_grant" and "expired" in description:
            # the refresh token outlived its lifetime: only the seller can cure it, by re-authorizing
            return AuthExpired(
                "Shopify refused the token refresh: the refresh token has expired. Re-authorize the app on the "
                "store and put the new refresh token in the store's refresh-token env var",
                http_status=response.status_code,
            )
        if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            return AuthInvalid(f"Shopify refused the token refresh ({error}): re-authorize the app")
    return None
