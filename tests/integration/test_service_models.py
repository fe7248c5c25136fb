"""Reviews and buyer chats from the Shopee and TikTok sandboxes, over HTTP, into int_reviews and
int_buyer_conversations, compared row by row with the generator (tests/service_oracle.py); and no
buyer name, username or message text gets past staging."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from ingestion.config import load_stores
from ingestion.runner import land_store_config, sync_stores
from ingestion.sandbox.generator import MARKETPLACE_SHOPS
from ingestion.tokens import TokenStore
from tests.conftest import run_dbt
from tests.service_oracle import conversation_response_hours, daily_reviews

SHOPS = tuple(s for s in MARKETPLACE_SHOPS if s.shop_id in ("shopee-sg", "tts-us"))
START, END = date(2026, 4, 1), date(2026, 5, 31)
CLOCK = datetime(2026, 6, 1, 6, tzinfo=UTC)


@pytest.fixture
def built(settings, make_sandbox, lake, sync_log, monkeypatch, tmp_path):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt-target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "dbt-logs"))
    monkeypatch.setenv("KPI_PII_SALT", "service-test-salt")
    sandbox = make_sandbox(START, END, CLOCK, shops=SHOPS)
    for key, value in sandbox.credentials_env().items():
        monkeypatch.setenv(key, value)
    stores = load_stores(sandbox.write_stores_file(tmp_path / "stores.yaml"))
    land_store_config(stores, lake)
    tokens = TokenStore(tmp_path / "state")
    since = datetime.combine(START, datetime.min.time(), UTC)
    timings = {}
    for entity, platforms in (
        ("orders", ("shopee", "tiktok")),
        ("reviews", ("shopee",)),
        ("conversations", ("shopee", "tiktok")),
    ):
        for platform in platforms:
            group = [s for s in stores.stores if s.platform == platform]
            for result in sync_stores(group, entity, since, CLOCK, lake, sync_log, now=CLOCK, token_store=tokens):
                assert result.ok, result.attempt.error_message
                timings[(result.attempt.store_id, entity)] = (result.attempt.rows, result.attempt.duration_s)
    run_dbt("build", "--select", "+int_reviews", "+int_buyer_conversations")
    return sandbox, timings


def rows(settings, sql: str) -> list[dict]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_reviews_and_response_times_match_the_generator_row_by_row(settings, built):
    sandbox, timings = built
    data = sandbox.data
    print("rows and seconds per store and entity:", timings)

    reviews = rows(settings, "select * from intermediate.int_reviews")
    assert {r["platform"] for r in reviews} == {"shopee"}
    got: dict = {}
    for r in reviews:
        day = got.setdefault((r["store_id"], r["review_date"]), [0, 0])
        day[0] += 1
        day[1] += r["is_negative"]
    expected = {("shopee-sg", d): [v.reviews, v.negative] for d, v in daily_reviews(data, "shopee-sg", CLOCK).items()}
    assert got == expected and sum(v[1] for v in got.values()) > 10
    by_id = {str(r.review_id): r for r in data.all_reviews("shopee-sg")}
    for r in reviews:
        review = by_id[r["review_id"]]
        assert (r["rating"], r["sku"], r["reviewed_at"]) == (
            review.rating,
            review.line.product.sku,
            review.created_at.replace(tzinfo=None),
        )

    conversations = rows(settings, "select * from intermediate.int_buyer_conversations")
    assert {c["platform"] for c in conversations} == {"shopee", "tiktok"}
    for shop in SHOPS:
        oracle = conversation_response_hours(data, shop.shop_id, CLOCK)
        mine = {c["conversation_id"]: c for c in conversations if c["store_id"] == shop.shop_id}
        assert set(mine) == set(oracle) and len(oracle) > 50, shop.shop_id
        for conversation_id, exp in oracle.items():
            row = mine[conversation_id]
            assert row["message_date"] == exp.message_date
            assert row["first_buyer_message_at"] == exp.first_buyer_message_at.replace(tzinfo=None)
            if exp.first_response_hours is None:
                assert row["first_seller_reply_at"] is None and row["first_response_hours"] is None
            else:
                assert row["first_response_hours"] == pytest.approx(exp.first_response_hours, abs=1e-9)
        assert any(e.first_response_hours is None for e in oracle.values())
        assert any((e.first_response_hours or 0) > 24 for e in oracle.values())
        assert all(c["buyer_id_hash"] and len(c["buyer_id_hash"]) == 64 for c in mine.values())


def test_buyer_names_and_message_text_stop_in_the_raw_lake(settings, built):
    sandbox, _ = built
    secrets = set()
    for shop in SHOPS:
        for chat in sandbox.data.all_conversations(shop.shop_id):
            c = chat.buyer
            secrets.update({c.first_name, c.last_name, f"{c.first_name}{c.last_name}{c.customer_id % 1000}".lower()})
            secrets.update(m.text for m in chat.messages)
            secrets.add(str(c.customer_id - 9_000_000_000))
        secrets.update(r.text for r in sandbox.data.all_reviews(shop.shop_id))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns where data_type = 'VARCHAR' "
            "and table_name in ('stg_shopee__reviews', 'stg_shopee__conversation_messages', "
            "'stg_tiktok__conversation_messages', 'int_reviews', 'int_buyer_conversations')"
        ).fetchall()
        assert len({t for _, t, _ in columns}) == 5
        con.execute("create temp table secrets(v varchar)")
        con.executemany("insert into secrets values (?)", [(v,) for v in secrets])
        leaks = [
            f"{table}.{column}"
            for schema, table, column in columns
            if con.execute(
                f'select count(*) from {schema}."{table}" where "{column}" in (select v from secrets)'
            ).fetchone()[0]
        ]
    assert leaks == []
