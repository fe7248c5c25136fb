"""Login with Amazon (LWA): the token exchange behind SP-API and Amazon Ads.

Access tokens last one hour and are refreshed 5 minutes before expiry; the refresh token is the
seller's authorization and does not rotate. `invalid_grant` means the seller revoked the app or the
authorization lapsed (365 days for public apps); `invalid_client` means the LWA client secret was
rotated (every 180 days) and the configured one is stale. Both need a person, so they fail the sync
as `auth_invalid` with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests

from ingestion.config import Credentials, StoreConfig
from ingestion.errors import AuthInvalid, BadPayload, ConfigError
from ingestion.http import HttpClient, RetryPolicy
from ingestion.tokens import RefreshingToken, TokenState, TokenStore

DEFAULT_AUTH_URL = "https://api.amazon.com"
TOKEN_PATH = "/auth/o2/token"


def _classify(response: requests.Response) -> AuthInvalid | None:
    if response.status_code not in (400, 401):
        return None
    try:
        error = response.json().get("error", "")
    except ValueError:
        error = ""
    if error == "invalid_grant":
        return AuthInvalid("LWA refused the refresh token (invalid_grant): the seller must re-authorize the app")
    if error == "invalid_client":
        return AuthInvalid(
            "LWA refused the client credentials (invalid_client): rotate the LWA client secret and update the env var"
        )
    return None


def lwa_refresher(
    auth_url: str,
    client_id: str,
    client_secret: str,
    http: HttpClient,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[str], TokenState]:
    def refresh(refresh_token: str) -> TokenState:
        body, _ = http.request_json(
            "POST",
            auth_url.rstrip("/") + TOKEN_PATH,
            operation="lwa_token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
                "client_secret": client_secret,
            },
            classify=_classify,
        )
        if not isinstance(body, dict) or not body.get("access_token"):
            raise BadPayload("LWA token response has no access_token")
        try:
            expires_in = int(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            raise BadPayload(f"LWA token response: expires_in is not a number: {body.get('expires_in')!r}") from None
        return TokenState(
            access_token=body["access_token"],
            expires_at=clock() + timedelta(seconds=expires_in),
            refresh_token=body.get("refresh_token") or refresh_token,
        )

    return refresh


def lwa_token(
    store: StoreConfig,
    key: str,
    token_store: TokenStore | None,
    *,
    credentials: Credentials | None = None,
    auth_url: str | None = None,
) -> RefreshingToken:
    """The refreshing LWA access token of one store (SP-API or, with the ads credentials, Ads)."""
    if token_store is None:
        raise ConfigError(f"store {store.store_id}: LWA tokens need a token store (KPI_STATE_DIR)")
    refresh = lwa_refresher(
        auth_url or store.auth_url or DEFAULT_AUTH_URL,
        store.secret("client_id_env", credentials),
        store.secret("client_secret_env", credentials),
        HttpClient(platform="lwa", retry=RetryPolicy()),
    )
    seed = TokenState(access_token=None, expires_at=None, refresh_token=store.secret("refresh_token_env", credentials))
    return RefreshingToken(key, token_store, seed, refresh, rotating=False)
