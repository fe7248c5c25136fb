import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from expectations.raw_shopify_orders import validate_batch
from ingestion.lake import RAW_SCHEMA

NOW = datetime(2026, 7, 1, tzinfo=UTC)


def batch(*overrides: dict) -> pa.Table:
    rows = []
    for i, override in enumerate(overrides):
        order = {
            "id": 100 + i,
            "currency": "EUR",
            "total_price": "42.00",
            "financial_status": "paid",
            "created_at": "2026-06-30T10:00:00+02:00",
            "updated_at": "2026-06-30T11:00:00+02:00",
            "line_items": [{"id": 1}],
            **override,
        }
        rows.append(
            {
                "_platform": "shopify",
                "_store_id": "acme-de",
                "_entity": "orders",
                "_record_id": str(order["id"]),
                "_record_updated_at": NOW,
                "_sync_id": "s",
                "_loaded_at": NOW,
                "_payload": json.dumps(order),
            }
        )
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


def test_a_clean_batch_passes():
    result = validate_batch(batch({}, {}, {}), now=NOW)
    assert result.success and result.rows == 3 and result.evaluated == 10


def test_each_guard_fails_on_its_own_defect():
    future = (NOW + timedelta(days=1)).isoformat()
    cases = {
        "currency": {"currency": "XXX"},
        "total_price": {"total_price": "-1.00"},
        "created_at": {"created_at": future},
        "financial_status": {"financial_status": "??"},
        "line_count": {"line_items": []},
    }
    for column, defect in cases.items():
        result = validate_batch(batch({}, defect), now=NOW)
        assert not result.success, column
        assert {f.column for f in result.failed} == {column}, (column, result.summary())


def test_duplicate_records_in_one_batch_fail():
    result = validate_batch(batch({"id": 7}, {"id": 7}), now=NOW)
    assert not result.success
    assert result.failed[0].expectation == "expect_compound_columns_to_be_unique"
