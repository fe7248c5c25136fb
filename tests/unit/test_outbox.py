"""Alert delivery against a real local HTTP receiver that fails on demand."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerting.outbox import Alert, Outbox


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[dict] = []
        self.fail_left = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.calls.append({"body": body, "key": self.headers.get("Idempotency-Key")})
                status = 200
                if receiver.fail_left > 0:
                    receiver.fail_left -= 1
                    status = 503
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


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
