import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from expectations.raw import RAW_SPECS, validate_raw_batch, volume_against_history
from ingestion.lake import RAW_SCHEMA
from ingestion.sources import SOURCES

NOW = datetime(2026, 7, 1, tzinfo=UTC)


def batch(*overrides: dict, updated_at: datetime = NOW - timedelta(hours=1)) -> pa.Table:
    rows = []
    for i, override in enumerate(overrides):
        order = {
            "id": 100 + i,
            "currency": "EUR",
            "total_price": "42.00",
            "financial_status": "paid",
            "line_items": [{"id": 1}],
            **override,
        }
        rows.append(
            {
                "_platform": "shopify",
                "_store_id": "acme-de",
                "_entity": "orders",
                "_record_id": str(order["id"]),
                "_record_updated_at": order.pop("_updated_at", updated_at),
                "_sync_id": "s",
                "_loaded_at": NOW,
                "_payload": order.pop("_raw", None) or json.dumps(order),
            }
        )
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


def test_every_raw_asset_has_a_spec():
    assert {(s.name, e) for s in SOURCES for e in s.entities} == set(RAW_SPECS)


def test_a_clean_batch_passes_and_an_empty_one_too():
    result = validate_raw_batch("shopify", "orders", batch({}, {}, {}), now=NOW)
    assert result.success and result.rows == 3 and result.evaluated == 10, result.summary()
    assert validate_raw_batch("shopify", "orders", RAW_SCHEMA.empty_table(), now=NOW).success


def test_each_guard_fails_on_its_own_defect_and_names_the_record():
    cases = {
        "currency": {"currency": "XXX"},
        "amount": {"total_price": "-1.00"},
        "amount_usd": {"total_price": "250000.00"},
        "status": {"financial_status": "??"},
        "line_count": {"line_items": []},
        "updated_at": {"_updated_at": NOW + timedelta(hours=1)},
        "payload_ok": {"_raw": "{not json"},
    }
    for column, defect in cases.items():
        result = validate_raw_batch("shopify", "orders", batch({}, defect), now=NOW)
        assert not result.success, column
        assert {f.column for f in result.failed} == {column}, (column, result.summary())
        assert "key=acme-de/101" in result.failed[0].sample[0], result.failed[0].sample


def test_the_same_record_version_twice_in_a_batch_fails():
    result = validate_raw_batch("shopify", "orders", batch({"id": 7}, {"id": 7}), now=NOW)
    assert not result.success
    (failed,) = result.failed
    assert failed.expectation == "expect_compound_columns_to_be_unique"
    assert failed.column == "store_id,record_id,updated_at"
    assert "key=acme-de/7" in failed.sample[0]


def test_a_small_clock_skew_is_tolerated():
    assert validate_raw_batch("shopify", "orders", batch({}, updated_at=NOW + timedelta(minutes=2)), now=NOW).success


def _attempt(sync_id: str, store: str, rows: int, day: int, status: str = "success") -> dict:
    return {
        "sync_id": sync_id,
        "platform": "shopify",
        "entity": "orders",
        "store_id": store,
        "status": status,
        "rows": rows,
        "started_at": f"2026-06-{day:02d}T02:15:00+00:00",
    }


def test_an_empty_batch_after_busy_syncs_is_a_volume_anomaly():
    log = [_attempt(f"s{d}", "acme-de", 80 + d, d) for d in range(1, 9)]
    log += [_attempt(f"q{d}", "acme-us", 2, d) for d in range(1, 9)]  # a quiet store: 0 is unremarkable
    log += [_attempt("new", "acme-de", 0, 10), _attempt("new-us", "acme-us", 0, 10)]
    (anomaly,) = volume_against_history(log, "shopify", "orders", ["new", "new-us"])
    assert (anomaly.store_id, anomaly.rows, anomaly.median_rows, anomaly.history) == ("acme-de", 0, 85.0, 7)
    assert volume_against_history(log[:2] + log[-2:], "shopify", "orders", ["new"]) == []  # too little history


def test_rakuten_unconfirmed_total_is_not_an_amount_but_a_negative_total_is():
    def rakuten(total: int) -> pa.Table:
        record = {"orderNumber": "r-1", "totalPrice": total, "orderProgress": 300, "PackageModelList": [{}]}
        row = {
            "_platform": "rakuten",
            "_store_id": "rakuten-jp",
            "_entity": "orders",
            "_record_id": "r-1",
            "_record_updated_at": NOW - timedelta(hours=1),
            "_sync_id": "s",
            "_loaded_at": NOW,
            "_payload": json.dumps(record),
        }
        return pa.Table.from_pylist([row], schema=RAW_SCHEMA)

    assert validate_raw_batch("rakuten", "orders", rakuten(-9999), now=NOW).success
    result = validate_raw_batch("rakuten", "orders", rakuten(-5), now=NOW)
    assert {f.column for f in result.failed} == {"amount"}, result.summary()


def test_a_suite_validates_again_in_the_same_process():
    """A daemon or a second pipeline run in one process validates the same (shared) expectations again."""
    import great_expectations.expectations as gxe
    import pandas as pd

    from expectations.runner import validate

    shared = [gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0)]
    frame = pd.DataFrame({"amount": [1.0, 2.0]})
    assert validate("first", frame, shared).success
    assert not validate("second", pd.DataFrame({"amount": [-1.0]}), shared).success
