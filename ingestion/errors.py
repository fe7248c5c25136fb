"""Named failure classes. Every failed sync attempt ends in one of these, recorded in the sync log."""

from __future__ import annotations


class SyncError(Exception):
    error_class = "unknown"

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.request_id = request_id
        self.url = url

    def __str__(self) -> str:
        extra = ", ".join(
            f"{k}={v}" for k, v in (("http_status", self.http_status), ("request_id", self.request_id)) if v
        )
        return f"[{self.error_class}] {self.args[0]}" + (f" ({extra})" if extra else "")


class AuthExpired(SyncError):
    error_class = "auth_expired"


class AuthInvalid(SyncError):
    error_class = "auth_invalid"


class Throttled(SyncError):
    error_class = "throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        # The wait the platform implies when it sends no Retry-After header (SP-API: one token, 1/rate).
        self.retry_after = retry_after


class ServerError(SyncError):
    error_class = "server_error"


class BadPayload(SyncError):
    error_class = "bad_payload"


class WindowRejected(SyncError):
    error_class = "window_rejected"


class ReportFailed(SyncError):
    """An asynchronous report ended FATAL/FAILED on the platform's side (often unexplained: retry later)."""

    error_class = "report_failed"


class BadRequest(SyncError):
    error_class = "bad_request"


class NetworkError(SyncError):
    error_class = "network_error"


class InternalError(SyncError):
    """Anything unforeseen (a bug, an unexpected exception): still a logged, failed attempt."""

    error_class = "internal_error"


class CredentialsMissing(SyncError):
    error_class = "config_error"


class ConfigMismatch(SyncError):
    """The platform contradicts the stores file (e.g. the ad profile's time zone is not the store's)."""

    error_class = "config_error"


class ConfigError(ValueError):
    """User-edited configuration is invalid; the message names the file, line and field."""
