"""The Rakuten RMS client against its sandbox over real HTTP: searchOrder paging and getOrder
batches, 63-day slicing and the other limits RMS enforces, JST day boundaries, result sets that
shift between pages, the 90-day licenseKey, every fault knob, and the long look-back that picks up
totals confirmed and edited after the first scan (down to staging)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
import requests

from ingestion.clients.rakuten import RakutenClient, jst
from ingestion.config import StoreConfig
from ingestion.errors import AuthInvalid, BadPayload, BadRequest, WindowRejected
from ingestion.http import RetryPolicy
from ingestion.runner import sync_stores
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, Order, SandboxData
from ingestion.sandbox.rakuten import GET_PATH, JST, SEARCH_PATH, RakutenSandbox, esa_header, order_number
from ingestion.sandbox.server import SandboxClock, SandboxServer
from ingestion.sync import run_sync
from ingestion.windows import Window
from tests.conftest import run_dbt, utc

SHOP = next(s for s in MARKETPLACE_SHOPS if s.shop_id == "rakuten-jp")
NOW = utc(2026, 6, 1)
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)
RATE = 200.0  # sandbox rate_scale and client pace: the documented ~1 request/s, sped up
KEY_ENV = "RAKUTEN_LICENSE_KEY_RAKUTEN_JP"
STAGED_ORDER_COLUMNS = [
    "order_id", "store_id", "platform", "order_name", "buyer_id_hash", "is_test", "order_status", "is_cancelled",
    "cancel_reason", "fulfillment_channel", "currency_code", "total_line_items_price", "total_discounts",
    "subtotal_price", "total_tax", "total_shipping", "total_price", "created_at", "paid_at", "shipped_at",
    "cancelled_at", "updated_at", "_sync_id", "_loaded_at",
]  # fmt: skip
STAGED_LINE_COLUMNS = [
    "order_line_id", "order_id", "store_id", "platform", "sku", "product_id", "variant_id", "product_title",
    "is_gift_card", "quantity", "currency_code", "unit_price", "discount_amount", "gross_amount",
]  # fmt: skip


@dataclass
class Rms:
    app: RakutenSandbox
    server: SandboxServer
    data: SandboxData
    clock: SandboxClock

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def faults(self):
        return self.app.faults[SHOP.shop_id]

    def client(self, cls: type[RakutenClient] = RakutenClient, **kwargs) -> RakutenClient:
        entry, env = self.app.store_entry(SHOP, self.url)
        creds = entry["credentials"]
        kwargs.setdefault("requests_per_second", RATE)
        kwargs.setdefault("retry", FAST_RETRY)
        return cls(
            self.url,
            env[creds["service_secret_env"]],
            kwargs.pop("license_key", env[creds["license_key_env"]]),
            license_key_env=creds["license_key_env"],
            **kwargs,
        )

    def expected(self, window: Window) -> list[str]:
        now = self.clock.now()
        return sorted(
            order_number(o)
            for o in self.data.orders_by_shop[SHOP.shop_id]
            if not o.is_test and window.start <= o.created_at < window.end and o.created_at <= now
        )

    def post(self, path: str, body: dict) -> requests.Response:
        _, env = self.app.store_entry(SHOP, self.url)
        secret, key = env.values()
        return requests.post(
            self.url + path,
            data=json.dumps(body),
            headers={"Authorization": esa_header(secret, key), "Content-Type": "application/json; charset=utf-8"},
            timeout=5,
        )


@pytest.fixture(scope="module")
def generated() -> SandboxData:
    return SandboxData.generate(7, date(2026, 2, 20), date(2026, 5, 31), shops=(SHOP,))


@pytest.fixture
def rms(generated):
    # a fresh copy per test: some tests move orders in time before the sandbox first indexes them
    data = dataclasses.replace(generated, orders_by_shop={k: list(v) for k, v in generated.orders_by_shop.items()})
    clock = SandboxClock(NOW)
    app = RakutenSandbox(data, clock, rate_scale=RATE)
    with SandboxServer(app) as server:
        yield Rms(app, server, data, clock)


def landed_ids(lake) -> list[str]:
    return lake.read("rakuten", "orders").column("_record_id").to_pylist()


def jst_day(day: date) -> Window:
    start = datetime(day.year, day.month, day.day, tzinfo=JST)
    return Window(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))


APRIL_MAY = Window(utc(2026, 4, 1), utc(2026, 6, 1))
ONE_WEEK = Window(utc(2026, 5, 1), utc(2026, 5, 8))


# -- paging, windows, limits ------------------------------------------------------------------------
def test_search_pages_then_get_order_batches_land_every_order_once(rms, lake, sync_log):
    client = rms.client(page_size=100)
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=APRIL_MAY, lake=lake, log=sync_log)
    assert result.ok, result.attempt.error_message
    expected = rms.expected(APRIL_MAY)
    assert len(expected) > 300
    assert sorted(landed_ids(lake)) == expected  # each order once, none lost between pages
    search_pages = math.ceil(len(expected) / 100)
    assert [s["PaginationRequestModel"]["requestPage"] for s in rms.app.searches] == list(range(1, search_pages + 1))
    assert result.attempt.pages == rms.app.get_order_calls == math.ceil(len(expected) / 100)
    assert result.attempt.requests == search_pages + rms.app.get_order_calls
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["rows"], entry["throttled"]) == ("success", len(expected), 0)
    payload = json.loads(lake.read("rakuten", "orders").column("_payload")[0].as_py())
    assert payload["orderDatetime"].endswith("+0900") and payload["PackageModelList"][0]["ItemModelList"]


def test_a_long_window_is_cut_into_63_day_slices_without_gaps_or_overlaps(rms, lake, sync_log):
    window = Window(utc(2026, 2, 20), NOW)  # 101 days
    result = run_sync(rms.client(), store_id=SHOP.shop_id, entity="orders", window=window, lake=lake, log=sync_log)
    assert result.ok, result.attempt.error_message
    spans = [
        (datetime.fromisoformat(s["startDatetime"]), datetime.fromisoformat(s["endDatetime"])) for s in rms.app.searches
    ]
    assert len(spans) == 2
    assert all(end - start <= timedelta(days=63) for start, end in spans)
    assert spans[0][0] == window.start and spans[1][1] == window.end - timedelta(seconds=1)
    assert spans[1][0] == spans[0][1] + timedelta(seconds=1)  # inclusive whole seconds, back to back
    assert sorted(landed_ids(lake)) == rms.expected(window)


def test_the_sandbox_refuses_what_rms_refuses(rms, lake, sync_log):
    client = rms.client()
    with pytest.raises(WindowRejected, match="ERROR_013"):  # 64 days in one searchOrder
        list(client.iter_pages("orders", Window(utc(2026, 3, 1), utc(2026, 5, 4))))
    with pytest.raises(WindowRejected, match="ERROR_012"):  # older than two years
        list(client.iter_pages("orders", Window(NOW - timedelta(days=731), NOW - timedelta(days=700))))
    old = Window(NOW - timedelta(days=800), NOW - timedelta(days=790))
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=old, lake=lake, log=sync_log)
    assert (result.attempt.error_class, result.attempt.http_status) == ("window_rejected", 400)
    with pytest.raises(BadRequest, match="requestRecordsAmount"):
        list(rms.client(page_size=1001).iter_pages("orders", ONE_WEEK))
    with pytest.raises(BadRequest, match="100件以下"):
        list(rms.client(batch_size=101).iter_pages("orders", APRIL_MAY))

    numbers = rms.expected(ONE_WEEK)[:3]
    no_version = rms.post(GET_PATH, {"orderNumberList": numbers})
    assert no_version.status_code == 400
    assert no_version.json()["MessageModelList"][0]["messageCode"] == "ORDER_EXT_API_GET_ORDER_ERROR_009"
    utc_offset = rms.post(
        SEARCH_PATH, {"dateType": 1, "startDatetime": "2026-05-01T00:00:00+09:00", "endDatetime": jst(NOW)}
    )
    assert utc_offset.status_code == 400 and "ERROR_011" in utc_offset.text
    assert utc_offset.json()["PaginationResponseModel"] is None


def test_an_empty_window_has_null_pagination_and_is_a_success_with_no_rows(rms, lake, sync_log):
    empty = Window(utc(2026, 1, 1), utc(2026, 1, 10))  # before the shop's first order
    raw = rms.post(SEARCH_PATH, {"dateType": 1, "startDatetime": jst(empty.start), "endDatetime": jst(empty.end)})
    assert raw.json()["PaginationResponseModel"] == {
        "totalRecordsAmount": None,
        "totalPages": None,
        "requestPage": None,
    }
    result = run_sync(rms.client(), store_id=SHOP.shop_id, entity="orders", window=empty, lake=lake, log=sync_log)
    assert result.ok and result.attempt.rows == 0 and result.attempt.requests == 1


def _move(rms: Rms, day: date, local_time: tuple[int, int, int]) -> Order:
    """Move the first order of a JST day to a given JST time of that day (same order number)."""
    orders = rms.data.orders_by_shop[SHOP.shop_id]
    index = next(i for i, o in enumerate(orders) if not o.is_test and o.created_at.astimezone(JST).date() == day)
    moved = dataclasses.replace(
        orders[index], created_at=datetime(*day.timetuple()[:3], *local_time, tzinfo=JST).astimezone(UTC)
    )
    orders[index] = moved
    return moved


def test_jst_day_windows_put_an_order_at_00_30_jst_on_its_own_day(rms, lake, sync_log):
    early = _move(rms, date(2026, 5, 10), (0, 30, 0))  # 2026-05-09 15:30 UTC
    late = _move(rms, date(2026, 5, 9), (23, 59, 59))  # 2026-05-09 14:59:59 UTC
    client = rms.client()
    for day in (date(2026, 5, 9), date(2026, 5, 10)):
        run_sync(client, store_id=SHOP.shop_id, entity="orders", window=jst_day(day), lake=lake, log=sync_log)
    first, second = rms.app.searches
    assert (first["startDatetime"], first["endDatetime"]) == ("2026-05-09T00:00:00+0900", "2026-05-09T23:59:59+0900")
    assert (second["startDatetime"], second["endDatetime"]) == ("2026-05-10T00:00:00+0900", "2026-05-10T23:59:59+0900")
    rows = lake.read("rakuten", "orders").to_pylist()
    by_day: dict[str, set[str]] = {}
    for row in rows:
        by_day.setdefault(json.loads(row["_payload"])["orderDatetime"][:10], set()).add(row["_record_id"])
    assert order_number(early) in by_day["2026-05-10"] and order_number(late) in by_day["2026-05-09"]
    assert by_day.keys() == {"2026-05-09", "2026-05-10"}  # nothing from the UTC-adjacent days
    for day in (date(2026, 5, 9), date(2026, 5, 10)):
        assert sorted(by_day[day.isoformat()]) == rms.expected(jst_day(day))


def test_results_that_shift_between_pages_are_read_again_without_loss_or_repeats(rms, lake, sync_log):
    rms.faults.change_between_pages = 1
    with pytest.raises(BadPayload, match="kept changing"):  # a single pass cannot trust what it read
        list(rms.client(page_size=50, max_passes=1).iter_pages("orders", APRIL_MAY))
    rms.app.searches.clear()
    rms.faults.change_between_pages = 1
    result = run_sync(
        rms.client(page_size=50), store_id=SHOP.shop_id, entity="orders", window=APRIL_MAY, lake=lake, log=sync_log
    )
    assert result.ok, result.attempt.error_message
    landed = landed_ids(lake)
    assert len(landed) == len(set(landed))  # the order repeated at the top of page 2 lands once
    assert sorted(landed) == rms.expected(APRIL_MAY)  # the order that surfaced before page 2 is not lost
    pages = math.ceil(len(landed) / 50)
    requested = [s["PaginationRequestModel"]["requestPage"] for s in rms.app.searches]
    assert requested == list(range(1, pages + 1)) * 2  # the moving pass, then a stable one


def test_more_than_15000_results_are_halved_until_they_can_be_paged(rms, lake, sync_log):
    rms.app.max_results = 120  # the real limit is 15,000; scaled down to the fixture's size
    client = rms.client(page_size=50, max_results=120)
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=APRIL_MAY, lake=lake, log=sync_log)
    assert result.ok, result.attempt.error_message
    assert sorted(landed_ids(lake)) == rms.expected(APRIL_MAY)
    assert len({(s["startDatetime"], s["endDatetime"]) for s in rms.app.searches}) > 4


# -- credentials ------------------------------------------------------------------------------------
def test_a_wrong_or_revoked_license_key_is_auth_invalid_naming_the_env_var(rms, lake, sync_log):
    with pytest.raises(AuthInvalid, match=KEY_ENV) as raised:
        list(rms.client(license_key="SL000000_wrong").iter_pages("orders", ONE_WEEK))
    assert raised.value.http_status == 401 and "rejected" in str(raised.value)
    rms.faults.token_revoked = True
    result = run_sync(rms.client(), store_id=SHOP.shop_id, entity="orders", window=ONE_WEEK, lake=lake, log=sync_log)
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["error_class"], entry["http_status"]) == ("failed", "auth_invalid", 401)
    assert result.files == [] and result.attempt.requests == 1  # nothing to retry: a person must act


def test_the_license_key_expires_after_90_days_and_a_new_one_works(rms, lake, sync_log):
    client = rms.client()
    rms.clock.set(NOW + timedelta(days=90, seconds=1))
    with pytest.raises(AuthInvalid, match="has expired") as raised:
        list(client.iter_pages("orders", ONE_WEEK))
    assert KEY_ENV in str(raised.value) and "90 days" in str(raised.value)
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=ONE_WEEK, lake=lake, log=sync_log)
    assert result.attempt.error_class == "auth_invalid" and "expired" in result.attempt.error_message

    new_key = rms.app.issue_license_key(SHOP.shop_id)
    assert run_sync(
        rms.client(license_key=new_key),
        store_id=SHOP.shop_id,
        entity="orders",
        window=ONE_WEEK,
        lake=lake,
        log=sync_log,
    ).ok
    rms.faults.token_expired = True  # the fault knob answers the same way
    with pytest.raises(AuthInvalid, match="has expired"):
        list(rms.client(license_key=new_key).iter_pages("orders", ONE_WEEK))


# -- throttling and faults --------------------------------------------------------------------------
def test_the_client_keeps_to_the_pace_and_recovers_when_it_is_too_fast(generated, lake, sync_log):
    clock = SandboxClock(NOW)
    app = RakutenSandbox(generated, clock, rate_scale=20)  # 20 requests/s, bursts of 3
    with SandboxServer(app) as server:
        rms = Rms(app, server, generated, clock)
        paced = rms.client(page_size=10, batch_size=10, requests_per_second=20)
        assert run_sync(paced, store_id=SHOP.shop_id, entity="orders", window=ONE_WEEK, lake=lake, log=sync_log).ok
        assert paced.http.stats.requests > 10 and paced.http.stats.throttled == 0
        assert 429 not in {status for *_, status in app.request_log}

        hasty = rms.client(
            page_size=10,
            batch_size=10,
            requests_per_second=1000,
            retry=RetryPolicy(max_attempts=10, backoff_base=0.05, backoff_max=0.2),
        )
        result = run_sync(hasty, store_id=SHOP.shop_id, entity="orders", window=ONE_WEEK, lake=lake, log=sync_log)
        assert result.ok and result.attempt.throttled > 0
        assert result.attempt.rows == len(rms.expected(ONE_WEEK))


@pytest.mark.parametrize(
    ("knob", "count", "counter"),
    [("throttle_next", 2, "throttled"), ("server_error_next", 2, "retries"), ("malformed_next", 1, "retries"),
     ("drop_next", 2, "retries")],
)  # fmt: skip
def test_transient_faults_are_retried_and_every_order_still_lands(rms, lake, sync_log, knob, count, counter):
    setattr(rms.faults, knob, count)
    result = run_sync(rms.client(), store_id=SHOP.shop_id, entity="orders", window=ONE_WEEK, lake=lake, log=sync_log)
    assert result.ok, result.attempt.error_message
    assert getattr(result.attempt, counter) == count
    assert sorted(landed_ids(lake)) == rms.expected(ONE_WEEK)


def test_persistent_garbage_is_a_bad_payload_never_an_empty_page(rms, lake, sync_log):
    rms.faults.malformed_next = 10
    result = run_sync(rms.client(), store_id=SHOP.shop_id, entity="orders", window=ONE_WEEK, lake=lake, log=sync_log)
    assert (result.attempt.status, result.attempt.error_class, result.attempt.rows) == ("failed", "bad_payload", 0)
    assert sync_log.entries()[-1]["error_class"] == "bad_payload"


def test_an_interrupted_sync_run_again_lands_every_order_once(rms, lake, sync_log):
    class InterruptedAfterFirstPage(RakutenClient):
        def iter_pages(self, entity, window):
            for n, page in enumerate(super().iter_pages(entity, window)):
                yield page
                if n == 0:
                    rms.faults.server_error_next = 50  # the service goes down mid-sync

    client = rms.client(InterruptedAfterFirstPage, batch_size=50)
    failed = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=APRIL_MAY, lake=lake, log=sync_log)
    assert (failed.attempt.status, failed.attempt.error_class) == ("failed", "server_error")
    assert failed.attempt.rows == 50 and len(failed.files) == 1  # the page it got is kept

    rms.faults.server_error_next = 0
    again = run_sync(rms.client(), store_id=SHOP.shop_id, entity="orders", window=APRIL_MAY, lake=lake, log=sync_log)
    assert again.ok
    landed = landed_ids(lake)
    assert sorted(set(landed)) == rms.expected(APRIL_MAY) and len(landed) == 50 + len(set(landed))


# -- late changes, down to staging ------------------------------------------------------------------
def _edited_order(rms: Rms) -> Order:
    """An order that ships for a fee, whose total is confirmed hours later and whose fee is waived later still."""
    for order in rms.data.orders_by_shop[SHOP.shop_id]:
        if (
            not order.is_test
            and order.cancelled_at is None
            and order.shipping > 0
            and order.shipping_waived_at is not None
            and order.total_discounts > 0
            and utc(2026, 4, 1) < order.created_at < utc(2026, 5, 20)
        ):
            return order
    raise AssertionError("the fixture should hold an order with a waived shipping fee and a coupon")


def _store(rms: Rms, monkeypatch) -> StoreConfig:
    entry, env = rms.app.store_entry(SHOP, rms.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return StoreConfig.model_validate(
        {
            **entry,
            "store_id": SHOP.shop_id,
            "name": SHOP.name,
            "marketplace": SHOP.marketplace,
            "region": SHOP.region,
            "country": SHOP.country,
            "timezone": SHOP.timezone,
            "currency": SHOP.currency,
            "rate_limit_scale": RATE,
        }
    )


def _staged(settings, order: Order) -> tuple[dict, list[dict], list[str], list[str]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        cur = con.execute("select * from staging.stg_rakuten__orders where order_id = ?", [order_number(order)])
        columns = [d[0] for d in cur.description]
        row = dict(zip(columns, cur.fetchone(), strict=True))
        cur = con.execute(
            "select * from staging.stg_rakuten__order_lines where order_id = ? order by order_line_id",
            [order_number(order)],
        )
        line_columns = [d[0] for d in cur.description]
        lines = [dict(zip(line_columns, r, strict=True)) for r in cur.fetchall()]
    return row, lines, columns, line_columns


def test_the_look_back_picks_up_the_confirmed_total_and_the_waived_shipping_fee(
    rms, lake, sync_log, settings, monkeypatch
):
    monkeypatch.setenv("DBT_TARGET_PATH", str(settings.warehouse_path.parent / "dbt-target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(settings.warehouse_path.parent / "dbt-logs"))
    order = _edited_order(rms)
    store = _store(rms, monkeypatch)
    number = order_number(order)

    def sync_at(moment: datetime) -> None:
        """The scheduled sync of the partition `moment` falls in: its UTC day, widened by the 30-day look-back."""
        rms.clock.set(moment)
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        [result] = sync_stores([store], "orders", day, day + timedelta(days=1), lake, sync_log, now=moment)
        assert result.ok, result.attempt.error_message

    def staged() -> tuple[dict, list[dict]]:
        run_dbt("build", "--select", "stg_rakuten__orders", "stg_rakuten__order_lines")
        row, lines, columns, line_columns = _staged(settings, order)
        assert columns == STAGED_ORDER_COLUMNS and line_columns == STAGED_LINE_COLUMNS  # no PII, no extras
        return row, lines

    # 1. Half an hour after the order: RMS shows the total and the shipping fee as unconfirmed (-9999).
    sync_at(order.created_at + timedelta(minutes=30))
    row, lines = staged()
    assert (row["total_price"], row["total_shipping"], row["paid_at"]) == (None, None, None)
    assert row["order_status"] in ("100", "200") and row["created_at"] == order.created_at.replace(tzinfo=None)
    assert row["total_line_items_price"] == order.total_line_items_price
    assert row["total_discounts"] == order.total_discounts and row["buyer_id_hash"]
    assert {r["order_line_id"]: (r["unit_price"], r["quantity"], r["discount_amount"]) for r in lines} == {
        str(li.line_item_id): (li.price, li.quantity, li.total_discount) for li in order.lines
    }

    # 2. After confirmation, the daily sync's look-back reads the order again: the real total.
    sync_at(order.confirmed_at + timedelta(minutes=1))
    # 3. Days later the shop waives the shipping fee: the look-back reads it a third time.
    sync_at(order.shipping_waived_at + timedelta(minutes=1))
    versions = [
        json.loads(r["_payload"])
        for r in sorted(lake.read("rakuten", "orders").to_pylist(), key=lambda r: r["_loaded_at"])
        if r["_record_id"] == number
    ]
    assert [(v["postagePrice"], v["requestPrice"]) for v in versions] == [
        (-9999, -9999),
        (int(order.shipping), int(order.total_price)),
        (0, int(order.total_price - order.shipping)),
    ]

    row, _ = staged()
    assert row["total_price"] == order.subtotal + order.tax  # confirmed, then the fee waived
    assert row["total_shipping"] == 0 and row["total_tax"] == order.tax
    assert row["paid_at"] == order.confirmed_at.replace(tzinfo=None)
    moment = order.shipping_waived_at + timedelta(minutes=1)
    last_change = max(t for t in (order.shipping_waived_at, order.fulfilled_at) if t <= moment)
    assert row["updated_at"] == last_change.replace(tzinfo=None)
    assert (row["is_cancelled"], row["cancelled_at"], row["fulfillment_channel"]) == (False, None, "seller")
