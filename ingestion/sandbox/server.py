"""A tiny threaded HTTP server on loopback that each sandbox platform plugs its routes into."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # announce the whole body, send half of it, drop the connection

    @classmethod
    def json(cls, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Response]


@dataclass
class Faults:
    """Fault knobs of one store, shared by every platform sandbox; counters are consumed one
    request at a time, and each platform answers in its own error format."""

    throttle_next: int = 0  # next N requests are throttled even with room in the bucket
    server_error_next: int = 0  # next N requests answer 5xx
    malformed_next: int = 0  # next N requests answer 200 with a truncated JSON body
    drop_next: int = 0  # next N requests drop the connection halfway through the body
    token_revoked: bool = False  # the seller revoked the app: every call and refresh is refused
    token_expired: bool = False  # the current access token is rejected as expired (refresh fixes it)
    # the store's long-lived credential is past its lifetime (refresh token, authorization): every call and
    # every refresh answers "expired" until the seller re-authorizes (so far: Shopify expiring offline tokens)
    credentials_expired: bool = False
    change_between_pages: int = 0  # next N paginated listings see a record change after page 1
    report_fatal_next: int = 0  # next N async reports end FATAL/FAILED
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take(self, knob: str) -> bool:
        """Consume one count of a `*_next` knob: True when this request is the one it applies to."""
        with self._lock:
            left = getattr(self, knob)
            if left <= 0:
                return False
            setattr(self, knob, left - 1)
            return True


class TokenBucket:
    """A platform's rate limit as the sandbox enforces it: `rate` requests/second, bursts of `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()

    def wait(self) -> float:
        """Take a token: 0 when one was free, else the seconds until one will be (none is taken)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self) -> bool:
        """Take a token if one is free."""
        return self.wait() == 0.0


class SandboxClock:
    """The sandbox's notion of now: the real clock unless a test pins or moves it."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed = fixed

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, when: datetime) -> None:
        self._fixed = when

    def is_fresh(self, unix_seconds: int, skew_seconds: float) -> bool:
        """A signed request's timestamp is fresh when it is within the skew of the sandbox's now, or
        of the host's real clock: a test may pin the data in the past while a client built from the
        stores file signs with real time."""
        return any(
            abs(unix_seconds - reference) <= skew_seconds
            for reference in (self.now().timestamp(), datetime.now(UTC).timestamp())
        )


class SandboxApp:
    """Route table of one platform; subclasses register handlers in __init__."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.request_log: list[tuple[str, str, int]] = []
        self._log_lock = threading.Lock()

    @staticmethod
    def request_id() -> str:
        return f"sbx-{time.monotonic_ns():x}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                response = handler(request)
                break
        else:
            response = Response.json({"errors": "Not Found"}, 404)
        with self._log_lock:
            self.request_log.append((request.method, request.path, response.status))
        return response


class SandboxServer:
    """Serves one SandboxApp on 127.0.0.1 and an ephemeral port, in a daemon thread."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                try:
                    response = app.dispatch(request)
                except Exception as exc:  # a sandbox bug must surface as a 500, as a real server would
                    response = Response.json({"errors": f"sandbox error: {exc!r}"}, 500)
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.cut:
                    self.wfile.write(response.body[: len(response.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
