"""Expiring access tokens with rotating refresh tokens, refreshed before they expire.

Platforms that rotate refresh tokens (Shopify expiring offline tokens, Shopee, TikTok Shop) hand out
a new refresh token with every refresh; losing it locks the store out. So the new pair is written
to the token store (atomically, owner-only) before the new access token is used, and a refresh is
serialised per store.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from ingestion.errors import AuthExpired
from ingestion.lake import atomic_write_bytes

T = TypeVar("T")


@dataclass(frozen=True)
class TokenState:
    access_token: str | None
    expires_at: datetime | None
    refresh_token: str
    refresh_expires_at: datetime | None = None

    def to_json(self) -> dict:
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at.isoformat() if self.refresh_expires_at else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> TokenState:
        def ts(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            data.get("access_token"),
            ts(data.get("expires_at")),
            data["refresh_token"],
            ts(data.get("refresh_expires_at")),
        )


class TokenStore:
    """One JSON file per (platform, store) under `<state dir>/tokens/`, readable by the owner only."""

    def __init__(self, state_dir: Path | str) -> None:
        self.root = Path(state_dir) / "tokens"

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def load(self, key: str) -> TokenState | None:
        path = self._path(key)
        return TokenState.from_json(json.loads(path.read_text())) if path.exists() else None

    def save(self, key: str, state: TokenState) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(key)
        atomic_write_bytes(path, json.dumps(state.to_json()).encode())
        os.chmod(path, 0o600)

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """An exclusive lock on one store's tokens across threads and processes (Dagster runs each
        asset of a store in its own process, and they share the store's refresh token)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.root / f"{key}.lock", "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


Refresher = Callable[[str], TokenState]


class RefreshingToken:
    """The current access token of one store; refreshed `margin` before expiry or when rejected."""

    def __init__(
        self,
        key: str,
        store: TokenStore,
        seed: TokenState,
        refresh: Refresher,
        *,
        margin: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rotating: bool = True,
    ) -> None:
        self.key, self.store, self._refresh, self.margin, self.clock = key, store, refresh, margin, clock
        # A stored pair is newer than the seed from the environment when refresh tokens rotate (the
        # seed's may already be used up). When they do not rotate (LWA), a different seed means the
        # seller re-authorized and the environment holds the new grant.
        stored = store.load(key)
        if stored is not None and not rotating and stored.refresh_token != seed.refresh_token:
            stored = None
        self.state = stored or seed
        self._lock = threading.Lock()
        self.refreshes = 0

    def _stale(self, state: TokenState | None = None) -> bool:
        s = state or self.state
        return s.access_token is None or (s.expires_at is not None and s.expires_at - self.margin <= self.clock())

    def get(self) -> str:
        with self._lock:
            if self._stale():
                self._rotate()
            assert self.state.access_token is not None
            return self.state.access_token

    def force_refresh(self, rejected: str) -> str:
        """After the platform rejected `rejected` as expired; a concurrent caller may have refreshed already."""
        with self._lock:
            if self.state.access_token == rejected:
                self._rotate()
            assert self.state.access_token is not None
            return self.state.access_token

    def _rotate(self) -> None:
        with self.store.lock(self.key):
            # Another process may have rotated meanwhile: its pair is the live one and our refresh
            # token is already spent. Take the stored pair, and refresh only if it is stale too.
            stored = self.store.load(self.key)
            if stored is not None and stored.refresh_token != self.state.refresh_token:
                adopted = stored.access_token != self.state.access_token and not self._stale(stored)
                self.state = stored
                if adopted:
                    return
            new = self._refresh(self.state.refresh_token)
            self.store.save(self.key, new)  # persist the rotated refresh token before anything uses it
            self.state = new
            self.refreshes += 1


def call_with_token(
    token: str | RefreshingToken,
    send: Callable[[str], T],
    refresh_on: tuple[type[Exception], ...] = (AuthExpired,),
) -> T:
    """Call `send` with the current access token. A refreshing token rejected as expired before its
    time (clock skew, a reinstall) is refreshed once and the call repeated; a static one is not.
    `refresh_on` names the rejections one fresh token may cure (SP-API: also an unknown token)."""
    if isinstance(token, str):
        return send(token)
    current = token.get()
    try:
        return send(current)
    except refresh_on:
        return send(token.force_refresh(current))
