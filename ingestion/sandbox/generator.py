"""Seeded data generator behind the sandbox marketplaces.

Every shop-day is generated from its own RNG (seeded by seed, shop and date), so any day can be
recomputed on its own: the sandbox serves a range, and a test recomputes one day to check a KPI.
Each order carries its whole timeline (placed, discounted, cancelled, refunded later); the sandbox
shows a timeline only up to its clock, as a real platform would at that moment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo

import holidays

# Currencies without minor units (ISO 4217 exponent 0).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "TWD", "HUF"})


@dataclass(frozen=True)
class SandboxShop:
    shop_id: str
    name: str
    country: str
    currency: str
    timezone: str
    marketplace: str
    region: str
    base_daily_orders: float
    price_scale: float = 1.0
    owner: str = ""


# The demo's shops: a US, EU (two currencies) and JP footprint, as cross-border sellers run them.
DEMO_SHOPS: tuple[SandboxShop, ...] = (
    SandboxShop("acme-us", "Acme Outdoor US", "US", "USD", "America/New_York", "shopify-us", "NA", 38, 1.0, "alice"),
    SandboxShop("acme-de", "Acme Outdoor DE", "DE", "EUR", "Europe/Berlin", "shopify-eu", "EU", 22, 0.95, "bruno"),
    SandboxShop("acme-uk", "Acme Outdoor UK", "GB", "GBP", "Europe/London", "shopify-eu", "EU", 16, 0.82, "bruno"),
    SandboxShop("acme-jp", "Acme Outdoor JP", "JP", "JPY", "Asia/Tokyo", "shopify-jp", "APAC", 27, 150.0, "chika"),
)


@dataclass(frozen=True)
class Incident:
    """A product recall: on `day` (local) the shop refunds most recent orders of one SKU at once."""

    shop_id: str
    day: date
    sku: str
    share: float = 0.8  # share of affected orders refunded
    reach_days: int = 14  # orders of the last N days are affected


@dataclass(frozen=True)
class Product:
    product_id: int
    variant_id: int
    sku: str
    title: str
    base_price_usd: Decimal


CATALOG: tuple[Product, ...] = tuple(
    Product(7_000_000 + i, 41_000_000 + i, sku, title, Decimal(price))
    for i, (sku, title, price) in enumerate(
        [
            ("TENT-2P", "Trail tent 2P", "189.00"),
            ("TENT-4P", "Family tent 4P", "329.00"),
            ("BAG-30L", "Daypack 30L", "79.90"),
            ("BAG-55L", "Trekking pack 55L", "159.00"),
            ("LAMP-USB", "USB camp lamp", "24.50"),
            ("STOVE-GAS", "Gas stove", "49.00"),
            ("MUG-TI", "Titanium mug", "19.90"),
            ("SOCK-WOOL", "Merino socks", "14.00"),
            ("JKT-RAIN", "Rain jacket", "129.00"),
            ("MAT-AIR", "Air sleeping mat", "89.00"),
        ]
    )
)


@dataclass(frozen=True)
class LineItem:
    line_item_id: int
    product: Product
    quantity: int
    price: Decimal  # unit price before discounts, shop currency
    total_discount: Decimal  # discount allocated to the whole line, shop currency


@dataclass(frozen=True)
class RefundLine:
    line_item_id: int
    quantity: int
    subtotal: Decimal  # refunded item amount after its discount share, excl. tax and shipping


@dataclass(frozen=True)
class Refund:
    refund_id: int
    created_at: datetime  # when the refund was recorded (UTC)
    processed_at: datetime  # when money moved (UTC); Shopify allows it to be earlier (back-dated)
    lines: tuple[RefundLine, ...]
    note: str

    @property
    def amount(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class Customer:
    customer_id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    address1: str
    city: str
    zip: str


@dataclass(frozen=True)
class Order:
    order_id: int
    shop: SandboxShop
    number: int
    created_at: datetime  # UTC
    lines: tuple[LineItem, ...]
    shipping: Decimal
    tax: Decimal
    is_test: bool
    customer: Customer
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    refunds: tuple[Refund, ...] = field(default=())
    fulfilled_at: datetime | None = None

    @property
    def currency(self) -> str:
        return self.shop.currency

    @property
    def subtotal(self) -> Decimal:
        return sum((li.price * li.quantity - li.total_discount for li in self.lines), Decimal("0"))

    @property
    def total_discounts(self) -> Decimal:
        return sum((li.total_discount for li in self.lines), Decimal("0"))

    @property
    def total_line_items_price(self) -> Decimal:
        return sum((li.price * li.quantity for li in self.lines), Decimal("0"))

    @property
    def total_price(self) -> Decimal:
        return self.subtotal + self.shipping + self.tax

    def events_until(self, clock: datetime) -> list[datetime]:
        """Timestamps of the changes visible at `clock` (their max is the order's updated_at)."""
        events = [self.created_at]
        for ts in (self.cancelled_at, self.fulfilled_at):
            if ts is not None and ts <= clock:
                events.append(ts)
        events.extend(r.created_at for r in self.refunds if r.created_at <= clock)
        return events

    def updated_at(self, clock: datetime) -> datetime:
        return max(self.events_until(clock))

    def visible_refunds(self, clock: datetime) -> tuple[Refund, ...]:
        return tuple(r for r in self.refunds if r.created_at <= clock)


def _sec(value: datetime) -> datetime:
    """Platforms keep whole seconds."""
    return value.replace(microsecond=0)


def money(value: Decimal, currency: str) -> Decimal:
    exp = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return value.quantize(exp, rounding=ROUND_HALF_UP)


@cache
def _us_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("US", years=year)


def seasonal_factor(day: date, shop: SandboxShop) -> float:
    """Demand multiplier for a local day: weekly cycle, then the seller's peak events."""
    factor = {0: 0.9, 1: 0.95, 2: 1.0, 3: 1.0, 4: 1.1, 5: 1.25, 6: 1.2}[day.weekday()]
    if day.month == 12 and day.day <= 22:
        factor *= 1.5  # Christmas gifting
    if day.month in (6, 7, 8):
        factor *= 1.2  # outdoor season
    thanksgiving = next((d for d, name in _us_holidays(day.year).items() if name.startswith("Thanksgiving")), None)
    if thanksgiving is not None:
        black_friday = thanksgiving + timedelta(days=1)
        if black_friday <= day <= black_friday + timedelta(days=3):
            factor *= 3.0  # Black Friday to Cyber Monday
    if shop.country == "JP" and day.month == 5 and 3 <= day.day <= 5:
        factor *= 1.8  # Golden Week
    if day.month == 11 and day.day == 11:
        factor *= 2.0  # 11.11
    if day.month == 7 and 8 <= day.day <= 9:
        factor *= 2.2  # Prime Day draws traffic to every channel
    return factor


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the small daily means used here.
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def shop_index(shop: SandboxShop, shops: tuple[SandboxShop, ...]) -> int:
    return next(i for i, s in enumerate(shops) if s.shop_id == shop.shop_id)


def _recall_refund(
    order_id: int,
    created_at: datetime,
    lines: list[LineItem],
    shop: SandboxShop,
    day: date,
    incidents: tuple[Incident, ...],
) -> Refund | None:
    for incident in incidents:
        if incident.shop_id != shop.shop_id or not (
            incident.day - timedelta(days=incident.reach_days) <= day < incident.day
        ):
            continue
        recalled = [li for li in lines if li.product.sku == incident.sku]
        # its own RNG, so that an incident changes nothing else in the shop's data
        if not recalled or random.Random(f"recall:{order_id}").random() >= incident.share:
            continue
        at = datetime.combine(incident.day, time(11), ZoneInfo(shop.timezone)).astimezone(UTC)
        if at <= created_at:
            continue
        return Refund(
            refund_id=order_id * 10 + 6,
            created_at=at,
            processed_at=at,
            lines=tuple(
                RefundLine(li.line_item_id, li.quantity, li.price * li.quantity - li.total_discount) for li in recalled
            ),
            note=f"recall {incident.sku}",
        )
    return None


def orders_for_day(
    seed: int, shop: SandboxShop, shop_no: int, day: date, incidents: tuple[Incident, ...] = ()
) -> list[Order]:
    """Every order placed on `day` in the shop's local calendar, with its full future timeline."""
    rng = random.Random(f"{seed}:{shop.shop_id}:{day.isoformat()}")
    tz = ZoneInfo(shop.timezone)
    n = _poisson(rng, shop.base_daily_orders * seasonal_factor(day, shop))
    day_start = datetime.combine(day, time(0), tz)
    orders: list[Order] = []
    day_no = (day - date(2020, 1, 1)).days
    for i in range(n):
        order_id = 5_000_000_000_000 + shop_no * 10_000_000_000 + day_no * 10_000 + i
        # Orders cluster in the local afternoon and evening.
        seconds = int(min(86_399, max(0, rng.gauss(15.5 * 3600, 4.5 * 3600))))
        created_at = (day_start + timedelta(seconds=seconds)).astimezone(UTC)
        lines = []
        for j, product in enumerate(rng.sample(CATALOG, k=rng.choice((1, 1, 1, 2, 2, 3)))):
            qty = rng.choice((1, 1, 1, 1, 2, 2, 3))
            price = money(product.base_price_usd * Decimal(str(shop.price_scale)), shop.currency)
            discount = Decimal("0")
            if rng.random() < 0.15:
                discount = money(price * qty * Decimal("0.10"), shop.currency)
            lines.append(LineItem(order_id * 10 + j, product, qty, price, discount))
        subtotal = sum((li.price * li.quantity - li.total_discount for li in lines), Decimal("0"))
        shipping = money(Decimal("6.90") * Decimal(str(shop.price_scale)), shop.currency)
        if subtotal >= money(Decimal("100") * Decimal(str(shop.price_scale)), shop.currency):
            shipping = Decimal("0")  # free shipping over the threshold
        tax = money(subtotal * Decimal("0.08"), shop.currency)
        is_test = rng.random() < 0.005
        customer = Customer(
            customer_id=9_000_000_000 + rng.randrange(1, 400_000),
            email=f"buyer{rng.randrange(1, 10**6)}@example.com",
            first_name=rng.choice(("Ana", "Ben", "Chen", "Dora", "Emil", "Fumi", "Gus", "Hana")),
            last_name=rng.choice(("Schmidt", "Tanaka", "Smith", "Rossi", "Dubois", "Sato")),
            phone=f"+1-555-{rng.randrange(1000, 9999)}",
            address1=f"{rng.randrange(1, 999)} Main St",
            city=rng.choice(("Springfield", "Osaka", "Leeds", "Köln")),
            zip=f"{rng.randrange(10000, 99999)}",
        )
        cancelled_at = cancel_reason = None
        fulfilled_at = None
        refunds: list[Refund] = []
        if rng.random() < 0.02:
            cancelled_at = _sec(created_at + timedelta(hours=rng.uniform(0.5, 40)))
            cancel_reason = rng.choice(("customer", "inventory", "fraud"))
            refunds.append(
                Refund(
                    refund_id=order_id * 10 + 7,
                    created_at=cancelled_at,
                    processed_at=cancelled_at,
                    lines=tuple(
                        RefundLine(li.line_item_id, li.quantity, li.price * li.quantity - li.total_discount)
                        for li in lines
                    ),
                    note="cancelled",
                )
            )
        else:
            fulfilled_at = _sec(created_at + timedelta(hours=rng.uniform(4, 70)))
            recall = _recall_refund(order_id, created_at, lines, shop, day, incidents)
            if recall is not None:
                refunds.append(recall)
            if rng.random() < 0.08 and recall is None:
                line = rng.choice(lines)
                qty = rng.randint(1, line.quantity)
                refunded = money(
                    (line.price * line.quantity - line.total_discount) * qty / line.quantity, shop.currency
                )
                refund_created = _sec(created_at + timedelta(days=rng.uniform(3, 28)))
                backdated = rng.random() < 0.1
                refunds.append(
                    Refund(
                        refund_id=order_id * 10 + 8,
                        created_at=refund_created,
                        processed_at=refund_created - timedelta(days=1) if backdated else refund_created,
                        lines=(RefundLine(line.line_item_id, qty, refunded),),
                        note=rng.choice(("damaged", "wrong size", "not as described", "changed mind")),
                    )
                )
        orders.append(
            Order(
                order_id=order_id,
                shop=shop,
                number=1000 + day_no * 100 + i,
                created_at=created_at,
                lines=tuple(lines),
                shipping=shipping,
                tax=tax,
                is_test=is_test,
                customer=customer,
                cancelled_at=cancelled_at,
                cancel_reason=cancel_reason,
                refunds=tuple(refunds),
                fulfilled_at=fulfilled_at,
            )
        )
    return orders


@dataclass
class SandboxData:
    """Orders of several shops over a range of local days, indexed for the sandbox servers."""

    seed: int
    shops: tuple[SandboxShop, ...]
    start: date
    end: date  # inclusive local day
    incidents: tuple[Incident, ...] = ()
    orders_by_shop: dict[str, list[Order]] = field(default_factory=dict)

    @classmethod
    def generate(
        cls,
        seed: int,
        start: date,
        end: date,
        shops: tuple[SandboxShop, ...] = DEMO_SHOPS,
        incidents: tuple[Incident, ...] = (),
    ) -> SandboxData:
        data = cls(seed=seed, shops=shops, start=start, end=end, incidents=incidents)
        for no, shop in enumerate(shops):
            orders: list[Order] = []
            day = start
            while day <= end:
                orders.extend(orders_for_day(seed, shop, no, day, incidents))
                day += timedelta(days=1)
            data.orders_by_shop[shop.shop_id] = orders
        return data

    def shop(self, shop_id: str) -> SandboxShop:
        return next(s for s in self.shops if s.shop_id == shop_id)

    def order_count(self) -> int:
        return sum(len(v) for v in self.orders_by_shop.values())
