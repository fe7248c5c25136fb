"""The KPI alert rules file: validated against the KPI catalog, errors name file, line and field."""

import pytest

from alerting.rules import land_rules, load_rules, rule_records
from ingestion.errors import ConfigError
from ingestion.lake import RawLake
from ingestion.settings import PROJECT_ROOT

GOOD = """\
rules:
  - id: acos_cap
    description: ACoS over the cap
    metric: acos
    window_days: 7
    comparison: above
    warning: 0.3
    critical: 0.45
    scope: {platforms: [amazon], owners: [dana]}
    guards:
      - {metric: ad_spend, min: 50}
"""


def write(tmp_path, text: str):
    path = tmp_path / "alert_rules.yaml"
    path.write_text(text)
    return path


def test_the_shipped_rules_load_and_cover_the_rules_sellers_ask_for():
    rules = load_rules(PROJECT_ROOT / "alert_rules.yaml")
    metrics = {r.id: r.metric for r in rules.rules}
    assert metrics == {
        "acos_over_cap": "acos",
        "days_of_cover_low": "days_of_cover",
        "negative_reviews": "negative_reviews",
        "ship_rate_48h_under_target": "ship_rate_48h",
        "response_time_over_target": "first_response_hours_median",
        "refund_rate_spike": "refund_rate_by_value",
        "gmv_collapse": "gmv",
        "gmv_pacing_behind": "gmv_pacing",
        "compliance_deadline_soon": "compliance_days_until_due",
    }


def test_records_flatten_scopes_and_guards_and_default_the_owner_role_from_the_catalog(tmp_path):
    records = rule_records(load_rules(write(tmp_path, GOOD)))
    payloads = [r.payload for r in records]
    assert payloads[0] == {"record_type": "file", "rules": 1}
    rule = payloads[1]
    assert (rule["rule_id"], rule["window_days"], rule["owner_role"], rule["critical"]) == (
        "acos_cap",
        7,
        "ad_buyer",
        0.45,
    )
    assert [(p["dimension"], p["value"]) for p in payloads if p["record_type"] == "scope"] == [
        ("platform", "amazon"),
        ("owner", "dana"),
    ]
    assert [(p["metric"], p["min"]) for p in payloads if p["record_type"] == "guard"] == [("ad_spend", 50)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("metric: acos", "metric: acoss"), r"alert_rules.yaml:4: rules\[0\]\.metric: metric `acoss` is not a KPI"),
        (("comparison: above", "comparison: over"), r"alert_rules.yaml:6: rules\[0\]\.comparison"),
        (
            ("critical: 0.45", "critical: 0.2"),
            r"alert_rules.yaml:2: rules\[0\]: .*critical \(0.2\) must be at or above warning",
        ),
        (("window_days: 7", "window_days: 0"), r"alert_rules.yaml:5: rules\[0\]\.window_days"),
        (
            ("{metric: ad_spend, min: 50}", "{metric: acos, min: 1}"),
            r"alert_rules.yaml:11: rules\[0\]\.guards\[0\]\.metric: guard metric `acos` is a ratio",
        ),
        (("id: acos_cap", "id: ACoS cap"), r"alert_rules.yaml:2: rules\[0\]\.id: .*lower_snake_case"),
        (("    window_days: 7\n", "    window_days: 7\n    color: red\n"), r"rules\[0\]\.color: Extra inputs"),
    ],
)
def test_a_bad_rule_names_the_line_and_the_field(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_rules(write(tmp_path, GOOD.replace(*change)))


def test_windows_over_snapshots_and_percentiles_are_refused(tmp_path):
    text = GOOD.replace("metric: acos", "metric: first_response_hours_median")
    with pytest.raises(
        ConfigError, match=r"alert_rules.yaml:5: rules\[0\]\.window_days: `first_response_hours_median` is a special"
    ):
        load_rules(write(tmp_path, text))
    sku = GOOD.replace("metric: acos\n    window_days: 7", "metric: days_of_cover\n    level: sku").replace(
        "{metric: ad_spend, min: 50}", "{metric: units, min: 1}"
    )
    assert load_rules(write(tmp_path, sku)).rules[0].level == "sku"
    with pytest.raises(ConfigError, match=r"rules\[0\]\.metric: metric `acos` has no sku grain"):
        load_rules(write(tmp_path, sku.replace("metric: days_of_cover", "metric: acos")))


def test_a_rule_id_used_twice_is_refused(tmp_path):
    text = GOOD + GOOD.split("rules:\n", 1)[1]
    with pytest.raises(ConfigError, match=r"rules: .*`acos_cap` is used twice"):
        load_rules(write(tmp_path, text))


def test_landing_writes_one_load_and_an_emptied_file_still_replaces_it(tmp_path):
    lake = RawLake(tmp_path / "lake")
    land_rules(load_rules(write(tmp_path, GOOD)), lake)
    land_rules(load_rules(write(tmp_path, "rules: []\n")), lake)
    files = lake.files("config", "alert_rules")
    assert len(files) == 2  # the second load is just its `file` record: staging reads the newest load only
