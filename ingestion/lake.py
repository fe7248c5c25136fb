"""The raw lake: append-only Parquet files, one JSON payload per record plus metadata columns.

Layout: `<root>/raw/<platform>/<entity>/store_id=<store>/<loaded date>/<sync_id>-<part>.parquet`.
Each file is written under a hidden temporary name and renamed into place, so readers (dbt)
never see half a file. Nothing is ever updated or deleted in place: a re-sync writes the records
again and dbt keeps the latest version of each (`_record_id`, `_record_updated_at`, `_loaded_at`).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

RAW_SCHEMA = pa.schema(
    [
        pa.field("_platform", pa.string(), nullable=False),
        pa.field("_store_id", pa.string(), nullable=False),
        pa.field("_entity", pa.string(), nullable=False),
        pa.field("_record_id", pa.string(), nullable=False),
        pa.field("_record_updated_at", pa.timestamp("us", tz="UTC")),
        pa.field("_sync_id", pa.string(), nullable=False),
        pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("_payload", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class RawRecord:
    record_id: str
    updated_at: datetime | None
    payload: dict


def new_sync_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:10]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RawLake:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def entity_dir(self, platform: str, entity: str) -> Path:
        return self.root / "raw" / platform / entity

    def glob(self, platform: str, entity: str) -> str:
        return str(self.entity_dir(platform, entity) / "**" / "*.parquet")

    def ensure_entity(self, platform: str, entity: str) -> None:
        """Write a zero-row file with the lake schema so that readers of a new entity find a table."""
        marker = self.entity_dir(platform, entity) / "_schema.parquet"
        if not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            tmp = marker.with_name(f".{marker.name}.{uuid.uuid4().hex[:6]}.tmp")
            pq.write_table(RAW_SCHEMA.empty_table(), tmp)
            os.replace(tmp, marker)

    def write(
        self,
        platform: str,
        entity: str,
        store_id: str,
        records: Sequence[RawRecord],
        sync_id: str,
        part: int = 0,
        loaded_at: datetime | None = None,
    ) -> Path | None:
        """Append one batch as a new Parquet file; returns its path (None for an empty batch)."""
        if not records:
            return None
        self.ensure_entity(platform, entity)
        loaded_at = loaded_at or datetime.now(UTC)
        table = pa.Table.from_pylist(
            [
                {
                    "_platform": platform,
                    "_store_id": store_id,
                    "_entity": entity,
                    "_record_id": r.record_id,
                    "_record_updated_at": r.updated_at,
                    "_sync_id": sync_id,
                    "_loaded_at": loaded_at,
                    "_payload": json.dumps(r.payload, separators=(",", ":"), ensure_ascii=False),
                }
                for r in records
            ],
            schema=RAW_SCHEMA,
        )
        path = (
            self.entity_dir(platform, entity)
            / f"store_id={store_id}"
            / loaded_at.strftime("%Y-%m-%d")
            / f"{sync_id}-{part:04d}.parquet"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
        return path

    def files(self, platform: str, entity: str) -> list[Path]:
        return sorted(p for p in self.entity_dir(platform, entity).rglob("*.parquet") if p.name != "_schema.parquet")

    def read(self, platform: str, entity: str, sync_ids: Iterable[str] | None = None) -> pa.Table:
        """Every stored version (or those of the given syncs); for checks and tests, not for marts."""
        wanted = None if sync_ids is None else set(sync_ids)
        tables = [
            pq.read_table(p, schema=RAW_SCHEMA)
            for p in self.files(platform, entity)
            if wanted is None or p.name.rsplit("-", 1)[0] in wanted
        ]
        return pa.concat_tables(tables) if tables else RAW_SCHEMA.empty_table()
