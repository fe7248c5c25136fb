"""Channels: one class per receiver format. Each sends one notification or raises DeliveryError.

Webhook URLs carry their tokens (Slack, Feishu and DingTalk in the path or query, WeCom as `key=`), so
no URL, secret or exception text that could hold one ever leaves a channel: errors name a class
(`http_error`, `rejected`, `network_error`, ...), an HTTP status and the receiver's own error text.

Generic JSON webhook signature (for receivers to verify):
    X-KPI-Timestamp: <unix seconds>
    X-KPI-Signature: sha256=<hex HMAC-SHA256(key=secret, msg=f"{timestamp}.".encode() + raw_body)>
Recompute it over the raw request body, compare in constant time, and reject timestamps older than a
few minutes (replays). Idempotency-Key is the notification id: a retried delivery repeats it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Protocol

import requests

from alerting.model import Notification

SIGNATURE_HEADER = "X-KPI-Signature"
TIMESTAMP_HEADER = "X-KPI-Timestamp"
COLORS = {"critical": "red", "warning": "orange", "resolved": "green"}


class DeliveryError(Exception):
    """A failed send. `error_class` is one of: config_missing (an env var is unset), network_error,
    http_error (non-2xx), throttled (429), rejected (2xx with an error code in the body), bad_response,
    smtp_error. `retryable` says whether another attempt in the same run can help."""

    def __init__(self, error_class: str, detail: str, http_status: int | None = None, retryable: bool = True):
        super().__init__(detail)
        self.error_class = error_class
        self.detail = detail
        self.http_status = http_status
        self.retryable = retryable


class Channel(Protocol):
    name: str
    type: str

    def send(self, notification: Notification, timeout: float) -> int | None:
        """Deliver, returning the HTTP status (None for mail); raise DeliveryError otherwise."""
        ...


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu/Lark custom bot: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), seconds."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk custom robot: urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))), ms."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def notification_json(notification: Notification) -> dict:
    return {
        "notification_id": notification.notification_id,
        "kind": notification.kind,
        "notified_at": notification.notified_at,
        "alert": asdict(notification.alert),
    }


@dataclass
class _Secrets:
    """Resolved from the environment at send time; never printed."""

    env: Mapping[str, str]

    def get(self, name: str | None, what: str, required: bool = True) -> str | None:
        value = self.env.get(name) if name else None
        if not value and required:
            raise DeliveryError("config_missing", f"{what}: environment variable {name} is not set", retryable=False)
        return value or None


class _HttpChannel:
    type = "http"

    def __init__(self, name: str, url_env: str, env: Mapping[str, str], secret_env: str | None = None) -> None:
        self.name, self.url_env, self.secret_env = name, url_env, secret_env
        self._secrets = _Secrets(env)

    def _url(self) -> str:
        return self._secrets.get(self.url_env, f"channel {self.name} url")

    def _secret(self) -> str | None:
        if not self.secret_env:
            return None
        return self._secrets.get(self.secret_env, f"channel {self.name} secret")

    def _scrub(self, text: str) -> str:
        for name in (self.url_env, self.secret_env):
            value = self._secrets.env.get(name) if name else None
            if value:
                text = text.replace(value, "***")
        return text[:300]

    def _post(self, url: str, body: bytes, headers: dict, timeout: float) -> requests.Response:
        try:
            response = requests.post(
                url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=timeout
            )
        except requests.RequestException as exc:
            # the exception text holds the URL (and its token): keep only the class
            raise DeliveryError("network_error", type(exc).__name__) from None
        if response.status_code == 429:
            raise DeliveryError("throttled", "HTTP 429", response.status_code)
        if response.status_code >= 300:
            detail = self._scrub(f"HTTP {response.status_code}: {response.text}")
            raise DeliveryError("http_error", detail, response.status_code, retryable=response.status_code >= 500)
        return response

    def _json_code(self, response: requests.Response, *fields: str) -> None:
        """Chat bots answer HTTP 200 with an error code in the body: only code 0 is a delivery."""
        try:
            payload = response.json()
        except ValueError:
            raise DeliveryError("bad_response", "body is not JSON", response.status_code) from None
        for name in fields:
            if isinstance(payload, dict) and name in payload:
                if payload[name] in (0, "0"):
                    return
                message = payload.get("msg") or payload.get("errmsg") or payload.get("StatusMessage") or ""
                raise DeliveryError("rejected", self._scrub(f"{name} {payload[name]}: {message}"), response.status_code)
        raise DeliveryError("bad_response", f"no {'/'.join(fields)} in the answer", response.status_code)


class WebhookChannel(_HttpChannel):
    """Generic JSON webhook: the notification as JSON, HMAC-signed when a secret is configured."""

    type = "webhook"

    def send(self, notification: Notification, timeout: float) -> int | None:
        url, secret = self._url(), self._secret()
        body = json.dumps(notification_json(notification), ensure_ascii=False, default=str).encode()
        headers = {"Idempotency-Key": notification.notification_id, "X-KPI-Alert-Key": notification.alert.alert_key}
        if secret:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign_webhook(secret, timestamp, body)
        return self._post(url, body, headers, timeout).status_code


class SlackChannel(_HttpChannel):
    """Slack incoming webhook: `text` (fallback, notifications) plus Block Kit `blocks`. Success is
    HTTP 200 with the body `ok`; errors come as 4xx with a code such as `invalid_payload`."""

    type = "slack"

    def payload(self, notification: Notification) -> dict:
        return {
            "text": f"{notification.headline}\n{notification.text}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": notification.headline[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": notification.text[:2900]}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"`{notification.alert.condition}` · {notification.kind}"}],
                },
            ],
        }

    def send(self, notification: Notification, timeout: float) -> int | None:
        body = json.dumps(self.payload(notification), ensure_ascii=False).encode()
        response = self._post(self._url(), body, {}, timeout)
        if response.text.strip() != "ok":
            raise DeliveryError("rejected", self._scrub(response.text), response.status_code)
        return response.status_code


class FeishuChannel(_HttpChannel):
    """Feishu/Lark custom bot: `msg_type` text or interactive (a card); with a signing secret the body
    carries `timestamp` (seconds) and `sign`. Success is `code` 0 (older bots: `StatusCode` 0)."""

    type = "feishu"

    def __init__(self, name: str, url_env: str, env: Mapping[str, str], secret_env: str | None, fmt: str) -> None:
        super().__init__(name, url_env, env, secret_env)
        self.format = fmt

    def payload(self, notification: Notification) -> dict:
        if self.format == "text":
            return {"msg_type": "text", "content": {"text": f"{notification.headline}\n{notification.text}"}}
        color = "resolved" if notification.kind == "resolved" else notification.alert.severity
        return {
            "msg_type": "interactive",
            "card": {
                "header": {
                    "title": {"tag": "plain_text", "content": notification.headline},
                    "template": COLORS.get(color, "blue"),
                },
                "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": notification.text}}],
            },
        }

    def send(self, notification: Notification, timeout: float) -> int | None:
        url, secret = self._url(), self._secret()
        payload = self.payload(notification)
        if secret:
            timestamp = str(int(time.time()))
            payload = {"timestamp": timestamp, "sign": feishu_sign(secret, timestamp), **payload}
        response = self._post(url, json.dumps(payload, ensure_ascii=False).encode(), {}, timeout)
        self._json_code(response, "code", "StatusCode")
        return response.status_code


class WeComChannel(_HttpChannel):
    """WeCom (企业微信) group bot: `msgtype` markdown, content at most 4096 bytes. Success is `errcode` 0."""

    type = "wecom"

    def send(self, notification: Notification, timeout: float) -> int | None:
        color = "info" if notification.kind == "resolved" else "warning"
        content = f'### <font color="{color}">{notification.headline}</font>\n{notification.text}'
        content = content.encode()[:4000].decode(errors="ignore")
        body = json.dumps({"msgtype": "markdown", "markdown": {"content": content}}, ensure_ascii=False).encode()
        response = self._post(self._url(), body, {}, timeout)
        self._json_code(response, "errcode")
        return response.status_code


class DingTalkChannel(_HttpChannel):
    """DingTalk (钉钉) custom robot: `msgtype` markdown; with a signing secret the URL gets
    `&timestamp=<ms>&sign=...`. Success is `errcode` 0."""

    type = "dingtalk"

    def send(self, notification: Notification, timeout: float) -> int | None:
        url, secret = self._url(), self._secret()
        if secret:
            timestamp = str(int(time.time() * 1000))
            url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"
        markdown = {"title": notification.headline[:64], "text": f"#### {notification.headline}\n\n{notification.text}"}
        body = json.dumps({"msgtype": "markdown", "markdown": markdown}, ensure_ascii=False).encode()
        response = self._post(url, body, {}, timeout)
        self._json_code(response, "errcode")
        return response.status_code


class EmailChannel:
    """E-mail over SMTP (smtplib), STARTTLS when `starttls` is set, login when a user is set."""

    type = "email"

    def __init__(self, name: str, to: list[str], env: Mapping[str, str], envs: Mapping[str, str], starttls: bool):
        self.name, self.to, self.starttls = name, to, starttls
        self._secrets = _Secrets(env)
        self._envs = envs  # host, port, user, password, sender -> env var names

    def send(self, notification: Notification, timeout: float) -> int | None:
        get = self._secrets.get
        host = get(self._envs["host"], f"channel {self.name} SMTP host")
        port = int(get(self._envs["port"], "port", required=False) or (587 if self.starttls else 25))
        user = get(self._envs["user"], "user", required=False)
        password = get(self._envs["password"], f"channel {self.name} SMTP password", required=bool(user))
        sender = get(self._envs["sender"], f"channel {self.name} sender address")
        message = EmailMessage()
        message["Subject"] = notification.headline
        message["From"] = sender
        message["To"] = ", ".join(self.to)
        message["X-KPI-Notification-Id"] = notification.notification_id
        message.set_content(f"{notification.text}\n\nCondition: {notification.alert.condition}\n")
        try:
            with smtplib.SMTP(host, port, timeout=timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if user:
                    smtp.login(user, password)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            retryable = 400 <= exc.smtp_code < 500  # 4xx: try again; 5xx: permanent
            raise DeliveryError("smtp_error", f"{type(exc).__name__} {exc.smtp_code}", retryable=retryable) from None
        except (smtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            error_class = "smtp_error" if isinstance(exc, smtplib.SMTPException) else "network_error"
            raise DeliveryError(error_class, type(exc).__name__) from None
        return None


class LogChannel:
    """No transport: the history file itself is the channel (the default without a routing file)."""

    type = "log"

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, notification: Notification, timeout: float) -> int | None:
        return None
