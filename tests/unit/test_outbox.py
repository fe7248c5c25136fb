"""Alert delivery against a real local HTTP receiver that fails on demand."""

import pytest

from alerting.outbox import Alert, Outbox
from tests.receivers import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def alert(key: str) -> Alert:
    return Alert(key, "kpi_rule", "warning", f"title {key}", "body", "store:acme-us", {"value": 0.3})


def test_each_alert_is_delivered_once_even_when_sent_again(tmp_path, receiver):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    first = outbox.deliver([alert("a"), alert("b")], receiver.url, backoff=0)
    second = outbox.deliver([alert("a"), alert("b"), alert("c")], receiver.url, backoff=0)
    assert (first.delivered, second.delivered, second.skipped) == (["a", "b"], ["c"], ["a", "b"])
    assert [c["key"] for c in receiver.calls] == ["a", "b", "c"]
    assert receiver.calls[0]["body"]["alert"]["details"] == {"value": 0.3}


def test_a_failing_webhook_is_retried_then_recorded_failed_and_sent_later(tmp_path, receiver):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    receiver.fail_left = 1
    assert outbox.deliver([alert("a")], receiver.url, backoff=0).delivered == ["a"]  # retried within the call
    receiver.fail_left = 5
    report = outbox.deliver([alert("b")], receiver.url, attempts=3, backoff=0)
    assert report.failed == ["b"]
    assert [r["status"] for r in outbox.history()] == ["delivered", "failed"]
    assert outbox.history()[-1]["error"] == "HTTP 503"
    receiver.fail_left = 0
    assert outbox.deliver([alert("b")], receiver.url, backoff=0).delivered == ["b"]


def test_without_webhook_the_outbox_is_the_channel(tmp_path):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    assert outbox.deliver([alert("a")]).delivered == ["a"]
    assert outbox.history()[0]["channel"] == "outbox"


def test_failed_deliveries_are_offered_again_until_delivered(tmp_path, receiver):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    receiver.fail_left = 10
    outbox.deliver([alert("a"), alert("b")], receiver.url, attempts=1, backoff=0)
    assert sorted(a.alert_key for a in outbox.undelivered()) == ["a", "b"]
    assert outbox.undelivered()[0].details == {"value": 0.3}
    receiver.fail_left = 0
    outbox.deliver(outbox.undelivered(), receiver.url, backoff=0)
    assert outbox.undelivered() == []
    assert "secret" not in (tmp_path / "outbox.jsonl").read_text()


def test_an_unreachable_hook_records_the_error_class_not_the_url(tmp_path):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    outbox.deliver([alert("a")], "http://127.0.0.1:9/services/secret-token", attempts=1, backoff=0)
    (row,) = outbox.history()
    assert row["status"] == "failed" and row["error"] == "ConnectionError"
    assert "secret-token" not in (tmp_path / "outbox.jsonl").read_text()
