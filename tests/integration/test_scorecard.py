"""marts.kpi_scorecard, its totals, the exemptions audit and the compliance marts, built by real dbt on
DuckDB from small fixtures: two stores' KPI days written into marts.kpi_daily and fixture scorecard
files written into the seed tables, then the scorecard models built (with their data tests) on top.
Every expected number is worked out by hand in the comments.

Fixture (reporting currency USD; as of 2026-03-10):
  kpi_daily   s-us 2026-02-10  GMV 1000, refunds 50, ad spend 30, ad sales 100
              s-us 2026-02-20  GMV 3000, refunds 30, ad spend 90, ad sales 300
              s-de 2026-02-12  GMV 2000 (1800 EUR), refunds 200, ad spend 100, ad sales 200
              s-us 2026-03-03  GMV 1500, nothing else
              s-us 2026-03-12  GMV 9999 (after the as-of day: never counts)
  p1 holds s-us until 2026-02-15 (exclusive) and s-de throughout; p2 holds s-us from 2026-02-15
  (a mid-month reassignment); p3 (ad buyer) holds both; team t1 = p1 + p2 (no rows of its own).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingestion.config import load_stores
from ingestion.lake import RawLake
from ingestion.runner import land_store_config
from ingestion.sync_log import SyncAttempt, SyncLog
from tests.conftest import run_dbt

AS_OF = "2026-03-10"
MODELS = ("path:models/intermediate/scorecard", "path:models/marts/scorecard", "path:models/marts/compliance")

STORES_YAML = """
stores:
  - {store_id: s-us, platform: shopify, name: S US, marketplace: shopify-us, region: NA, country: US,
     timezone: America/New_York, currency: USD, credentials: {access_token_env: TOKEN_S_US}}
  - {store_id: s-de, platform: shopify, name: S DE, marketplace: shopify-eu, region: EU, country: DE,
     timezone: Europe/Berlin, currency: EUR, credentials: {access_token_env: TOKEN_S_DE}}
