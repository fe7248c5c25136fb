"""The routing file (alert_channels.yaml): which channels exist and which alerts go to which.

Validated on load; a bad value gives an error naming the file, the line and the field, e.g.
`alert_channels.yaml:12: channels.ops-slack.url_env: String should match pattern '^[A-Z][A-Z0-9_]*$'`.
An alert goes to the union of the channels of every route it matches plus its owner's channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerting.channels import (
    Channel,
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    LogChannel,
    SlackChannel,
    WebhookChannel,
    WeComChannel,
)
from alerting.model import Alert
from ingestion.config import ENV_NAME, load_yaml_model

HTTP_TYPES = ("webhook", "slack", "feishu", "wecom", "dingtalk")
DEFAULT_WEBHOOK_URL_ENV = "KPI_ALERT_WEBHOOK_URL"
DEFAULT_WEBHOOK_SECRET_ENV = "KPI_ALERT_WEBHOOK_SECRET"


class ChannelSpec(BaseModel):
    """A channel: its type and the names of the environment variables holding its URL and secrets."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook", "slack", "feishu", "wecom", "dingtalk", "email", "log"]
    url_env: str | None = Field(default=None, pattern=ENV_NAME)
    secret_env: str | None = Field(default=None, pattern=ENV_NAME)  # webhook HMAC, Feishu / DingTalk signing
    format: Literal["text", "interactive"] | None = None  # feishu only (default interactive)
    to: list[str] = Field(default_factory=list)  # email only
    host_env: str = Field(default="KPI_SMTP_HOST", pattern=ENV_NAME)
    port_env: str = Field(default="KPI_SMTP_PORT", pattern=ENV_NAME)
    user_env: str = Field(default="KPI_SMTP_USER", pattern=ENV_NAME)
    password_env: str = Field(default="KPI_SMTP_PASSWORD", pattern=ENV_NAME)
    from_env: str = Field(default="KPI_SMTP_FROM", pattern=ENV_NAME)
    starttls: bool = True

    @model_validator(mode="after")
    def _fields_of_type(self) -> ChannelSpec:
        if self.type in HTTP_TYPES and not self.url_env:
            raise ValueError(f"a {self.type} channel needs url_env (the variable holding its webhook URL)")
        if self.type == "email" and not self.to:
            raise ValueError("an email channel needs `to` (one or more addresses)")
        if self.type != "email" and self.to:
            raise ValueError(f"`to` is for email channels, not {self.type}")
        if self.format is not None and self.type != "feishu":
            raise ValueError("`format` is for feishu channels")
        if self.secret_env and self.type not in ("webhook", "feishu", "dingtalk"):
            raise ValueError(f"{self.type} channels have no signing secret")
        return self

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return value


def _as_list(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


class Match(BaseModel):
    """Every field given must match (a list means any of); an empty match takes every alert."""

    model_config = ConfigDict(extra="forbid")
    source: list[str] | None = None
    rule_id: list[str] | None = None
    severity: list[Literal["warning", "critical"]] | None = None

    @field_validator("source", "rule_id", "severity", mode="before")
    @classmethod
    def _one_or_many(cls, value: str | list[str] | None) -> list[str] | None:
        return _as_list(value)

    def matches(self, alert: Alert) -> bool:
        return (
            (self.source is None or alert.source in self.source)
            and (self.rule_id is None or alert.rule_id in self.rule_id)
            and (self.severity is None or alert.severity in self.severity)
        )


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: Match = Field(default_factory=Match)
    channels: list[str] = Field(min_length=1)


class DeliverySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cooldown_hours: float = Field(default=24, gt=0)  # the same condition is not re-sent within it
    reminders: bool = True  # after the cool-down a still-firing condition is sent again, as a reminder
    attempts: int = Field(default=3, ge=1, le=10)  # per channel and run
    backoff_seconds: float = Field(default=2, ge=0)  # doubles after each failed attempt
    timeout_seconds: float = Field(default=10, gt=0)


class RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    channels: dict[str, ChannelSpec] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    owners: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_channels(self) -> RoutingFile:
        named = [(f"routes[{i}]", c) for i, r in enumerate(self.routes) for c in r.channels]
        named += [(f"owners.{o}", c) for o, cs in self.owners.items() for c in cs]
        unknown = [f"{where}: {c!r}" for where, c in named if c not in self.channels]
        if unknown:
            raise ValueError(f"unknown channel(s), not under `channels`: {'; '.join(unknown)}")
        return self

    def channel_names(self, alert: Alert) -> list[str]:
        names = [c for route in self.routes if route.when.matches(alert) for c in route.channels]
        names += self.owners.get(alert.owner or "", [])
        return list(dict.fromkeys(names))

    def build_channels(self, env: Mapping[str, str]) -> dict[str, Channel]:
        return {name: build_channel(name, spec, env) for name, spec in self.channels.items()}


def build_channel(name: str, spec: ChannelSpec, env: Mapping[str, str]) -> Channel:
    if spec.type == "webhook":
        return WebhookChannel(name, spec.url_env, env, spec.secret_env)
    if spec.type == "slack":
        return SlackChannel(name, spec.url_env, env)
    if spec.type == "feishu":
        return FeishuChannel(name, spec.url_env, env, spec.secret_env, spec.format or "interactive")
    if spec.type == "wecom":
        return WeComChannel(name, spec.url_env, env)
    if spec.type == "dingtalk":
        return DingTalkChannel(name, spec.url_env, env, spec.secret_env)
    if spec.type == "email":
        envs = {
            "host": spec.host_env,
            "port": spec.port_env,
            "user": spec.user_env,
            "password": spec.password_env,
            "sender": spec.from_env,
        }
        return EmailChannel(name, spec.to, env, envs, spec.starttls)
    return LogChannel(name)


def default_routing(env: Mapping[str, str]) -> RoutingFile:
    """Without a routing file: every alert to the KPI_ALERT_WEBHOOK_URL webhook (signed when
    KPI_ALERT_WEBHOOK_SECRET is set) or, without one, to the history file only."""
    if env.get(DEFAULT_WEBHOOK_URL_ENV):
        secret = DEFAULT_WEBHOOK_SECRET_ENV if env.get(DEFAULT_WEBHOOK_SECRET_ENV) else None
        spec = ChannelSpec(type="webhook", url_env=DEFAULT_WEBHOOK_URL_ENV, secret_env=secret)
        return RoutingFile(channels={"webhook": spec}, routes=[Route(channels=["webhook"])])
    return RoutingFile(channels={"outbox": ChannelSpec(type="log")}, routes=[Route(channels=["outbox"])])


def load_routing(path: Path | str, env: Mapping[str, str], *, must_exist: bool = False) -> RoutingFile:
    """The routing file; when it does not exist (and need not), the default routing."""
    path = Path(path)
    if not path.exists() and not must_exist:
        return default_routing(env)
    return load_yaml_model(
        path, RoutingFile, what="alert routing file", expected="a mapping with `channels` and `routes`"
    )
