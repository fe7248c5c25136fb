"""The Amazon Ads client against the Ads and LWA sandboxes over real HTTP: report slicing in the
profile's time zone, the async report lifecycle and its failure modes, attribution back-fill with
the newest read winning in staging, throttling and token handling."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests

from ingestion.clients.amazon_ads import (
    AmazonAdsClient,
    DownloadUrlExpired,
    from_store,
    report_dates,
)
from ingestion.clients.lwa import lwa_token
from ingestion.config import StoreConfig
from ingestion.errors import AuthInvalid, BadPayload, BadRequest, WindowRejected
from ingestion.http import RetryPolicy
from ingestion.sandbox.amazon_ads import AmazonAdsSandbox
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, SandboxData
from ingestion.sandbox.lwa import LwaAuthority
from ingestion.sandbox.server import SandboxClock, SandboxServer
from ingestion.sync import run_sync
from ingestion.tokens import TokenStore
from ingestion.windows import Window
from tests.conftest import run_dbt, utc

SHOP = next(s for s in MARKETPLACE_SHOPS if s.shop_id == "amz-us")  # USD, America/Los_Angeles
TZ = ZoneInfo(SHOP.timezone)
NOW = utc(2026, 5, 20, 12)
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)
DATA = SandboxData.generate(7, date(2026, 2, 1), date(2026, 6, 10), shops=(SHOP,))


@dataclass
class Ads:
    clock: SandboxClock
    lwa: LwaAuthority
    sandbox: AmazonAdsSandbox
    store: StoreConfig
    token_store: TokenStore
    sleeps: list[float]

    @property
    def faults(self):
        return self.sandbox.faults[SHOP.shop_id]

    def sleep(self, seconds: float) -> None:
        """Record what the client asked to wait (Retry-After, backoff, polling) and move on quickly."""
        self.sleeps.append(seconds)
        time.sleep(min(seconds, 0.005))

    def client(self, *, rate_scale: float = 100.0, profile_id: str | None = None) -> AmazonAdsClient:
        ads = self.store.ads
        token = lwa_token(
            self.store,
            f"amazon_ads-{SHOP.shop_id}",
            self.token_store,
            credentials=ads.credentials,
            auth_url=ads.auth_url,
        )
        return AmazonAdsClient(
            ads.base_url,
            token,
            client_id=self.store.secret("client_id_env", ads.credentials),
            profile_id=profile_id or ads.profile_id,
            rate_scale=rate_scale,
            retry=FAST_RETRY,
            sleep=self.sleep,
            poll_base=0.01,
            poll_max=0.05,
        )

    def statuses(self) -> list[int]:
        return [status for _, _, status in self.sandbox.request_log]


def make_ads(tmp_path, monkeypatch, rate_scale: float = 100.0):
    clock = SandboxClock(NOW)
    lwa = LwaAuthority(clock)
    sandbox = AmazonAdsSandbox(DATA, clock, lwa=lwa, rate_scale=rate_scale)
    servers = [SandboxServer(lwa).start(), SandboxServer(sandbox).start()]
    entry, env = sandbox.ads_entry(SHOP, servers[1].base_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = StoreConfig.model_validate(
        {
            "store_id": SHOP.shop_id,
            "platform": "amazon",
            "name": SHOP.name,
            "marketplace": SHOP.marketplace,
            "region": SHOP.region,
            "country": SHOP.country,
            "timezone": SHOP.timezone,
            "currency": SHOP.currency,
            "account": {"marketplace_id": SHOP.marketplace_id},
            "credentials": {
                "client_id_env": "UNUSED_SP_CLIENT_ID",
                "client_secret_env": "UNUSED_SP_SECRET",
                "refresh_token_env": "UNUSED_SP_REFRESH",
            },
            "ads": {**entry, "auth_url": servers[0].base_url},
            "rate_limit_scale": 100,
        }
    )
    return Ads(clock, lwa, sandbox, store, TokenStore(tmp_path / "state"), []), servers


@pytest.fixture
def ads(tmp_path, monkeypatch):
    env, servers = make_ads(tmp_path, monkeypatch)
    yield env
    for server in servers:
        server.stop()


def expected_rows(first: date, last: date, clock: datetime) -> dict[str, tuple]:
    """record id -> (impressions, clicks, cost, purchases7d, sales7d, units) as the report shows them."""
    out = {}
    day = first
    while day <= last:
        for c in DATA.ad_days(SHOP.shop_id, day):
            purchases, sales, units = c.as_seen(clock)
            out[f"{SHOP.ads_profile_id}:{day}:{c.campaign_id}"] = (
                c.impressions,
                c.clicks,
                c.cost,
                purchases,
                sales,
                units,
            )
        day += timedelta(days=1)
    return out


def landed(lake) -> dict[str, list[dict]]:
    versions: dict[str, list[dict]] = {}
    rows = sorted(lake.read("amazon_ads", "sp_campaigns").to_pylist(), key=lambda r: r["_loaded_at"])
    for row in rows:
        versions.setdefault(row["_record_id"], []).append(json.loads(row["_payload"]))
    return versions


def as_tuple(payload: dict) -> tuple:
    return (
        payload["impressions"],
        payload["clicks"],
        Decimal(str(payload["cost"])),
        payload["purchases7d"],
        Decimal(str(payload["sales7d"])),
        payload["unitsSoldClicks7d"],
    )


WINDOW = Window(NOW - timedelta(days=50), NOW)


def test_a_window_over_31_days_is_sliced_into_reports_in_the_profile_time_zone(ads, lake, sync_log):
    result = run_sync(
        ads.client(), store_id=SHOP.shop_id, entity="sp_campaigns", window=WINDOW, lake=lake, log=sync_log
    )
    assert result.ok, result.attempt.error_message
    reports = sorted(ads.sandbox.reports.values(), key=lambda r: r.start)
    assert len(reports) == 2 == result.attempt.pages
    # 30-day UTC slices cover 31 Los Angeles dates; neighbouring slices share their boundary date.
    assert [(r.end - r.start).days + 1 for r in reports] == [31, 21]
    assert reports[0].start == WINDOW.start.astimezone(TZ).date()
    assert reports[1].start == reports[0].end
    assert all(r.configuration["timeUnit"] == "DAILY" for r in reports)

    # Every campaign-day up to yesterday (Los Angeles) lands, with the numbers the report showed.
    yesterday = NOW.astimezone(TZ).date() - timedelta(days=1)
    expected = expected_rows(WINDOW.start.astimezone(TZ).date(), yesterday, NOW)
    versions = landed(lake)
    assert set(versions) == set(expected)
    assert result.attempt.rows == len(expected) + 3  # the shared boundary date is read by both reports
    for record_id, payloads in versions.items():
        assert {as_tuple(p) for p in payloads} == {expected[record_id]}
    sample = versions[f"{SHOP.ads_profile_id}:{yesterday}:1001"][0]
    assert sample["profileId"] == SHOP.ads_profile_id and sample["reportId"] in ads.sandbox.reports
    assert sample["campaignBudgetCurrencyCode"] == "USD" and isinstance(sample["campaignId"], int)
    assert sync_log.entries()[-1]["status"] == "success"


def test_the_sandbox_rejects_what_the_api_rejects(ads):
    client = ads.client()
    today = NOW.astimezone(TZ).date()
    with pytest.raises(WindowRejected, match="31 days"):
        client.create_report(today - timedelta(days=40), today - timedelta(days=9))  # 32 dates
    with pytest.raises(WindowRejected, match="too far in the past"):
        client.create_report(today - timedelta(days=100), today - timedelta(days=90))
    with pytest.raises(BadRequest, match="invalid values: \\(acos\\)"):
        client.create_report(today - timedelta(days=3), today, columns=("date", "campaignId", "acos"))
    with pytest.raises(BadRequest, match="date is not a supported column for this time unit"):
        client.create_report(today - timedelta(days=3), today, columns=("date", "campaignId"), time_unit="SUMMARY")
    assert ads.sandbox.reports == {}
    # the same request without `date` is a valid SUMMARY report
    summary = client.create_report(
        today - timedelta(days=3), today - timedelta(days=1), columns=("campaignId", "cost"), time_unit="SUMMARY"
    )
    rows = client.download(client.wait_for_report(summary))
    costs = {r["campaignId"]: Decimal(str(r["cost"])) for r in rows}
    expected: dict[int, Decimal] = {}
    for offset in (1, 2, 3):
        for c in DATA.ad_days(SHOP.shop_id, today - timedelta(days=offset)):
            expected[c.campaign_id] = expected.get(c.campaign_id, Decimal(0)) + c.cost
    assert costs == expected


def test_attribution_back_fill_is_re_read_and_the_newest_read_wins_in_staging(ads, lake, sync_log, tmp_path):
    client = ads.client()
    first = Window(NOW - timedelta(days=3), NOW)
    assert run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=first, lake=lake, log=sync_log).ok
    day = NOW.astimezone(TZ).date() - timedelta(days=1)  # yesterday: 60 % of its attributed sales so far
    final = {c.campaign_id: c for c in DATA.ad_days(SHOP.shop_id, day)}

    # A week later the daily partition [May 26, May 27) with its 7-day look-back re-reads that day.
    later = NOW + timedelta(days=7)
    ads.clock.set(later)
    partition_end = utc(2026, 5, 27)
    second = Window(partition_end - timedelta(days=1) - client.entities["sp_campaigns"].lookback, partition_end)
    assert run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=second, lake=lake, log=sync_log).ok

    versions = landed(lake)
    sales_seen = []
    for campaign_id, c in final.items():
        reads = versions[f"{SHOP.ads_profile_id}:{day}:{campaign_id}"]
        assert len(reads) == 2
        assert [Decimal(str(r["sales7d"])) for r in reads] == [c.as_seen(NOW)[1], c.sales]
        sales_seen.append([Decimal(str(r["sales7d"])) for r in reads])
    assert sum(s[0] for s in sales_seen) < sum(s[1] for s in sales_seen)  # it grew to the final value

    run_dbt(
        "build",
        "--select",
        "stg_amazon_ads__sp_campaigns",
        "--target-path",
        str(tmp_path / "dbt-target"),
        "--log-path",
        str(tmp_path / "dbt-logs"),
    )
    warehouse = tmp_path / "warehouse" / "kpi.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged = con.execute(
            "select campaign_id, attributed_sales, attributed_orders, cost, currency_code, platform, "
            "attribution_window_days from staging.stg_amazon_ads__sp_campaigns where ad_date = ? order by 1",
            [day],
        ).fetchall()
        total, distinct = con.execute(
            "select count(*), count(distinct (campaign_id, ad_date)) from staging.stg_amazon_ads__sp_campaigns"
        ).fetchone()
    assert staged == [(str(cid), c.sales, c.purchases, c.cost, "USD", "amazon", 7) for cid, c in sorted(final.items())]
    assert total == distinct == len(versions)


def test_a_duplicate_request_reuses_the_pending_report(ads, lake, sync_log):
    client = ads.client()
    window = Window(NOW - timedelta(days=5), NOW)
    pending = client.create_report(*report_dates(window, TZ))  # e.g. an interrupted run created it
    result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    assert result.ok
    assert list(ads.sandbox.reports) == [pending]
    assert ads.statuses().count(425) == 1
    assert {p["reportId"] for reads in landed(lake).values() for p in reads} == {pending}


def test_a_throttled_request_waits_for_retry_after(ads, lake, sync_log):
    ads.faults.throttle_next = 2
    window = Window(NOW - timedelta(days=5), NOW)
    result = run_sync(
        ads.client(), store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log
    )
    assert result.ok and result.attempt.throttled == 2
    assert ads.statuses().count(429) == 2
    assert ads.sleeps.count(1.0) >= 2  # Retry-After: 1, honoured twice (poll pauses are much shorter)
    yesterday = NOW.astimezone(TZ).date() - timedelta(days=1)
    assert result.attempt.rows == len(expected_rows(window.start.astimezone(TZ).date(), yesterday, NOW))


def test_the_client_stays_under_the_sandbox_bucket(tmp_path, monkeypatch, lake, sync_log):
    ads, servers = make_ads(tmp_path, monkeypatch, rate_scale=1.0)
    try:
        client = ads.client(rate_scale=1.0)
        result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=WINDOW, lake=lake, log=sync_log)
        assert result.ok and result.attempt.throttled == 0
        assert 429 not in ads.statuses()
        assert result.attempt.requests >= 7  # profiles, 2 x (create + 2 polls + download)
    finally:
        for server in servers:
            server.stop()


def test_an_expired_download_url_is_replaced_once(ads):
    client = ads.client()
    today = NOW.astimezone(TZ).date()
    status = client.wait_for_report(client.create_report(today - timedelta(days=3), today - timedelta(days=1)))
    ads.clock.set(NOW + timedelta(seconds=61))  # the url lived 60 s of sandbox time
    rows = client.download(status)
    assert len(rows) == len(expected_rows(today - timedelta(days=3), today - timedelta(days=1), NOW))
    assert ads.statuses()[-3:] == [403, 200, 200]  # expired download, fresh status, download

    # A fresh url that has expired too is not retried forever.
    ads.sandbox.url_ttl = -1
    with pytest.raises(DownloadUrlExpired):
        client.download(status)


def test_a_failed_report_is_report_failed_in_the_sync_log(ads, lake, sync_log):
    ads.faults.report_fatal_next = 1
    window = Window(NOW - timedelta(days=5), NOW)
    result = run_sync(
        ads.client(), store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log
    )
    entry = sync_log.entries()[-1]
    assert (entry["status"], entry["error_class"]) == ("failed", "report_failed")
    assert "FAILED" in entry["error_message"] and result.files == []


def test_an_expired_access_token_is_refreshed_once(ads, lake, sync_log):
    client = ads.client()
    window = Window(NOW - timedelta(days=3), NOW)
    assert run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log).ok
    assert ads.lwa.refresh_calls == 1
    ads.faults.token_expired = True  # the platform ages the token before the client expected it
    result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    assert result.ok and ads.lwa.refresh_calls == 2
    assert ads.statuses().count(401) == 1
    assert ads.token_store.load(f"amazon_ads-{SHOP.shop_id}").access_token == client.token.get()


@pytest.mark.parametrize("how", ["lwa_revoke", "fault_knob"])
def test_a_revoked_authorization_is_auth_invalid(ads, lake, sync_log, how, tmp_path):
    client = ads.client()
    client.token.get()
    if how == "lwa_revoke":
        ads.lwa.revoke(SHOP.shop_id)
    else:
        ads.faults.token_revoked = True
    window = Window(NOW - timedelta(days=3), NOW)
    result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    entry = sync_log.entries()[-1]
    # the rejected access token earns one refresh, and LWA's refusal of the grant is the final word
    assert (entry["status"], entry["error_class"], entry["http_status"]) == ("failed", "auth_invalid", 400)
    assert "invalid_grant" in entry["error_message"]
    assert result.files == []
    # a fresh token cannot be had either: LWA refuses the grant
    fresh = lwa_token(
        ads.store,
        "another-key",
        TokenStore(tmp_path / "fresh"),
        credentials=ads.store.ads.credentials,
        auth_url=ads.store.ads.auth_url,
    )
    with pytest.raises(AuthInvalid, match="invalid_grant"):
        fresh.get()


def test_a_token_the_api_no_longer_knows_is_refreshed_once(ads, lake, sync_log):
    """A cached access token that the Ads API rejects without calling it expired (the token service was
    restarted, or rotated it) gets one refresh, and the sync goes on."""
    client = ads.client()
    stale = client.token.get()
    ads.lwa.forget_access_tokens()
    window = Window(NOW - timedelta(days=3), NOW)
    run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    entry = sync_log.entries()[-1]
    assert entry["status"] == "success", entry
    assert client.token.get() != stale


def test_a_profile_of_another_seller_is_refused(ads):
    with pytest.raises(AuthInvalid, match="not among the profiles"):
        ads.client(profile_id="3311000000000002").profile()
    client = ads.client()
    response = requests.get(
        f"{ads.store.ads.base_url}/reporting/reports/0000",
        headers={
            "Authorization": f"Bearer {client.token.get()}",
            "Amazon-Advertising-API-ClientId": client.client_id,
            "Amazon-Advertising-API-Scope": "3311000000000002",
        },
        timeout=5,
    )
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"


def test_server_errors_truncated_and_dropped_responses_are_retried(ads, lake, sync_log):
    client = ads.client()
    client.profile()
    # createReport: 500, 500, then the answer is lost (the report exists), then 425 -> reused;
    # the first two polls come back truncated.
    ads.faults.server_error_next, ads.faults.drop_next, ads.faults.malformed_next = 2, 1, 2
    window = Window(NOW - timedelta(days=5), NOW)
    result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    assert result.ok and result.attempt.retries == 5
    yesterday = NOW.astimezone(TZ).date() - timedelta(days=1)
    assert result.attempt.rows == len(expected_rows(window.start.astimezone(TZ).date(), yesterday, NOW))
    assert len(ads.sandbox.reports) == 1 and ads.statuses().count(425) == 1


def test_a_truncated_report_file_is_bad_payload_never_an_empty_report(ads, lake, sync_log):
    client = ads.client()
    today = NOW.astimezone(TZ).date()
    status = client.wait_for_report(client.create_report(today - timedelta(days=3), today - timedelta(days=1)))
    ads.faults.malformed_next = 1  # half a gzip stream once: retried
    assert len(client.download(status)) == 9
    ads.faults.malformed_next = 10
    with pytest.raises(BadPayload, match="gzip"):
        client.download(status)

    ads.faults.malformed_next = 50
    result = run_sync(
        client,
        store_id=SHOP.shop_id,
        entity="sp_campaigns",
        window=Window(NOW - timedelta(days=3), NOW),
        lake=lake,
        log=sync_log,
    )
    assert (result.attempt.status, result.attempt.error_class, result.attempt.rows) == ("failed", "bad_payload", 0)


def test_an_interrupted_sync_re_run_lands_the_same_records(ads, lake, sync_log):
    client = ads.client()

    def outage_during_second_report(seconds: float) -> None:
        ads.sleep(seconds)
        if len(ads.sandbox.reports) == 2 and ads.faults.server_error_next == 0 and not outage:
            outage.append(True)
            ads.faults.server_error_next = 100

    outage: list[bool] = []
    client._sleep = client.http.sleep = outage_during_second_report
    failed = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=WINDOW, lake=lake, log=sync_log)
    assert (failed.attempt.status, failed.attempt.error_class) == ("failed", "server_error")
    assert failed.attempt.rows > 0 and failed.files  # the first report's rows are kept

    ads.faults.server_error_next = 0
    rerun = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=WINDOW, lake=lake, log=sync_log)
    assert rerun.ok
    # the first report is asked for again; the second is the pending one of the failed run (425, reused)
    assert len(ads.sandbox.reports) == 3 and ads.statuses().count(425) == 1
    yesterday = NOW.astimezone(TZ).date() - timedelta(days=1)
    assert set(landed(lake)) == set(expected_rows(WINDOW.start.astimezone(TZ).date(), yesterday, NOW))
    assert [e["status"] for e in sync_log.entries()] == ["failed", "success"]


def test_from_store_reads_the_ads_block_and_keeps_the_token(ads, lake, sync_log):
    client = from_store(ads.store, ads.token_store)
    assert client.base_url == ads.store.ads.base_url and client.profile_id == SHOP.ads_profile_id
    window = Window(NOW - timedelta(days=2), NOW)
    result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    assert result.ok and result.attempt.rows == 3 * 2  # 3 campaigns x 2 finished Los Angeles days
    assert ads.token_store.load(f"amazon_ads-{SHOP.shop_id}").refresh_token == f"Atzr|sbx-ads-{SHOP.shop_id}"
    profile = client.profile()
    assert (profile["timezone"], profile["currencyCode"], profile["accountInfo"]["type"]) == (
        SHOP.timezone,
        "USD",
        "seller",
    )


def test_a_store_whose_timezone_is_not_the_profiles_is_a_config_error(ads, lake, sync_log):
    """Ad days are joined to the store's local days; a store declared in another zone would shift
    every ad day, so the sync refuses and says what to change."""
    store = ads.store.model_copy(update={"timezone": "America/New_York"})
    client = from_store(store, ads.token_store)
    window = Window(NOW - timedelta(days=2), NOW)
    result = run_sync(client, store_id=SHOP.shop_id, entity="sp_campaigns", window=window, lake=lake, log=sync_log)
    assert not result.ok and result.attempt.error_class == "config_error"
    assert "America/Los_Angeles" in result.attempt.error_message and "America/New_York" in result.attempt.error_message
