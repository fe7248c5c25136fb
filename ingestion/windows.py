"""Sync windows: a partition's window widened by the source's look-back, clipped and sliced."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive
    end: datetime  # exclusive

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("sync windows must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"empty sync window: {self.start.isoformat()} .. {self.end.isoformat()}")

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def sync_window(
    start: datetime,
    end: datetime,
    lookback: timedelta,
    now: datetime,
    safety_lag: timedelta = timedelta(0),
) -> Window | None:
    """The window to request for a partition range: look back for late changes, never past now.

    `safety_lag` keeps the end behind the clock (SP-API refuses `*Before` within 2 minutes of now).
    Returns None when the whole range is still in the future.
    """
    latest = now - safety_lag
    end = min(end, latest)
    start = start - lookback
    if end <= start:
        return None
    return Window(start, end)


def slice_window(window: Window, max_span: timedelta | None) -> Iterator[Window]:
    """Cut a window into consecutive slices no longer than the platform's maximum span."""
    if max_span is None:
        yield window
        return
    cursor = window.start
    while cursor < window.end:
        nxt = min(window.end, cursor + max_span)
        yield Window(cursor, nxt)
        cursor = nxt
