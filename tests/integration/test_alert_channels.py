"""Each channel's format, signature and success check, over real HTTP and SMTP servers on loopback."""

import logging

import pytest

from tests.alerting_helpers import alert, outbox
from tests.receivers import MailSink, Receiver

SECRET = "s3cret-signing-key"


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        started.append(Receiver(**kwargs))
        return started[-1]

    yield make
    for r in started:
        r.server.shutdown()


def test_webhook_posts_the_alert_json_with_a_verifiable_signature(tmp_path, receivers):
    hook = receivers(secret=SECRET)
    box = outbox(
        tmp_path / "h.jsonl",
        {"HOOK_URL": hook.url, "HOOK_SECRET": SECRET},
        {"ops": {"type": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"}},
    )
    assert box.deliver([alert("a", owner="dana", rule_id="acos_over_cap")]).delivered == ["a"]
    (call,) = hook.calls
    assert call["verified"] is True
    (row,) = box.history()
    assert call["key"] == row["notification_id"] and call["headers"]["X-KPI-Alert-Key"] == "a"
    assert call["body"]["kind"] == "firing"
    assert call["body"]["alert"]["details"] == {"value": 0.3} and call["body"]["alert"]["owner"] == "dana"
    assert (row["status"], row["attempt"], row["http_status"], row["channel_type"]) == ("delivered", 1, 200, "webhook")


def test_a_webhook_signed_with_the_wrong_secret_is_refused_and_not_retried(tmp_path, receivers):
    hook = receivers(secret=SECRET)
    box = outbox(
        tmp_path / "h.jsonl",
        {"HOOK_URL": hook.url, "HOOK_SECRET": "not-the-secret"},
        {"ops": {"type": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"}},
    )
    report = box.deliver([alert("a")])
    assert report.failed == ["a -> ops"] and len(hook.calls) == 1  # a 4xx will not pass on a retry
    (row,) = box.history()
    assert (row["status"], row["http_status"], row["error_class"]) == ("failed", 401, "http_error")


@pytest.mark.parametrize(
    ("style", "spec", "check"),
    [
        ("slack", {}, lambda b: b["text"].startswith("warning a") and b["blocks"][0]["type"] == "header"),
        (
            "feishu",
            {"secret_env": "BOT_SECRET"},
            lambda b: b["msg_type"] == "interactive" and b["card"]["header"]["template"] == "orange",
        ),
        (
            "feishu",
            {"format": "text"},
            lambda b: b["msg_type"] == "text" and "body of a" in b["content"]["text"] and "sign" not in b,
        ),
        ("wecom", {}, lambda b: b["msgtype"] == "markdown" and "body of a" in b["markdown"]["content"]),
        (
            "dingtalk",
            {"secret_env": "BOT_SECRET"},
            lambda b: b["msgtype"] == "markdown" and b["markdown"]["title"] == "warning a",
        ),
    ],
)
def test_chat_bots_get_their_own_format_and_signature(tmp_path, receivers, style, spec, check):
    bot = receivers(style=style, secret=SECRET if "secret_env" in spec else None)
    url = bot.url + ("?access_token=tok" if style == "dingtalk" else "")
    box = outbox(
        tmp_path / "h.jsonl",
        {"BOT_URL": url, "BOT_SECRET": SECRET},
        {"bot": {"type": style, "url_env": "BOT_URL", **spec}},
    )
    assert box.deliver([alert("a")]).delivered == ["a"]
    (call,) = bot.calls
    assert check(call["body"]), call["body"]
    assert call["verified"] in (True, None)
    if style == "dingtalk":
        assert call["query"]["access_token"] == "tok"


@pytest.mark.parametrize("style", ["feishu", "wecom", "dingtalk"])
def test_a_bot_error_code_is_a_failure_even_with_http_200(tmp_path, receivers, style):
    bot = receivers(style=style)
    bot.reject_left = 1
    box = outbox(tmp_path / "h.jsonl", {"BOT_URL": bot.url}, {"bot": {"type": style, "url_env": "BOT_URL"}})
    assert box.deliver([alert("a")]).delivered == ["a"]  # the second attempt went through
    first, second = box.history()
    assert (first["status"], first["error_class"], first["http_status"]) == ("failed", "rejected", 200)
    assert (second["status"], second["attempt"]) == ("delivered", 2)


def test_slack_answers_errors_with_a_4xx_and_its_code(tmp_path, receivers):
    bot = receivers(style="slack")
    bot.reject_left = 1
    box = outbox(tmp_path / "h.jsonl", {"BOT_URL": bot.url}, {"bot": {"type": "slack", "url_env": "BOT_URL"}})
    assert box.deliver([alert("a")]).failed == ["a -> bot"]
    (row,) = box.history()  # a payload Slack refuses is not retried within the run
    assert (row["error_class"], row["http_status"], row["error"]) == ("http_error", 400, "HTTP 400: invalid_payload")
    assert box.deliver([alert("a")]).delivered == ["a"]  # a later run offers it again


def test_a_feishu_bot_with_a_wrong_signature_is_rejected(tmp_path, receivers):
    bot = receivers(style="feishu", secret=SECRET)
    box = outbox(
        tmp_path / "h.jsonl",
        {"BOT_URL": bot.url, "BOT_SECRET": "wrong"},
        {"bot": {"type": "feishu", "url_env": "BOT_URL", "secret_env": "BOT_SECRET"}},
        attempts=2,
    )
    assert box.deliver([alert("a")]).failed == ["a -> bot"]
    assert [c["verified"] for c in bot.calls] == [False, False]
    assert {r["error"] for r in box.history()} == {"code 19021: sign match fail or timestamp is not within one hour"}


def test_email_is_sent_over_smtp_with_login(tmp_path):
    sink = MailSink(user="alerts", password="pw-123")
    try:
        env = {
            "KPI_SMTP_HOST": sink.host,
            "KPI_SMTP_PORT": str(sink.port),
            "KPI_SMTP_USER": "alerts",
            "KPI_SMTP_PASSWORD": "pw-123",
            "KPI_SMTP_FROM": "kpi@example.com",
        }
        box = outbox(
            tmp_path / "h.jsonl", env, {"mail": {"type": "email", "to": ["dana@example.com"], "starttls": False}}
        )
        assert box.deliver([alert("a", severity="critical")]).delivered == ["a"]
        (mail,) = sink.messages
        assert mail["to"] == ["dana@example.com"] and mail["from"] == "kpi@example.com"
        assert mail["message"]["Subject"] == "critical a"
        assert mail["message"]["X-KPI-Notification-Id"] == box.history()[0]["notification_id"]
        assert "body of a" in mail["message"].get_payload()
    finally:
        sink.stop()
    assert "pw-123" not in (tmp_path / "h.jsonl").read_text()


def test_an_smtp_server_that_is_down_is_a_network_error(tmp_path):
    env = {"KPI_SMTP_HOST": "127.0.0.1", "KPI_SMTP_PORT": "9", "KPI_SMTP_FROM": "kpi@example.com"}
    box = outbox(tmp_path / "h.jsonl", env, {"mail": {"type": "email", "to": ["a@example.com"], "starttls": False}})
    assert box.deliver([alert("a")]).failed == ["a -> mail"]
    assert {r["error_class"] for r in box.history()} == {"network_error"}


def test_a_missing_variable_fails_that_channel_only_and_names_the_variable(tmp_path, receivers):
    hook = receivers()
    box = outbox(
        tmp_path / "h.jsonl",
        {"HOOK_URL": hook.url},
        {"ops": {"type": "webhook", "url_env": "HOOK_URL"}, "chat": {"type": "slack", "url_env": "SLACK_URL"}},
    )
    report = box.deliver([alert("a")])
    assert report.failed == ["a -> chat"] and len(hook.calls) == 1
    failed = [r for r in box.history() if r["status"] == "failed"]
    assert [(r["error_class"], r["attempt"]) for r in failed] == [("config_missing", 1)]
    assert "SLACK_URL" in failed[0]["error"]


def test_no_url_token_or_secret_reaches_the_history_or_the_logs(tmp_path, receivers, caplog):
    caplog.set_level(logging.INFO)  # urllib3 itself logs request URLs at DEBUG: keep it off in production
    caplog.set_level(logging.DEBUG, logger="alerting")
    hook = receivers(fail_first=100)
    env = {
        "DOWN_URL": "http://127.0.0.1:9/services/T000/B000/xoxb-path-token?key=query-token",
        "FAIL_URL": hook.url + "/xoxb-other-token?key=query-token-2",
        "SECRET": SECRET,
    }
    box = outbox(
        tmp_path / "h.jsonl",
        env,
        {
            "down": {"type": "webhook", "url_env": "DOWN_URL", "secret_env": "SECRET"},
            "failing": {"type": "wecom", "url_env": "FAIL_URL"},
        },
    )
    report = box.deliver([alert("a")])
    assert sorted(report.failed) == ["a -> down", "a -> failing"]
    text = (tmp_path / "h.jsonl").read_text() + caplog.text + " ".join(report.failed)
    for secret in ("xoxb-path-token", "query-token", "xoxb-other-token", SECRET):
        assert secret not in text
    assert {r["error_class"] for r in box.history()} == {"network_error", "http_error"}
