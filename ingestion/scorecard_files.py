"""The scorecard and compliance files users edit (dbt seeds under dbt_project/seeds/scorecard and
seeds/compliance), checked before every build.

dbt would load a wrong file without complaint (an unknown KPI, a critical line above the warning line,
a target for a subject nobody declared) and the scorecard would quietly lose rows. Every mistake is
reported with the file, the line and the field, e.g.
`scorecard_targets.csv:7: kpi_name: 'gmw' is not a KPI of kpi_catalog.yml`. The format:
docs/SCORECARD.md.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ingestion.errors import ConfigError
from ingestion.settings import PROJECT_ROOT
from kpi_catalog.generate import load as load_catalog

SEED_DIR = PROJECT_ROOT / "dbt_project" / "seeds"
ROLES = ("operator", "ad_buyer", "customer_service", "purchasing", "live_host")
TEMPLATE_ROLES = (*ROLES, "store", "region")
PERIOD_TYPES = ("week", "month", "quarter")
OBLIGATION_TYPES = (
    "epr_registration",
    "vat_return",
    "oss_return",
    "ce_check",
    "weee_fee",
    "jp_consumption_tax",
    "jp_pse_check",
    "jp_packaging_recycling",
)
SCORABLE_KINDS = ("measure", "snapshot", "ratio")  # special KPIs do not add up over a subject's days

Id = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
Period = Literal["week", "month", "quarter"]


class Row(BaseModel):
    """A CSV row: empty cells are None; unknown columns are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: dict) -> dict:
        return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}


class Subject(Row):
    subject_id: str = Id
    subject_type: Literal["person", "team", "agency"]
    name: str
    role: Literal[ROLES] | None = None  # type: ignore[valid-type]
    team_id: str | None = None
    agency_id: str | None = None
    live_host_name: str | None = None

    @model_validator(mode="after")
    def _person(self) -> Subject:
        if self.subject_type == "person" and self.role is None:
            raise ValueError(f"a person needs a role ({', '.join(ROLES)})")
        if self.subject_type != "person" and (self.team_id or self.agency_id):
            raise ValueError("only a person belongs to a team or an agency")
        if self.live_host_name and self.role != "live_host":
            raise ValueError("live_host_name is for people with role live_host")
        return self


def _after_valid_from(cls, value: date | None, info: ValidationInfo) -> date | None:
    start = info.data.get("valid_from")
    if value is not None and start is not None and value <= start:
        raise ValueError(f"{value} must be after valid_from {start} (valid_to is exclusive)")
    return value


class Assignment(Row):
    subject_id: str
    store_id: str
    sku_set: str | None = None
    role: Literal[ROLES] | None = None  # type: ignore[valid-type]
    valid_from: date
    valid_to: date | None = None

    _range = field_validator("valid_to")(_after_valid_from)


class SkuSetRow(Row):
    sku_set: str = Id
    sku: str


class Attainment(Row):
    """Fields a template sets and a target row may override."""

    weight: float | None = Field(default=None, ge=0)
    floor: float | None = None
    cap: float | None = Field(default=None, gt=0)
    warning_line: float | None = Field(default=None, ge=0)
    critical_line: float | None = Field(default=None, ge=0)
    pacing_profile: str | None = None

    @field_validator("cap")
    @classmethod
    def _cap(cls, value: float | None, info: ValidationInfo) -> float | None:
        floor = info.data.get("floor")
        if value is not None and floor is not None and floor > value:
            raise ValueError(f"cap {value:g} is below floor {floor:g}")
        return value

    @field_validator("critical_line")
    @classmethod
    def _critical(cls, value: float | None, info: ValidationInfo) -> float | None:
        warning = info.data.get("warning_line")
        if value is not None and warning is not None and value > warning:
            raise ValueError(f"critical line {value:g} is above the warning line {warning:g}")
        return value


class Template(Attainment):
    role: Literal[TEMPLATE_ROLES]  # type: ignore[valid-type]
    kpi_name: str
    period_type: Period
    target: float | None = None


