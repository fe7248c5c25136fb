"""The stores file: which stores to sync, where their API lives and which env vars hold credentials.

Validated on load; a bad value gives an error naming the file, the line and the field, e.g.
`stores.yaml:14: stores[2].timezone: 'Europe/Berln' is not an IANA time zone`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ingestion.errors import ConfigError

PLATFORMS = ("shopify", "amazon", "tiktok", "shopee", "rakuten")
ECB_BASE_URL = "https://www.ecb.europa.eu"


ENV_NAME = r"^[A-Z][A-Z0-9_]*$"


class Credentials(BaseModel):
    """Names of the environment variables holding a store's secrets (never the secrets themselves).

    What each platform needs (see docs/sources/):
      shopify   access_token_env, or client_id_env + client_secret_env + refresh_token_env (expiring tokens)
      amazon    client_id_env + client_secret_env (the LWA app) + refresh_token_env (the seller's Atzr|...)
      tiktok    client_id_env (app_key) + client_secret_env (app_secret) + refresh_token_env
      shopee    client_id_env (partner_id) + client_secret_env (partner_key) + refresh_token_env
      rakuten   service_secret_env + license_key_env
    """

    model_config = ConfigDict(extra="forbid")
    access_token_env: str | None = Field(default=None, pattern=ENV_NAME)
    client_id_env: str | None = Field(default=None, pattern=ENV_NAME)
    client_secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    refresh_token_env: str | None = Field(default=None, pattern=ENV_NAME)
    service_secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    license_key_env: str | None = Field(default=None, pattern=ENV_NAME)

    @property
    def expiring(self) -> bool:
        return self.access_token_env is None

    def check(self, platform: str) -> None:
        """Raise ValueError unless the fields needed by `platform` (and no others) are given."""
        given = {name for name, value in self if value is not None}
        refresh = {"client_id_env", "client_secret_env", "refresh_token_env"}
        allowed = {
            "shopify": [{"access_token_env"}, refresh],
            "amazon": [refresh],
            "tiktok": [refresh, refresh | {"access_token_env"}],
            "shopee": [refresh, refresh | {"access_token_env"}],
            "rakuten": [{"service_secret_env", "license_key_env"}],
        }[platform]
        if given not in allowed:
            options = " or ".join(" + ".join(sorted(a)) for a in allowed)
            raise ValueError(f"{platform} credentials need {options} (got {', '.join(sorted(given)) or 'none'})")


# Credentials that expire on a fixed schedule, per source; their lifetimes are in the dbt seed
# credential_lifetimes (with the reference for each), which marts.sync_health counts down from the
# dates in `credentials_issued_at`. Shopify offline tokens do not expire.
EXPIRING_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "shopify": (),
    "amazon": ("refresh_token", "client_secret"),  # SP-API seller authorization, LWA client secret
    "amazon_ads": ("client_secret",),  # the Ads app's LWA client secret
    "tiktok": ("refresh_token",),  # the seller's authorization of the app
    "shopee": ("refresh_token",),
    "rakuten": ("license_key",),
}


class CredentialDates(BaseModel):
    """When each expiring credential was issued or last renewed (a date; times do not matter here)."""

    model_config = ConfigDict(extra="forbid")
    refresh_token: date | None = None
    client_secret: date | None = None
    license_key: date | None = None

    def given(self) -> list[str]:
        return [name for name, value in self if value is not None]


def _check_dates(dates: CredentialDates | None, source: str) -> CredentialDates | None:
    if dates is None:
        return None
    expiring = EXPIRING_CREDENTIALS[source]
    wrong = [name for name in dates.given() if name not in expiring]
    if wrong:
        known = ", ".join(expiring) if expiring else "none (its tokens do not expire on a schedule)"
        raise ValueError(f"{', '.join(wrong)}: {source} has no such expiring credential; it has {known}")
    return dates


# Non-secret account identifiers each platform needs besides credentials.
ACCOUNT_KEYS = {
    "shopify": (),
    "amazon": ("marketplace_id",),
    "tiktok": ("shop_cipher",),
    "shopee": ("shop_id",),
    "rakuten": (),
}


class AdsConfig(BaseModel):
    """The Amazon Ads profile of an Amazon store (its own LWA authorization)."""

    model_config = ConfigDict(extra="forbid")
    profile_id: str = Field(pattern=r"^[0-9]+$")
    base_url: str | None = None
    auth_url: str | None = None
    credentials: Credentials
    credentials_issued_at: CredentialDates | None = None  # see StoreConfig
    lookback_days: int | None = Field(default=None, ge=0, le=60)

    @field_validator("credentials_issued_at")
    @classmethod
    def _issued(cls, value: CredentialDates | None) -> CredentialDates | None:
        return _check_dates(value, "amazon_ads")

    @model_validator(mode="after")
    def _credentials(self) -> AdsConfig:
        self.credentials.check("amazon")
        return self


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    platform: Literal["shopify", "amazon", "tiktok", "shopee", "rakuten"]
    name: str
    marketplace: str
    region: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    owner: str = ""
    base_url: str | None = None  # the platform's API host; each client has the real default
    auth_url: str | None = None  # token endpoint host where it differs (Amazon LWA, TikTok auth)
    account: dict[str, str] = Field(default_factory=dict)  # marketplace_id, shop_cipher, shop_id...
    credentials: Credentials
    # When each expiring credential was issued: marts.sync_health counts the days until it expires.
    credentials_issued_at: CredentialDates | None = None
    ads: AdsConfig | None = None  # Amazon stores that advertise
    lookback_days: int | None = Field(default=None, ge=0, le=60)  # default: the source's own look-back
    # Multiplies the client's documented per-operation rates. Raise it only where the platform
    # grants more (a contracted usage plan, or the local sandbox); 1.0 stays under the published limits.
    rate_limit_scale: float = Field(default=1.0, gt=0, le=1000)

    @model_validator(mode="after")
    def _platform_fields(self) -> StoreConfig:
        self.credentials.check(self.platform)
        missing = [k for k in ACCOUNT_KEYS[self.platform] if not self.account.get(k)]
        if missing:
            raise ValueError(f"{self.platform} stores need account.{', account.'.join(missing)}")
        if self.ads is not None and self.platform != "amazon":
            raise ValueError("ads: is only for Amazon stores (Amazon Ads profiles)")
        return self

    @field_validator("credentials_issued_at")
    @classmethod
    def _issued(cls, value: CredentialDates | None, info: ValidationInfo) -> CredentialDates | None:
        platform = info.data.get("platform")
        return _check_dates(value, platform) if platform else value

    def credential_env_vars(self, credentials: Credentials | None = None) -> dict[str, str]:
        """Credential kind (refresh_token, ...) -> the env var holding it: names only, never values."""
        credentials = credentials or self.credentials
        return {name.removesuffix("_env"): value for name, value in credentials if value is not None}

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value

    def url(self, default: str) -> str:
        """The configured API base URL, or the platform's real one (`{store_id}` filled in)."""
        return (self.base_url or default.format(store_id=self.store_id)).rstrip("/")

    def secret(self, field: str = "access_token_env", credentials: Credentials | None = None) -> str:
        credentials = credentials or self.credentials
        name = getattr(credentials, field)
        value = os.environ.get(name) if name else None
        if not value:
            raise ConfigError(f"store {self.store_id}: environment variable {name} (credentials.{field}) is not set")
        return value


class FxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str = ECB_BASE_URL


class StoresFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stores: list[StoreConfig] = Field(min_length=1)
    fx: FxConfig = FxConfig()

    @model_validator(mode="after")
    def _unique(self) -> StoresFile:
        seen: set[str] = set()
        for store in self.stores:
            if store.store_id in seen:
                raise ValueError(f"store_id {store.store_id!r} is declared twice")
            seen.add(store.store_id)
        return self


ModelT = TypeVar("ModelT", bound=BaseModel)


def _line_index(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map each key path of a YAML document to its 1-based line number."""
    index = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            index.update(_line_index(value, (*path, key.value)))
            index[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.update(_line_index(item, (*path, i)))
    return index


def _field_name(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml_model(
    path: Path | str,
    model: type[ModelT],
    *,
    what: str,
    expected: str,
    checks: Callable[[ModelT], list[tuple[tuple, str]]] | None = None,
) -> ModelT:
    """Read a user-edited YAML file into `model`. Every error names the file, the line and the field
    (`stores.yaml:12: stores[3].region: ...`): `what` names the file's kind, `expected` its top level.
    `checks` finds what the schema cannot see (references to other files), as (field path, message)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    except ValueError as exc:  # an impossible date (2026-13-01) fails while YAML builds the value
        raise ConfigError(f"{path}: invalid value: {exc} (a date must be YYYY-MM-DD)") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected {expected}")
    lines = _line_index(node) if node is not None else {}

    def where(loc: tuple) -> str:
        probe = loc
        while probe and probe not in lines:
            probe = probe[:-1]
        return f"{path}:{lines.get(probe, 1)}: {_field_name(loc) or '(file)'}"

    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            messages.append(f"{where(loc)}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(f"invalid {what}\n  " + "\n  ".join(messages)) from None
    problems = checks(parsed) if checks else []
    if problems:
        raise ConfigError(f"invalid {what}\n  " + "\n  ".join(f"{where(loc)}: {msg}" for loc, msg in problems))
    return parsed


def load_stores(path: Path | str) -> StoresFile:
    return load_yaml_model(path, StoresFile, what="stores file", expected="a mapping with a 'stores' list")
