"""The scorecard and compliance files: the shipped examples pass, and each kind of mistake is reported
with the file, the line and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingestion.errors import ConfigError
from ingestion.sandbox.generator import MARKETPLACE_SHOPS, SHOPIFY_SHOPS
from ingestion.scorecard_files import SEED_DIR, check_scorecard_files

SHOPS = SHOPIFY_SHOPS + MARKETPLACE_SHOPS
STORES = [s.shop_id for s in SHOPS]
REGIONS = [s.region for s in SHOPS]


@pytest.fixture
def seeds(tmp_path) -> Path:
    for folder in ("scorecard", "compliance"):
        shutil.copytree(SEED_DIR / folder, tmp_path / folder)
    return tmp_path


def edit(seeds: Path, name: str, line: int, text: str) -> Path:
    """Replace line `line` (1-based, the header is 1) of a file."""
    path = next(seeds.glob(f"*/{name}"))
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


def errors(seeds: Path, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        check_scorecard_files(seeds, **kwargs)
    return str(caught.value)


def test_the_shipped_example_files_are_valid_for_the_demo_stores():
    files = check_scorecard_files(store_ids=STORES, regions=REGIONS)
    assert files.warnings == []
    assert len(files.targets) == 60 and len(files.obligations) == 15


def test_an_unknown_kpi_names_file_line_and_field(seeds):
    path = edit(seeds, "scorecard_targets.csv", 3, "alice,gmw,month,2026-01-01,,peak,460000,,,,,,")
    assert f"{path}:3: kpi_name: 'gmw' is not a KPI of kpi_catalog.yml" in errors(seeds)


def test_a_special_kpi_cannot_be_scored(seeds):
    path = edit(
        seeds, "scorecard_role_templates.csv", 2, "operator,first_response_hours_median,month,,50,0,1.2,0.9,0.75,"
    )
    assert (
        f"{path}:2: kpi_name: 'first_response_hours_median' is a special KPI; "
        "a scorecard takes measures, snapshots and ratios"
    ) in errors(seeds)


def test_lines_caps_and_targets_are_checked(seeds):
    path = edit(seeds, "scorecard_targets.csv", 2, "alice,gmv,month,2026-01-01,,,0,,1.5,1.2,0.8,0.85,")
    message = errors(seeds)
    assert f"{path}:2: cap: cap 1.2 is below floor 1.5" in message
    assert f"{path}:2: critical_line: critical line 0.85 is above the warning line 0.8" in message
    # a row that fails its own checks is not cross-checked; a well-formed one is
    edit(seeds, "scorecard_targets.csv", 3, "alice,gmv,month,2026-01-01,,peak,0,,,,,,")
    assert f"{path}:3: target: 0 must be above 0 (a higher-is-better KPI)" in errors(seeds)


def test_a_zero_target_is_fine_for_a_lower_is_better_kpi(seeds):
    edit(seeds, "scorecard_targets.csv", 2, "alice,refund_rate_by_value,month,2026-01-01,,,0,,,,,,")
    check_scorecard_files(seeds)


def test_dates_ranges_and_overlapping_assignments(seeds):
    path = edit(seeds, "scorecard_assignments.csv", 3, "erin,tts-us,,,2026-13-01,")
    assert f"{path}:3: valid_from: Input should be a valid date" in errors(seeds)
    edit(seeds, "scorecard_assignments.csv", 3, "erin,tts-us,,,2026-02-01,2026-01-01")
    assert f"{path}:3: valid_to: 2026-01-01 must be after valid_from 2026-02-01 (valid_to is exclusive)" in errors(
        seeds
    )
    # ines takes acme-uk over on 2026-10-15 (line 11); starting her a day early overlaps bruno's row (line 10)
    edit(seeds, "scorecard_assignments.csv", 11, "bruno,acme-uk,,,2026-10-14,")
    assert f"{path}:11: valid_from: overlaps line 10 for the same subject, store and SKU set" in errors(seeds)


def test_references_between_files(seeds):
    subjects = edit(seeds, "scorecard_subjects.csv", 6, "alice,person,Alice Moreau,operator,team-xx,,")
    assert f"{subjects}:6: team_id: 'team-xx' is not a subject of type team" in errors(seeds)
    shutil.copy(SEED_DIR / "scorecard" / "scorecard_subjects.csv", subjects)
    assignments = edit(seeds, "scorecard_assignments.csv", 2, "alicia,acme-us,,,2025-01-01,")
    assert f"{assignments}:2: subject_id: 'alicia' is not a person, team or agency of scorecard_subjects.csv" in errors(
        seeds
    )


def test_unknown_stores_are_warnings_not_errors(seeds):
    """A run may declare only some of the seller's stores: their rows just find no data."""
    files = check_scorecard_files(seeds, store_ids=["acme-us"], regions=["NA"])
    assignments = seeds / "scorecard" / "scorecard_assignments.csv"
    assert f"{assignments}:3: store_id: 'tts-us' is not in the stores file" in files.warnings
    targets = seeds / "scorecard" / "scorecard_targets.csv"
    assert any(w.startswith(f"{targets}:") and "'amz-us' is not a subject" in w for w in files.warnings)


def test_exemptions_must_name_a_period_start(seeds):
    path = edit(seeds, "scorecard_exemptions.csv", 2, "dana,acos,month,2026-10-02,why,alice,2026-09-24")
    assert f"{path}:2: period_start: 2026-10-02 is not the start of a month (the 1st of a month)" in errors(seeds)


def test_headers_and_compliance_rows(seeds):
    path = edit(seeds, "scorecard_seasons.csv", 1, "season,mnth")
    assert f"{path}:1: (header): missing column(s) month; unknown column(s) mnth" in errors(seeds)
    shutil.copy(SEED_DIR / "scorecard" / "scorecard_seasons.csv", path)
    register = edit(
        seeds, "compliance_obligations.csv", 2, "x-1,epr_registration,DE,,packaging,R1,2024-01-01,,2026-01-01,,bruno,"
    )
    assert f"{register}:2: (row): a registration has valid_from, a filing has due_date: give exactly one" in errors(
        seeds
    )
    edit(seeds, "compliance_obligations.csv", 2, "x-1,epr_regstration,DE,,packaging,R1,2024-01-01,,,,bruno,")
    assert f"{register}:2: obligation_type: Input should be " in errors(seeds)
