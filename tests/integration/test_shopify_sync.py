"""The Shopify client against the sandbox over real HTTP: pagination, throttling, faults, late
refunds, and re-syncing a window without double counting downstream."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pytest

from ingestion.clients.shopify import ShopifyClient
from ingestion.config import StoresFile
from ingestion.errors import AuthInvalid, BadPayload
from ingestion.http import RetryPolicy
from ingestion.runner import land_store_config, sync_fx
from ingestion.sandbox.generator import DEMO_SHOPS
from ingestion.sandbox.shopify import sandbox_token
from ingestion.sync import run_sync
from ingestion.windows import Window
from tests.conftest import run_dbt, utc

SHOP = DEMO_SHOPS[1]  # acme-de: EUR, Europe/Berlin
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture
def sandbox(make_sandbox):
    return make_sandbox(date(2026, 5, 1), date(2026, 5, 31), utc(2026, 6, 1), shops=(SHOP,))


def client(sandbox, token: str | None = None, retry: RetryPolicy = FAST_RETRY) -> ShopifyClient:
    return ShopifyClient(
        f"{sandbox.shopify_url}/{SHOP.shop_id}",
        token or sandbox_token(SHOP.shop_id),
        retry=retry,
        requests_per_second=50,
        bucket_size=40,
    )


def visible_ids(sandbox, start, end) -> set[str]:
    clock = sandbox.clock.now()
    return {
        str(o.order_id)
        for o in sandbox.data.orders_by_shop[SHOP.shop_id]
        if o.created_at <= clock and start <= o.updated_at(clock) < end
    }


WINDOW = Window(utc(2026, 4, 30), utc(2026, 6, 1))


def test_full_window_pages_through_link_headers_and_lands_every_order(sandbox, lake, sync_log):
    result = run_sync(client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert result.ok
    expected = visible_ids(sandbox, WINDOW.start, WINDOW.end)
    landed = lake.read("shopify", "orders").column("_record_id").to_pylist()
    assert sorted(landed) == sorted(expected)  # every order once, none lost between pages
    assert result.attempt.pages == -(-len(expected) // 250) > 1
    entry = sync_log.entries()[-1]
    assert entry["status"] == "success" and entry["rows"] == len(expected)
    assert entry["pages"] == result.attempt.pages


def test_throttled_page_is_retried_after_retry_after(sandbox, lake, sync_log):
    sandbox.shopify.faults[SHOP.shop_id].throttle_next = 2
    result = run_sync(client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert result.ok
    assert result.attempt.throttled == 2 and result.attempt.retries >= 2
    assert result.attempt.rows == len(visible_ids(sandbox, WINDOW.start, WINDOW.end))
    statuses = [s for _, _, s in sandbox.shopify.request_log]
    assert statuses.count(429) == 2


def test_server_errors_and_a_truncated_page_are_retried(sandbox, lake, sync_log):
    faults = sandbox.shopify.faults[SHOP.shop_id]
    faults.server_error_next, faults.malformed_next = 2, 1
    result = run_sync(client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert result.ok and result.attempt.retries == 3
    assert result.attempt.rows == len(visible_ids(sandbox, WINDOW.start, WINDOW.end))


def test_persistent_garbage_is_a_bad_payload_never_an_empty_page(sandbox, lake, sync_log):
    sandbox.shopify.faults[SHOP.shop_id].malformed_next = 10
    with pytest.raises(BadPayload):
        list(client(sandbox).iter_pages("orders", WINDOW))
    result = run_sync(client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert not result.ok and result.attempt.error_class == "bad_payload"
    assert sync_log.entries()[-1]["error_class"] == "bad_payload"


def test_revoked_token_is_auth_invalid_with_status(sandbox, lake, sync_log):
    with pytest.raises(AuthInvalid) as raised:
        list(client(sandbox, token="shpat_wrong").iter_pages("orders", WINDOW))
    assert raised.value.http_status == 401
    result = run_sync(
        client(sandbox, token="shpat_wrong"),
        store_id=SHOP.shop_id,
        entity="orders",
        window=WINDOW,
        lake=lake,
        log=sync_log,
    )
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["error_class"], entry["http_status"]) == ("failed", "auth_invalid", 401)
    assert result.files == []


def test_page_info_cannot_be_combined_with_filters(sandbox):
    import requests

    first = requests.get(
        f"{sandbox.shopify_url}/{SHOP.shop_id}/admin/api/2025-10/orders.json",
        params={"limit": 5, "status": "any", "order": "updated_at asc"},
        headers={"X-Shopify-Access-Token": sandbox_token(SHOP.shop_id)},
        timeout=5,
    )
    next_url = first.headers["Link"].split(";")[0].strip("<>")
    bad = requests.get(
        next_url + "&status=any", headers={"X-Shopify-Access-Token": sandbox_token(SHOP.shop_id)}, timeout=5
    )
    assert bad.status_code == 400 and "page_info" in bad.json()["errors"]
    assert first.headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40")


def _order_with_late_refund(sandbox):
    for order in sandbox.data.orders_by_shop[SHOP.shop_id]:
        refunds = [r for r in order.refunds if r.note != "cancelled"]
        if (
            refunds
            and order.cancelled_at is None
            and not order.is_test
            and refunds[0].created_at.date() < date(2026, 5, 31)
        ):
            return order, refunds[0]
    raise AssertionError("the fixture should hold a late refund")


def test_late_refund_arrives_with_a_later_window_and_resync_never_double_counts(sandbox, lake, sync_log, settings):
    order, refund = _order_with_late_refund(sandbox)
    # 1. Sync up to a moment before the refund existed.
    before = refund.created_at - timedelta(minutes=5)
    sandbox.clock.set(before)
    c = client(sandbox)
    run_sync(c, store_id=SHOP.shop_id, entity="orders", window=Window(WINDOW.start, before), lake=lake, log=sync_log)
    # 2. Time passes; the next window (with its look-back) brings the order back, refunded.
    sandbox.clock.set(utc(2026, 6, 1))
    run_sync(
        c,
        store_id=SHOP.shop_id,
        entity="orders",
        window=Window(before - timedelta(days=2), WINDOW.end),
        lake=lake,
        log=sync_log,
    )
    # 3. The same windows synced again (a re-run, or a backfill overlapping the schedule).
    run_sync(c, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)

    rows = sorted(lake.read("shopify", "orders").to_pylist(), key=lambda r: r["_loaded_at"])
    versions = [json.loads(r["_payload"]) for r in rows if r["_record_id"] == str(order.order_id)]
    assert len(versions) == 3 and [len(v["refunds"]) for v in versions] == [0, 1, 1]

    stores = StoresFile.model_validate(
        {
            "stores": [
                {
                    "store_id": SHOP.shop_id,
                    "platform": "shopify",
                    "name": SHOP.name,
                    "marketplace": SHOP.marketplace,
                    "region": SHOP.region,
                    "country": SHOP.country,
                    "timezone": SHOP.timezone,
                    "currency": SHOP.currency,
                    "credentials": {"access_token_env": "UNUSED_TOKEN"},
                }
            ],
            "fx": {"base_url": sandbox.ecb_url},
        }
    )
    land_store_config(stores, lake)
    assert sync_fx(sandbox.ecb_url, utc(2026, 4, 25), utc(2026, 6, 1), lake, sync_log).ok
    run_dbt("build")

    visible = visible_ids(sandbox, WINDOW.start, WINDOW.end)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        staged = con.execute("select count(*), count(distinct order_id) from staging.stg_shopify__orders").fetchone()
        refunds = con.execute(
            "select count(*), sum(refund_amount) from marts.fct_refunds where order_id = ?", [str(order.order_id)]
        ).fetchone()
        raw_versions = con.execute("select count(*) from read_parquet(?)", [lake.glob("shopify", "orders")]).fetchone()[
            0
        ]
    assert staged == (len(visible), len(visible))  # one row per order, whatever the number of versions
    assert raw_versions > len(visible)
    assert refunds == (len(refund.lines), refund.amount)


def test_a_connection_dropped_mid_body_is_retried(sandbox, lake, sync_log):
    sandbox.shopify.faults[SHOP.shop_id].drop_next = 2
    result = run_sync(client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert result.ok and result.attempt.retries == 2
    assert result.attempt.rows == len(visible_ids(sandbox, WINDOW.start, WINDOW.end))


def test_a_store_without_its_credential_is_a_logged_config_error_and_others_still_sync(
    sandbox, lake, sync_log, monkeypatch
):
    from ingestion.config import StoreConfig
    from ingestion.runner import sync_stores

    def store(store_id: str, env: str) -> StoreConfig:
        return StoreConfig.model_validate(
            {
                "store_id": store_id,
                "platform": "shopify",
                "name": "x",
                "marketplace": "m",
                "region": "EU",
                "country": "DE",
                "timezone": "Europe/Berlin",
                "currency": "EUR",
                "base_url": f"{sandbox.shopify_url}/{SHOP.shop_id}",
                "credentials": {"access_token_env": env},
            }
        )

    monkeypatch.setenv("TOKEN_PRESENT", sandbox_token(SHOP.shop_id))
    monkeypatch.delenv("TOKEN_ABSENT", raising=False)
    results = sync_stores(
        [store(SHOP.shop_id, "TOKEN_PRESENT"), store("other-shop", "TOKEN_ABSENT")],
        "orders",
        utc(2026, 5, 30),
        utc(2026, 6, 1),
        lake,
        sync_log,
        now=utc(2026, 6, 1),
    )
    by_store = {r.attempt.store_id: r.attempt for r in results}
    assert by_store[SHOP.shop_id].status == "success"
    assert by_store["other-shop"].error_class == "config_error"
    assert "TOKEN_ABSENT" in by_store["other-shop"].error_message
    assert {e["store_id"] for e in sync_log.entries()} == {SHOP.shop_id, "other-shop"}


def test_inventory_levels_snapshot_pages_and_carries_the_sku(sandbox, lake, sync_log):
    """Inventory levels are a snapshot of now (the window is ignored); each record carries the SKU of
    its inventory item, fetched in the same sync."""
    result = run_sync(
        client(sandbox), store_id=SHOP.shop_id, entity="inventory_levels", window=WINDOW, lake=lake, log=sync_log
    )
    assert result.ok, result.attempt.error_message
    rows = [json.loads(p) for p in lake.read("shopify", "inventory_levels").column("_payload").to_pylist()]
    expected = {lvl.product.sku: lvl.fulfillable for lvl in sandbox.data.inventory(SHOP.shop_id, sandbox.clock.now())}
    assert {r["inventory_item"]["sku"]: r["inventory_level"]["available"] for r in rows} == expected
    assert len({r["snapshot_at"] for r in rows}) == 1  # one snapshot per sync, whatever the window


def test_sync_health_names_the_failing_store_its_error_and_failures_in_a_row(sandbox, lake, sync_log, settings):
    """Two successful syncs, then the token is revoked and two attempts fail: sync_health shows
    the last success, 2 consecutive failures, auth_invalid and HTTP 401 for that store."""
    for _ in range(2):
        assert run_sync(
            client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log
        ).ok
    sandbox.shopify.faults[SHOP.shop_id].token_revoked = True
    for _ in range(2):
        failed = run_sync(
            client(sandbox), store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log
        )
        assert not failed.ok
    stores = StoresFile.model_validate(
        {
            "stores": [
                {
                    "store_id": SHOP.shop_id,
                    "platform": "shopify",
                    "name": SHOP.name,
                    "marketplace": SHOP.marketplace,
                    "region": SHOP.region,
                    "country": SHOP.country,
                    "timezone": SHOP.timezone,
                    "currency": SHOP.currency,
                    "credentials": {"access_token_env": "UNUSED_TOKEN"},
                }
            ]
        }
    )
    land_store_config(stores, lake)
    run_dbt("build", "--select", "+sync_health")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        row = con.execute(
            "select last_status, last_error_class, last_http_status, consecutive_failures, "
            "last_success_at is not null, is_stale, tolerance_hours from marts.sync_health "
            "where store_id = ? and source = 'shopify' and entity = 'orders'",
            [SHOP.shop_id],
        ).fetchone()
    assert row == ("failed", "auth_invalid", 401, 2, True, False, 6)
