"""marts.alert_history: real dbt on DuckDB over the delivery history, also before the first alert."""

from datetime import UTC, datetime, timedelta

import duckdb

from tests.alerting_helpers import alert, outbox
from tests.conftest import run_dbt
from tests.receivers import Receiver

T0 = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)
MODELS = ("--select", "stg_alerts__delivery_attempts", "alert_history")


def rows(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "select alert_key, notification_kind, channel, final_status, attempts, failed_attempts, deferrals,"
            " last_error_class from marts.alert_history order by notified_at, alert_key, channel"
        ).fetchall()


def test_alert_history_builds_before_the_first_alert_and_tells_how_each_delivery_ended(settings, tmp_path):
    target = ("--target-path", str(tmp_path / "target"))
    assert not settings.outbox_path.exists()
    run_dbt("build", *MODELS, *target)
    assert rows(settings) == []

    up, down = Receiver(), Receiver(fail_first=100)
    try:
        box = outbox(
            settings.outbox_path,
            {"UP": up.url, "DOWN": down.url},
            {"up": {"type": "slack", "url_env": "UP"}, "down": {"type": "webhook", "url_env": "DOWN"}},
            routes=[{"when": {"source": "kpi_rule"}, "channels": ["up", "down"]}],
            attempts=2,
        )
        up.style = "slack"
        box.deliver([alert("x"), alert("y"), alert("lost", source="check")], now=T0)
        down.fail_left = 0
        box.deliver([alert("y")], active_scope=["kpi_rule"], now=T0 + timedelta(hours=1))  # x resolved
    finally:
        up.server.shutdown()
        down.server.shutdown()

    run_dbt("build", *MODELS, *target)
    assert rows(settings) == [
        ("lost", "firing", "-", "unrouted", 0, 0, 0, None),
        ("x", "firing", "down", "superseded", 2, 2, 0, "http_error"),
        ("x", "firing", "up", "delivered", 1, 0, 0, None),
        ("y", "firing", "down", "delivered", 1, 0, 1, "channel_down"),
        ("y", "firing", "up", "delivered", 1, 0, 0, None),
        ("x", "resolved", "up", "delivered", 1, 0, 0, None),
    ]
