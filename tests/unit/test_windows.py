from datetime import UTC, datetime, timedelta

import pytest

from ingestion.windows import Window, slice_window, sync_window


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def test_lookback_widens_the_start():
    w = sync_window(t(10), t(11), timedelta(days=2), now=t(20))
    assert (w.start, w.end) == (t(8), t(11))


def test_end_is_clipped_at_now_minus_safety_lag():
    w = sync_window(t(10), t(11), timedelta(0), now=t(10, 12), safety_lag=timedelta(minutes=2))
    assert w.end == t(10, 12) - timedelta(minutes=2)


def test_future_partition_gives_no_window():
    assert sync_window(t(10), t(11), timedelta(0), now=t(9)) is None


def test_slices_are_contiguous_and_bounded():
    pieces = list(slice_window(Window(t(1), t(20, 6)), timedelta(days=7)))
    assert [p.start for p in pieces] == [t(1), t(8), t(15)]
    assert pieces[-1].end == t(20, 6)
    assert all(p.end - p.start <= timedelta(days=7) for p in pieces)
    assert list(slice_window(Window(t(1), t(2)), None)) == [Window(t(1), t(2))]


def test_naive_or_empty_windows_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="empty"):
        Window(t(2), t(1))
