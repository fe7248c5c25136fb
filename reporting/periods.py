"""Review periods: an ISO week (Monday to Sunday) or a calendar month, as the marts define them."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Grain = Literal["week", "month"]
GRAINS: tuple[Grain, ...] = ("week", "month")


@dataclass(frozen=True)
class Period:
    grain: Grain
    start: date

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"period grain {self.grain!r} is not one of {', '.join(GRAINS)}")
        if self.grain == "week" and self.start.isoweekday() != 1:
            raise ValueError(f"a week starts on a Monday; {self.start} is a {self.start:%A}")
        if self.grain == "month" and self.start.day != 1:
            raise ValueError(f"a month starts on its first day, not {self.start}")

    @classmethod
    def containing(cls, grain: Grain, day: date) -> Period:
        if grain == "week":
            return cls(grain, day - timedelta(days=day.isoweekday() - 1))
        return cls(grain, day.replace(day=1))

    @classmethod
    def last_complete(cls, grain: Grain, today: date) -> Period:
        """The newest period that ended before `today`."""
        return cls.containing(grain, cls.containing(grain, today).start - timedelta(days=1))

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        if self.grain == "week":
            return self.start + timedelta(days=6)
        return self.start.replace(day=calendar.monthrange(self.start.year, self.start.month)[1])

    def previous(self) -> Period:
        return Period.containing(self.grain, self.start - timedelta(days=1))

    def trailing(self, count: int) -> list[Period]:
        """The `count` periods ending with this one, oldest first."""
        periods = [self]
        while len(periods) < count:
            periods.append(periods[-1].previous())
        return periods[::-1]

    @property
    def label(self) -> str:
        if self.grain == "week":
            year, week, _ = self.start.isocalendar()
            return f"week {year}-W{week:02d} ({self.start:%d %b} - {self.end:%d %b %Y})"
        return f"{self.start:%B %Y}"

    @property
    def short_label(self) -> str:
        return f"{self.start:%d %b}" if self.grain == "week" else f"{self.start:%b %y}"

    @property
    def slug(self) -> str:
        return f"{self.grain}-{self.start.isoformat() if self.grain == 'week' else f'{self.start:%Y-%m}'}"