class Target(Attainment):
    subject_id: str
    kpi_name: str
    period_type: Period
    valid_from: date
    valid_to: date | None = None
    season: str | None = None
    target: float

    _range = field_validator("valid_to")(_after_valid_from)


class Season(Row):
    season: str = Id
    month: int = Field(ge=1, le=12)


class PacingDay(Row):
    profile: str = Id
    day_of_week: int | None = Field(default=None, ge=1, le=7)
    on_date: date | None = None
    weight: float = Field(gt=0)

    @model_validator(mode="after")
    def _one(self) -> PacingDay:
        if (self.day_of_week is None) == (self.on_date is None):
            raise ValueError("give either day_of_week (1 Monday ... 7 Sunday) or on_date, not both or neither")
        return self


class Exemption(Row):
    subject_id: str
    kpi_name: str
    period_type: Period
    period_start: date
    reason: str
    approved_by: str
    approved_on: date

    @field_validator("period_start")
    @classmethod
    def _aligned(cls, start: date, info: ValidationInfo) -> date:
        kind = info.data.get("period_type")
        first = {"week": "a Monday", "month": "the 1st of a month", "quarter": "the 1st of Jan, Apr, Jul or Oct"}
        ok = {
            "week": start.isoweekday() == 1,
            "month": start.day == 1,
            "quarter": start.day == 1 and start.month in (1, 4, 7, 10),
        }.get(kind, True)
        if not ok:
            raise ValueError(f"{start} is not the start of a {kind} ({first[kind]})")
        return start


class Requirement(Row):
    country: str = Field(pattern=r"^[A-Z]{2}$")
    obligation_type: Literal[OBLIGATION_TYPES]  # type: ignore[valid-type]
    category: str
    description: str


class Obligation(Row):
    obligation_id: str = Id
    obligation_type: Literal[OBLIGATION_TYPES]  # type: ignore[valid-type]
    country: str = Field(pattern=r"^[A-Z]{2}$")
    store_id: str | None = None
    category: str
    reference: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    due_date: date | None = None
    filed_on: date | None = None
    owner_subject_id: str | None = None
    notes: str | None = None

    _range = field_validator("valid_to")(_after_valid_from)

    @model_validator(mode="after")
    def _kind(self) -> Obligation:
        if (self.valid_from is None) == (self.due_date is None):
            raise ValueError("a registration has valid_from, a filing has due_date: give exactly one")
        if self.filed_on is not None and self.due_date is None:
            raise ValueError("filed_on is for filings (rows with a due_date)")
        return self


@dataclass
class ScorecardFiles:
    subjects: list[tuple[int, Subject]]
    assignments: list[tuple[int, Assignment]]
    sku_sets: list[tuple[int, SkuSetRow]]
    templates: list[tuple[int, Template]]
    targets: list[tuple[int, Target]]
    seasons: list[tuple[int, Season]]
    pacing: list[tuple[int, PacingDay]]
    exemptions: list[tuple[int, Exemption]]
    requirements: list[tuple[int, Requirement]]
    obligations: list[tuple[int, Obligation]]
    # References to stores the stores file does not declare: no error (a run may declare only some of
    # the seller's stores), but their rows find no data, so the pipeline logs these.
    warnings: list[str]


FILES = {
    "subjects": ("scorecard/scorecard_subjects.csv", Subject),
    "assignments": ("scorecard/scorecard_assignments.csv", Assignment),
    "sku_sets": ("scorecard/scorecard_sku_sets.csv", SkuSetRow),
    "templates": ("scorecard/scorecard_role_templates.csv", Template),
    "targets": ("scorecard/scorecard_targets.csv", Target),
    "seasons": ("scorecard/scorecard_seasons.csv", Season),
    "pacing": ("scorecard/scorecard_pacing_profiles.csv", PacingDay),
    "exemptions": ("scorecard/scorecard_exemptions.csv", Exemption),
    "requirements": ("compliance/compliance_requirements.csv", Requirement),
    "obligations": ("compliance/compliance_obligations.csv", Obligation),
}


