"""Seeded data generator behind the sandbox marketplaces.

Every shop-day is generated from its own RNG (seeded by seed, shop and date), so any day can be
recomputed on its own: the sandbox serves a range, and a test recomputes one day to check a KPI.
Each order carries its whole timeline (placed, discounted, cancelled, refunded later); the sandbox
shows a timeline only up to its clock, as a real platform would at that moment.
"""

from __future__ import annotations

import random
import zlib
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
    platform: str = "shopify"
    marketplace_id: str = ""  # Amazon marketplace id (ATVPDKIKX0DER, ...)
    ads_profile_id: str = ""  # Amazon Ads profile of the same seller account, if it advertises


# The demo's Shopify shops: a US, EU (two currencies) and JP footprint.
SHOPIFY_SHOPS: tuple[SandboxShop, ...] = (
    SandboxShop("acme-us", "Acme Outdoor US", "US", "USD", "America/New_York", "shopify-us", "NA", 38, 1.0, "alice"),
    SandboxShop("acme-de", "Acme Outdoor DE", "DE", "EUR", "Europe/Berlin", "shopify-eu", "EU", 22, 0.95, "bruno"),
    SandboxShop("acme-uk", "Acme Outdoor UK", "GB", "GBP", "Europe/London", "shopify-eu", "EU", 16, 0.82, "bruno"),
    SandboxShop("acme-jp", "Acme Outdoor JP", "JP", "JPY", "Asia/Tokyo", "shopify-jp", "APAC", 27, 150.0, "chika"),
)

# The same seller's marketplace stores: Amazon (US, DE, JP; each with an Ads profile), TikTok Shop
# (US, UK), Shopee (SG, MY) and Rakuten Ichiba (two JP shops).
MARKETPLACE_SHOPS: tuple[SandboxShop, ...] = (
    SandboxShop(
        "amz-us",
        "Acme Amazon US",
        "US",
        "USD",
        "America/Los_Angeles",
        "amazon-us",
        "NA",
        14,
        1.0,
        "dana",
        platform="amazon",
        marketplace_id="ATVPDKIKX0DER",
        ads_profile_id="3311000000000001",
    ),
    SandboxShop(
        "amz-de",
        "Acme Amazon DE",
        "DE",
        "EUR",
        "Europe/Berlin",
        "amazon-de",
        "EU",
        9,
        0.95,
        "bruno",
        platform="amazon",
        marketplace_id="A1PA6795UKMFR9",
        ads_profile_id="3311000000000002",
    ),
    SandboxShop(
        "amz-jp",
        "Acme Amazon JP",
        "JP",
        "JPY",
        "Asia/Tokyo",
        "amazon-jp",
        "APAC",
        10,
        150.0,
        "chika",
        platform="amazon",
        marketplace_id="A1VC38T7YXB528",
        ads_profile_id="3311000000000003",
    ),
    SandboxShop(
        "tts-us",
        "Acme TikTok Shop US",
        "US",
        "USD",
        "America/Los_Angeles",
        "tiktok-us",
        "NA",
        12,
        0.9,
        "erin",
        platform="tiktok",
    ),
    SandboxShop(
        "tts-uk",
        "Acme TikTok Shop UK",
        "GB",
        "GBP",
        "Europe/London",
        "tiktok-uk",
        "EU",
        7,
        0.8,
        "erin",
        platform="tiktok",
    ),
    SandboxShop(
        "shopee-sg",
        "Acme Shopee SG",
        "SG",
        "SGD",
        "Asia/Singapore",
        "shopee-sg",
        "APAC",
        9,
        1.35,
        "farah",
        platform="shopee",
    ),
    SandboxShop(
        "shopee-my",
        "Acme Shopee MY",
        "MY",
        "MYR",
        "Asia/Kuala_Lumpur",
        "shopee-my",
        "APAC",
        7,
        4.4,
        "farah",
        platform="shopee",
    ),
    SandboxShop(
        "rakuten-jp",
        "Acme Rakuten Ichiba",
        "JP",
        "JPY",
        "Asia/Tokyo",
        "rakuten-jp",
        "APAC",
        10,
        150.0,
        "chika",
        platform="rakuten",
    ),
    SandboxShop(
        "rakuten-camp",
        "Acme Camp Rakuten",
        "JP",
        "JPY",
        "Asia/Tokyo",
        "rakuten-jp",
        "APAC",
        6,
        145.0,
        "chika",
        platform="rakuten",
    ),
)

