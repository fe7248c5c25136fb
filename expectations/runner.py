"""Run a great-expectations 1.x suite on a pandas DataFrame and return a plain result.

An ephemeral context and the pandas data source: GX's SQL path cannot validate DuckDB, so callers
hand over a bounded frame. No Dagster here; orchestration maps the result to an asset check.
"""

from __future__ import annotations

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
    sample: list = field(default_factory=list)


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


def validate(name: str, frame: pd.DataFrame, expectations: Sequence[gx.expectations.Expectation]) -> SuiteResult:
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{name}_source")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("batch")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=list(expectations)))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="SUMMARY")
    failed = []
    for r in result.results:
        if r.success:
            continue
        res = r.result or {}
        failed.append(
            FailedExpectation(
                expectation=r.expectation_config.type,
                column=r.expectation_config.kwargs.get("column"),
                observed=res.get("observed_value"),
                unexpected_count=res.get("unexpected_count"),
                sample=[str(v) for v in (res.get("partial_unexpected_list") or [])[:5]],
            )
        )
    return SuiteResult(name, bool(result.success), len(frame), len(result.results), failed)
