"""What every platform client offers the sync: entities with their window rules, and pages of records.

A client is built from a store's configuration (`from_store(store, token_store)` in its module) and
yields `Page`s of `RawRecord`s for one entity and one window. The sync slices the window to the
entity's maximum span, widens it by the look-back and keeps it behind the platform's safety lag;
the client only has to speak the platform's API for one slice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from ingestion.http import HttpClient
from ingestion.lake import RawRecord
from ingestion.windows import Window


@dataclass(frozen=True)
class EntitySpec:
    """How one entity of one platform may be requested."""

    name: str
    description: str
    max_window: timedelta | None = None  # the platform refuses longer spans (Shopee 15 d, Rakuten 63 d...)
    lookback: timedelta = timedelta(days=2)  # re-read this much before the partition for late changes
    safety_lag: timedelta = timedelta(0)  # keep the window end this far behind now (SP-API: 2 min)
    max_history: timedelta | None = None  # the platform keeps no older data (Amazon Ads ~60-95 d)
    snapshot: bool = False  # the API only returns the current state (inventory): the window is ignored


@dataclass
class Page:
    records: list[RawRecord] = field(default_factory=list)
    request_id: str | None = None


class Client(Protocol):
    platform: str  # the raw-lake folder: raw/<platform>/<entity>
    entities: Mapping[str, EntitySpec]
    http: HttpClient

    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]: ...


def unknown_entity(platform: str, entity: str, known: Mapping[str, EntitySpec]) -> ValueError:
    return ValueError(f"unknown {platform} entity {entity!r}; known: {', '.join(known)}")