"""

KPI_DAYS = [
    # store, day, currency, gmv, gmv_reporting, refunds, refunds_reporting, spend, spend_rep, ad sales, ad sales rep
    ("s-us", "2026-02-10", "USD", 1000, 1000, 50, 50, 30, 30, 100, 100),
    ("s-us", "2026-02-20", "USD", 3000, 3000, 30, 30, 90, 90, 300, 300),
    ("s-de", "2026-02-12", "EUR", 1800, 2000, 180, 200, 90, 100, 180, 200),
    ("s-us", "2026-03-03", "USD", 1500, 1500, 0, 0, 0, 0, 0, 0),
    ("s-us", "2026-03-12", "USD", 9999, 9999, 0, 0, 0, 0, 0, 0),
]

SEEDS = {
    "scorecard_subjects": [
        ("t1", "team", "Team one", "operator", None, None, None),
        ("p1", "person", "P one", "operator", "t1", None, None),
        ("p2", "person", "P two", "operator", "t1", None, None),
        ("p3", "person", "P three", "ad_buyer", None, None, None),
    ],
    "scorecard_assignments": [
        ("p1", "s-us", None, None, "2026-01-01", "2026-02-15"),
        ("p2", "s-us", None, None, "2026-02-15", None),
        ("p1", "s-de", None, None, "2026-01-01", None),
        ("p3", "s-us", None, None, "2026-01-01", None),
        ("p3", "s-de", None, None, "2026-01-01", None),
    ],
    "scorecard_sku_sets": [],
    "scorecard_role_templates": [
        # role, kpi, period, target, weight, floor, cap, warning, critical, pacing profile
        ("operator", "gmv", "month", None, 60, 0, 1.2, 0.9, 0.7, "wk"),
        ("operator", "refund_rate_by_value", "month", 0.05, 40, 0, 1.5, 0.9, 0.7, None),
        ("ad_buyer", "acos", "month", 0.4, 100, 0, 1.5, 0.9, 0.7, None),
    ],
    "scorecard_targets": [
        # subject, kpi, period, valid_from, valid_to, season, target, weight, floor, cap, warning, critical, profile
        ("p1", "gmv", "month", "2026-01-01", "2026-03-01", None, 2000, None, None, None, None, None, None),
        ("p1", "gmv", "month", "2026-03-01", None, None, 6000, None, None, None, None, None, None),  # next stage
        ("p2", "gmv", "month", "2026-01-01", None, None, 4000, None, None, None, None, None, None),
        ("p2", "gmv", "month", "2026-01-01", None, "spring", 2000, None, None, None, None, None, None),
        ("p2", "refund_rate_by_value", "month", "2026-01-01", None, None, 0.02, 20, None, None, None, None, None),
        ("t1", "gmv", "month", "2026-01-01", None, None, 5000, None, None, None, None, None, None),
    ],
    "scorecard_seasons": [("spring", 3), ("spring", 4)],
    # Saturdays and Sundays weigh 2, Monday 2026-03-09 (an event) 5
    "scorecard_pacing_profiles": [("wk", 6, None, 2.0), ("wk", 7, None, 2.0), ("wk", None, "2026-03-09", 5.0)],
    "scorecard_exemptions": [
        ("p1", "refund_rate_by_value", "month", "2026-02-01", "Carrier lost a pallet", "boss", "2026-02-20"),
    ],
    "compliance_requirements": [
        ("DE", "epr_registration", "packaging", "LUCID"),
        ("DE", "vat_return", "all", "monthly VAT"),
        ("DE", "weee_fee", "electronics", "WEEE"),
    ],
    "compliance_obligations": [
        # id, type, country, store, category, reference, valid_from, valid_to, due, filed, owner, notes
        ("lucid", "epr_registration", "DE", None, "packaging", "DE1", "2025-01-01", None, None, None, "p1", None),
        ("vat-01", "vat_return", "DE", None, "all", None, None, None, "2026-01-10", "2026-01-12", "p1", None),
        ("vat-02", "vat_return", "DE", None, "all", None, None, None, "2026-02-10", "2026-02-09", "p1", None),
        ("vat-03", "vat_return", "DE", None, "all", None, None, None, "2026-03-10", None, "p1", None),
        ("vat-04", "vat_return", "DE", None, "all", None, None, None, "2026-04-10", None, "p1", None),
        ("weee", "weee_fee", "DE", None, "electronics", None, None, None, "2026-03-05", None, "p2", None),
        ("ce", "ce_check", "DE", "s-de", "electronics", "DoC", "2025-01-01", "2026-03-20", None, None, "p2", None),
    ],
}


def _load_fixtures(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.dim_stores")
        con.execute(
            "insert into marts.dim_stores (store_id, platform, store_name, region, country_code, timezone,"
            " currency_code) values ('s-us', 'shopify', 'S US', 'NA', 'US', 'America/New_York', 'USD'),"
            " ('s-de', 'shopify', 'S DE', 'EU', 'DE', 'Europe/Berlin', 'EUR')"
        )
        con.execute("delete from marts.kpi_daily")
        con.executemany(
            "insert into marts.kpi_daily (store_id, kpi_date, currency_code, gmv, gmv_reporting, refund_amount,"
            " refund_amount_reporting, ad_spend, ad_spend_reporting, ad_attributed_sales,"
            " ad_attributed_sales_reporting) values (?, cast(? as date), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            KPI_DAYS,
        )
        for table, rows in SEEDS.items():
            con.execute(f"delete from config.{table}")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into config.{table} values ({marks})", rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("scorecard")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KPI_LAKE_DIR", str(tmp / "lake"))
        mp.setenv("KPI_WAREHOUSE_PATH", str(tmp / "warehouse" / "kpi.duckdb"))
        mp.setenv("KPI_REPORTING_CURRENCY", "USD")
        mp.setenv("KPI_PII_SALT", "scorecard-test-salt")
        mp.setenv("DBT_TARGET_PATH", str(tmp / "dbt-target"))
        mp.setenv("DBT_LOG_PATH", str(tmp / "dbt-logs"))
        (tmp / "warehouse").mkdir()
        (tmp / "stores.yaml").write_text(STORES_YAML)
        lake = RawLake(tmp / "lake")
        land_store_config(load_stores(tmp / "stores.yaml"), lake)
        lake.ensure_entity("ecb", "rates")
        at = datetime(2026, 3, 11, tzinfo=UTC)
        SyncLog(tmp / "lake").append(SyncAttempt("s0", "ecb", "ecb", "rates", at, at, at, at, "success"))
        # The models the scorecard reads exist, empty; the seeds load; the calendar is real.
        run_dbt("seed")
        # (the KPI alert rules read the scorecard: they are not built here)
        run_dbt("run", "--empty", "--exclude", *MODELS, "int_kpi_alerts__observations+")
        run_dbt("run", "--select", "metricflow_time_spine")
        _load_fixtures(tmp / "warehouse" / "kpi.duckdb")
        run_dbt("build", "--select", *MODELS, "--vars", json.dumps({"scorecard_as_of": AS_OF}))
    return tmp / "warehouse" / "kpi.duckdb"


def rows(warehouse: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def card(warehouse: Path, month: str) -> dict[tuple[str, str], dict]:
    found = rows(
        warehouse,
        f"select * from marts.kpi_scorecard where period_type = 'month' and period_start = date '{month}'",
    )
    return {(r["subject_id"], r["kpi_name"]): r for r in found}


def totals(warehouse: Path, month: str) -> dict[str, dict]:
    found = rows(
        warehouse,
        f"select * from marts.kpi_scorecard_totals where period_type = 'month' and period_start = date '{month}'",
    )
    return {r["subject_id"]: r for r in found}


def test_a_mid_month_reassignment_splits_the_month_and_a_cap_clamps(warehouse):
    feb = card(warehouse, "2026-02-01")
    # p1: s-us 02-10 (1000, before the hand-over) + s-de 02-12 (2000 reporting, not 1800 EUR) = 3000;
    # against 2000 that is 1.5, capped at 1.2
    assert feb[("p1", "gmv")]["actual"] == pytest.approx(3000)
    assert feb[("p1", "gmv")]["target"] == 2000
    assert feb[("p1", "gmv")]["attainment"] == pytest.approx(1.2)
    # p2: only s-us 02-20, after the hand-over: 3000 / 4000 = 0.75, below the 0.9 warning line
    assert feb[("p2", "gmv")]["actual"] == pytest.approx(3000)
    assert feb[("p2", "gmv")]["attainment"] == pytest.approx(0.75)
    assert feb[("p2", "gmv")]["status"] == "warning"
    # the team counts each store-day once: 1000 + 3000 + 2000 = 6000 / 5000 = 1.2 (exactly the cap)
    assert feb[("t1", "gmv")]["actual"] == pytest.approx(6000)
    assert feb[("t1", "gmv")]["attainment"] == pytest.approx(1.2)
    assert feb[("p1", "gmv")]["rank_in_role"] == 1 and feb[("p2", "gmv")]["rank_in_role"] == 2


def test_lower_is_better_ratios_from_summed_parts(warehouse):
    feb = card(warehouse, "2026-02-01")
    # p2 refund rate 30 / 3000 = 0.01 against its own 0.02 (template 0.05 overridden): 0.02 / 0.01 = 2,
    # capped at the template's 1.5
    assert feb[("p2", "refund_rate_by_value")]["actual"] == pytest.approx(0.01)
    assert feb[("p2", "refund_rate_by_value")]["target"] == pytest.approx(0.02)
    assert feb[("p2", "refund_rate_by_value")]["attainment"] == pytest.approx(1.5)
    # p3 ACoS (220 spend / 600 ad sales) = 0.3667, not the mean of the days' ACoS; 0.4 / 0.3667 = 1.0909
    assert feb[("p3", "acos")]["actual"] == pytest.approx(220 / 600)
    assert feb[("p3", "acos")]["attainment"] == pytest.approx(0.4 / (220 / 600))
    # the team's template refund target: 280 / 6000 = 0.04667; 0.05 / 0.04667 = 1.0714
    assert feb[("t1", "refund_rate_by_value")]["attainment"] == pytest.approx(0.05 / (280 / 6000))


def test_weights_override_and_totals(warehouse):
    feb = card(warehouse, "2026-02-01")
    # p2: weights 60 (template) and 20 (its target row overrides the template's 40)
    assert feb[("p2", "gmv")]["weight"] == 60 and feb[("p2", "refund_rate_by_value")]["weight"] == 20
    assert feb[("p2", "gmv")]["weighted_score"] == pytest.approx(0.75 * 60 / 80)
    assert feb[("p2", "refund_rate_by_value")]["weighted_score"] == pytest.approx(1.5 * 20 / 80)
    tot = totals(warehouse, "2026-02-01")
    assert tot["p2"]["total_score"] == pytest.approx(0.9375)
    assert tot["t1"]["total_score"] == pytest.approx(1.2 * 0.6 + 0.05 / (280 / 6000) * 0.4)
    assert tot["p3"]["total_score"] == pytest.approx(0.4 / (220 / 600))
    assert (tot["p1"]["rank_in_role"], tot["p2"]["rank_in_role"]) == (1, 2)


def test_an_exemption_leaves_the_total_and_is_audited(warehouse):
    feb = card(warehouse, "2026-02-01")
    waived = feb[("p1", "refund_rate_by_value")]
    # p1 refund rate 250 / 3000 = 0.0833: attainment 0.05 / 0.0833 = 0.6, shown but not counted
    assert waived["attainment"] == pytest.approx(0.6)
    assert (waived["status"], waived["is_exempt"], waived["weighted_score"]) == ("exempt", True, None)
    assert waived["exemption_approved_by"] == "boss"
    tot = totals(warehouse, "2026-02-01")["p1"]
    assert tot["total_score"] == pytest.approx(1.2)  # gmv alone: weight share 1
    assert (tot["kpis_scored"], tot["kpis_exempt"]) == (1, 1)
    (audit,) = rows(warehouse, "select * from marts.scorecard_exemptions_audit")
    assert audit["is_applied"] and audit["reason"] == "Carrier lost a pallet"
    assert str(audit["approved_on"]) == "2026-02-20"
    assert audit["attainment_waived"] == pytest.approx(0.6)
    assert audit["weight_share_waived"] == pytest.approx(40 / 100)


def test_pacing_with_day_weights_seasonal_and_staged_targets(warehouse):
    mar = card(warehouse, "2026-03-01")
    # March 2026: 9 weekend days x 2 + Monday the 9th x 5 + 21 other days = 44; by the 10th:
    # Sun 1 (2) + Mon-Fri 2-6 (5) + Sat 7 (2) + Sun 8 (2) + Mon 9 (5) + Tue 10 (1) = 17
    share = 17 / 44
    p2 = mar[("p2", "gmv")]
    assert p2["elapsed_share"] == pytest.approx(share)
    assert p2["target"] == 2000  # the spring (seasonal) row wins over the plain 4000
    assert p2["actual"] == pytest.approx(1500)  # 03-12 is after the as-of day
    assert p2["pacing_target"] == pytest.approx(2000 * share)
    assert p2["attainment"] == pytest.approx(0.75)
    assert p2["pacing_attainment"] == pytest.approx(1.2)  # 1500 / 772.7 = 1.94, capped
    assert p2["status"] == "on_track"  # a running period is judged on its pace
    t1 = mar[("t1", "gmv")]
    assert t1["pacing_attainment"] == pytest.approx(1500 / (5000 * share))  # 0.776: warning
    assert t1["status"] == "warning"
    # a ratio is judged against the whole target; zero refunds is the best possible (the cap)
    assert mar[("p2", "refund_rate_by_value")]["pacing_target"] == pytest.approx(0.02)
    assert mar[("p2", "refund_rate_by_value")]["attainment"] == pytest.approx(1.5)
    # p1's second stage (6000 from March) applies, but p1 holds no store with March data
    assert mar[("p1", "gmv")]["target"] == 6000
    assert (mar[("p1", "gmv")]["status"], mar[("p1", "gmv")]["actual"]) == ("no_data", None)
    # no ad sales in March: ACoS has no denominator, so no data rather than a perfect score
    assert mar[("p3", "acos")]["status"] == "no_data"
    tot = totals(warehouse, "2026-03-01")
    assert tot["p2"]["pacing_score"] == pytest.approx(1.2 * 0.75 + 1.5 * 0.25)
    assert tot["p1"]["total_score"] is None and tot["p1"]["rank_in_role"] is None


def test_template_only_rows_need_data(warehouse):
    jan = card(warehouse, "2026-01-01")
    # January has no data: own targets show as no_data, template-only KPIs do not appear
    assert set(jan) == {("p1", "gmv"), ("p2", "gmv"), ("p2", "refund_rate_by_value"), ("t1", "gmv")}
    assert {r["status"] for r in jan.values()} == {"no_data"}


def test_assignments_and_subjects(warehouse):
    team = rows(
        warehouse,
        "select store_id, valid_from, valid_to from marts.dim_assignments where subject_id = 't1'"
        " and assignment_source = 'member' order by store_id, valid_from",
    )
    assert [(r["store_id"], str(r["valid_from"]), r["valid_to"] and str(r["valid_to"])) for r in team] == [
        ("s-de", "2026-01-01", None),
        ("s-us", "2026-01-01", "2026-02-15"),
        ("s-us", "2026-02-15", None),
    ]
    subjects = {r["subject_id"]: r["subject_type"] for r in rows(warehouse, "select * from marts.dim_subjects")}
    assert subjects == {
        "t1": "team",
        "p1": "person",
        "p2": "person",
        "p3": "person",
        "s-us": "store",
        "s-de": "store",
        "region-na": "region",
        "region-eu": "region",
    }


def test_compliance_register_deadlines_and_kpis(warehouse):
    status = {r["obligation_id"]: r["status"] for r in rows(warehouse, "select * from marts.compliance_register")}
    assert status == {
        "lucid": "active",
        "vat-01": "filed_late",
        "vat-02": "filed_on_time",
        "vat-03": "due_soon",
        "vat-04": "upcoming",
        "weee": "overdue",
        "ce": "expiring",
    }
    deadlines = {
        r["obligation_id"]: (r["days_until_due"], r["is_alert_candidate"], r["owner_subject_id"])
        for r in rows(warehouse, "select * from marts.compliance_deadlines")
    }
    assert deadlines == {
        "vat-03": (0, True, "p1"),
        "vat-04": (31, False, "p1"),
        "weee": (-5, True, "p2"),
        "ce": (10, True, "p2"),
    }
    kpis = {r["country"]: r for r in rows(warehouse, "select * from marts.compliance_kpis")}
    assert set(kpis) == {"DE", "ALL"}
    de = kpis["DE"]
    # s-de x 3 requirements: LUCID active, VAT has filings still to come, WEEE only an overdue one
    assert (de["required_pairs"], de["covered_pairs"]) == (3, 2)
    assert de["coverage_rate"] == pytest.approx(2 / 3)
    # due before 03-10: vat-01 (late), vat-02 (on time), weee (open)
    assert (de["filings_due"], de["filings_on_time"], de["filings_overdue"]) == (3, 1, 1)
    assert de["on_time_filing_rate"] == pytest.approx(1 / 3)
    assert de["deadlines_within_alert_window"] == 2  # vat-03 due today, ce expiring in 10 days
    assert kpis["ALL"]["coverage_rate"] == pytest.approx(2 / 3)
