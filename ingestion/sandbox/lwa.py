"""Sandbox of Login with Amazon (LWA), the token service of both SP-API and Amazon Ads.

`POST /auth/o2/token` (form-encoded `grant_type=refresh_token`) trades a seller's long-lived refresh
token (`Atzr|...`) for a one-hour access token (`Atza|...`). It answers as LWA does: `invalid_grant`
(400) for a revoked or unknown refresh token, `invalid_client` (401) for a wrong or rotated-out
client secret. The API sandboxes ask `check()` whether an access token is valid, expired or unknown.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from ingestion.sandbox.server import Request, Response, SandboxApp, SandboxClock

ACCESS_TOKEN_SECONDS = 3600


@dataclass
class Grant:
    store_id: str
    client_id: str
    revoked: bool = False


class LwaAuthority(SandboxApp):
    def __init__(self, clock: SandboxClock | None = None) -> None:
        super().__init__()
        self.clock = clock or SandboxClock()
        self.apps: dict[str, str] = {}  # client_id -> client_secret
        self._grants: dict[str, Grant] = {}  # refresh token -> grant
        self._access: dict[str, tuple[str, str, datetime]] = {}  # access token -> (store, client, expiry)
        self._lock = threading.Lock()
        self.refresh_calls = 0
        self.route("POST", r"/auth/o2/token", self.token)

    def register(self, store_id: str, app: str) -> tuple[str, str, str]:
        """Authorize `app` (e.g. "sp" or "ads") for a store: (client_id, client_secret, refresh_token)."""
        client_id = f"amzn1.application-oa2-client.sbx{app}"
        secret = self.apps.setdefault(client_id, f"amzn1.oa2-cs.v1.sbx-{app}-secret")
        refresh = f"Atzr|sbx-{app}-{store_id}"
        self._grants[refresh] = Grant(store_id, client_id)
        return client_id, secret, refresh

    def revoke(self, store_id: str) -> None:
        """The seller removed the authorization: refresh tokens and live access tokens stop working."""
        with self._lock:
            for grant in self._grants.values():
                if grant.store_id == store_id:
                    grant.revoked = True
            self._access = {k: v for k, v in self._access.items() if v[0] != store_id}

    def forget_access_tokens(self) -> None:
        """Lose every live access token, as a restarted token service would: cached tokens become
        unknown (invalid), while refresh tokens keep working."""
        with self._lock:
            self._access.clear()

    def expire_access_tokens(self, store_id: str) -> None:
        """Age the store's access tokens past their hour (what a long report download runs into)."""
        with self._lock:
            past = self.clock.now() - timedelta(seconds=1)
            for token, (store, client, _) in list(self._access.items()):
                if store == store_id:
                    self._access[token] = (store, client, past)

    def check(self, token: str | None) -> tuple[str | None, str]:
        """(store_id, "ok") for a live token; (store_id, "expired") or (None, "invalid") otherwise."""
        issued = self._access.get(token or "")
        if issued is None:
            return None, "invalid"
        store_id, _, expires_at = issued
        return store_id, "ok" if expires_at > self.clock.now() else "expired"

    def token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return Response.json(
                {"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"}, 400
            )
        client_id = form.get("client_id", "")
        if self.apps.get(client_id) is None or self.apps[client_id] != form.get("client_secret"):
            return Response.json({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        with self._lock:
            grant = self._grants.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked or grant.client_id != client_id:
                return Response.json(
                    {
                        "error": "invalid_grant",
                        "error_description": "The request has an invalid grant parameter : refresh_token. "
                        "User may have revoked or didn't grant the permission.",
                    },
                    400,
                )
            access = f"Atza|sbx-{grant.store_id}-{time.monotonic_ns():x}"
            expires = self.clock.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS)
            self._access[access] = (grant.store_id, client_id, expires)
            self.refresh_calls += 1
        return Response.json(
            {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token": form["refresh_token"],
            }
        )
