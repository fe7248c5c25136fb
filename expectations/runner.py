"""Run a great-expectations 1.x suite on a pandas DataFrame and return a plain result.

An ephemeral context and the pandas data source: GX's SQL path cannot validate DuckDB, so callers
hand over a bounded frame. No Dagster here; orchestration maps the result to an asset check.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass
class FailedExpectation:
    expectation: str
    column: str | None
    observed: object
    unexpected_count: int | None
    sample: list = field(default_factory=list)  # the offending rows, named by the index column


@dataclass
class SuiteResult:
    suite: str
    success: bool
    rows: int
    evaluated: int
    failed: list[FailedExpectation]

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {self.evaluated} expectations passed on {self.rows} rows"
        parts = [
            f"{f.expectation}({f.column or ''}) unexpected={f.unexpected_count} sample={f.sample[:3]}"
            for f in self.failed
        ]
        return f"{self.suite}: {len(self.failed)} of {self.evaluated} expectations failed: " + "; ".join(parts)


def validate(
    name: str,
    frame: pd.DataFrame,
    expectations: Sequence[gx.expectations.Expectation],
    index_column: str | None = None,
) -> SuiteResult:
    """Validate `frame`; with `index_column` (e.g. a store/record key), failure samples name the rows."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{name}_source")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("batch")
    )
    # copies: an expectation joins the suite it is added to, and suites' shared parts (module constants)
    # are validated again in every later run of a long-lived process
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=[copy.copy(e) for e in expectations]))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result_format: dict = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
    if index_column is not None:
        result_format["unexpected_index_column_names"] = [index_column]
    result = batch.validate(suite, result_format=result_format)
    failed = []
    for r in result.results:
        if r.success:
            continue
        res = r.result or {}
        kwargs = r.expectation_config.kwargs
        failed.append(
            FailedExpectation(
                expectation=r.expectation_config.type,
                column=kwargs.get("column") or ",".join(kwargs.get("column_list") or []) or None,
                observed=res.get("observed_value"),
                unexpected_count=res.get("unexpected_count"),
                sample=_sample(res),
            )
        )
    return SuiteResult(name, bool(result.success), len(frame), len(result.results), failed)


def _sample(res: dict) -> list[str]:
    rows = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
    out = []
    for row in rows[:5]:
        if isinstance(row, dict):
            out.append(", ".join(f"{k}={_plain(v)}" for k, v in row.items()))
        else:
            out.append(_plain(row))
    return out


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, pd.Timestamp) else str(value)
