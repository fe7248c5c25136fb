"""A small warehouse holding the contract tables the review report reads, with known rows.

The week under review is 2026-03-09 .. 2026-03-15. The expected figures in the tests are written out by
hand from these rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

WEEK = "2026-03-09"
PREV_WEEK = "2026-03-02"
HOSTILE = "o'neil <script>alert(1)</script>"

TABLES: dict[str, tuple[str, list[tuple]]] = {
    "kpi_definitions": (
        "kpi_name varchar, label varchar",
        [("gmv", "GMV"), ("ship_rate_48h", "48-hour ship rate")],
    ),
    "kpi_scorecard": (
        "subject_id varchar, subject_type varchar, role varchar, period_type varchar, period_start date, "
        "period_end date, kpi_name varchar, direction varchar, actual double, target double, attainment double, "
        "weight double, weighted_score double, pacing_target double, pacing_attainment double, status varchar, "
        "is_exempt boolean, rank_in_role integer",
        [
            # subject, type, role, start, kpi, actual, target, attainment, weight, status
            ("NA", "region", "manager", "2026-02-23", "gmv", 9000.0, 10000.0, 0.9, 0.6, "warning"),
            ("NA", "region", "manager", "2026-03-02", "gmv", 11000.0, 10000.0, 1.1, 0.6, "on_track"),
            ("NA", "region", "manager", WEEK, "gmv", 12345.67, 10000.0, 1.234567, 0.6, "on_track"),
            ("NA", "region", "manager", "2026-02-23", "ship_rate_48h", 0.96, 0.95, 1.0105, 0.4, "on_track"),
            ("NA", "region", "manager", "2026-03-02", "ship_rate_48h", 0.94, 0.95, 0.9895, 0.4, "warning"),
            ("NA", "region", "manager", WEEK, "ship_rate_48h", 0.9125, 0.95, 0.9605, 0.4, "warning"),
            ("EU", "region", "manager", "2026-02-23", "gmv", 9500.0, 10000.0, 0.95, 0.6, "warning"),
            ("EU", "region", "manager", "2026-03-02", "gmv", 9000.0, 10000.0, 0.9, 0.6, "warning"),
            ("EU", "region", "manager", WEEK, "gmv", 8000.25, 10000.0, 0.800025, 0.6, "critical"),
            ("EU", "region", "manager", WEEK, "ship_rate_48h", 0.97, 0.95, 1.0211, 0.4, "on_track"),
            ("alice", "person", "operator", WEEK, "gmv", 5000.0, 4000.0, 1.25, 1.0, "on_track"),
            (HOSTILE, "person", "operator", WEEK, "gmv", 1000.0, 4000.0, 0.25, 1.0, "critical"),
            # another period: never in this week's report
            ("NA", "region", "manager", "2026-03-16", "gmv", 99999.0, 10000.0, 9.9999, 0.6, "on_track"),
        ],
    ),
    "kpi_scorecard_totals": (
        "subject_id varchar, subject_type varchar, role varchar, period_type varchar, period_start date, "
        "total_score double, rank_in_role integer",
        [
            ("NA", "region", "manager", "week", WEEK, 87.5, 1),
            ("EU", "region", "manager", "week", WEEK, 62.25, 2),
            ("alice", "person", "operator", "week", WEEK, 91.0, 1),
            (HOSTILE, "person", "operator", "week", WEEK, 20.5, 2),
            ("NA", "region", "manager", "month", "2026-03-01", 70.0, 1),
        ],
    ),
    "kpi_gmv_drivers": (
        "period_grain varchar, store_id varchar, platform varchar, region varchar, period_start date, "
        "previous_period_start date, is_complete_comparison boolean, currency_code varchar, driver_basis varchar, "
        "gmv decimal(18,2), gmv_prev decimal(18,2), gmv_change decimal(18,2), gmv_change_pct double, "
        "traffic_effect double, conversion_effect double, orders_effect double, aov_effect double",
        [
            # the dbt unit test's traffic store: 400 = 400 - 480 + 480
            (
                "week",
                "s-us",
                "amazon",
                "NA",
                WEEK,
                PREV_WEEK,
                True,
                "USD",
                "sessions x conversion x aov",
                2400,
                2000,
                400,
                0.2,
                400.0,
                -480.0,
                None,
                480.0,
            ),
            (
                "week",
                "s-jp",
                "shopify",
                "APAC",
                WEEK,
                PREV_WEEK,
                True,
                "JPY",
                "orders x aov",
                300000,
                330000,
                -30000,
                -0.090909,
                None,
                None,
                -33000.0,
                3000.0,
            ),
            (
                "week",
                "s-de",
                "shopify",
                "EU",
                WEEK,
                PREV_WEEK,
                False,
                "EUR",
                "orders x aov",
                1000,
                955,
                45,
                0.0471,
                None,
                None,
                40.0,
                5.0,
            ),
            (
                "week",
                "s-us",
                "amazon",
                "NA",
                PREV_WEEK,
                "2026-02-23",
                True,
                "USD",
                "orders x aov",
                2000,
                1,
                1999,
                1999.0,
                None,
                None,
                1999.0,
                0.0,
            ),
        ],
    ),
    "kpi_weekly": (
        "store_id varchar, period_start date, gmv_reporting decimal(18,2), reporting_currency_code varchar",
        [
            ("s-us", WEEK, 2400, "USD"),
            ("s-us", PREV_WEEK, 2000, "USD"),
            ("s-jp", WEEK, 2010, "USD"),
            ("s-jp", PREV_WEEK, 2211, "USD"),
            ("s-de", WEEK, 1100, "USD"),
            ("s-de", PREV_WEEK, 1050, "USD"),
        ],
    ),
    "kpi_monthly": (
        "store_id varchar, period_start date, gmv_reporting decimal(18,2), reporting_currency_code varchar",
        [],
    ),
    "kpi_gmv_contribution": (
        "period_grain varchar, store_id varchar, sku varchar, period_start date, gmv_change decimal(18,2), "
        "share_of_store_change double",
        [
            ("week", "s-us", "SKU-A", WEEK, 300, 0.75),
            ("week", "s-us", "SKU-B", WEEK, 150, 0.375),
            ("week", "s-us", "SKU-C", WEEK, -50, -0.125),
            ("week", "s-us", "SKU-D", WEEK, 0, 0.0),
        ],
    ),
    "kpi_alerts": (
        "alert_id varchar, rule_id varchar, metric varchar, subject_type varchar, subject_id varchar, "
        "store_id varchar, platform varchar, kpi_date date, kpi_value double, threshold double, "
        "comparison varchar, severity varchar, rule_description varchar, is_current boolean",
        [
            (
                "a1",
                "gmv_drop",
                "gmv_vs_trailing_28d",
                "store",
                "s-jp",
                "s-jp",
                "shopify",
                "2026-03-15",
                0.55,
                0.6,
                "below",
                "warning",
                "GMV collapse",
                False,
            ),
            (
                "a2",
                "refund_rate_high",
                "refund_rate_by_value",
                "store",
                "s-us",
                "s-us",
                "amazon",
                "2026-03-10",
                0.125,
                0.1,
                "above",
                "critical",
                "Refunds",
                False,
            ),
            (
                "a3",
                "refund_rate_high",
                "refund_rate_by_value",
                "store",
                "s-us",
                "s-us",
                "amazon",
                "2026-03-16",
                0.2,
                0.1,
                "above",
                "critical",
                "Refunds",
                True,
            ),
        ],
    ),
    "alert_history": (
        "notification_id varchar, channel varchar, notification_kind varchar, notified_at timestamp, "
        "condition_key varchar, alert_source varchar, rule_id varchar, severity varchar, owner varchar, "
        "title varchar, subject varchar, final_status varchar",
        [
            (
                "n1",
                "slack-ops",
                "firing",
                "2026-03-10 08:00:00",
                "kpi:refund_rate_high:s-us",
                "kpi_rule",
                "refund_rate_high",
                "critical",
                "alice",
                "[CRITICAL] refund_rate_high on s-us",
                "store:s-us",
                "delivered",
            ),
            (
                "n1",
                "email-ops",
                "firing",
                "2026-03-10 08:00:00",
                "kpi:refund_rate_high:s-us",
                "kpi_rule",
                "refund_rate_high",
                "critical",
                "alice",
                "[CRITICAL] refund_rate_high on s-us",
                "store:s-us",
                "failed",
            ),
            (
                "n2",
                "slack-ops",
                "firing",
                "2026-03-08 09:00:00",
                "check:raw/shopify/orders:raw_expectations",
                "check",
                "raw_expectations",
                "warning",
                None,
                "check failed",
                "asset:raw/shopify/orders",
                "delivered",
            ),
            (
                "n3",
                "slack-ops",
                "resolved",
                "2026-03-12 09:00:00",
                "check:raw/shopify/orders:raw_expectations",
                "check",
                "raw_expectations",
                "warning",
                None,
                "check resolved",
                "asset:raw/shopify/orders",
                "delivered",
            ),
            (
                "n4",
                "slack-ops",
                "firing",
                "2026-03-20 09:00:00",
                "kpi:gmv_drop:s-jp",
                "kpi_rule",
                "gmv_drop",
                "warning",
                None,
                "later",
                "store:s-jp",
                "delivered",
            ),
        ],
    ),
    "sync_health": (
        "store_id varchar, source varchar, entity varchar, last_status varchar, last_error_class varchar, "
        "last_success_at timestamp, hours_since_success double, tolerance_hours double, built_at timestamp, "
        "days_until_credential_expiry integer, freshness_level varchar, failures_level varchar, "
        "credential_level varchar, gap_level varchar, volume_level varchar",
        [
            (
                "s-us",
                "amazon",
                "orders",
                "success",
                None,
                "2026-03-16 05:00:00",
                1.0,
                24.0,
                "2026-03-16 06:00:00",
                300,
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
            ),
            (
                "s-jp",
                "shopify",
                "orders",
                "failed",
                "throttled",
                "2026-03-15 00:00:00",
                30.0,
                24.0,
                "2026-03-16 06:00:00",
                None,
                "warn",
                "warn",
                "ok",
                "ok",
                "ok",
            ),
            (
                "s-de",
                "shopify",
                "orders",
                "success",
                None,
                "2026-03-16 04:00:00",
                2.0,
                24.0,
                "2026-03-16 06:00:00",
                None,
                "ok",
                "ok",
                "unknown",
                "ok",
                "ok",
            ),
        ],
    ),
}


def _scorecard_row(r: tuple) -> tuple:
    subject, subject_type, role, start, kpi, actual, target, attainment, weight, status = r
    return (
        subject,
        subject_type,
        role,
        "week",
        start,
        None,
        kpi,
        "higher_better",
        actual,
        target,
        attainment,
        weight,
        None,
        None,
        None,
        status,
        status == "exempt",
        None,
    )


def build_warehouse(
    path: Path, drop: tuple[str, ...] = (), extra: dict[str, tuple[str, list[tuple]]] | None = None
) -> Path:
    """The fixture warehouse at `path`, without the tables in `drop`, with `extra` tables added."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for table, (columns, rows) in {**TABLES, **(extra or {})}.items():
            if table in drop:
                continue
            con.execute(f"create table marts.{table} ({columns})")
            if table == "kpi_scorecard":
                rows = [_scorecard_row(r) for r in rows]
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into marts.{table} values ({marks})", rows)
    return path
