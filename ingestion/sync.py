"""Run one sync attempt: pages from a client into the raw lake, one sync-log row whatever happens."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ingestion.clients.base import Client
from ingestion.errors import InternalError, SyncError
from ingestion.lake import RawLake, RawRecord, new_sync_id
from ingestion.sync_log import SyncAttempt, SyncLog
from ingestion.windows import Window, slice_window

logger = logging.getLogger(__name__)

FLUSH_EVERY = 5_000  # records per Parquet part: bounds memory, and an interrupted sync keeps its parts


@dataclass
class SyncResult:
    attempt: SyncAttempt
    files: list[str]

    @property
    def ok(self) -> bool:
        return self.attempt.status == "success"


def _record(log: SyncLog, attempt: SyncAttempt, files: list[str]) -> SyncResult:
    """Every attempt, good or bad, ends here: one sync-log row and one progress line."""
    log.append(attempt)
    logger.info(
        "%s/%s %s: %s, %d rows, %d pages, %d requests (%d throttled, %d retried) in %.1fs%s",
        attempt.platform,
        attempt.entity,
        attempt.store_id,
        attempt.status,
        attempt.rows,
        attempt.pages,
        attempt.requests,
        attempt.throttled,
        attempt.retries,
        attempt.duration_s,
        f" - {attempt.error_message}" if attempt.error_message else "",
    )
    return SyncResult(attempt, files)


def record_failure(
    *, platform: str, store_id: str, entity: str, window: Window, log: SyncLog, error: SyncError
) -> SyncResult:
    """A failed attempt that never reached the API (e.g. its credentials are not configured)."""
    now = datetime.now(UTC)
    attempt = SyncAttempt(
        sync_id=new_sync_id(),
        platform=platform,
        store_id=store_id,
        entity=entity,
        window_start=window.start,
        window_end=window.end,
        started_at=now,
        finished_at=now,
        status="failed",
        error_class=error.error_class,
        error_message=str(error),
    )
    return _record(log, attempt, [])


def run_sync(
    client: Client,
    *,
    store_id: str,
    entity: str,
    window: Window,
    lake: RawLake,
    log: SyncLog,
    sync_id: str | None = None,
) -> SyncResult:
    """Sync `entity` of one store for `window`; never raises SyncError, records it instead.

    Records are flushed to the lake in parts as they arrive. A failure midway leaves the parts
    already written (they are valid records, and dbt dedupes), and the attempt is logged as failed
    so the window is synced again; the retry lands the same records again without double counting.
    """
    sync_id = sync_id or new_sync_id()
    started = datetime.now(UTC)
    stats_before = (client.http.stats.requests, client.http.stats.retries, client.http.stats.throttled)
    buffer: list[RawRecord] = []
    files: list[str] = []
    rows = pages = part = 0
    error: SyncError | None = None

    def flush() -> None:
        nonlocal part
        path = lake.write(client.platform, entity, store_id, buffer, sync_id, part=part)
        if path is not None:
            files.append(str(path))
            part += 1
        buffer.clear()

    lake.ensure_entity(client.platform, entity)
    spec = client.entities[entity]
    try:
        for piece in [window] if spec.snapshot else slice_window(window, spec.max_window):
            for page in client.iter_pages(entity, piece):
                pages += 1
                rows += len(page.records)
                buffer.extend(page.records)
                if len(buffer) >= FLUSH_EVERY:
                    flush()
        flush()
    except SyncError as exc:
        flush()
        error = exc
    except Exception as exc:
        flush()
        error = InternalError(f"{type(exc).__name__}: {exc}")
    stats = client.http.stats
    attempt = SyncAttempt(
        sync_id=sync_id,
        platform=client.platform,
        store_id=store_id,
        entity=entity,
        window_start=window.start,
        window_end=window.end,
        started_at=started,
        finished_at=datetime.now(UTC),
        status="failed" if error else "success",
        rows=rows,
        pages=pages,
        requests=stats.requests - stats_before[0],
        retries=stats.retries - stats_before[1],
        throttled=stats.throttled - stats_before[2],
        error_class=error.error_class if error else None,
        error_message=str(error) if error else None,
        http_status=error.http_status if error else stats.last_status,
        request_id=error.request_id if error else stats.last_request_id,
    )
    return _record(log, attempt, files)
