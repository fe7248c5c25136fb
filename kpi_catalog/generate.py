"""Write the files that repeat the KPI catalog's definitions (see the package docstring)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DBT = ROOT / "dbt_project"
CATALOG = DBT / "kpi_catalog.yml"

KINDS = ("measure", "snapshot", "ratio", "special")
GRAINS = ("store", "rollup", "sku", "host")
CATEGORIES = {
    "sales": "Sales",
    "ads": "Advertising",
    "profit": "Profit",
    "after_sales": "After-sales",
    "fulfilment": "Fulfilment",
    "inventory": "Inventory",
    "assortment": "Assortment",
    "service": "Service",
    "live": "TikTok LIVE",
}
DIRECTIONS = ("higher_better", "lower_better")
ROLES = ("operator", "ad_buyer", "customer_service", "purchasing", "live_host")
FIELDS = {
    "name", "label", "category", "kind", "money", "helper", "numerator", "denominator", "scale", "grains",
    "bounds", "direction", "owner_role", "pop", "formula", "description", "time_basis", "attribution_window",
    "exclusions", "maturity",
}  # fmt: skip
GENERATED = "Generated from dbt_project/kpi_catalog.yml by `make catalog`; do not edit."


class CatalogError(ValueError):
    """The catalog file breaks a rule; the message names the KPI and the field."""


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    category: str
    kind: str
    formula: str
    description: str
    time_basis: str
    exclusions: str
    maturity: str
    owner_role: str
    grains: tuple[str, ...]
    money: bool = False
    helper: bool = False
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1
    bounds: tuple[float | None, float | None] | None = None
    direction: str = "higher_better"
    pop: bool = False
    attribution_window: str | None = None

    @property
    def currency(self) -> str:
        if self.money:
            return "Store currency (<name>) and the reporting currency (<name>_reporting)"
        if self.kind == "ratio":
            return "None (a ratio of sums in one currency)"
        return "None"


@dataclass(frozen=True)
class Mart:
    """A KPI mart: its grain, key columns and which catalog grain (and currency mode) it carries."""

    name: str
    grain: str  # catalog grain: store | rollup | sku
    keys: tuple[str, ...]  # the unique combination
    description: str
    columns: tuple[tuple[str, str], ...]  # key/context columns (name, description)
    period: str | None = None  # week | month: period-over-period columns

    @property
    def mode(self) -> str:
        """`rollup` marts add up several stores, so amounts come only in the reporting currency."""
        return "rollup" if self.grain == "rollup" else "store"


@dataclass
class Catalog:
    kpis: list[Kpi] = field(default_factory=list)

    def by_name(self) -> dict[str, Kpi]:
        return {k.name: k for k in self.kpis}

    def for_grain(self, grain: str) -> list[Kpi]:
        return [k for k in self.kpis if grain in k.grains]


def load(path: Path = CATALOG) -> Catalog:
    document = yaml.safe_load(path.read_text())
    defaults = document.get("defaults", {})
    catalog = Catalog()
    seen: set[str] = set()
    for i, entry in enumerate(document.get("kpis") or []):
        where = f"{path.name}: kpis[{i}] ({entry.get('name', '?')})"
        unknown = set(entry) - FIELDS
        if unknown:
            raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)}")
        for required in ("name", "label", "category", "kind", "formula", "description", "grains"):
            if not entry.get(required):
                raise CatalogError(f"{where}: field {required!r} is required")
        if entry["name"] in seen:
            raise CatalogError(f"{where}: duplicate KPI name")
        seen.add(entry["name"])
        if entry["kind"] not in KINDS:
            raise CatalogError(f"{where}: kind {entry['kind']!r} is not one of {KINDS}")
        if entry["category"] not in CATEGORIES:
            raise CatalogError(f"{where}: category {entry['category']!r} is not one of {tuple(CATEGORIES)}")
        bad = set(entry["grains"]) - set(GRAINS)
        if bad:
            raise CatalogError(f"{where}: grains {sorted(bad)} are not among {GRAINS}")
        direction = entry.get("direction", "higher_better")
        if direction not in DIRECTIONS:
            raise CatalogError(f"{where}: direction {direction!r} is not one of {DIRECTIONS}")
        role = entry.get("owner_role", defaults.get("owner_role"))
        if role not in ROLES:
            raise CatalogError(f"{where}: owner_role {role!r} is not one of {ROLES}")
        bounds = entry.get("bounds")
        if bounds is not None and (len(bounds) != 2):
            raise CatalogError(f"{where}: bounds must be [low, high] (null for open)")
        catalog.kpis.append(
            Kpi(
                name=entry["name"],
                label=entry["label"],
                category=entry["category"],
                kind=entry["kind"],
                formula=entry["formula"],
                description=" ".join(entry["description"].split()),
                time_basis=entry.get("time_basis", defaults.get("time_basis", "")),
                exclusions=entry.get("exclusions", defaults.get("exclusions", "")),
                maturity=entry.get("maturity", defaults.get("maturity", "")),
                owner_role=role,
                grains=tuple(entry["grains"]),
                money=bool(entry.get("money", False)),
                helper=bool(entry.get("helper", False)),
                numerator=entry.get("numerator"),
                denominator=entry.get("denominator"),
                scale=entry.get("scale", 1),
                bounds=tuple(bounds) if bounds is not None else None,
                direction=direction,
                pop=bool(entry.get("pop", False)),
                attribution_window=entry.get("attribution_window"),
            )
        )
    _check_ratios(catalog, path)
    return catalog


def _check_ratios(catalog: Catalog, path: Path) -> None:
    names = catalog.by_name()
    for kpi in catalog.kpis:
        where = f"{path.name}: {kpi.name}"
        if kpi.kind != "ratio":
            if kpi.numerator or kpi.denominator:
                raise CatalogError(f"{where}: only a ratio has a numerator and a denominator")
            continue
        for part in ("numerator", "denominator"):
            ref = getattr(kpi, part)
            if ref not in names:
                raise CatalogError(f"{where}: {part} {ref!r} is not a KPI of the catalog")
            other = names[ref]
            if other.kind not in ("measure", "snapshot"):
                raise CatalogError(f"{where}: {part} {ref!r} must be a measure or a snapshot, not a {other.kind}")
            missing = set(kpi.grains) - set(other.grains)
            if missing:
                raise CatalogError(f"{where}: {part} {ref!r} is not available at grain(s) {sorted(missing)}")
        num, den = names[kpi.numerator], names[kpi.denominator]
        if kpi.money != (num.money and not den.money):
            raise CatalogError(
                f"{where}: money must be true exactly when an amount is divided by a count "
                f"({num.name}: money={num.money}, {den.name}: money={den.money})"
            )


# ----------------------------------------------------------------------------- marts

CONTEXT = {
    "store_id": "{{ doc('store_id') }}",
    "platform": "{{ doc('platform') }}",
    "region": "The store's region (stores file).",
    "currency_code": "{{ doc('currency_code') }}",
    "reporting_currency_code": "{{ doc('reporting_currency_code') }}",
    "is_complete_day": "True when the whole local day lies inside the store's newest unbroken run of "
    "successful orders syncs; the newest day is usually partial.",
    "is_refund_cohort_mature": "True when the return window (var return_window_days) has closed for every "
    "order of the row, so the cohort refund rates are final.",
    "has_inventory_snapshot": "True when an inventory snapshot was taken on the day "
    "(inventory KPIs are null otherwise).",
}

MARTS: tuple[Mart, ...] = (
    Mart(
        "kpi_daily",
        "store",
        ("store_id", "kpi_date"),
        "One row per store x local day: every KPI of the catalog at the store's grain, every day from "
        "the store's first activity to its newest synced day, zero-filled (a store that stopped selling "
        "shows zero days). Amounts in the store's currency, and in the reporting currency (*_reporting). "
        "Ratios are computed from the day's sums.",
        (
            ("store_id", CONTEXT["store_id"]),
            ("platform", CONTEXT["platform"]),
            ("region", CONTEXT["region"]),
            ("kpi_date", "The store's local calendar day."),
            ("is_complete_day", CONTEXT["is_complete_day"]),
            ("is_refund_cohort_mature", CONTEXT["is_refund_cohort_mature"]),
            ("has_inventory_snapshot", CONTEXT["has_inventory_snapshot"]),
            ("currency_code", CONTEXT["currency_code"]),
            ("reporting_currency_code", CONTEXT["reporting_currency_code"]),
        ),
    ),
    *(
        Mart(
            f"kpi_{period}ly",
            "store",
            ("store_id", "period_start"),
            f"One row per store x {period} (ISO weeks start on Monday): the measures of kpi_daily summed over "
            f"the {period}, snapshots at the {period}'s last snapshot day, ratios recomputed from the "
            f"{period}'s sums, distinct counts over the {period}; with the previous {period} and the same "
            f"{period} last year (*_prev, *_ly) and their change (*_change, *_change_pct) for the KPIs that "
            "managers compare. Changes are in the store's currency, so exchange rates do not move them.",
            (
                ("store_id", CONTEXT["store_id"]),
                ("platform", CONTEXT["platform"]),
                ("region", CONTEXT["region"]),
                ("period_start", f"First local day of the {period}."),
                ("period_end", f"Last local day of the {period}."),
                ("days_with_data", f"Days of the {period} in kpi_daily."),
                (
                    "is_complete_period",
                    f"True when every day of the {period} is in kpi_daily and complete; "
                    f"compare a partial {period} with care.",
                ),
                ("is_refund_cohort_mature", CONTEXT["is_refund_cohort_mature"]),
                ("currency_code", CONTEXT["currency_code"]),
                ("reporting_currency_code", CONTEXT["reporting_currency_code"]),
            ),
            period=period,
        )
        for period in ("week", "month")
    ),
    *(
        Mart(
            f"kpi_daily_{dim}",
            "rollup",
            (dim, "kpi_date"),
            f"One row per {dim} x local day: the stores of the {dim} added up, amounts in the reporting currency "
            "only, ratios recomputed from the summed numerators and denominators (never averaged). "
            "Local days of stores in different time zones are added as they are.",
            (
                (dim, CONTEXT[dim]),
                ("kpi_date", "The stores' local calendar day."),
                ("stores", "Stores with a row on the day."),
                ("is_complete_day", "True when the day is complete for every store of the row."),
                ("is_refund_cohort_mature", CONTEXT["is_refund_cohort_mature"]),
                ("reporting_currency_code", CONTEXT["reporting_currency_code"]),
            ),
        )
        for dim in ("platform", "region")
    ),
    Mart(
        "kpi_daily_sku",
        "sku",
        ("store_id", "sku", "kpi_date"),
        "One row per store x SKU x local day with any activity (a sale, a refund, traffic or an inventory "
        "snapshot); not zero-filled. Lines without a SKU count under sku '(none)'.",
        (
            ("store_id", CONTEXT["store_id"]),
            ("platform", CONTEXT["platform"]),
            ("sku", "The seller's SKU."),
            ("kpi_date", "The store's local calendar day."),
            ("is_refund_cohort_mature", CONTEXT["is_refund_cohort_mature"]),
            ("has_inventory_snapshot", CONTEXT["has_inventory_snapshot"]),
            ("currency_code", CONTEXT["currency_code"]),
            ("reporting_currency_code", CONTEXT["reporting_currency_code"]),
        ),
    ),
    Mart(
        "kpi_live_host_daily",
        "host",
        ("store_id", "host", "kpi_date"),
        "One row per TikTok store x LIVE host x local day with an ended stream: the LIVE KPIs per host "
        "(session GMV, GMV per LIVE hour, viewers, product impression click rate), dated by the stream's "
        "local start day. The host is the account that streamed (the live-stream host's scorecard).",
        (
            ("store_id", CONTEXT["store_id"]),
            ("platform", CONTEXT["platform"]),
            ("host", "The TikTok account that hosted the stream (`username`)."),
            ("kpi_date", "The store's local day the stream started."),
            ("currency_code", CONTEXT["currency_code"]),
            ("reporting_currency_code", CONTEXT["reporting_currency_code"]),
        ),
    ),
)


def columns_of(kpi: Kpi, mode: str, names: dict[str, Kpi]) -> list[tuple[str, str]]:
    """(column, variant) pairs a KPI adds to a mart; variant is 'native' or 'reporting'."""
    if kpi.money:
        return [(f"{kpi.name}_reporting", "reporting")] if mode == "rollup" else [
            (kpi.name, "native"),
            (f"{kpi.name}_reporting", "reporting"),
        ]  # fmt: skip
    return [(kpi.name, "native")]


def pop_columns(kpi: Kpi, period: str) -> list[tuple[str, str]]:
    base = kpi.name
    return [
        (f"{base}_prev", f"{kpi.label} of the previous {period}."),
        (f"{base}_change", f"{kpi.label}: this {period} minus the previous {period}."),
        (f"{base}_change_pct", f"{kpi.label}: change over the previous {period} as a fraction of it."),
        (f"{base}_ly", f"{kpi.label} of the same {period} last year."),
        (f"{base}_ly_change", f"{kpi.label}: this {period} minus the same {period} last year."),
        (f"{base}_ly_change_pct", f"{kpi.label}: change over the same {period} last year as a fraction of it."),
    ]


def bound_tests(column: str, bounds: tuple[float | None, float | None] | None) -> list[str]:
    if not bounds:
        return []
    low, high = bounds
    parts = []
    if low is not None:
        parts.append(f"{column} >= {low}")
    if high is not None:
        parts.append(f"{column} <= {high} + 1e-9")
    return [f"{column} is null or ({' and '.join(parts)})"]


# ----------------------------------------------------------------------------- writers


def render_seed(catalog: Catalog) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [
        "kpi_name", "label", "category", "kind", "is_helper", "formula", "description", "grain", "time_basis",
        "currency", "attribution_window", "exclusions", "maturity", "owner_role", "direction", "marts",
    ]  # fmt: skip
    writer.writerow(header)
    for kpi in catalog.kpis:  # fmt: skip
        marts = [m.name for m in MARTS if m.grain in kpi.grains]
        grain = "; ".join(
            {
                "store": "store x day/week/month",
                "rollup": "platform or region x day",
                "sku": "store x SKU x day",
                "host": "store x LIVE host x day",
            }[g]
            for g in kpi.grains
        )
        writer.writerow(
            [
                kpi.name,
                kpi.label,
                kpi.category,
                kpi.kind,
                str(kpi.helper).lower(),
                kpi.formula,
                kpi.description,
                grain,
                kpi.time_basis,
                kpi.currency.replace("<name>", kpi.name),
                kpi.attribution_window or "",
                kpi.exclusions,
                kpi.maturity,
                kpi.owner_role,
                kpi.direction,
                " ".join(marts),
            ]
        )
    return out.getvalue()


def render_macro(catalog: Catalog) -> str:
    entries = [
        {
            "name": k.name,
            "kind": k.kind,
            "money": k.money,
            "numerator": k.numerator,
            "denominator": k.denominator,
            "scale": k.scale,
            "grains": list(k.grains),
            "pop": k.pop,
        }
        for k in catalog.kpis
    ]
    body = ",\n".join(f"    {json.dumps(e, sort_keys=True)}" for e in entries)
    body = body.replace(": true", ": True").replace(": false", ": False").replace(": null", ": none")
    return (
        f"{{#- {GENERATED} -#}}\n"
        "{#- The KPI catalog as data, for the macros that build the KPI marts' columns (macros/kpi.sql). -#}\n"
        "{% macro kpi_catalog() %}\n"
        "{{ return([\n"
        f"{body}\n"
        "]) }}\n"
        "{% endmacro %}\n"
    )


def render_docs(catalog: Catalog) -> str:
    blocks = [f"{{# {GENERATED} #}}\n"]
    for kpi in catalog.kpis:
        lines = [
            f"**{kpi.label}** - {kpi.description}",
            "",
            f"Formula: `{kpi.formula}`. Time basis: {kpi.time_basis}",
        ]
        if kpi.attribution_window:
            lines.append(f"Attribution window: {kpi.attribution_window}.")
        lines.append(f"Exclusions: {kpi.exclusions} Maturity: {kpi.maturity}")
        blocks.append(f"{{% docs kpi_{kpi.name} %}}\n" + "\n".join(lines) + "\n{% enddocs %}\n")
    return "\n".join(blocks)


def render_models(catalog: Catalog) -> str:
    names = catalog.by_name()
    models = []
    for mart in MARTS:
        tests: list[dict] = [
            {"unique_combination_of_columns": {"arguments": {"combination_of_columns": list(mart.keys)}}}
        ]
        columns = []
        for name, description in mart.columns:
            column: dict = {"name": name, "description": description}
            if name in mart.keys:
                column["data_tests"] = ["not_null"]
            columns.append(column)
        present = set()
        for kpi in catalog.for_grain(mart.grain):
            for column, variant in columns_of(kpi, mart.mode, names):
                suffix = " In the reporting currency." if variant == "reporting" and kpi.money else ""
                if kpi.money and variant == "native":
                    suffix = " In the store's currency."
                columns.append({"name": column, "description": f"{{{{ doc('kpi_{kpi.name}') }}}}{suffix}"})
                present.add(column)
                for expression in bound_tests(column, kpi.bounds):
                    tests.append({"expression_is_true": {"arguments": {"expression": expression}}})
        if mart.period:
            for kpi in catalog.for_grain(mart.grain):
                if kpi.pop:
                    columns.extend({"name": n, "description": d} for n, d in pop_columns(kpi, mart.period))
        suffix = "_reporting" if mart.mode == "rollup" else ""
        net, gmv = f"net_sales{suffix}", f"gmv{suffix}"
        if {net, gmv} <= present:
            tests.append({"expression_is_true": {"arguments": {"expression": f"{net} <= {gmv}"}}})
        gp, cogs = f"gross_profit{suffix}", f"cogs{suffix}"
        if {gp, cogs, net} <= present:
            tests.append({"expression_is_true": {"arguments": {"expression": f"abs({gp} - ({net} - {cogs})) < 0.01"}}})
        models.append({"name": mart.name, "description": mart.description, "data_tests": tests, "columns": columns})
    header = f"# {GENERATED}\n# Model SQL: models/marts/kpi/<model>.sql; macros: macros/kpi.sql.\n"
    return header + yaml.safe_dump({"version": 2, "models": models}, sort_keys=False, width=120, allow_unicode=True)


def render_metrics(catalog: Catalog) -> str:
    """The semantic model over kpi_daily and one metric per KPI MetricFlow can express."""
    names = catalog.by_name()
    measures, metrics = [], []
    for kpi in catalog.for_grain("store"):
        if kpi.kind in ("measure", "snapshot"):
            measure = {
                "name": f"{kpi.name}_total",
                "agg": "sum",
                "expr": f"{kpi.name}_reporting" if kpi.money else kpi.name,
                "description": f"{kpi.label}" + (" (reporting currency)" if kpi.money else ""),
            }
            if kpi.kind == "snapshot":
                # a stock is not summed over time: the value of the last day of each period
                measure["non_additive_dimension"] = {"name": "kpi_date", "window_choice": "max"}
            measures.append(measure)
            metrics.append(
                {
                    "name": kpi.name,
                    "label": kpi.label,
                    "description": kpi.description,
                    "type": "simple",
                    "type_params": {"measure": f"{kpi.name}_total"},
                }
            )
    for kpi in catalog.for_grain("store"):
        if kpi.kind != "ratio":
            continue
        metric: dict = {"name": kpi.name, "label": kpi.label, "description": kpi.description}
        if kpi.scale == 1:
            metric |= {"type": "ratio", "type_params": {"numerator": kpi.numerator, "denominator": kpi.denominator}}
        else:
            metric |= {
                "type": "derived",
                "type_params": {
                    "expr": f"{kpi.numerator} * {kpi.scale} / nullif({kpi.denominator}, 0)",
                    "metrics": [{"name": kpi.numerator}, {"name": kpi.denominator}],
                },
            }
        metrics.append(metric)
    assert all(m["name"] in names for m in metrics)
    document = {
        "version": 2,
        "semantic_models": [
            {
                "name": "store_days",
                "description": "The store x local day KPI mart (marts.kpi_daily); amounts in the reporting currency.",
                "model": "ref('kpi_daily')",
                "defaults": {"agg_time_dimension": "kpi_date"},
                "entities": [
                    {"name": "store_day", "type": "primary", "expr": "store_id || '|' || cast(kpi_date as varchar)"},
                    {"name": "store", "type": "foreign", "expr": "store_id"},
                ],
                "dimensions": [
                    {"name": "kpi_date", "type": "time", "type_params": {"time_granularity": "day"}},
                    {"name": "platform", "type": "categorical"},
                    {"name": "is_complete_day", "type": "categorical"},
                ],
                "measures": measures,
            }
        ],
        "metrics": metrics,
    }
    header = (
        f"# {GENERATED}\n"
        "# `mf query --metrics gmv,aov --group-by metric_time__week,store__region`: ratios are metrics over\n"
        "# summed measures, so every grain divides sums and never averages ratios.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=120, allow_unicode=True)


def render_markdown(catalog: Catalog) -> str:
    lines = [
        "# KPI definitions",
        "",
        f"<!-- {GENERATED} -->",
        "",
        "Every KPI has one definition, in `dbt_project/kpi_catalog.yml`. The same text is in the dbt docs "
        "of every mart column, in the MetricFlow metrics and in `marts.kpi_definitions` (for BI tools).",
        "",
        "Rules for all KPIs:",
        "",
        "- **Days** are the store's local calendar days (its IANA time zone in the stores file).",
        "- **Money** is kept in the store's currency (`gmv`) and converted per day to the reporting currency "
        "(`gmv_reporting`, ECB reference rates). Marts that add up stores (`kpi_daily_platform`, "
        "`kpi_daily_region`) carry only reporting-currency amounts.",
        "- **Ratios** are computed at every grain from the summed numerator and denominator, never by "
        "averaging ratios; they are null when the denominator is not positive. Rates are fractions "
        "(0.15, not 15).",
        "- **Exclusions**: test, cancelled and suspected-brushing orders go to `int_orders__quarantined` "
        "with the reason and never count.",
        "- **Marts**: `kpi_daily` (store x day), `kpi_weekly`, `kpi_monthly` (with previous period and same "
        "period last year), `kpi_daily_platform`, `kpi_daily_region`, `kpi_daily_sku`, plus "
        "`kpi_live_host_daily` (TikTok LIVE per host), `kpi_gmv_drivers` and `kpi_gmv_contribution` "
        "(why GMV moved).",
        "",
        "Kinds: *measure* (summed), *snapshot* (a stock: summed across stores and SKUs, the last snapshot "
        "of a week or month), *ratio* (of sums), *special* (distinct counts and percentiles, computed at "
        "each grain; not in MetricFlow). *Helper* measures are the numerators and denominators of ratios.",
        "",
    ]
    for category, title in CATEGORIES.items():
        kpis = [k for k in catalog.kpis if k.category == category]
        if not kpis:
            continue
        lines += [f"## {title}", ""]
        for kpi in kpis:
            helper = " (helper)" if kpi.helper else ""
            lines += [
                f"### `{kpi.name}` - {kpi.label}{helper}",
                "",
                kpi.description,
                "",
                f"- **Formula:** `{kpi.formula}` ({kpi.kind}"
                + (f", x {kpi.scale}" if kpi.kind == "ratio" and kpi.scale != 1 else "")
                + ")",
                f"- **Grains:** {', '.join(kpi.grains)}; **direction:** {kpi.direction.replace('_', ' ')}; "
                f"**owner role:** {kpi.owner_role}",
                f"- **Time basis:** {kpi.time_basis}",
                f"- **Currency:** {kpi.currency.replace('<name>', kpi.name)}",
            ]
            if kpi.attribution_window:
                lines.append(f"- **Attribution window:** {kpi.attribution_window}")
            lines += [f"- **Exclusions:** {kpi.exclusions}", f"- **Maturity:** {kpi.maturity}", ""]
    return "\n".join(lines)


def outputs(catalog: Catalog) -> dict[Path, str]:
    return {
        DBT / "seeds" / "kpi_catalog.csv": render_seed(catalog),
        DBT / "macros" / "generated" / "kpi_catalog.sql": render_macro(catalog),
        DBT / "models" / "marts" / "kpi" / "_kpi__docs.md": render_docs(catalog),
        DBT / "models" / "marts" / "kpi" / "_kpi__models.yml": render_models(catalog),
        DBT / "models" / "marts" / "semantic" / "_metrics.yml": render_metrics(catalog),
        ROOT / "docs" / "METRICS.md": render_markdown(catalog),
    }


def stale(catalog: Catalog) -> list[Path]:
    return [p for p, text in outputs(catalog).items() if not p.exists() or p.read_text() != text]


def write(catalog: Catalog) -> list[Path]:
    changed = stale(catalog)
    for path, text in outputs(catalog).items():
        if path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return changed
