"""Expectations on a batch of raw Shopify orders, as landed by one sync.

They guard what the KPIs rest on: every order has an id, a valid currency and sane amounts, is not
stamped in the future, and carries a known financial status. A batch that fails them must not be
built into the marts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import great_expectations.expectations as gxe
import pandas as pd
import pyarrow as pa

from expectations.runner import SuiteResult, validate

# Store currencies the warehouse can convert (the ECB publishes a reference rate for each).
KNOWN_CURRENCIES = [
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "CAD",
    "AUD",
    "CNY",
    "HKD",
    "SGD",
    "KRW",
    "MXN",
    "PLN",
    "SEK",
    "CHF",
    "NOK",
    "DKK",
    "CZK",
    "TRY",
    "BRL",
    "INR",
    "THB",
    "MYR",
    "PHP",
    "IDR",
]
FINANCIAL_STATUSES = [
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
    "expired",
]
MAX_ORDER_TOTAL = 1_000_000


def frame_from_raw(table: pa.Table) -> pd.DataFrame:
    """One row per raw order version, with the fields the expectations look at."""
    rows = []
    for store_id, record_id, payload in zip(
        table.column("_store_id").to_pylist(),
        table.column("_record_id").to_pylist(),
        table.column("_payload").to_pylist(),
        strict=True,
    ):
        order = json.loads(payload)
        rows.append(
            {
                "store_id": store_id,
                "record_id": record_id,
                "order_id": order.get("id"),
                "currency": order.get("currency"),
                "total_price": _number(order.get("total_price")),
                "financial_status": order.get("financial_status"),
                "created_at": _ts(order.get("created_at")),
                "updated_at": _ts(order.get("updated_at")),
                "line_count": len(order.get("line_items") or []),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "store_id",
            "record_id",
            "order_id",
            "currency",
            "total_price",
            "financial_status",
            "created_at",
            "updated_at",
            "line_count",
        ],
    )
    for col in ("created_at", "updated_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _ts(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except ValueError:
        return None


def validate_batch(table: pa.Table, now: datetime | None = None) -> SuiteResult:
    now = now or datetime.now(UTC)
    frame = frame_from_raw(table)
    latest = pd.Timestamp(now + timedelta(minutes=5))
    suite = [
        gxe.ExpectColumnValuesToNotBeNull(column="order_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["store_id", "record_id"]),
        gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=KNOWN_CURRENCIES),
        gxe.ExpectColumnValuesToNotBeNull(column="total_price"),
        gxe.ExpectColumnValuesToBeBetween(column="total_price", min_value=0, max_value=MAX_ORDER_TOTAL),
        gxe.ExpectColumnValuesToNotBeNull(column="created_at"),
        gxe.ExpectColumnMaxToBeBetween(column="created_at", max_value=latest),
        gxe.ExpectColumnMaxToBeBetween(column="updated_at", max_value=latest),
        gxe.ExpectColumnValuesToBeInSet(column="financial_status", value_set=FINANCIAL_STATUSES),
        gxe.ExpectColumnValuesToBeBetween(column="line_count", min_value=1),
    ]
    return validate("raw_shopify_orders", frame, suite)
