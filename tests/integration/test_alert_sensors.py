"""The check-alert sensor on an ephemeral Dagster instance: a failed check becomes one alert run; a
restart that re-evaluates from the saved cursor neither repeats nor loses it; a check that passes again
sends one resolved message. Real HTTP to a loopback receiver."""

import dagster as dg
import pytest

from orchestration.defs.alerts import alert_job, check_alerts_sensor
from orchestration.defs.resources import KpiResource
from tests.receivers import Receiver

STATE = {"passed": False}


@dg.asset
def toy() -> int:
    return 1


@dg.asset_check(asset=toy)
def toy_in_range() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=STATE["passed"], severity=dg.AssetCheckSeverity.WARN, description="toy is out of range: fix it"
    )


DEFS = dg.Definitions(
    assets=[toy],
    asset_checks=[toy_in_range],
    jobs=[alert_job, dg.define_asset_job("toy_job", selection=[toy])],
    sensors=[check_alerts_sensor],
    resources={"kpi": KpiResource()},
)


@pytest.fixture
def receiver(settings, monkeypatch, tmp_path):
    receiver = Receiver()
    routing = tmp_path / "alert_channels.yaml"
    routing.write_text("channels:\n  ops: {type: webhook, url_env: OPS_URL}\nroutes:\n  - channels: [ops]\n")
    monkeypatch.setenv("KPI_ALERT_CHANNELS", str(routing))
    monkeypatch.setenv("OPS_URL", receiver.url)
    yield receiver
    receiver.server.shutdown()


def tick(instance, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=DEFS, resources=DEFS.resources)
    return DEFS.resolve_sensor_def("check_alerts_sensor").evaluate_tick(context)


def execute(instance, request) -> dict:
    result = DEFS.resolve_job_def("alert_job").execute_in_process(
        instance=instance, run_config=request.run_config, tags={"dagster/run_key": request.run_key}
    )
    return result.output_for_node("deliver_alerts")


def test_a_failed_check_is_sent_once_across_restarts_and_resolved_once(receiver):
    with dg.instance_for_test() as instance:
        STATE["passed"] = False
        DEFS.resolve_job_def("toy_job").execute_in_process(instance=instance, raise_on_error=False)

        first = tick(instance, None)
        (request,) = first.run_requests
        # the daemon died before it stored the cursor: the re-evaluation asks for the same run key, which
        # the daemon skips; with the stored cursor the tick asks for nothing
        (again,) = tick(instance, None).run_requests
        assert again.run_key == request.run_key
        assert execute(instance, request)["delivered"] == 1
        assert tick(instance, first.cursor).run_requests == []
        ((call),) = receiver.calls
        assert call["body"]["kind"] == "firing"
        assert call["body"]["alert"]["condition_key"] == "check:toy:toy_in_range"
        assert call["body"]["alert"]["severity"] == "warning"
        assert call["body"]["alert"]["body"] == "toy is out of range: fix it"

        # a later failing evaluation of the same check: a new tick, but no second message (cool-down)
        DEFS.resolve_job_def("toy_job").execute_in_process(instance=instance, raise_on_error=False)
        later = tick(instance, first.cursor)
        (request,) = later.run_requests
        assert execute(instance, request)["delivered"] == 0 and len(receiver.calls) == 1

        STATE["passed"] = True
        DEFS.resolve_job_def("toy_job").execute_in_process(instance=instance)
        healed = tick(instance, later.cursor)
        (request,) = healed.run_requests
        assert execute(instance, request)["resolved"] == 1
        assert [c["body"]["kind"] for c in receiver.calls] == ["firing", "resolved"]
        assert tick(instance, healed.cursor).run_requests == []
