"""Delivery rules over real local receivers: cool-down, reminder, escalation, resolution, a channel that
is down, retries on later runs, restarts; and alert_job on an ephemeral Dagster instance."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import yaml

from alerting.outbox import Outbox
from tests.alerting_helpers import alert, outbox
from tests.receivers import Receiver

T0 = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def hooks():
    a, b = Receiver(), Receiver()
    yield a, b
    a.server.shutdown()
    b.server.shutdown()


def two_channels(tmp_path, hooks, **kw) -> Outbox:
    a, b = hooks
    return outbox(
        tmp_path / "history.jsonl",
        {"A_URL": a.url, "B_URL": b.url},
        {"a": {"type": "webhook", "url_env": "A_URL"}, "b": {"type": "webhook", "url_env": "B_URL"}},
        **kw,
    )


def kinds(receiver: Receiver) -> list[tuple[str, str]]:
    return [(c["body"]["alert"]["alert_key"], c["body"]["kind"]) for c in receiver.calls]


def test_a_firing_condition_is_not_resent_within_the_cooldown_then_reminded(tmp_path, hooks):
    box = two_channels(tmp_path, hooks, cooldown_hours=24)
    assert box.deliver([alert("x")], now=T0).delivered == ["x"]
    assert box.deliver([alert("x")], now=T0 + timedelta(hours=23)).skipped == ["x"]
    assert box.deliver([alert("x")], now=T0 + timedelta(hours=24)).delivered == ["x"]
    assert box.deliver([alert("x")], now=T0 + timedelta(hours=47)).skipped == ["x"]  # counted from the reminder
    assert kinds(hooks[0]) == kinds(hooks[1]) == [("x", "firing"), ("x", "reminder")]


def test_without_reminders_a_firing_condition_is_sent_once(tmp_path, hooks):
    box = two_channels(tmp_path, hooks, reminders=False)
    box.deliver([alert("x")], now=T0)
    assert box.deliver([alert("x")], now=T0 + timedelta(days=5)).skipped == ["x"]
    assert kinds(hooks[0]) == [("x", "firing")]


def test_warning_to_critical_is_sent_at_once_as_an_escalation(tmp_path, hooks):
    box = two_channels(tmp_path, hooks)
    box.deliver([alert("x", "warning", condition_key="c")], now=T0)
    box.deliver([alert("x2", "critical", condition_key="c")], now=T0 + timedelta(hours=1))
    box.deliver([alert("x3", "warning", condition_key="c")], now=T0 + timedelta(hours=2))  # easing: not sent
    box.deliver([alert("x4", "critical", condition_key="c")], now=T0 + timedelta(hours=3))  # already escalated
    assert kinds(hooks[0]) == [("x", "firing"), ("x2", "escalation")]
    assert hooks[0].calls[1]["body"]["alert"]["severity"] == "critical"


def test_a_condition_that_clears_gets_one_resolved_message_in_its_scope_only(tmp_path, hooks):
    box = two_channels(tmp_path, hooks)
    box.deliver([alert("k"), alert("c", source="check")], active_scope=["kpi_rule", "check"], now=T0)
    report = box.deliver([alert("c", source="check")], active_scope=["kpi_rule"], now=T0 + timedelta(hours=1))
    assert report.resolved == ["k"]
    # every later tick: nothing more about k; c is out of the scope given, so it stays open
    for hour in (2, 3):
        assert box.deliver([], active_scope=["kpi_rule"], now=T0 + timedelta(hours=hour)).resolved == []
    assert kinds(hooks[0]) == [("k", "firing"), ("c", "firing"), ("k", "resolved")]
    # a prefix scope resolves c; firing again later starts a new episode
    assert box.deliver([], active_scope=["c*"], now=T0 + timedelta(hours=4)).resolved == ["c"]
    box.deliver([alert("k")], now=T0 + timedelta(hours=5))
    assert kinds(hooks[1])[-2:] == [("c", "resolved"), ("k", "firing")]


def test_a_channel_that_is_down_does_not_block_the_other_and_gets_everything_later_once(tmp_path, hooks):
    a, b = hooks
    a.fail_left = 100
    box = two_channels(tmp_path, hooks, attempts=3)
    report = box.deliver([alert("x"), alert("y")], now=T0)
    assert report.failed == ["x -> a", "y -> a"] and report.delivered == []
    assert kinds(b) == [("x", "firing"), ("y", "firing")]
    assert len(a.calls) == 3  # x tried three times; y deferred: a had failed in this run
    history = box.history()
    assert [(r["channel"], r["status"], r["attempt"]) for r in history if r["alert_key"] == "y"] == [
        ("a", "deferred", 0),
        ("b", "delivered", 1),
    ]
    assert sorted(al.alert_key for al in box.undelivered()) == ["x", "y"]

    a.fail_left = 0
    later = Outbox(box.path, box.routing, {"A_URL": a.url, "B_URL": b.url})  # a new process
    report = later.deliver([alert("x"), alert("y")], now=T0 + timedelta(hours=1))
    assert sorted(report.delivered) == ["x", "y"] and sorted(report.skipped) == ["x", "y"]
    assert kinds(a)[-2:] == [("x", "firing"), ("y", "firing")] and len(b.calls) == 2
    assert later.undelivered() == []
    # the same notification keeps its id on the retry (receivers can de-duplicate on it)
    assert a.calls[-2]["key"] == b.calls[0]["key"]
    x_on_a = [r["attempt"] for r in later.history() if r["alert_key"] == "x" and r["channel"] == "a"]
    assert x_on_a == [1, 2, 3, 4]


def test_a_restarted_deliverer_repeats_nothing(tmp_path, hooks):
    box = two_channels(tmp_path, hooks)
    box.deliver([alert("x"), alert("y", "critical")], active_scope=["kpi_rule"], now=T0)
    again = Outbox(box.path, box.routing, {"A_URL": hooks[0].url, "B_URL": hooks[1].url})
    report = again.deliver([alert("x"), alert("y", "critical")], active_scope=["kpi_rule"], now=T0)
    assert (report.delivered, sorted(report.skipped), report.resolved) == ([], ["x", "y"], [])
    assert len(hooks[0].calls) == len(hooks[1].calls) == 2


def test_routes_by_source_rule_severity_and_owner_to_the_union_of_channels(tmp_path, hooks):
    box = two_channels(
        tmp_path,
        hooks,
        routes=[
            {"when": {"severity": "critical"}, "channels": ["a"]},
            {"when": {"source": ["kpi_rule"], "rule_id": ["acos_over_cap"]}, "channels": ["a", "b"]},
        ],
        owners={"dana": ["b"]},
    )
    report = box.deliver(
        [
            alert("crit", "critical", source="check"),
            alert("acos", rule_id="acos_over_cap"),
            alert("dana", owner="dana"),
            alert("nobody", source="sync_health"),
        ],
        now=T0,
    )
    assert [c["body"]["alert"]["alert_key"] for c in hooks[0].calls] == ["crit", "acos"]
    assert [c["body"]["alert"]["alert_key"] for c in hooks[1].calls] == ["acos", "dana"]
    assert report.unrouted == ["nobody"]
    (row,) = [r for r in box.history() if r["alert_key"] == "nobody"]
    assert (row["channel"], row["status"]) == ("-", "unrouted")
    assert box.deliver([alert("nobody", source="sync_health")], now=T0).skipped == ["nobody"]  # recorded once


def test_resolved_goes_only_to_channels_that_got_the_alert(tmp_path, hooks):
    a, b = hooks
    box = two_channels(tmp_path, hooks, attempts=1)
    a.fail_left = 1
    box.deliver([alert("x")], now=T0)  # b got it, a did not
    report = box.deliver([], active_scope=["kpi_rule"], now=T0 + timedelta(hours=1))
    assert report.resolved == ["x"]
    assert kinds(a) == [("x", "firing")] and kinds(b) == [("x", "firing"), ("x", "resolved")]
    assert box.undelivered() == []  # the firing message a missed is superseded by the resolution


# -- the Dagster alert job ------------------------------------------------------------------------


def test_alert_job_delivers_through_the_routing_file_once(settings, monkeypatch, tmp_path):
    from orchestration.defs.alerts import _item
    from orchestration.launch import load_defs

    hook = Receiver(secret="job-secret")
    routes = {
        "channels": {"ops": {"type": "webhook", "url_env": "OPS_HOOK_URL", "secret_env": "OPS_HOOK_SECRET"}},
        "routes": [{"channels": ["ops"]}],
        "delivery": {"backoff_seconds": 0},
    }
    (tmp_path / "alert_channels.yaml").write_text(yaml.safe_dump(routes))
    monkeypatch.setenv("KPI_ALERT_CHANNELS", str(tmp_path / "alert_channels.yaml"))
    monkeypatch.setenv("OPS_HOOK_URL", hook.url)
    monkeypatch.setenv("OPS_HOOK_SECRET", "job-secret")
    defs = load_defs()
    job = defs.resolve_job_def("alert_job")

    def run(alerts, scope):
        config = {"alerts": [_item(a) for a in alerts], "active_scope": scope}
        return job.execute_in_process(
            instance=instance,
            run_config={"ops": {"deliver_alerts": {"config": config}}},
            resources={"kpi": defs.resources["kpi"]},
        )

    try:
        with dg.instance_for_test() as instance:
            first = run([alert("sync:acme-de", "critical", source="sync_health", owner="dana")], ["sync_health"])
            assert first.output_for_node("deliver_alerts")["delivered"] == 1
            assert run([alert("sync:acme-de", "critical", source="sync_health")], ["sync_health"]).output_for_node(
                "deliver_alerts"
            ) == {"delivered": 0, "skipped": 1, "resolved": 0}
            healthy = run([], ["sync_health"])
            assert healthy.output_for_node("deliver_alerts")["resolved"] == 1
        assert [(c["body"]["kind"], c["verified"]) for c in hook.calls] == [("firing", True), ("resolved", True)]
        assert hook.calls[0]["body"]["alert"]["owner"] == "dana"
        assert "job-secret" not in settings.outbox_path.read_text()
    finally:
        hook.server.shutdown()


def test_alert_job_fails_without_retries_on_an_invalid_routing_file(settings, monkeypatch, tmp_path):
    from orchestration.launch import load_defs

    (tmp_path / "alert_channels.yaml").write_text("channels:\n  ops:\n    type: pager\n")
    monkeypatch.setenv("KPI_ALERT_CHANNELS", str(tmp_path / "alert_channels.yaml"))
    defs = load_defs()
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("alert_job").execute_in_process(
            instance=instance,
            run_config={"ops": {"deliver_alerts": {"config": {"alerts": []}}}},
            resources={"kpi": defs.resources["kpi"]},
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "alert_channels.yaml:3: channels.ops.type" in failure.step_failure_data.error.message