DEMO_SHOPS: tuple[SandboxShop, ...] = SHOPIFY_SHOPS + MARKETPLACE_SHOPS
PLATFORMS: tuple[str, ...] = ("shopify", "amazon", "tiktok", "shopee", "rakuten")


@dataclass(frozen=True)
class Incident:
    """A product recall: on `day` (local) the shop refunds most recent orders of one SKU at once."""

    shop_id: str
    day: date
    sku: str
    share: float = 0.8  # share of affected orders refunded
    reach_days: int = 14  # orders of the last N days are affected


@dataclass(frozen=True)
class Brushing:
    """Fake orders placed to lift a listing's rank ("brushing"): on `day` (local) one buyer places
    `orders` one-unit orders of one SKU at a token price. They must never count in a KPI."""

    shop_id: str
    day: date
    sku: str = "MUG-TI"
    orders: int = 6
    token_price_usd: Decimal = Decimal("1.00")


@dataclass(frozen=True)
class Product:
    product_id: int
    variant_id: int
    sku: str
    title: str
    base_price_usd: Decimal

    @property
    def asin(self) -> str:
        return f"B0{self.product_id % 100_000_000:08d}"[:10]

    @property
    def inventory_item_id(self) -> int:
        return 43_000_000 + self.variant_id % 1_000_000


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


CAMPAIGNS: tuple[tuple[int, str, float, float], ...] = (
    # (campaign number, name, click-through rate, cost per click in USD); with 3-6% of clicks
    # converting, ACoS lands around 10-30%, as for outdoor gear on Amazon
    (1, "SP Auto - all products", 0.004, 1.20),
    (2, "SP Exact - tents", 0.006, 2.10),
    (3, "SP Broad - backpacks", 0.003, 1.50),
)

LIVE_HOSTS: tuple[str, ...] = ("mika", "leo", "sara")

# Share of a day's final attributed sales that Amazon Ads reports N days later (attribution back-fill).
AD_MATURITY: tuple[float, ...] = (0.6, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)


@dataclass(frozen=True)
class AdCampaignDay:
    campaign_id: int
    campaign_name: str
    day: date  # in the profile's (the shop's) time zone
    impressions: int
    clicks: int
    cost: Decimal
    purchases: int  # final 7-day attributed orders
    sales: Decimal  # final 7-day attributed sales
    units: int
    currency: str
    timezone: str

    def as_seen(self, clock: datetime) -> tuple[int, Decimal, int]:
        """(purchases, sales, units) as the report shows them at `clock`: attribution fills in over
        a week after the day, so re-reading a look-back changes recent days."""
        day_end = datetime.combine(self.day + timedelta(days=1), time(0), ZoneInfo(self.timezone))
        age = (clock - day_end).days
        if age >= len(AD_MATURITY):
            return self.purchases, self.sales, self.units
        share = Decimal(str(AD_MATURITY[max(0, age)]))
        return int(self.purchases * share), money(self.sales * share, self.currency), int(self.units * share)


@dataclass(frozen=True)
class AsinTraffic:
    product: Product
    day: date
    sessions: int
    page_views: int
    buy_box_pct: float
    units_ordered: int
    ordered_sales: Decimal
    order_items: int
    currency: str


@dataclass(frozen=True)
class InventoryLevel:
    product: Product
    fulfillable: int
    reserved: int
    inbound: int
    unsellable: int


