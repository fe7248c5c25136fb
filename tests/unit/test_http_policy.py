import random

from ingestion.clients.shopify import next_link, parse_call_limit
from ingestion.http import RateLimiter, RetryPolicy, retry_after_seconds


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds("2.0") == 2.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    rng = random.Random(1)
    waits = [policy.backoff(a, rng) for a in range(1, 7)]
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0
    assert all(4.0 <= w <= 8.0 for w in waits[3:])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_allows_the_burst_then_paces_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    assert clock.slept == []
    for _ in range(4):
        limiter.acquire()
    assert clock.slept == [0.5, 0.5, 0.5, 0.5]  # 2 requests per second once the burst is spent


def test_rate_limiter_follows_what_the_server_reports():
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=40, clock=clock, sleep=clock.sleep)
    limiter.drain_to(0)  # X-Shopify-Shop-Api-Call-Limit: 40/40
    limiter.acquire()
    assert clock.slept == [0.5]


def test_link_header_and_call_limit_parsing():
    header = (
        '<https://s.myshopify.com/admin/api/2025-10/orders.json?limit=250&page_info=abc>; rel="previous", '
        '<https://s.myshopify.com/admin/api/2025-10/orders.json?limit=250&page_info=def>; rel="next"'
    )
    assert next_link(header).endswith("page_info=def")
    assert next_link('<https://x/orders.json?page_info=abc>; rel="previous"') is None
    assert next_link(None) is None
    assert parse_call_limit("32/40") == (32, 40)
    assert parse_call_limit("x/y") is None


def test_window_end_maps_to_the_last_whole_second_before_it():
    from datetime import UTC, datetime

    from ingestion.clients.shopify import last_second_before

    assert last_second_before(datetime(2026, 1, 1, 2, 15, 7, 400_000, tzinfo=UTC)) == datetime(
        2026, 1, 1, 2, 15, 7, tzinfo=UTC
    )
    assert last_second_before(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)) == datetime(
        2025, 12, 31, 23, 59, 59, tzinfo=UTC
    )


def test_a_network_error_never_carries_the_query_string_into_the_sync_log():
    """Signed calls put tokens and signatures in the query; a refused connection's message quotes
    the URL. The recorded message keeps the path, not the secrets."""
    import socket

    from ingestion.errors import NetworkError
    from ingestion.http import HttpClient, RetryPolicy

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    client = HttpClient(platform="shopee", retry=RetryPolicy(max_attempts=2, backoff_base=0.001), sleep=lambda _: None)
    url = f"http://127.0.0.1:{port}/api/v2/order/get_order_list?access_token=SECRET_TOKEN&sign=SECRET_SIGN"
    try:
        client.request_json("GET", url, operation="get_order_list")
    except NetworkError as exc:
        message = str(exc)
    assert "/api/v2/order/get_order_list" in message
    assert "SECRET" not in message


def test_a_signed_request_is_signed_again_for_every_retry():
    """Signed timestamps expire (5 minutes at TikTok and Shopee): a retry after a wait must carry a
    fresh signature, not replay the first one."""
    from ingestion.http import HttpClient, RetryPolicy
    from ingestion.sandbox.server import Response, SandboxApp, SandboxServer

    seen: list[str] = []
    app = SandboxApp()

    def handler(request):
        seen.append(request.query["timestamp"])
        return Response.json({"ok": True}) if len(seen) == 3 else Response.json({"error": "busy"}, 503)

    app.route("GET", r"/signed", handler)
    stamps = iter(range(1000, 1010))
    with SandboxServer(app) as server:
        client = HttpClient(platform="t", retry=RetryPolicy(backoff_base=0.001), sleep=lambda _: None)
        body, _ = client.request_json(
            "GET", f"{server.base_url}/signed", operation="signed", sign=lambda: {"params": {"timestamp": next(stamps)}}
        )
    assert body == {"ok": True}
    assert seen == ["1000", "1001", "1002"]
