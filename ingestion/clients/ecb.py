"""ECB euro foreign exchange reference rates (the historical CSV in a zip).

Rates are quoted per 1 EUR and published on TARGET business days only; the warehouse carries the
last published rate forward over weekends and holidays (in dbt, not here).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import requests

from ingestion.clients.base import EntitySpec, Page, unknown_entity
from ingestion.errors import BadPayload
from ingestion.http import HttpClient, RetryPolicy
from ingestion.lake import RawRecord
from ingestion.windows import Window

HIST_PATH = "/stats/eurofxref/eurofxref-hist.zip"


def _unzip(response: requests.Response) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
            return zf.read(zf.namelist()[0]).decode("utf-8")
    except (zipfile.BadZipFile, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a readable zip: {exc}") from exc


def parse_hist_csv(text: str) -> Iterator[tuple[date, str, str]]:
    """Yield (rate date, currency, rate per EUR) for every published cell; blanks and N/A skipped."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    if not header or header[0] != "Date":
        raise BadPayload(f"ECB history: first column is {header[:1]}, expected 'Date'")
    for line_no, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError as exc:
            raise BadPayload(f"ECB history line {line_no}: bad date {row[0]!r}") from exc
        for currency, cell in zip(header[1:], row[1:], strict=False):
            cell = cell.strip()
            if currency and cell and cell != "N/A":
                yield day, currency, cell


ENTITIES = {
    "rates": EntitySpec(
        "rates",
        "ECB euro reference rates, one record per date and currency.",
        # Orders come back long after their day (Rakuten's 30-day re-scan, refunds weeks later): their
        # order day needs a rate too, so FX re-lands two months (a few thousand small records).
        lookback=timedelta(days=62),
    )
}


class EcbClient:
    platform = "ecb"
    entities = ENTITIES

    def __init__(self, base_url: str, retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = HttpClient(platform=self.platform, retry=retry or RetryPolicy())

    def _download(self) -> str:
        text, _ = self.http.request("GET", self.base_url + HIST_PATH, operation="eurofxref-hist", parse=_unzip)
        return text  # type: ignore[return-value]

    def iter_pages(self, entity: str, window: Window) -> Iterator[Page]:
        if entity != "rates":
            raise unknown_entity(self.platform, entity, self.entities)
        text = self._download()
        first, last = window.start.date(), (window.end - timedelta(microseconds=1)).date()
        rows = list(parse_hist_csv(text))
        # The rates in force at the window's start come along (the newest publication before it), so
        # that a window of weekends, holidays or a publication gap still carries a rate forward.
        in_force = max((day for day, _, _ in rows if day < first), default=None)
        records = [
            RawRecord(
                record_id=f"{day.isoformat()}:{currency}",
                updated_at=datetime.combine(day, time(16), UTC),
                payload={"rate_date": day.isoformat(), "base_currency": "EUR", "currency": currency, "rate": rate},
            )
            for day, currency, rate in rows
            if first <= day <= last or day == in_force
        ]
        yield Page(records, None)
