"""Building blocks of the alerting tests: alerts, routing files and outboxes over real receivers."""

from pathlib import Path

from alerting.model import Alert
from alerting.outbox import Outbox
from alerting.routing import ChannelSpec, DeliverySettings, Route, RoutingFile


def alert(key: str = "a", severity: str = "warning", source: str = "kpi_rule", **kw) -> Alert:
    return Alert(
        alert_key=key,
        source=source,
        severity=severity,
        title=f"{severity} {key}",
        body=f"body of {key}",
        subject="store:acme-us",
        details={"value": 0.3},
        **kw,
    )


def routing(channels: dict[str, dict], routes: list[dict] | None = None, owners=None, **delivery) -> RoutingFile:
    return RoutingFile(
        delivery=DeliverySettings(**{"backoff_seconds": 0, "timeout_seconds": 5, **delivery}),
        channels={name: ChannelSpec(**spec) for name, spec in channels.items()},
        routes=[Route(**r) for r in routes] if routes is not None else [Route(channels=list(channels))],
        owners=owners or {},
    )


def outbox(path: Path, env: dict, channels: dict[str, dict], **kw) -> Outbox:
    return Outbox(path, routing(channels, **kw), env)