@dataclass(frozen=True)
class LiveSession:
    live_id: str
    host: str
    title: str
    start: datetime  # UTC
    end: datetime
    viewers: int
    product_impressions: int
    product_clicks: int
    gmv: Decimal  # orders placed during the stream and attributed to it
    orders: int
    currency: str


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
    is_brushing: bool = False  # a fake order (see Brushing); the platform shows it like any other

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

    # -- derived facts; each from its own RNG so that adding one changes nothing else ------------
    @property
    def paid_at(self) -> datetime:
        """Payment captured a few minutes after the order was placed."""
        return _sec(self.created_at + timedelta(seconds=random.Random(f"pay:{self.order_id}").randint(20, 900)))

    @property
    def platform_fulfilled(self) -> bool:
        """Fulfilled by the platform (Amazon FBA); everything else ships from the seller."""
        return self.shop.platform == "amazon" and random.Random(f"afn:{self.order_id}").random() < 0.7

    @property
    def confirmed_at(self) -> datetime:
        """When the total became final (Rakuten shows it as unconfirmed, -99999, until then)."""
        return _sec(self.created_at + timedelta(hours=random.Random(f"confirm:{self.order_id}").uniform(1, 6)))

    @property
    def shipping_waived_at(self) -> datetime | None:
        """A later edit: the shop waives the shipping fee (Rakuten orders are edited after confirmation)."""
        rng = random.Random(f"edit:{self.order_id}")
        if self.shipping == 0 or rng.random() >= 0.1:
            return None
        return _sec(self.confirmed_at + timedelta(days=rng.uniform(1, 3)))

    def shipping_at(self, clock: datetime) -> Decimal:
        waived = self.shipping_waived_at
        return Decimal("0") if waived is not None and waived <= clock else self.shipping

    def is_ad_attributed(self) -> bool:
        """About a third of orders follow an ad click (advertised shops only)."""
        return bool(self.shop.ads_profile_id) and random.Random(f"ad:{self.order_id}").random() < 0.35

    @property
    def units(self) -> int:
        return sum(li.quantity for li in self.lines)

    @property
    def counts_in_kpis(self) -> bool:
        return not self.is_test and self.cancelled_at is None and not self.is_brushing


@dataclass(frozen=True)
class Review:
    """A buyer's product review of one line of a delivered order (one review per reviewed item)."""

    review_id: int
    order: Order
    line: LineItem
    rating: int  # 1..5 stars
    created_at: datetime  # UTC
    text: str
    reply_at: datetime | None = None  # the seller's public reply, if any

    @property
    def is_negative(self) -> bool:
        return self.rating <= 2

    def updated_at(self, clock: datetime) -> datetime:
        return self.reply_at if self.reply_at is not None and self.reply_at <= clock else self.created_at


@dataclass(frozen=True)
class ChatMessage:
    message_id: int
    sender: str  # "buyer" or "seller"
    created_at: datetime  # UTC
    text: str


@dataclass(frozen=True)
class Conversation:
    """A buyer-seller chat about an order. Most are started by the buyer; some by the seller (a
    delivery notice), which the response-time KPI leaves out."""

    conversation_id: int
    order: Order
    messages: tuple[ChatMessage, ...]  # in time order

    @property
    def buyer(self) -> Customer:
        return self.order.customer

    @property
    def started_by_buyer(self) -> bool:
        return self.messages[0].sender == "buyer"

    @property
    def started_at(self) -> datetime:
        return self.messages[0].created_at

    @property
    def first_reply_at(self) -> datetime | None:
        """The seller's first message after the buyer's first message (None: unanswered)."""
        if not self.started_by_buyer:
            return None
        return next((m.created_at for m in self.messages if m.sender == "seller"), None)

    def visible(self, clock: datetime) -> tuple[ChatMessage, ...]:
        return tuple(m for m in self.messages if m.created_at <= clock)


REVIEW_TEXTS = {
    1: ("Broke after one use.", "Not as described, very disappointed.", "Arrived damaged."),
    2: ("Poor quality for the price.", "Smaller than expected.", "Took ages to arrive."),
    3: ("It's okay.", "Does the job, nothing special."),
    4: ("Good value.", "Works well, fast delivery."),
    5: ("Excellent, highly recommend!", "Perfect for camping.", "Great quality, thanks!"),
}
BUYER_QUESTIONS = ("Hi, when will my order ship?", "Is this compatible with the 55L pack?", "Can I change the size?")


def _stars(rng: random.Random, unhappy: bool) -> int:
    weights = (35, 20, 15, 15, 15) if unhappy else (5, 4, 7, 22, 62)
    return rng.choices((1, 2, 3, 4, 5), weights=weights)[0]


