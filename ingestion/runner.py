"""Sync many stores of one platform for a partition range, in parallel, each on its own."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ingestion.clients.ecb import EcbClient
from ingestion.clients.shopify import ShopifyClient, shopify_refresher
from ingestion.config import StoreConfig, StoresFile
from ingestion.errors import ConfigError, CredentialsMissing
from ingestion.http import HttpClient, RetryPolicy
from ingestion.lake import RawLake, RawRecord, new_sync_id
from ingestion.sync import SyncResult, record_failure, run_sync
from ingestion.sync_log import SyncLog
from ingestion.tokens import RefreshingToken, TokenState, TokenStore
from ingestion.windows import sync_window


def client_for(store: StoreConfig, token_store: TokenStore | None = None) -> ShopifyClient:
    if store.platform != "shopify":
        raise ValueError(f"store {store.store_id}: no client for platform {store.platform!r}")
    if not store.credentials.expiring:
        return ShopifyClient(store.api_base_url, store.secret())
    if token_store is None:
        raise ConfigError(f"store {store.store_id}: expiring tokens need a token store (KPI_STATE_DIR)")
    refresh = shopify_refresher(
        store.api_base_url,
        store.secret("client_id_env"),
        store.secret("client_secret_env"),
        HttpClient(platform="shopify", retry=RetryPolicy()),
    )
    seed = TokenState(access_token=None, expires_at=None, refresh_token=store.secret("refresh_token_env"))
    token = RefreshingToken(f"shopify-{store.store_id}", token_store, seed, refresh)
    return ShopifyClient(store.api_base_url, token)


def sync_stores(
    stores: Sequence[StoreConfig],
    entity: str,
    start: datetime,
    end: datetime,
    lake: RawLake,
    log: SyncLog,
    *,
    now: datetime | None = None,
    workers: int = 4,
    token_store: TokenStore | None = None,
) -> list[SyncResult]:
    """One sync attempt per store for [start - look-back, end), clipped at now.

    A store whose credentials are missing or whose sync fails does not stop the others; each
    attempt is in the sync log, and the caller decides what a failure means for the run.
    """
    now = now or datetime.now(UTC)

    def one(store: StoreConfig) -> SyncResult | None:
        window = sync_window(start, end, timedelta(days=store.lookback_days), now)
        if window is None:
            return None
        try:
            client = client_for(store, token_store)
        except ConfigError as exc:
            return record_failure(
                platform=store.platform,
                store_id=store.store_id,
                entity=entity,
                window=window,
                log=log,
                error=CredentialsMissing(str(exc)),
            )
        return run_sync(client, store_id=store.store_id, entity=entity, window=window, lake=lake, log=log)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(stores)))) as pool:
        return [r for r in pool.map(one, stores) if r is not None]


def sync_fx(
    base_url: str, start: datetime, end: datetime, lake: RawLake, log: SyncLog, *, now: datetime | None = None
) -> SyncResult | None:
    client = EcbClient(base_url)
    window = sync_window(start, end, client.default_lookback, now or datetime.now(UTC))
    if window is None:
        return None
    return run_sync(client, store_id="ecb", entity="rates", window=window, lake=lake, log=log)


def land_store_config(stores: StoresFile, lake: RawLake) -> str:
    """Land the validated stores file (no secrets: only env var names) so dbt sees store attributes."""
    sync_id = new_sync_id()
    records = [
        RawRecord(
            record_id=s.store_id,
            updated_at=None,
            payload=s.model_dump(mode="json", exclude={"credentials", "base_url"}),
        )
        for s in stores.stores
    ]
    lake.write("config", "stores", "_all", records, sync_id)
    return sync_id
