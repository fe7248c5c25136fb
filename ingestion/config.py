"""The stores file: which stores to sync, where their API lives and which env vars hold credentials.

Validated on load; a bad value gives an error naming the file, the line and the field, e.g.
`stores.yaml:14: stores[2].timezone: 'Europe/Berln' is not an IANA time zone`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.errors import ConfigError

PLATFORMS = ("shopify",)
DEFAULT_BASE_URLS = {"shopify": "https://{store_id}.myshopify.com"}
ECB_BASE_URL = "https://www.ecb.europa.eu"


ENV_NAME = r"^[A-Z][A-Z0-9_]*$"


class Credentials(BaseModel):
    """Names of the environment variables holding a store's secrets: either a non-expiring access
    token, or an app's client id and secret plus the first refresh token of expiring tokens."""

    model_config = ConfigDict(extra="forbid")
    access_token_env: str | None = Field(default=None, pattern=ENV_NAME)
    client_id_env: str | None = Field(default=None, pattern=ENV_NAME)
    client_secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    refresh_token_env: str | None = Field(default=None, pattern=ENV_NAME)

    @model_validator(mode="after")
    def _one_mode(self) -> Credentials:
        refresh = (self.client_id_env, self.client_secret_env, self.refresh_token_env)
        if self.access_token_env is None and not all(refresh):
            raise ValueError("give access_token_env, or client_id_env + client_secret_env + refresh_token_env")
        if self.access_token_env is not None and any(refresh):
            raise ValueError("access_token_env and the refresh-token fields are exclusive")
        return self

    @property
    def expiring(self) -> bool:
        return self.access_token_env is None


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    platform: Literal["shopify"]
    name: str
    marketplace: str
    region: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    owner: str = ""
    base_url: str | None = None
    credentials: Credentials
    lookback_days: int = Field(default=2, ge=0, le=60)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value

    @property
    def api_base_url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS[self.platform].format(store_id=self.store_id)).rstrip("/")

    def secret(self, field: str = "access_token_env") -> str:
        name = getattr(self.credentials, field)
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


def load_stores(path: Path | str) -> StoresFile:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read stores file: {exc.strerror}") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping with a 'stores' list")
    lines = _line_index(node) if node is not None else {}
    try:
        return StoresFile.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            probe = loc
            while probe and probe not in lines:
                probe = probe[:-1]
            line = lines.get(probe, 1)
            field = _field_name(loc) or "(file)"
            messages.append(f"{path}:{line}: {field}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid stores file\n  " + "\n  ".join(messages)) from None
