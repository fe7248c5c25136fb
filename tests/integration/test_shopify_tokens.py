"""Expiring offline tokens with rotating refresh tokens, against the sandbox over real HTTP."""

from datetime import date, timedelta

import pytest

from ingestion.clients.shopify import ShopifyClient, shopify_refresher
from ingestion.errors import AuthInvalid
from ingestion.http import HttpClient, RetryPolicy
from ingestion.sandbox.generator import DEMO_SHOPS
from ingestion.sandbox.shopify import sandbox_client
from ingestion.sync import run_sync
from ingestion.tokens import RefreshingToken, TokenState, TokenStore
from ingestion.windows import Window
from tests.conftest import utc

SHOP = DEMO_SHOPS[0]
WINDOW = Window(utc(2026, 4, 28), utc(2026, 5, 3))


@pytest.fixture
def sandbox(make_sandbox):
    sandbox = make_sandbox(date(2026, 4, 28), date(2026, 5, 2), utc(2026, 5, 3), shops=(SHOP,))
    sandbox.seed_refresh = sandbox.shopify.enable_expiring_tokens(SHOP.shop_id)
    return sandbox


def token_for(sandbox, state_dir, seed: str, clock) -> RefreshingToken:
    base = f"{sandbox.shopify_url}/{SHOP.shop_id}"
    client_id, secret = sandbox_client(SHOP.shop_id)
    refresh = shopify_refresher(
        base, client_id, secret, HttpClient("shopify", retry=RetryPolicy(max_attempts=2)), clock=clock
    )
    return RefreshingToken(
        f"shopify-{SHOP.shop_id}", TokenStore(state_dir), TokenState(None, None, seed), refresh, clock=clock
    )


def test_sync_refreshes_proactively_and_keeps_the_rotated_token(sandbox, lake, sync_log, tmp_path):
    now = [utc(2026, 5, 3)]
    token = token_for(sandbox, tmp_path, sandbox.seed_refresh, lambda: now[0])
    client = ShopifyClient(f"{sandbox.shopify_url}/{SHOP.shop_id}", token, requests_per_second=50)
    assert run_sync(client, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log).ok
    assert sandbox.shopify.refresh_calls == 1
    rotated = TokenStore(tmp_path).load(f"shopify-{SHOP.shop_id}").refresh_token
    assert rotated != sandbox.seed_refresh

    # An hour later the access token is stale: the client refreshes before asking, with the rotated token.
    now[0] += timedelta(minutes=58)
    sandbox.clock.set(now[0])
    assert run_sync(client, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log).ok
    assert sandbox.shopify.refresh_calls == 2
    assert [e["status"] for e in sync_log.entries()] == ["success", "success"]


def test_an_access_token_rejected_as_expired_is_refreshed_once(sandbox, lake, sync_log, tmp_path):
    # The client believes its token is good for an hour; the platform's clock says otherwise.
    token = token_for(sandbox, tmp_path, sandbox.seed_refresh, lambda: utc(2026, 5, 3))
    client = ShopifyClient(f"{sandbox.shopify_url}/{SHOP.shop_id}", token, requests_per_second=50)
    token.get()
    sandbox.clock.set(utc(2026, 5, 3, 2))
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert result.ok and sandbox.shopify.refresh_calls == 2


def test_a_used_up_refresh_token_is_auth_invalid_in_the_sync_log(sandbox, lake, sync_log, tmp_path):
    first = token_for(sandbox, tmp_path / "a", sandbox.seed_refresh, lambda: utc(2026, 5, 3))
    first.get()
    rotated = first.state.refresh_token
    token_for(sandbox, tmp_path / "b", rotated, lambda: utc(2026, 5, 3)).get()  # using the new one retires the seed
    stale = token_for(sandbox, tmp_path / "c", sandbox.seed_refresh, lambda: utc(2026, 5, 3))
    with pytest.raises(AuthInvalid, match="invalid_grant"):
        stale.get()
    client = ShopifyClient(f"{sandbox.shopify_url}/{SHOP.shop_id}", stale, requests_per_second=50)
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert (result.attempt.status, result.attempt.error_class) == ("failed", "auth_invalid")


def test_an_expired_refresh_token_is_auth_expired_and_says_to_re_authorize(sandbox, lake, sync_log, tmp_path):
    token = token_for(sandbox, tmp_path, sandbox.seed_refresh, lambda: utc(2026, 5, 3))
    client = ShopifyClient(f"{sandbox.shopify_url}/{SHOP.shop_id}", token, requests_per_second=50)
    assert run_sync(client, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log).ok
    # The seller's authorization outlives its lifetime: the valid-looking access token and its refresh fail.
    sandbox.shopify.faults[SHOP.shop_id].credentials_expired = True
    result = run_sync(client, store_id=SHOP.shop_id, entity="orders", window=WINDOW, lake=lake, log=sync_log)
    assert (result.attempt.status, result.attempt.error_class, result.attempt.http_status) == (
        "failed",
        "auth_expired",
        400,
    )
    assert "refresh token has expired" in result.attempt.error_message
    assert "Re-authorize" in result.attempt.error_message
    assert sandbox.shopify.refresh_calls == 1  # one refresh worked, the second was refused; no retry loop
