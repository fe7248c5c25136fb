"""Expectations on a batch of raw records, as landed by one sync of one source entity.

Every entity gets the same core (metadata keys present, no record version twice in the batch, a
parseable payload, no `updated_at` in the future beyond a small clock skew) plus what its payload
allows: a valid currency, an amount within sane bounds, a known status, at least one line. The
entity specs below say which; `RAW_SPECS` has one per raw asset (`raw/<source>/<entity>`).

A batch is also compared with the store's recent history of that entity (`volume_against_history`):
an empty batch where the last syncs brought many records is worth a warning, never an error (a
holiday, a paused shop). That part reads the sync log, not the records, so it is plain Python.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import great_expectations.expectations as gxe
import pandas as pd
import pyarrow as pa

from expectations.runner import SuiteResult, validate

# Currencies the warehouse can convert (the ECB publishes a reference rate for each): a valid ISO 4217
# code outside this list would still break the reporting-currency columns, so it fails too.
KNOWN_CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CNY", "HKD", "SGD", "KRW", "MXN", "PLN"]
KNOWN_CURRENCIES += ["SEK", "CHF", "NOK", "DKK", "CZK", "TRY", "BRL", "INR", "THB", "MYR", "PHP", "IDR"]
# Rough units per US dollar (order of magnitude is enough): amounts are bounded in dollar terms, so a
# 74,698 JPY Rakuten order passes and a 74,698 USD one stands out as much as a 10M JPY one would.
UNITS_PER_USD = {"JPY": 150, "KRW": 1400, "IDR": 16000, "INR": 85, "THB": 35, "PHP": 58, "CZK": 23, "MXN": 18}
UNITS_PER_USD |= {c: 10 for c in ("CNY", "HKD", "SEK", "NOK", "DKK", "BRL", "MYR", "TRY", "PLN")}
MAX_RECORD_AMOUNT_USD = 100_000  # one order, refund, day of ads or live session
CLOCK_SKEW = timedelta(minutes=5)
VOLUME_HISTORY_SYNCS = 7  # successful syncs of the store and entity the batch is compared with
VOLUME_MIN_HISTORY = 3  # fewer than this: no comparison
VOLUME_MIN_MEDIAN_ROWS = 20  # "many": below this median an empty batch is unremarkable


@dataclass(frozen=True)
class RawEntitySpec:
    """What a raw entity's payload offers to check. Paths are dotted JSON paths into the payload."""

    currency: str | None = None
    currency_constant: str | None = None  # the platform has one currency and does not repeat it
    amount: str | None = None
    status: str | None = None
    statuses: tuple[str, ...] = ()
    lines: str | None = None  # a list that must not be empty (an order without lines has no GMV)
    # A value the platform documents as "not known yet" (Rakuten RMS: -9999 until the total is
    # confirmed). It is read as a missing amount, not checked against the bounds.
    amount_unconfirmed: float | None = None
    guards_kpis: bool = False  # orders, lines and refunds: a failing batch must not reach the marts


SHOPIFY_FINANCIAL = (
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
    "expired",
)
AMAZON_ORDER = (
    "PendingAvailability",
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "InvoiceUnconfirmed",
    "Canceled",
    "Unfulfillable",
)
TIKTOK_ORDER = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
TIKTOK_RETURN = (
    "RETURN_OR_REFUND_REQUEST_PENDING",
    "REFUND_OR_RETURN_REQUEST_REJECT",
    "AWAITING_BUYER_SHIP",
    "BUYER_SHIPPED_ITEM",
    "REJECT_RECEIVE_PACKAGE",
    "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "RETURN_OR_REFUND_REQUEST_CANCEL",
    "RETURN_OR_REFUND_REQUEST_COMPLETE",
    "REPLACEMENT_REQUEST_PENDING",
    "REPLACEMENT_REQUEST_REJECT",
    "REPLACEMENT_REQUEST_COMPLETE",
    "AWAITING_BUYER_RESPONSE",
)
SHOPEE_ORDER = (
    "UNPAID",
    "READY_TO_SHIP",
    "PROCESSED",
    "SHIPPED",
    "COMPLETED",
    "IN_CANCEL",
    "CANCELLED",
    "TO_RETURN",
    "INVOICE_PENDING",
    "TO_CONFIRM_RECEIVE",
    "RETRY_SHIP",
)
SHOPEE_RETURN = ("REQUESTED", "ACCEPTED", "CANCELLED", "JUDGING", "CLOSED", "PROCESSING", "SELLER_DISPUTE")
# RMS orderProgress: 100 confirmation pending ... 700 payment processed, 800 cancel, 900 done.
RAKUTEN_PROGRESS = tuple(str(n) for n in range(100, 1000, 100))

