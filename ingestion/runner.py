"""Sync many stores of one platform for a partition range, in parallel, each on its own."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ingestion.clients.ecb import EcbClient
from ingestion.config import StoreConfig, StoresFile
from ingestion.errors import ConfigError, CredentialsMissing
from ingestion.lake import RawLake, RawRecord, new_sync_id
from ingestion.sources import SOURCES, Source
from ingestion.sources import source as get_source
from ingestion.sync import SyncResult, record_failure, run_sync
from ingestion.sync_log import SyncLog
from ingestion.tokens import TokenStore
from ingestion.windows import Window, sync_window


def store_window(
    source: Source, store: StoreConfig, entity: str, start: datetime, end: datetime, now: datetime
) -> Window | None:
    """The partition range widened by the look-back (the store's, else the entity's), kept behind
    the platform's safety lag and within the history it keeps."""
    spec = source.entities[entity]
    days = store.ads.lookback_days if source.needs_ads and store.ads else store.lookback_days
    lookback = timedelta(days=days) if days is not None else spec.lookback
    window = sync_window(start, end, lookback, now, spec.safety_lag)
    if window is not None and spec.max_history is not None:
        oldest = now - spec.max_history
        if window.end <= oldest:
            return None  # the platform no longer has this range; nothing to ask for
        window = Window(max(window.start, oldest), window.end)
    return window


def sync_stores(
    stores: Sequence[StoreConfig],
    entity: str,
    start: datetime,
    end: datetime,
    lake: RawLake,
    log: SyncLog,
    *,
    source: Source | str | None = None,
    now: datetime | None = None,
    workers: int = 4,
    token_store: TokenStore | None = None,
) -> list[SyncResult]:
    """One sync attempt per store for [start - look-back, end), clipped at now.

    A store whose credentials are missing or whose sync fails does not stop the others; each
    attempt is in the sync log, and the caller decides what a failure means for the run.
    """
    now = now or datetime.now(UTC)
    if source is None:
        platforms = {s.platform for s in stores}
        if len(platforms) != 1:
            raise ValueError(f"give the source for stores of several platforms: {sorted(platforms)}")
        source = platforms.pop()
    src = source if isinstance(source, Source) else get_source(source)

    def one(store: StoreConfig) -> SyncResult | None:
        window = store_window(src, store, entity, start, end, now)
        if window is None:
            return None
        try:
            client = src.client(store, token_store)
        except ConfigError as exc:
            return record_failure(
                platform=src.name,
                store_id=store.store_id,
                entity=entity,
                window=window,
                log=log,
                error=CredentialsMissing(str(exc)),
            )
        return run_sync(client, store_id=store.store_id, entity=entity, window=window, lake=lake, log=log)

    lake.ensure_entity(src.name, entity)  # a platform without stores still has an (empty) table
    stores = src.stores(stores)
    if not stores:
        return []

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(stores)))) as pool:
        return [r for r in pool.map(one, stores) if r is not None]


def sync_fx(
    base_url: str, start: datetime, end: datetime, lake: RawLake, log: SyncLog, *, now: datetime | None = None
) -> SyncResult | None:
    client = EcbClient(base_url)
    window = sync_window(start, end, client.entities["rates"].lookback, now or datetime.now(UTC))
    if window is None:
        return None
    return run_sync(client, store_id="ecb", entity="rates", window=window, lake=lake, log=log)


def land_store_config(stores: StoresFile, lake: RawLake) -> str:
    """Land the validated stores file (no secrets: only env var names) so dbt sees store attributes,
    and the credential issue dates and env var names that sync health counts expiry from.

    Every source entity gets its (possibly empty) table here too, so that a seller without, say,
    Rakuten stores still gets a warehouse where the Rakuten staging models are empty, not missing.
    """
    for src in SOURCES:
        for entity in src.entities:
            lake.ensure_entity(src.name, entity)
    lake.ensure_entity("config", "alert_rules")  # landed by alerting.rules; empty until then (no rules)
    sync_id = new_sync_id()
    records = [
        RawRecord(
            record_id=s.store_id,
            updated_at=None,
            payload=s.model_dump(mode="json", exclude={"credentials", "base_url", "auth_url", "ads"})
            | {
                "ads_profile_id": s.ads.profile_id if s.ads else None,
                "credential_env_vars": s.credential_env_vars(),
                "ads_credential_env_vars": s.credential_env_vars(s.ads.credentials) if s.ads else None,
                "ads_credentials_issued_at": (
                    s.ads.credentials_issued_at.model_dump(mode="json")
                    if s.ads and s.ads.credentials_issued_at
                    else None
                ),
            },
        )
        for s in stores.stores
    ]
    lake.write("config", "stores", "_all", records, sync_id)
    return sync_id
