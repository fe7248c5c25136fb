"""Expectations on the staged facts (marts.fct_*), on a bounded frame: the newest N days of each.

dbt tests already hold the grain and the arithmetic of each row; these suites add what a KPI needs
to be right and dbt expresses poorly: a valid convertible currency, amounts that are not negative
and not absurd in reporting-currency terms, no business date after tomorrow, and refunds that do
not exceed the line they refund. The frames come from DuckDB through plain SQL (GX cannot validate
DuckDB directly), so each check reads a few days, not the whole history.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import great_expectations.expectations as gxe
import pandas as pd

from expectations.raw import KNOWN_CURRENCIES
from expectations.runner import SuiteResult, validate

FACT_DAYS = 7  # newest days of each fact that are validated (what the last syncs can have changed)
MAX_REPORTING_AMOUNT = 100_000  # one order, line, refund line or campaign-day, in the reporting currency


@dataclass(frozen=True)
class FactSuite:
    model: str
    date_column: str
    sql: str  # selects the frame; `{days}` newest days of `date_column`
    keys: tuple[str, ...]
    amounts: tuple[str, ...]  # native amounts: >= 0
    reporting_amounts: tuple[str, ...]  # reporting-currency amounts: >= 0 and < MAX_REPORTING_AMOUNT
    extra: tuple = ()


def _newest(table: str, date_column: str) -> str:
    return f"{date_column} >= (select max({date_column}) from {table}) - interval {{days}} day"


FACT_SUITES = {
    "fct_orders": FactSuite(
        "fct_orders",
        "order_date",
        "select store_id || '/' || order_id as key, * from marts.fct_orders where "
        + _newest("marts.fct_orders", "order_date"),
        ("store_id", "order_id"),
        ("gross_merchandise_value", "total_price"),
        ("gross_merchandise_value_reporting", "total_price_reporting"),
    ),
    "fct_order_lines": FactSuite(
        "fct_order_lines",
        "order_date",
        "select store_id || '/' || order_line_id as key, * from marts.fct_order_lines where "
        + _newest("marts.fct_order_lines", "order_date"),
        ("store_id", "order_line_id"),
        ("unit_price", "gross_amount", "quantity"),
        ("gross_amount_reporting",),
    ),
    "fct_refunds": FactSuite(
        "fct_refunds",
        "refund_date",
        # a refund line's amount against the net amount of the line it refunds (all its refunds summed)
        """
        with recent as (
            select * from marts.fct_refunds where {newest}
        ),
        per_line as (
            select store_id, order_line_id, sum(refund_amount) as refunded
            from marts.fct_refunds
            where order_line_id in (select order_line_id from recent)
            group by all
        )
        select
            recent.store_id || '/' || recent.refund_line_id as key,
            recent.*,
            per_line.refunded - lines.net_amount as refunded_over_line
        from recent
        left join per_line using (store_id, order_line_id)
        left join marts.fct_order_lines as lines using (store_id, order_line_id)
        """.replace("{newest}", _newest("marts.fct_refunds", "refund_date")),
        ("store_id", "refund_line_id"),
        ("refund_amount", "quantity"),
        ("refund_amount_reporting",),
        # a cent of rounding per refund is allowed; a line refunded beyond its price is not
        (gxe.ExpectColumnValuesToBeBetween(column="refunded_over_line", max_value=0.01),),
    ),
    "fct_ad_performance_daily": FactSuite(
        "fct_ad_performance_daily",
        "ad_date",
        "select store_id || '/' || ad_product || '/' || campaign_id || '/' || ad_date as key, * "
        "from marts.fct_ad_performance_daily where " + _newest("marts.fct_ad_performance_daily", "ad_date"),
        ("store_id", "ad_product", "campaign_id", "ad_date"),
        ("cost", "attributed_sales", "impressions", "clicks"),
        ("cost_reporting", "attributed_sales_reporting"),
    ),
}


def fact_suite(suite: FactSuite, today: date) -> list:
    tomorrow = pd.Timestamp(today + timedelta(days=1))
    expectations: list = [gxe.ExpectColumnValuesToNotBeNull(column=k) for k in suite.keys]
    expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(suite.keys)))
    expectations.append(gxe.ExpectColumnValuesToBeInSet(column="currency_code", value_set=KNOWN_CURRENCIES))
    expectations.append(gxe.ExpectColumnValuesToNotBeNull(column="currency_code"))
    expectations += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in suite.amounts]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=MAX_REPORTING_AMOUNT)
        for c in suite.reporting_amounts
    ]
    expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=suite.date_column))
    expectations.append(gxe.ExpectColumnValuesToBeBetween(column=suite.date_column, max_value=tomorrow))
    # copies: GX ties an expectation to the suite it was added to, and the module's extras are shared
    return expectations + [copy.copy(e) for e in suite.extra]


def validate_fact(con: duckdb.DuckDBPyConnection, model: str, today: date, days: int = FACT_DAYS) -> SuiteResult:
    """The model's suite on its newest `days` days; failures name the row by its key."""
    suite = FACT_SUITES[model]
    frame = con.execute(suite.sql.replace("{days}", str(int(days)))).df()
    frame[suite.date_column] = pd.to_datetime(frame[suite.date_column])
    return validate(f"staged_{model}", frame, fact_suite(suite, today), index_column="key")
