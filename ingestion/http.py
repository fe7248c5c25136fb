"""The one HTTP policy every platform client uses.

Timeouts on every call; retries with exponential backoff and jitter for 429, 5xx, network errors
and truncated bodies; `Retry-After` honoured when the server sends it; a client-side rate limiter per
operation so that a sync stays under the platform's limit instead of living on 429s; and every
failure that survives the retries raised as a named `SyncError`.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import requests

from ingestion.errors import (
    AuthInvalid,
    BadPayload,
    BadRequest,
    NetworkError,
    ServerError,
    SyncError,
    Throttled,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base: float = 0.5  # seconds, doubled per attempt
    backoff_max: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_retry_after: float = 120.0  # a server asking for longer fails the attempt; the next run resumes

    def backoff(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class RateLimiter:
    """Token bucket: `rate` requests per second with bursts of `burst`. Thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.burst = rate, burst
        self._tokens, self._at = burst, clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait

    def drain_to(self, remaining: float) -> None:
        """Align with what the server reports as left in its bucket (it may count other clients)."""
        with self._lock:
            self._tokens = min(self._tokens, remaining)


_QUERY = re.compile(r"\?[^\s'\")]*")


def without_query(text: str) -> str:
    """Drop URL query strings from a message: signed calls carry access tokens, signatures and
    pre-signed download keys there, and messages end up in the sync log and in alerts."""
    return _QUERY.sub("?...", text)


def gunzip(content: bytes, what: str) -> bytes:
    """Decompress a downloaded gzip file; a truncated or garbled one raises ValueError, which
    `HttpClient.request` retries and finally reports as bad_payload (never as an empty file)."""
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{what} is not a complete gzip file: {exc}") from exc


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class CallStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    slept_seconds: float = 0.0
    last_request_id: str | None = None
    last_status: int | None = None


Classifier = Callable[[requests.Response], SyncError | None]


@dataclass
class HttpClient:
    """requests.Session wrapped in the retry/limit policy; one per platform credential set."""

    platform: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    request_id_header: str = "X-Request-Id"
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    stats: CallStats = field(default_factory=CallStats)
    seed: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _wait(self, seconds: float) -> None:
        self.stats.slept_seconds += seconds
        self.sleep(seconds)

    def request_json(
        self, method: str, url: str, *, operation: str, classify: Classifier | None = None, **kwargs: object
    ) -> tuple[object, requests.Response]:
        return self.request(method, url, operation=operation, classify=classify, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        classify: Classifier | None = None,
        parse: Callable[[requests.Response], object] = lambda r: r.json(),
        sign: Callable[[], dict] | None = None,
        **kwargs: object,
    ) -> tuple[object, requests.Response]:
        """Send with retries and return the parsed body and the response.

        `classify` lets a platform turn a response into a named error before the generic status
        rules apply (envelope errors with HTTP 200, platform-specific auth codes). `parse` turns the
        body into data; a ValueError from it counts as a truncated body and is retried. `sign` gives
        request arguments anew for every attempt: signed timestamps (TikTok, Shopee) are valid for
        five minutes, and retries after long waits must not reuse a stale one.
        """
        limiter = self.limiters.get(operation)
        last_error: SyncError | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            if limiter is not None:
                self.stats.slept_seconds += limiter.acquire()
            self.stats.requests += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    timeout=(self.retry.connect_timeout, self.retry.read_timeout),
                    **kwargs,
                    **(sign() if sign is not None else {}),
                )
            except requests.RequestException as exc:  # refused, reset, timed out, cut mid-body
                last_error = NetworkError(f"{operation}: {type(exc).__name__}: {without_query(str(exc))}", url=url)
                self._count_retry(attempt)
                continue
            request_id = response.headers.get(self.request_id_header)
            self.stats.last_request_id, self.stats.last_status = request_id, response.status_code
            error = classify(response) if classify is not None else None
            if error is None and response.status_code >= 400:
                error = self._status_error(operation, response, request_id)
            if error is not None:
                error.http_status = error.http_status or response.status_code
                error.request_id = error.request_id or request_id
                error.url = error.url or url
                if response.status_code == 429 or isinstance(error, Throttled):
                    self.stats.throttled += 1
                    if attempt < self.retry.max_attempts:
                        delay = retry_after_seconds(response.headers.get("Retry-After"))
                        if delay is None and isinstance(error, Throttled):
                            delay = error.retry_after
                        if delay is None:
                            delay = self.retry.backoff(attempt, self._rng)
                        self.stats.retries += 1
                        self._wait(min(delay, self.retry.max_retry_after))
                    last_error = error
                    continue
                if isinstance(error, ServerError | NetworkError):
                    last_error = error
                    self._count_retry(attempt)
                    continue
                raise error
            try:
                return parse(response), response
            except ValueError as exc:
                # A truncated or garbled body is usually transient: ask again before giving up,
                # and never let it pass as an empty page.
                last_error = BadPayload(
                    f"{operation}: response body cannot be parsed ({len(response.content)} bytes): {exc}",
                    http_status=response.status_code,
                    request_id=request_id,
                    url=url,
                )
                self._count_retry(attempt)
        assert last_error is not None
        raise last_error

    def _count_retry(self, attempt: int) -> None:
        if attempt < self.retry.max_attempts:
            self.stats.retries += 1
            self._wait(self.retry.backoff(attempt, self._rng))

    def _status_error(self, operation: str, response: requests.Response, request_id: str | None) -> SyncError:
        status = response.status_code
        detail = _error_text(response)
        message = f"{operation}: HTTP {status}: {detail}"
        if status == 429:
            return Throttled(message, http_status=status, request_id=request_id)
        if status in (401, 403):
            return AuthInvalid(message, http_status=status, request_id=request_id)
        if status in self.retry.retry_statuses or status >= 500:
            return ServerError(message, http_status=status, request_id=request_id)
        return BadRequest(message, http_status=status, request_id=request_id)


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("errors", "error", "message", "errorMessage"):
            if key in body:
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)[:200]
    return json.dumps(body)[:200]
