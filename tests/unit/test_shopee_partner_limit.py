"""Shopee limits calls per partner app and API, not per shop: the clients of one partner's shops, synced
in parallel, share one allowance (scripts/bench/ingest.py measured 52 HTTP 429s when each shop's client
kept its own)."""

from __future__ import annotations

from ingestion.clients.shopee import RATES, ShopeeClient


def _client(base_url: str, partner_id: int, shop_id: int, rate_scale: float = 1) -> ShopeeClient:
    return ShopeeClient(base_url, partner_id, "partner-key", shop_id, "token", rate_scale=rate_scale)


def test_shops_of_one_partner_share_the_limiters():
    first, second = _client("http://127.0.0.1:1/", 7, 101), _client("http://127.0.0.1:1", 7, 102)
    assert set(first.http.limiters) == set(RATES)
    for op in RATES:
        assert first.http.limiters[op] is second.http.limiters[op]


def test_another_partner_or_endpoint_or_scale_has_its_own():
    base = _client("http://127.0.0.1:1", 7, 101)
    others = (
        _client("http://127.0.0.1:1", 8, 101),
        _client("http://127.0.0.1:2", 7, 101),
        _client("http://127.0.0.1:1", 7, 101, rate_scale=50),
    )
    for other in others:
        assert all(base.http.limiters[op] is not other.http.limiters[op] for op in RATES)
    assert others[2].http.limiters["get_order_list"].rate == RATES["get_order_list"] * 50
