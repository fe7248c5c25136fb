"""The KPI catalog is the one source of KPI definitions: its generated files must be current, and a
broken catalog must be refused with the KPI and field named."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from kpi_catalog.generate import CATALOG, CatalogError, load, render_models, render_seed, stale


def test_generated_files_are_current():
    catalog = load()
    assert stale(catalog) == [], "run `make catalog` and commit the generated files"


def test_every_ratio_is_defined_by_catalog_measures():
    catalog = load()
    names = catalog.by_name()
    ratios = [k for k in catalog.kpis if k.kind == "ratio"]
    assert len(ratios) >= 25
    for kpi in ratios:
        assert names[kpi.numerator].kind in ("measure", "snapshot")
        assert names[kpi.denominator].kind in ("measure", "snapshot")


def test_seed_has_one_row_per_kpi_with_every_definition_field():
    catalog = load()
    rows = list(csv.DictReader(io.StringIO(render_seed(catalog))))
    assert [r["kpi_name"] for r in rows] == [k.name for k in catalog.kpis]
    acos = next(r for r in rows if r["kpi_name"] == "acos")
    assert acos["formula"] == "ad_spend / ad_attributed_sales"
    assert acos["attribution_window"] == "7 days (Sponsored Products)"
    assert acos["direction"] == "lower_better"
    assert acos["owner_role"] == "ad_buyer"
    for row in rows:
        for field in ("label", "formula", "description", "grain", "time_basis", "currency", "exclusions", "maturity"):
            assert row[field], f"{row['kpi_name']}: {field} is empty"


def test_rollup_marts_carry_amounts_only_in_the_reporting_currency():
    models = {m["name"]: m for m in yaml.safe_load(render_models(load()))["models"]}
    daily = {c["name"] for c in models["kpi_daily"]["columns"]}
    platform = {c["name"] for c in models["kpi_daily_platform"]["columns"]}
    assert {"gmv", "gmv_reporting", "aov", "aov_reporting", "acos"} <= daily
    assert {"gmv_reporting", "aov_reporting", "acos"} <= platform
    assert not {"gmv", "aov"} & platform
    weekly = {c["name"] for c in models["kpi_weekly"]["columns"]}
    assert {"gmv_prev", "gmv_change_pct", "gmv_ly", "acos_ly_change"} <= weekly


def _broken(tmp_path: Path, edit) -> Path:
    document = yaml.safe_load(CATALOG.read_text())
    edit(document["kpis"])
    path = tmp_path / "kpi_catalog.yml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda kpis: next(k for k in kpis if k["name"] == "acos").update(denominator="nope"),
         "acos: denominator 'nope' is not a KPI"),
        (lambda kpis: next(k for k in kpis if k["name"] == "aov").update(money=False),
         "aov: money must be true exactly when an amount is divided by a count"),
        (lambda kpis: next(k for k in kpis if k["name"] == "gmv").update(kind="average"),
         "(gmv): kind 'average' is not one of"),
        (lambda kpis: kpis.append(dict(kpis[0])), "(orders): duplicate KPI name"),
        (lambda kpis: next(k for k in kpis if k["name"] == "cpc").update(grains=["store", "sku"]),
         "cpc: numerator 'ad_spend' is not available at grain(s) ['sku']"),
    ],
)  # fmt: skip
def test_a_broken_catalog_is_refused_naming_the_kpi_and_field(tmp_path, edit, message):
    with pytest.raises(CatalogError, match=None) as error:
        load(_broken(tmp_path, edit))
    assert message in str(error.value)