def _read(path: Path, model: type[Row], errors: list[str]) -> list[tuple[int, Row]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            expected = list(model.model_fields)
            missing = [c for c in expected if c not in header]
            unknown = [c for c in header if c not in expected]
            if missing or unknown:
                problems = [f"missing column(s) {', '.join(missing)}" if missing else ""]
                problems.append(f"unknown column(s) {', '.join(unknown)}" if unknown else "")
                errors.append(f"{path}:1: (header): {'; '.join(p for p in problems if p)}")
                return []
            rows = []
            for number, raw in enumerate(reader, start=2):
                if None in raw:
                    errors.append(f"{path}:{number}: (row): more cells than the header has columns")
                    continue
                try:
                    rows.append((number, model.model_validate(raw)))
                except ValidationError as exc:
                    for err in exc.errors():
                        where = ".".join(str(p) for p in err["loc"]) or "(row)"
                        errors.append(f"{path}:{number}: {where}: {err['msg'].removeprefix('Value error, ')}")
            return rows
    except OSError as exc:
        errors.append(f"{path}: cannot read: {exc.strerror}")
        return []


def _dupes(rows: Iterable[tuple[int, Row]], key, what: str, path: Path, errors: list[str]) -> None:
    seen: dict = {}
    for line, row in rows:
        k = key(row)
        if k in seen:
            errors.append(f"{path}:{line}: {what}: {k!r} repeats line {seen[k]}")
        else:
            seen[k] = line


def check_scorecard_files(
    seed_dir: Path = SEED_DIR, *, store_ids: Iterable[str] | None = None, regions: Iterable[str] | None = None
) -> ScorecardFiles:
    """Read and cross-check every scorecard and compliance file; raise ConfigError listing every
    mistake as `file:line: field: message`. With `store_ids` (and `regions`) from the stores file,
    references to stores and region subjects it does not declare are listed in `warnings`."""
    errors: list[str] = []
    paths = {name: seed_dir / rel for name, (rel, _) in FILES.items()}
    data = {name: _read(paths[name], model, errors) for name, (_, model) in FILES.items()}
    warnings: list[str] = []
    files = ScorecardFiles(**data, warnings=warnings)
    catalog = load_catalog().by_name()

    def err(name: str, line: int, fld: str, message: str) -> None:
        errors.append(f"{paths[name]}:{line}: {fld}: {message}")

    stores = set(store_ids) if store_ids is not None else None
    region_ids = {f"region-{r.lower()}" for r in regions} if regions is not None else None
    listed = {s.subject_id: s for _, s in files.subjects}
    _dupes(files.subjects, lambda r: r.subject_id, "subject_id", paths["subjects"], errors)

    def known_subject(subject_id: str) -> bool:
        if subject_id in listed:
            return True
        if stores is None:  # without the stores file, any other id may be a store or a region
            return True
        return subject_id in stores or subject_id in (region_ids or set())

    def check_subject(name: str, line: int, subject_id: str, fld: str = "subject_id", listed_only=False) -> None:
        if listed_only and subject_id not in listed:
            err(name, line, fld, f"{subject_id!r} is not a person, team or agency of scorecard_subjects.csv")
        elif not known_subject(subject_id):
            where = "scorecard_subjects.csv, a store of the stores file or region-<region>"
            warnings.append(f"{paths[name]}:{line}: {fld}: {subject_id!r} is not a subject ({where}); no data")

    def check_kpi(name: str, line: int, kpi_name: str) -> None:
        kpi = catalog.get(kpi_name)
        if kpi is None:
            err(name, line, "kpi_name", f"{kpi_name!r} is not a KPI of kpi_catalog.yml")
        elif kpi.kind not in SCORABLE_KINDS:
            err(
                name,
                line,
                "kpi_name",
                f"{kpi_name!r} is a {kpi.kind} KPI; a scorecard takes measures, snapshots and ratios",
            )

    for line, s in files.subjects:
        for fld, kind in (("team_id", "team"), ("agency_id", "agency")):
            ref = getattr(s, fld)
            if ref and (ref not in listed or listed[ref].subject_type != kind):
                err("subjects", line, fld, f"{ref!r} is not a subject of type {kind}")

    sku_sets = {r.sku_set for _, r in files.sku_sets}
    _dupes(files.sku_sets, lambda r: (r.sku_set, r.sku), "sku", paths["sku_sets"], errors)
    profiles = {r.profile for _, r in files.pacing}
    seasons = {r.season for _, r in files.seasons}

    spans: dict[tuple, list[tuple[int, Assignment]]] = {}
    for line, a in files.assignments:
        check_subject("assignments", line, a.subject_id, listed_only=True)
        if stores is not None and a.store_id not in stores:
            warnings.append(f"{paths['assignments']}:{line}: store_id: {a.store_id!r} is not in the stores file")
        if a.sku_set and a.sku_set not in sku_sets:
            err("assignments", line, "sku_set", f"{a.sku_set!r} is not a set of scorecard_sku_sets.csv")
        for other_line, other in spans.get((a.subject_id, a.store_id, a.sku_set), []):
            if a.valid_from < (other.valid_to or date.max) and other.valid_from < (a.valid_to or date.max):
                err(
                    "assignments",
                    line,
                    "valid_from",
                    f"overlaps line {other_line} for the same subject, store and SKU set",
                )
        spans.setdefault((a.subject_id, a.store_id, a.sku_set), []).append((line, a))

    def check_attainment(name: str, line: int, row: Attainment) -> None:
        if row.pacing_profile and row.pacing_profile not in profiles:
            err(
                name,
                line,
                "pacing_profile",
                f"{row.pacing_profile!r} is not a profile of scorecard_pacing_profiles.csv",
            )

    _dupes(files.templates, lambda r: (r.role, r.kpi_name, r.period_type), "kpi_name", paths["templates"], errors)
    for line, t in files.templates:
        check_kpi("templates", line, t.kpi_name)
        check_attainment("templates", line, t)

    _dupes(
        files.targets,
        lambda r: (r.subject_id, r.kpi_name, r.period_type, r.season, r.valid_from),
        "valid_from",
        paths["targets"],
        errors,
    )
    for line, t in files.targets:
        check_subject("targets", line, t.subject_id)
        check_kpi("targets", line, t.kpi_name)
        check_attainment("targets", line, t)
        if t.season and t.season not in seasons:
            err("targets", line, "season", f"{t.season!r} is not a season of scorecard_seasons.csv")
        kpi = catalog.get(t.kpi_name)
        lower = kpi is not None and kpi.direction == "lower_better"
        if t.target < 0 or (t.target == 0 and not lower):
            need = "at least 0 (a lower-is-better KPI)" if lower else "above 0 (a higher-is-better KPI)"
            err("targets", line, "target", f"{t.target:g} must be {need}")

    for line, e in files.exemptions:
        check_subject("exemptions", line, e.subject_id)
        check_kpi("exemptions", line, e.kpi_name)
    _dupes(
        files.exemptions,
        lambda r: (r.subject_id, r.kpi_name, r.period_type, r.period_start),
        "period_start",
        paths["exemptions"],
        errors,
    )

    _dupes(
        files.requirements,
        lambda r: (r.country, r.obligation_type, r.category),
        "category",
        paths["requirements"],
        errors,
    )
    _dupes(files.obligations, lambda r: r.obligation_id, "obligation_id", paths["obligations"], errors)
    for line, o in files.obligations:
        if o.owner_subject_id:
            check_subject("obligations", line, o.owner_subject_id, "owner_subject_id", listed_only=True)
        if o.store_id and stores is not None and o.store_id not in stores:
            warnings.append(f"{paths['obligations']}:{line}: store_id: {o.store_id!r} is not in the stores file")

    if errors:
        raise ConfigError("invalid scorecard or compliance file\n  " + "\n  ".join(errors))
    return files
