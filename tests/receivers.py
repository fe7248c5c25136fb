"""Real receivers on loopback: an HTTP server that records webhook calls, answers like a given chat bot
(verifying its signature the way the bot's server does) and fails on demand; an SMTP server (aiosmtpd)."""

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What each style answers on success, and on a rejected call (HTTP 200 with an error code, as the bots do)
OK = {
    "plain": (200, ""),
    "slack": (200, "ok"),
    "feishu": (200, json.dumps({"code": 0, "msg": "success", "data": {}})),
    "wecom": (200, json.dumps({"errcode": 0, "errmsg": "ok"})),
    "dingtalk": (200, json.dumps({"errcode": 0, "errmsg": "ok"})),
}
REJECT = {
    "plain": (401, "bad signature"),
    "slack": (400, "invalid_payload"),
    "feishu": (200, json.dumps({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})),
    "wecom": (200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"})),
    "dingtalk": (200, json.dumps({"errcode": 310000, "errmsg": "sign not match"})),
}


class Receiver:
    """`style` picks the answers; `secret` makes it verify signatures (webhook HMAC header, Feishu body
    sign, DingTalk URL sign) and reject calls that fail; `fail_left` answers 503 to the next N calls;
    `reject_left` answers the style's rejection to the next N calls."""

    def __init__(self, fail_first: int = 0, style: str = "plain", secret: str | None = None) -> None:
        self.calls: list[dict] = []
        self.fail_left = fail_first
        self.reject_left = 0
        self.style, self.secret = style, secret
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                call = {
                    "path": self.path,
                    "query": query,
                    "headers": dict(self.headers),
                    "raw": raw,
                    "body": json.loads(raw),
                    "key": self.headers.get("Idempotency-Key"),
                }
                call["verified"] = receiver.verify(call)
                receiver.calls.append(call)
                status, text = OK[receiver.style]
                if receiver.fail_left > 0:
                    receiver.fail_left -= 1
                    status, text = 503, "down"
                elif receiver.reject_left > 0 or call["verified"] is False:
                    receiver.reject_left = max(0, receiver.reject_left - 1)
                    status, text = REJECT[receiver.style]
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verify(self, call: dict) -> bool | None:
        """None without a secret; else whether the signature is the one the real receiver computes."""
        if self.secret is None:
            return None
        secret = self.secret.encode()
        if self.style == "feishu":  # timestamp in seconds, sign in the body, HMAC keyed by "ts\nsecret" over ""
            ts, sign = call["body"].get("timestamp"), call["body"].get("sign")
            if not ts or abs(time.time() - int(ts)) > 3600:
                return False
            expected = base64.b64encode(hmac.new(f"{ts}\n{self.secret}".encode(), b"", hashlib.sha256).digest())
            return hmac.compare_digest(expected.decode(), sign or "")
        if self.style == "dingtalk":  # timestamp in ms and sign in the URL, HMAC keyed by the secret
            ts, sign = call["query"].get("timestamp"), call["query"].get("sign")  # parse_qsl undid the urlencode
            if not ts or abs(time.time() * 1000 - int(ts)) > 3600_000:
                return False
            digest = hmac.new(secret, f"{ts}\n{self.secret}".encode(), hashlib.sha256).digest()
            return hmac.compare_digest(base64.b64encode(digest).decode(), sign or "")
        # generic webhook: X-KPI-Signature over "timestamp." + raw body, timestamp not older than 5 minutes
        ts, signature = call["headers"].get("X-KPI-Timestamp"), call["headers"].get("X-KPI-Signature", "")
        if not ts or abs(time.time() - int(ts)) > 300:
            return False
        expected = "sha256=" + hmac.new(secret, ts.encode() + b"." + call["raw"], hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


class MailSink:
    """aiosmtpd on loopback, keeping every message it receives (optionally requiring a login)."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = message_from_bytes(envelope.original_content or envelope.content)
                sink.messages.append({"to": envelope.rcpt_tos, "from": envelope.mail_from, "message": message})
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                (user or "").encode(),
                (password or "").encode(),
            )
            return AuthResult(success=ok)

        kwargs = {"authenticator": authenticator, "auth_require_tls": False} if user else {}
        with socket.socket() as probe:  # a free port: the controller checks its server by connecting to it
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
        self.controller.start()
        self.host, self.port = "127.0.0.1", port

    def stop(self) -> None:
        self.controller.stop()