RAW_SPECS: dict[tuple[str, str], RawEntitySpec] = {
    ("shopify", "orders"): RawEntitySpec(
        currency="currency",
        amount="total_price",
        status="financial_status",
        statuses=SHOPIFY_FINANCIAL,
        lines="line_items",
        guards_kpis=True,
    ),
    ("shopify", "inventory_levels"): RawEntitySpec(),
    ("amazon", "orders"): RawEntitySpec(
        currency="OrderTotal.CurrencyCode",  # absent while Pending and after cancel: nulls are not checked
        amount="OrderTotal.Amount",
        status="OrderStatus",
        statuses=AMAZON_ORDER,
        guards_kpis=True,
    ),
    ("amazon", "financial_events"): RawEntitySpec(
        status="event_type", statuses=("ShipmentEvent", "RefundEvent"), guards_kpis=True
    ),
    ("amazon", "fba_inventory"): RawEntitySpec(),
    ("amazon", "sales_traffic"): RawEntitySpec(status="record_type", statuses=("by_date", "by_asin")),
    ("amazon_ads", "sp_campaigns"): RawEntitySpec(
        currency="campaignBudgetCurrencyCode",
        amount="cost",
        status="campaignStatus",
        statuses=("ENABLED", "PAUSED", "ARCHIVED"),
    ),
    ("tiktok", "orders"): RawEntitySpec(
        currency="payment.currency",
        amount="payment.total_amount",
        status="status",
        statuses=TIKTOK_ORDER,
        lines="line_items",
        guards_kpis=True,
    ),
    ("tiktok", "returns"): RawEntitySpec(
        currency="refund_amount.currency",
        amount="refund_amount.refund_total",
        status="return_status",
        statuses=TIKTOK_RETURN,
        lines="return_line_items",
        guards_kpis=True,
    ),
    ("tiktok", "shop_performance"): RawEntitySpec(currency="gmv.currency", amount="gmv.amount"),
    ("tiktok", "live_sessions"): RawEntitySpec(
        currency="sales_performance.gmv.currency", amount="sales_performance.gmv.amount"
    ),
    ("tiktok", "conversations"): RawEntitySpec(),
    ("shopee", "orders"): RawEntitySpec(
        currency="currency",
        amount="total_amount",
        status="order_status",
        statuses=SHOPEE_ORDER,
        lines="item_list",
        guards_kpis=True,
    ),
    ("shopee", "returns"): RawEntitySpec(
        currency="currency", amount="refund_amount", status="status", statuses=SHOPEE_RETURN, guards_kpis=True
    ),
    ("shopee", "reviews"): RawEntitySpec(),
    ("shopee", "conversations"): RawEntitySpec(),
    ("rakuten", "orders"): RawEntitySpec(
        currency_constant="JPY",
        amount="totalPrice",
        amount_unconfirmed=-9999,
        status="orderProgress",
        statuses=RAKUTEN_PROGRESS,
        guards_kpis=True,
    ),
}

COLUMNS = [
    "key",
    "store_id",
    "record_id",
    "updated_at",
    "payload_ok",
    "currency",
    "amount",
    "amount_usd",
    "status",
    "line_count",
]


def spec_for(source: str, entity: str) -> RawEntitySpec:
    return RAW_SPECS.get((source, entity), RawEntitySpec())


