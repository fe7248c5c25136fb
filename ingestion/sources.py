"""The sources the platform syncs: which client module serves which stores, with which entities.

A source is one API: its records land under `raw/<source>/<entity>` and it becomes one Dagster
asset per entity. Client modules are imported on first use; each offers `ENTITIES` and
`from_store(store, token_store)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingestion.clients.base import Client, EntitySpec
from ingestion.config import StoreConfig
from ingestion.tokens import TokenStore


@dataclass(frozen=True)
class Source:
    name: str  # raw-lake folder and asset-key prefix
    platform: str  # the stores it serves
    module: str
    label: str
    needs_ads: bool = False  # served only for stores with an `ads:` block

    def stores(self, stores: Sequence[StoreConfig]) -> list[StoreConfig]:
        return [s for s in stores if s.platform == self.platform and (s.ads is not None or not self.needs_ads)]

    @property
    def entities(self) -> Mapping[str, EntitySpec]:
        return importlib.import_module(self.module).ENTITIES

    def client(self, store: StoreConfig, token_store: TokenStore | None) -> Client:
        return importlib.import_module(self.module).from_store(store, token_store)


SOURCES: tuple[Source, ...] = (
    Source("shopify", "shopify", "ingestion.clients.shopify", "Shopify Admin API"),
    Source("amazon", "amazon", "ingestion.clients.amazon", "Amazon Selling Partner API"),
    Source("amazon_ads", "amazon", "ingestion.clients.amazon_ads", "Amazon Ads API", needs_ads=True),
    Source("tiktok", "tiktok", "ingestion.clients.tiktok", "TikTok Shop Partner API"),
    Source("shopee", "shopee", "ingestion.clients.shopee", "Shopee Open Platform v2"),
    Source("rakuten", "rakuten", "ingestion.clients.rakuten", "Rakuten RMS"),
)


def source(name: str) -> Source:
    for s in SOURCES:
        if s.name == name:
            return s
    raise ValueError(f"unknown source {name!r}; known: {', '.join(s.name for s in SOURCES)}")