def reviews_of(order: Order) -> tuple[Review, ...]:
    """The reviews a delivered order receives: about one order in seven, more often (and far more
    negative) when the buyer was refunded. Its own RNG: adding reviews changes no order."""
    if not order.counts_in_kpis or order.fulfilled_at is None:
        return ()
    rng = random.Random(f"review:{order.order_id}")
    refunded = {rl.line_item_id for r in order.refunds for rl in r.lines}
    if rng.random() >= (0.45 if refunded else 0.14):
        return ()
    written = _sec(order.fulfilled_at + timedelta(days=rng.uniform(3, 14)))
    out = []
    for k, line in enumerate(order.lines):
        rating = _stars(rng, line.line_item_id in refunded)
        reply = None
        if rng.random() < (0.6 if rating <= 2 else 0.2):
            reply = written + timedelta(seconds=k + rng.randint(2 * 3600, 4 * 86400))
        out.append(
            Review(
                review_id=line.line_item_id * 10 + 3,
                order=order,
                line=line,
                rating=rating,
                created_at=written + timedelta(seconds=k),
                text=rng.choice(REVIEW_TEXTS[rating]),
                reply_at=reply,
            )
        )
    return tuple(out)


def conversation_of(order: Order) -> Conversation | None:
    """A chat about the order, if there is one: about one order in nine (half of the refunded ones).
    The seller's first reply comes after a log-normal delay (median about 3 h, a tail past 24 h),
    and about one buyer in twelve gets no reply at all."""
    if order.is_test or order.is_brushing:
        return None
    rng = random.Random(f"chat:{order.order_id}")
    if rng.random() >= (0.5 if order.refunds and order.cancelled_at is None else 0.11):
        return None
    cid = order.order_id * 10 + 5
    start = _sec(order.created_at + timedelta(hours=rng.uniform(0.2, 240)))
    messages: list[ChatMessage] = []

    def say(sender: str, at: datetime, text: str) -> datetime:
        messages.append(ChatMessage(cid * 100 + len(messages), sender, _sec(at), text))
        return _sec(at)

    if rng.random() < 0.1:
        # the seller writes first (a delivery notice); the buyer may answer
        at = say("seller", start, "Your parcel is on its way!")
        if rng.random() < 0.5:
            say("buyer", at + timedelta(minutes=rng.uniform(5, 600)), "Thanks!")
        return Conversation(cid, order, tuple(messages))
    at = say("buyer", start, rng.choice(BUYER_QUESTIONS))
    if rng.random() < 0.4:
        follow_up = f"Also, my name is {order.customer.first_name}"  # buyers do write personal data
        at = say("buyer", at + timedelta(seconds=rng.randint(30, 1800)), follow_up)
    if rng.random() < 0.08:
        return Conversation(cid, order, tuple(messages))  # never answered
    delay = timedelta(hours=rng.lognormvariate(1.1, 1.2))
    reply = say("seller", max(start + delay, at + timedelta(seconds=1)), "Thanks for asking!")
    if rng.random() < 0.5:
        at = say("buyer", reply + timedelta(minutes=rng.uniform(2, 300)), "Great, thank you.")
        if rng.random() < 0.7:
            say("seller", at + timedelta(minutes=rng.uniform(5, 400)), "You're welcome!")
    return Conversation(cid, order, tuple(messages))


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
    incidents: tuple[Incident | Brushing, ...],
) -> Refund | None:
    for incident in incidents:
        if (
            not isinstance(incident, Incident)
            or incident.shop_id != shop.shop_id
            or not (incident.day - timedelta(days=incident.reach_days) <= day < incident.day)
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
    seed: int, shop: SandboxShop, shop_no: int, day: date, incidents: tuple[Incident | Brushing, ...] = ()
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
                # 10% off per unit, so that platforms showing a per-unit price after discount agree
                discount = money(price * Decimal("0.10"), shop.currency) * qty
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
    for brushing in incidents:
        if isinstance(brushing, Brushing) and brushing.shop_id == shop.shop_id and brushing.day == day:
            orders.extend(_brushing_orders(brushing, shop, shop_no, day, day_no))
    return orders


def _brushing_orders(brushing: Brushing, shop: SandboxShop, shop_no: int, day: date, day_no: int) -> list[Order]:
    product = next(p for p in CATALOG if p.sku == brushing.sku)
    price = money(brushing.token_price_usd * Decimal(str(shop.price_scale)), shop.currency)
    start = datetime.combine(day, time(3), ZoneInfo(shop.timezone))
    buyer = Customer(
        9_999_000_000 + shop_no,
        "rank.helper@example.net",
        "Rank",
        "Helper",
        "+1-555-0100",
        "1 Warehouse Rd",
        "Springfield",
        "00001",
    )
    out = []
    for k in range(brushing.orders):
        order_id = 5_000_000_000_000 + shop_no * 10_000_000_000 + day_no * 10_000 + 9_000 + k
        created = _sec((start + timedelta(minutes=7 * k)).astimezone(UTC))
        out.append(
            Order(
                order_id=order_id,
                shop=shop,
                number=1000 + day_no * 100 + 90 + k,
                created_at=created,
                lines=(LineItem(order_id * 10, product, 1, price, Decimal("0")),),
                shipping=Decimal("0"),
                tax=money(price * Decimal("0.08"), shop.currency),
                is_test=False,
                customer=buyer,
                fulfilled_at=created + timedelta(hours=30),
                is_brushing=True,
            )
        )
    return out


@dataclass
class SandboxData:
    """Orders of several shops over a range of local days, indexed for the sandbox servers."""

    seed: int
    shops: tuple[SandboxShop, ...]
    start: date
    end: date  # inclusive local day
    incidents: tuple[Incident | Brushing, ...] = ()
    orders_by_shop: dict[str, list[Order]] = field(default_factory=dict)
    _by_day: dict[str, dict[date, list[Order]]] = field(default_factory=dict, repr=False)
    _live: dict[tuple[str, date], list[LiveSession]] = field(default_factory=dict, repr=False)
    _reviews: dict[str, dict[date, list[Review]]] = field(default_factory=dict, repr=False, compare=False)
    _chats: dict[str, dict[date, list[Conversation]]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def generate(
        cls,
        seed: int,
        start: date,
        end: date,
        shops: tuple[SandboxShop, ...] = DEMO_SHOPS,
        incidents: tuple[Incident | Brushing, ...] = (),
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

    def shops_of(self, platform: str) -> tuple[SandboxShop, ...]:
        return tuple(s for s in self.shops if s.platform == platform)

    def order_count(self) -> int:
        return sum(len(v) for v in self.orders_by_shop.values())

    def local_date(self, shop_id: str, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.shop(shop_id).timezone)).date()

    def orders_on(self, shop_id: str, day: date) -> list[Order]:
        """Orders placed on a local day (an index built once per shop)."""
        index = self._by_day.get(shop_id)
        if index is None:
            index = {}
            for order in self.orders_by_shop[shop_id]:
                index.setdefault(self.local_date(shop_id, order.created_at), []).append(order)
            self._by_day[shop_id] = index
        return index.get(day, [])

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    # -- advertising (Amazon Ads Sponsored Products) --------------------------------------------
    def ad_days(self, shop_id: str, day: date) -> list[AdCampaignDay]:
        """The day's Sponsored Products campaigns of an advertised shop, final numbers.

        Attributed sales are the orders of that day flagged as ad-attributed (7-day window), so ads
        and orders agree; the platform reveals them over a week (see `AdCampaignDay.as_seen`).
        """
        shop = self.shop(shop_id)
        if not shop.ads_profile_id:
            return []
        rng = random.Random(f"{self.seed}:ads:{shop_id}:{day.isoformat()}")
        campaigns = CAMPAIGNS
        sales = {c[0]: Decimal("0") for c in campaigns}
        orders = {c[0]: 0 for c in campaigns}
        units = {c[0]: 0 for c in campaigns}
        for order in self.orders_on(shop_id, day):
            if order.counts_in_kpis and order.is_ad_attributed():
                campaign = campaigns[order.order_id % len(campaigns)][0]
                sales[campaign] += order.subtotal
                orders[campaign] += 1
                units[campaign] += order.units
        out = []
        scale = Decimal(str(shop.price_scale))
        for campaign_id, name, ctr, cpc_usd in campaigns:
            clicks = max(orders[campaign_id] * rng.randint(16, 34), rng.randint(3, 25))
            impressions = int(clicks / ctr * rng.uniform(0.8, 1.25))
            cost = money(
                Decimal(str(cpc_usd)) * scale * clicks * Decimal(str(round(rng.uniform(0.8, 1.2), 3))), shop.currency
            )
            out.append(
                AdCampaignDay(
                    campaign_id=int(shop.ads_profile_id[-4:]) * 1_000 + campaign_id,
                    campaign_name=f"{shop.marketplace} {name}",
                    day=day,
                    impressions=impressions,
                    clicks=clicks,
                    cost=cost,
                    purchases=orders[campaign_id],
                    sales=sales[campaign_id],
                    units=units[campaign_id],
                    currency=shop.currency,
                    timezone=shop.timezone,
                )
            )
        return out

    # -- traffic (Amazon Sales and Traffic report) ----------------------------------------------
    def traffic(self, shop_id: str, day: date) -> list[AsinTraffic]:
        """Sessions, page views and Buy Box share per product for a local day; units and sales
        are those of the day's placed orders, as Amazon's report counts them."""
        shop = self.shop(shop_id)
        rng = random.Random(f"{self.seed}:traffic:{shop_id}:{day.isoformat()}")
        sold: dict[str, tuple[int, Decimal, int]] = {}
        for order in self.orders_on(shop_id, day):
            if order.is_test:
                continue
            for li in order.lines:
                u, s, n = sold.get(li.product.sku, (0, Decimal("0"), 0))
                sold[li.product.sku] = (u + li.quantity, s + li.price * li.quantity, n + 1)
        rows = []
        for product in CATALOG:
            units, sales, items = sold.get(product.sku, (0, Decimal("0"), 0))
            sessions = int(units / rng.uniform(0.08, 0.14)) + rng.randint(2, 12)
            page_views = int(sessions * rng.uniform(1.3, 1.9))
            rows.append(
                AsinTraffic(
                    product=product,
                    day=day,
                    sessions=sessions,
                    page_views=page_views,
                    buy_box_pct=round(rng.uniform(82, 100), 2),
                    units_ordered=units,
                    ordered_sales=money(sales, shop.currency),
                    order_items=items,
                    currency=shop.currency,
                )
            )
        return rows

    # -- inventory ------------------------------------------------------------------------------
    def inventory(self, shop_id: str, at: datetime) -> list[InventoryLevel]:
        """Stock per SKU at an instant: restocked every few weeks, depleted by the units sold since."""
        shop = self.shop(shop_id)
        today = self.local_date(shop_id, at)
        out = []
        for product in CATALOG:
            rng = random.Random(f"{self.seed}:stock:{shop_id}:{product.sku}")
            cycle = rng.randint(28, 48)
            offset = rng.randint(0, cycle - 1)
            daily = shop.base_daily_orders * 0.24 * rng.uniform(0.6, 1.4)
            restock = int(daily * (cycle + 12))
            age = ((today - date(2020, 1, 1)).days + offset) % cycle
            cycle_start = today - timedelta(days=age)
            sold = 0
            day = cycle_start
            while day <= today:
                for order in self.orders_on(shop_id, day):
                    if order.counts_in_kpis and order.created_at <= at:
                        sold += sum(li.quantity for li in order.lines if li.product.sku == product.sku)
                day += timedelta(days=1)
            days_to_next = cycle - age
            out.append(
                InventoryLevel(
                    product=product,
                    fulfillable=max(0, restock - sold),
                    reserved=rng.randint(0, 4),
                    inbound=restock if days_to_next <= 10 else 0,
                    unsellable=rng.randint(0, 2),
                )
            )
        return out

    # -- TikTok LIVE ----------------------------------------------------------------------------
    def live_sessions(self, shop_id: str, day: date) -> list[LiveSession]:
        """The shop's LIVE streams of a local day, with the GMV of the orders placed during them."""
        cached = self._live.get((shop_id, day))
        if cached is not None:
            return cached
        sessions = self._live[(shop_id, day)] = self._live_sessions(shop_id, day)
        return sessions

    def _live_sessions(self, shop_id: str, day: date) -> list[LiveSession]:
        shop = self.shop(shop_id)
        if shop.platform != "tiktok":
            return []
        rng = random.Random(f"{self.seed}:live:{shop_id}:{day.isoformat()}")
        tz = ZoneInfo(shop.timezone)
        sessions = []
        for k in range(rng.choice((0, 1, 1, 1, 2))):
            start = datetime.combine(day, time(13 + 4 * k), tz) + timedelta(minutes=rng.randint(0, 50))
            end = start + timedelta(minutes=rng.randint(45, 110))
            sessions.append(
                LiveSession(
                    live_id=f"7{zlib.crc32(f'{self.seed}:{shop_id}'.encode()) % 10**8:08d}{day.toordinal():06d}{k:03d}",
                    host=rng.choice(LIVE_HOSTS),
                    title=rng.choice(("Camp night deals", "Trail gear Q&A", "Flash sale", "New arrivals")),
                    start=_sec(start.astimezone(UTC)),
                    end=_sec(end.astimezone(UTC)),
                    viewers=rng.randint(300, 4000),
                    product_impressions=rng.randint(2000, 20000),
                    product_clicks=0,
                    gmv=Decimal("0"),
                    orders=0,
                    currency=shop.currency,
                )
            )
        if not sessions:
            return []
        totals = {s.live_id: (Decimal("0"), 0) for s in sessions}
        for order in self.orders_on(shop_id, day):
            session = self.live_session_of(order, sessions)
            if session is not None and order.counts_in_kpis:
                gmv, n = totals[session.live_id]
                totals[session.live_id] = (gmv + order.subtotal, n + 1)
        return [
            LiveSession(
                **{
                    **s.__dict__,
                    "gmv": totals[s.live_id][0],
                    "orders": totals[s.live_id][1],
                    "product_clicks": int(s.product_impressions * random.Random(s.live_id).uniform(0.03, 0.09)),
                }
            )
            for s in sessions
        ]

    @staticmethod
    def live_session_of(order: Order, sessions: list[LiveSession]) -> LiveSession | None:
        for session in sessions:
            if (
                session.start <= order.created_at < session.end
                and random.Random(f"live:{order.order_id}").random() < 0.7
            ):
                return session
        return None

    def content_type(self, order: Order) -> str:
        """Where a TikTok Shop order came from: LIVE, VIDEO or PRODUCT_CARD."""
        day = self.local_date(order.shop.shop_id, order.created_at)
        if self.live_session_of(order, self.live_sessions(order.shop.shop_id, day)) is not None:
            return "LIVE"
        return "VIDEO" if random.Random(f"video:{order.order_id}").random() < 0.3 else "PRODUCT_CARD"

    # -- service: product reviews and buyer chats -------------------------------------------------
    def reviews(self, shop_id: str, day: date) -> list[Review]:
        """Reviews written on a local day (of orders placed in the generated range), in time order."""
        index = self._reviews.get(shop_id)
        if index is None:
            index = {}
            for order in self.orders_by_shop[shop_id]:
                for review in reviews_of(order):
                    index.setdefault(self.local_date(shop_id, review.created_at), []).append(review)
            for rows in index.values():
                rows.sort(key=lambda r: (r.created_at, r.review_id))
            self._reviews[shop_id] = index
        return index.get(day, [])

    def all_reviews(self, shop_id: str) -> list[Review]:
        self.reviews(shop_id, self.start)
        return [r for day in sorted(self._reviews[shop_id]) for r in self._reviews[shop_id][day]]

    def conversations(self, shop_id: str, day: date) -> list[Conversation]:
        """Conversations whose first message falls on a local day, in time order."""
        index = self._chats.get(shop_id)
        if index is None:
            index = {}
            for order in self.orders_by_shop[shop_id]:
                chat = conversation_of(order)
                if chat is not None:
                    index.setdefault(self.local_date(shop_id, chat.started_at), []).append(chat)
            for rows in index.values():
                rows.sort(key=lambda c: (c.started_at, c.conversation_id))
            self._chats[shop_id] = index
        return index.get(day, [])

    def all_conversations(self, shop_id: str) -> list[Conversation]:
        self.conversations(shop_id, self.start)
        return [c for day in sorted(self._chats[shop_id]) for c in self._chats[shop_id][day]]
