"""The models stay portable (docs/SCALING.md): SQL that only DuckDB runs lives in adapter-dispatched
macros, never in a model or a singular test. Each construct names the macro that replaces it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingestion.settings import PROJECT_ROOT

DBT = PROJECT_ROOT / "dbt_project"

# (pattern, what to use instead); patterns match lower-cased SQL with comments removed.
DUCKDB_ONLY = [
    (r"\bqualify\b", "a subquery: macro first_per_partition"),
    (r"::", "cast(... as ...)"),
    (r"\bjson_extract\w*\s*\(|->>|\$\.", "macro json_text / json_array_elements"),
    (r"\bunnest\s*\(", "macro json_array_elements / date_series"),
    (r"\bgenerate_series\s*\(|\brange\s*\(", "macro date_series"),
    (r"\bread_(parquet|json|csv)\w*\s*\(", "a source (external_location on DuckDB)"),
    (r"\bepoch\w*\s*\(", "macro datediff_hours / epoch_to_utc"),
    (r"\bdate_diff\s*\(|\bdate_sub\s*\(|\bdate_part\s*\(", "dbt.datediff / dbt.date_trunc"),
    (r"\bstrftime\s*\(|\bstrptime\s*\(", "cast or dbt's cross-database macros"),
    (r"\b(timezone|make_timestamptz|to_timestamp)\s*\(|\bat\s+time\s+zone\b", "macros in time.sql"),
    (r"\btry_cast\s*\(", "macro try_cast_integer"),
    (r"\bany_value\s*\(", "macro any_value"),
    (r"\barg_(max|min)\s*\(|\bmax_by\s*\(", "macro arg_max"),
    (r"\bstring_agg\s*\(|\blistagg\s*\(|\bgroup_concat\s*\(", "macro string_agg_ordered"),
    (r"\bregexp_\w+\s*\(", "macro regex_matches"),
    (r"\bsha256\s*\(|\bsha2\s*\(", "macro sha256_hex (or hash_buyer_id)"),
    (r"\*\s*(exclude|replace)\s*\(", "the columns by name"),
    (r"\bignore\s+nulls\b", "a running count and max over it (int_fx_rates__daily)"),
    (r"\bas\s+(double|varchar|string|text)\b", "macros type_double / type_text"),
    (r"\b(list|struct|map|array)_\w+\s*\(|\blist_value\s*\(", "no nested types in models"),
    (r"\b(median|quantile\w*|count_if)\s*\(", "percentile_cont(...) within group, count(case ...)"),
    (r"\bround\s*\(", "macro round_float (PostgreSQL rounds only numeric)"),
    (r"\binterval\s+\d", "dbt.dateadd / macro add_days"),
    (r"\bgroup\s+by\s+all\b|\border\s+by\s+all\b", "the columns by name"),
    (r"\bnow\s*\(|\bcurrent_timestamp\b", "macro utc_now"),
]


def _sql_files() -> list[Path]:
    return sorted([*(DBT / "models").rglob("*.sql"), *(DBT / "tests" / "singular").rglob("*.sql")])


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, code) with Jinja comments, Jinja expressions (macro calls), SQL comments and string
    literals blanked."""
    text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = re.sub(r"'[^']*'", "''", line.split("--")[0])
        out.append((number, line.lower()))
    return out


def find_duckdb_only(text: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in _code_lines(text):
        for pattern, instead in DUCKDB_ONLY:
            match = re.search(pattern, line)
            if match:
                found.append((number, match.group(0), instead))
    return found


def test_models_use_no_duckdb_only_sql():
    offences = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {construct!r} -> use {instead}"
        for path in _sql_files()
        for number, construct, instead in find_duckdb_only(path.read_text())
    ]
    assert not offences, "DuckDB-only SQL outside the dispatched macros:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select * from t qualify row_number() over (partition by a order by b) = 1", "qualify"),
        ("select x::int from t", "::"),
        ("select json_extract_string(p, '$.a') from t", "json_extract_string("),
        ("select unnest(xs) from t", "unnest("),
        ("select last_value(x ignore nulls) over w from t", "ignore nulls"),
        ("select cast(x as double) from t", "as double"),
        ("select * exclude (a) from t", "* exclude ("),
        ("select arg_max(a, b) from t", "arg_max("),
        ("select round(x, 2) from t", "round("),
    ],
)
def test_the_check_finds_duckdb_only_constructs(sql, construct):
    assert [c for _, c, _ in find_duckdb_only(sql)] == [construct]


def test_the_check_skips_comments_strings_and_macro_calls():
    sql = (
        "{#- qualify in a Jinja comment -#}\n"
        "select '::' as s, {{ json_text('_payload', 'a') }} as a  -- unnest(x) in a comment\n"
        "from {{ ref('m') }}\n"
    )
    assert find_duckdb_only(sql) == []
