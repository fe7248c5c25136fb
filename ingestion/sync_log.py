"""The sync log: one small JSON file per sync attempt, good or bad, append-only.

One file per attempt (written atomically) lets many stores sync in parallel without a shared
writer; dbt reads the folder as a table (`read_json`) to build sync health.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from ingestion.lake import atomic_write_bytes


@dataclass
class SyncAttempt:
    sync_id: str
    platform: str
    store_id: str
    entity: str
    window_start: datetime
    window_end: datetime
    started_at: datetime
    finished_at: datetime
    status: str  # success | failed
    rows: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    error_class: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    request_id: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_json(self) -> dict:
        row = asdict(self)
        for key in ("window_start", "window_end", "started_at", "finished_at"):
            row[key] = row[key].isoformat()
        row["duration_s"] = round(self.duration_s, 3)
        return row


class SyncLog:
    def __init__(self, lake_root: Path | str) -> None:
        self.root = Path(lake_root) / "_sync_log"

    def append(self, attempt: SyncAttempt) -> Path:
        path = self.root / attempt.started_at.strftime("%Y-%m-%d") / f"{attempt.sync_id}.json"
        atomic_write_bytes(path, json.dumps(attempt.to_json()).encode())
        return path

    def entries(self) -> list[dict]:
        return sorted(
            (json.loads(p.read_text()) for p in self.root.rglob("*.json")),
            key=lambda r: r["started_at"],
        )
