import stat
from datetime import UTC, datetime, timedelta

from ingestion.tokens import RefreshingToken, TokenState, TokenStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)


class Issuer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, refresh_token: str) -> TokenState:
        self.calls.append(refresh_token)
        n = len(self.calls)
        return TokenState(f"access-{n}", T0 + timedelta(hours=n), f"refresh-{n}")


def test_refreshes_before_expiry_and_persists_the_rotated_token_owner_only(tmp_path):
    now = [T0]
    store, issuer = TokenStore(tmp_path), Issuer()
    token = RefreshingToken("shopify-x", store, TokenState(None, None, "seed"), issuer, clock=lambda: now[0])
    assert token.get() == "access-1" and issuer.calls == ["seed"]
    now[0] = T0 + timedelta(minutes=50)
    assert token.get() == "access-1"  # 10 minutes left: still good
    now[0] = T0 + timedelta(minutes=56)
    assert token.get() == "access-2" and issuer.calls == ["seed", "refresh-1"]  # within the 5-minute margin
    saved = store.load("shopify-x")
    assert saved.refresh_token == "refresh-2"
    assert stat.S_IMODE((tmp_path / "tokens" / "shopify-x.json").stat().st_mode) == 0o600


def test_a_restart_uses_the_stored_rotated_token_not_the_stale_seed(tmp_path):
    store, issuer = TokenStore(tmp_path), Issuer()
    RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: T0).get()
    again = RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: T0)
    assert again.get() == "access-1" and issuer.calls == ["seed"]  # no refresh with the used-up seed


def test_force_refresh_only_once_for_concurrent_rejections(tmp_path):
    issuer = Issuer()
    token = RefreshingToken("k", TokenStore(tmp_path), TokenState(None, None, "seed"), issuer, clock=lambda: T0)
    first = token.get()
    assert token.force_refresh(first) == "access-2"
    assert token.force_refresh(first) == "access-2"  # a second caller with the old token: no new refresh
    assert issuer.calls == ["seed", "refresh-1"]


def test_a_second_process_takes_the_pair_another_one_rotated_instead_of_spending_its_refresh_token(tmp_path):
    """Two assets of one store run in two processes with the same stored pair; when both find it
    stale, the first refreshes (under the store's lock) and the second adopts the new pair."""
    now = [T0]
    store, issuer = TokenStore(tmp_path), Issuer()
    RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: now[0]).get()
    now[0] = T0 + timedelta(minutes=58)  # access-1 is within the margin for both processes
    a = RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: now[0])
    b = RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: now[0])
    assert a.get() == "access-2"
    assert b.get() == "access-2" and b.refreshes == 0
    assert issuer.calls == ["seed", "refresh-1"]  # refresh-1 was spent once, not twice


def test_a_stale_pair_stored_by_another_process_is_refreshed_with_its_own_refresh_token(tmp_path):
    """The stored pair is newer than ours but also near expiry: refresh with the stored refresh token
    (ours is spent), never with the one we started with."""
    now = [T0]
    store, issuer = TokenStore(tmp_path), Issuer()
    old = RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: now[0])
    old.get()  # access-1 / refresh-1, expires T0 + 1 h
    other = RefreshingToken("k", store, TokenState(None, None, "seed"), issuer, clock=lambda: now[0])
    now[0] = T0 + timedelta(minutes=58)
    other.get()  # the other process rotates: access-2 / refresh-2, expires T0 + 2 h
    now[0] = T0 + timedelta(hours=1, minutes=58)  # both pairs are now stale for `old`
    assert old.get() == "access-3"
    assert issuer.calls == ["seed", "refresh-1", "refresh-2"]