def _path(payload: dict, path: str | None) -> object:
    value: object = payload
    for part in (path or "").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def frame_from_raw(table: pa.Table, spec: RawEntitySpec) -> pd.DataFrame:
    """One row per raw record version, with the fields the expectations look at."""
    rows = []
    for store_id, record_id, updated_at, payload in zip(
        table.column("_store_id").to_pylist(),
        table.column("_record_id").to_pylist(),
        table.column("_record_updated_at").to_pylist(),
        table.column("_payload").to_pylist(),
        strict=True,
    ):
        try:
            record = json.loads(payload)
            ok = isinstance(record, dict)
        except (TypeError, ValueError):
            record, ok = {}, False
        record = record if ok else {}
        currency = spec.currency_constant or _path(record, spec.currency)
        amount = _number(_path(record, spec.amount)) if spec.amount else None
        if amount is not None and amount == spec.amount_unconfirmed:
            amount = None
        scale = UNITS_PER_USD.get(str(currency), 1)
        lines = _path(record, spec.lines) if spec.lines else None
        status = _path(record, spec.status) if spec.status else None
        rows.append(
            {
                "key": f"{store_id}/{record_id}",
                "store_id": store_id,
                "record_id": record_id,
                "updated_at": updated_at,
                "payload_ok": ok,
                "currency": currency,
                "amount": amount,
                "amount_usd": None if amount is None else amount / scale,
                "status": None if status is None else str(status),
                "line_count": (len(lines) if isinstance(lines, list) else 0) if ok else None,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    frame["amount_usd"] = frame["amount_usd"].astype("float64")
    return frame


def raw_suite(spec: RawEntitySpec, now: datetime) -> list:
    latest = pd.Timestamp(now + CLOCK_SKEW)
    suite = [
        gxe.ExpectColumnValuesToNotBeNull(column="store_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="record_id"),
        # the same version twice in one batch: a paging bug (a page served twice), not a late update
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["store_id", "record_id", "updated_at"]),
        gxe.ExpectColumnValuesToBeInSet(column="payload_ok", value_set=[True]),
        gxe.ExpectColumnValuesToBeBetween(column="updated_at", max_value=latest),
    ]
    if spec.currency or spec.currency_constant:
        suite.append(gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=KNOWN_CURRENCIES))
    if spec.amount:
        suite.append(gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0))
        suite.append(gxe.ExpectColumnValuesToBeBetween(column="amount_usd", max_value=MAX_RECORD_AMOUNT_USD))
    if spec.statuses:
        suite.append(gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(spec.statuses)))
    if spec.lines:
        suite.append(gxe.ExpectColumnValuesToBeBetween(column="line_count", min_value=1))
    return suite


def validate_raw_batch(source: str, entity: str, table: pa.Table, now: datetime | None = None) -> SuiteResult:
    """The entity's suite on one batch (the records of the syncs just run); failures name store/record."""
    spec = spec_for(source, entity)
    frame = frame_from_raw(table, spec)
    return validate(f"raw_{source}_{entity}", frame, raw_suite(spec, now or datetime.now(UTC)), index_column="key")


@dataclass
class VolumeAnomaly:
    store_id: str
    rows: int
    median_rows: float
    history: int

    def describe(self) -> str:
        return (
            f"{self.store_id}: {self.rows} rows, against a median of {self.median_rows:g} "
            f"over its previous {self.history} successful syncs"
        )


def volume_against_history(
    log_entries: Iterable[dict],
    source: str,
    entity: str,
    sync_ids: Iterable[str],
    history: int = VOLUME_HISTORY_SYNCS,
) -> list[VolumeAnomaly]:
    """Stores whose batch is empty while their previous successful syncs of the entity brought many rows.

    Rows per sync, not per day: the scheduled syncs cover windows of the same length, and a backfill
    (larger) only raises the median, which makes the check more cautious, never noisier.
    """
    wanted = set(sync_ids)
    ok = [e for e in log_entries if e["platform"] == source and e["entity"] == entity and e["status"] == "success"]
    ok.sort(key=lambda e: e["started_at"])
    anomalies = []
    for i, entry in enumerate(ok):
        if entry["sync_id"] not in wanted or entry["rows"] > 0:
            continue
        before = [e["rows"] for e in ok[:i] if e["store_id"] == entry["store_id"]][-history:]
        if len(before) < VOLUME_MIN_HISTORY:
            continue
        median = statistics.median(before)
        if median >= VOLUME_MIN_MEDIAN_ROWS:
            anomalies.append(VolumeAnomaly(entry["store_id"], entry["rows"], median, len(before)))
    return anomalies
