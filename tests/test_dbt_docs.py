"""Every model and every documented column has a description; every mart names its grain first."""

import json

from tests.conftest import DBT_DIR


def manifest() -> dict:
    return json.loads((DBT_DIR / "target" / "manifest.json").read_text())


def test_every_model_and_column_is_described():
    missing = []
    for node in manifest()["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            missing.append(node["name"])
        if not node["columns"]:
            missing.append(f"{node['name']} (no columns documented)")
        missing += [f"{node['name']}.{c}" for c, spec in node["columns"].items() if not spec["description"].strip()]
    assert missing == []


def test_marts_state_their_grain_and_have_a_grain_test():
    nodes = manifest()["nodes"]
    marts = [n for n in nodes.values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert {m["name"] for m in marts} >= {
        "dim_stores",
        "fct_orders",
        "fct_order_lines",
        "fct_refunds",
        "fct_ad_performance_daily",
        "fct_inventory_daily",
        "kpi_daily",
        "kpi_alerts",
    }
    for mart in marts:
        assert mart["description"].startswith("One row per"), mart["name"]
        tests = [
            n
            for n in nodes.values()
            if n["resource_type"] == "test"
            and mart["unique_id"] in n["depends_on"]["nodes"]
            and (n.get("test_metadata", {}).get("name") in ("unique_combination_of_columns", "unique"))
        ]
        assert tests, f"{mart['name']} has no grain test"
