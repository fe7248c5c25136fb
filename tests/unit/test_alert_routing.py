"""The alert routing file: validation errors name the file, line and field; defaults without a file."""

import pytest

from alerting.routing import load_routing
from ingestion.errors import ConfigError
from ingestion.settings import PROJECT_ROOT
from tests.alerting_helpers import alert


def test_the_example_routing_file_is_valid_and_routes_by_owner():
    routing = load_routing(PROJECT_ROOT / "alert_channels.example.yaml", {}, must_exist=True)
    assert routing.delivery.cooldown_hours == 24
    names = routing.channel_names(alert("a", "critical", owner="alice", rule_id="acos_over_cap"))
    assert "dana-mail" in names and len(names) == len(set(names))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channels:\n  ops:\n    type: slack\n", "x.yaml:2: channels.ops: a slack channel needs url_env"),
        ("channels:\n  ops:\n    type: slack\n    url_env: lower\n", "x.yaml:4: channels.ops.url_env: String should"),
        (
            "channels:\n  ops: {type: log}\nroutes:\n  - when: {severity: fatal}\n    channels: [ops]\n",
            "x.yaml:4: routes[0].when.severity[0]: Input should be 'warning' or 'critical'",
        ),
        (
            "channels:\n  ops: {type: log}\nowners:\n  dana: [dana-slack]\n",
            "unknown channel(s), not under `channels`: owners.dana: 'dana-slack'",
        ),
        ("channels:\n  m: {type: email, to: [nobody]}\n", "x.yaml:2: channels.m.to: Value error, not an e-mail"),
        ("channels: [oops\n", "x.yaml:2: not valid YAML"),
    ],
)
def test_errors_name_the_file_line_and_field(tmp_path, text, message):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_routing(path, {}, must_exist=True)
    assert message.replace("x.yaml", str(path)).replace("Value error, ", "") in str(err.value)


def test_without_a_routing_file_alerts_go_to_the_default_webhook_or_the_history(tmp_path):
    missing = tmp_path / "none.yaml"
    assert load_routing(missing, {}).channel_names(alert()) == ["outbox"]
    routing = load_routing(missing, {"KPI_ALERT_WEBHOOK_URL": "http://x"})
    assert routing.channel_names(alert()) == ["webhook"] and routing.channels["webhook"].secret_env is None
    with pytest.raises(ConfigError, match="cannot read"):
        load_routing(missing, {}, must_exist=True)
