"""The sync-health concerns of marts.sync_health, as plain results with messages that say what to do.

dbt decides each row's level per concern (ok, warn, error; thresholds in seed sync_health_thresholds);
this module only gathers the offending rows of one concern and words them. One result per concern,
every offending store x source x entity in it, so an alert can be keyed per store x source x concern.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# What to do about the newest error, by error class (ingestion/errors.py).
ERROR_ADVICE = {
    "auth_expired": "re-authorize the store on the platform and update its refresh-token env var",
    "auth_invalid": "the platform rejects the credentials: re-authorize the store and update its env vars",
    "throttled": "lower KPI_SYNC_WORKERS or the store's rate_limit_scale, or spread the schedule",
    "server_error": "the platform is failing: re-run the partitions once its status page is green",
    "bad_payload": "the API returned data the client cannot read: check for an API version change",
    "window_rejected": "the platform refused the window: check the source's max window in its client",
    "report_failed": "the platform's report job failed: re-run the partitions; if it persists, open a case",
    "config_error": "fix the stores file or the missing env var named in the error",
}


@dataclass(frozen=True)
class Concern:
    level_column: str
    description: str
    message: Callable[[dict], str]
    per_source: bool = False  # one row per store x source (credentials), not per entity


@dataclass
class ConcernOutcome:
    passed: bool
    error: bool
    description: str
    offending: list[dict] = field(default_factory=list)


def _where(row: dict) -> str:
    return f"{row['store_id']} {row['source']}/{row['entity']}"


def _fresh(row: dict) -> str:
    if row["last_success_at"] is None:
        return (
            f"{_where(row)} has never synced successfully (last error {row['last_error_class']}): "
            f"{ERROR_ADVICE.get(row['last_error_class'] or '', 'see the sync log')}"
        )
    return (
        f"{_where(row)}: no successful sync for {row['hours_since_success']:.0f} h (tolerance "
        f"{row['tolerance_hours']} h, synced through {row['synced_through']:%Y-%m-%d %H:%M} UTC). "
        "Check that the ingest schedule runs and the newest attempt's error in the sync log, then re-run the "
        "missed partitions"
    )


def _failing(row: dict) -> str:
    status = f" (HTTP {row['last_http_status']})" if row["last_http_status"] else ""
    advice = ERROR_ADVICE.get(row["last_error_class"] or "", "see the error message in the sync log")
    return (
        f"{_where(row)}: {row['consecutive_failures']} failed attempt(s) in a row, the newest "
        f"{row['last_error_class']}{status}: {row['last_error_message']}. To fix: {advice}"
    )


def _credentials(row: dict) -> str:
    if row["credential_level"] == "unknown":
        return (
            f"{row['store_id']} {row['source']}: expiry unknown for {row['credentials_expiry_unknown']}: add "
            "credentials_issued_at with the issue dates to the store in the stores file"
        )
    days = row["days_until_credential_expiry"]
    when = f"it expired {-days} day(s) ago" if days < 0 else f"it expires in {days} day(s)"
    return (
        f"{row['credential_renew_action']} for {row['store_id']} and update {row['expiring_credential_env_var']}; "
        f"the {row['expiring_credential_label']} ({row['source']}) {when}, on {row['credential_expires_on']}. "
        f"Then set credentials_issued_at.{row['expiring_credential']} in the stores file to the new date"
    )


def _gaps(row: dict) -> str:
    return (
        f"{_where(row)}: nothing synced from {row['first_gap_start']:%Y-%m-%d %H:%M} to "
        f"{row['first_gap_end']:%Y-%m-%d %H:%M} UTC ({row['first_gap_hours']:.0f} h; {row['window_gaps']} gap(s), "
        f"the longest {row['largest_gap_hours']:.0f} h). Backfill: run kpi_ingest for the partitions "
        f"{row['first_gap_start']:%Y-%m-%d} .. {row['first_gap_end']:%Y-%m-%d}"
    )


def _volume(row: dict) -> str:
    return (
        f"{_where(row)}: the newest sync brought {row['newest_success_rows']} records "
        f"({row['newest_rows_per_day']:.1f} per window day), {row['volume_ratio']:.0%} of the median "
        f"{row['median_rows_per_day_before']:.1f} of the previous {row['volume_history_syncs']} syncs. Check the "
        "store on the platform (listings suspended, shop on holiday) and the API app's permissions; if the drop is "
        "real, nothing to do"
    )


CONCERNS: dict[str, Concern] = {
    "sync_fresh": Concern(
        "freshness_level",
        "Every store x source x entity synced successfully within its source's tolerance (warn above it, "
        "error above 3x it or never); thresholds in seed sync_health_thresholds.",
        _fresh,
    ),
    "sync_not_failing": Concern(
        "failures_level",
        "No store x source x entity keeps failing: warn at 1 failed attempt in a row, error at 3.",
        _failing,
    ),
    "credentials_not_expiring": Concern(
        "credential_level",
        "No credential expires soon: warn under 30 days, error under 7 days or expired; a warning when an "
        "expiring credential has no issue date in the stores file (expiry unknown).",
        _credentials,
        per_source=True,
    ),
    "sync_windows_without_gaps": Concern(
        "gap_level",
        "The successfully synced windows leave no gap between the first and the newest success: warn on any "
        "gap, error when one spans 24 h or more.",
        _gaps,
    ),
    "sync_volume_normal": Concern(
        "volume_level",
        "The newest sync's records per window day are not far below the median of the previous syncs: warn "
        "below 50 %, error below 10 % (only with enough history).",
        _volume,
    ),
}

_KEPT = (
    "store_id",
    "source",
    "entity",
    "last_error_class",
    "consecutive_failures",
    "hours_since_success",
    "days_until_credential_expiry",
    "credential_expires_on",
    "expiring_credential_env_var",
    "first_gap_start",
    "first_gap_end",
    "volume_ratio",
)


def evaluate(name: str, rows: Sequence[dict]) -> ConcernOutcome:
    concern = CONCERNS[name]
    bad = [r for r in rows if r[concern.level_column] not in ("ok", None)]
    if concern.per_source:
        by_source: dict[tuple, dict] = {}
        for r in bad:
            by_source.setdefault((r["store_id"], r["source"]), {**r, "entity": "*"})
        bad = list(by_source.values())
    bad.sort(key=lambda r: (r[concern.level_column] != "error", r["store_id"], r["source"], r["entity"]))
    offending = [
        {
            "level": "warn" if r[concern.level_column] == "unknown" else r[concern.level_column],
            "message": concern.message(r),
            **{k: _plain(r.get(k)) for k in _KEPT if r.get(k) is not None},
        }
        for r in bad
    ]
    error = any(o["level"] == "error" for o in offending)
    if not offending:
        return ConcernOutcome(True, False, f"{name}: all {len(rows)} store x source x entity rows are ok")
    errors = sum(o["level"] == "error" for o in offending)
    counts = f"{errors} error, {len(offending) - errors} warn"
    shown = "; ".join(o["message"] for o in offending[:5])
    more = f" (and {len(offending) - 5} more in the metadata)" if len(offending) > 5 else ""
    return ConcernOutcome(False, error, f"{name}: {counts}. {shown}{more}", offending)


def _plain(value: object) -> object:
    return value if isinstance(value, int | float | str | bool) else str(value)
