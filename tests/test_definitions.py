"""Snapshot of the Dagster definitions graph: a renamed model or a dropped check shows in review.

Regenerate after an intended change with: UPDATE_SNAPSHOTS=1 make test
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def graph() -> dict:
    from orchestration.launch import load_defs

    defs = load_defs()
    repo = defs.get_repository_def()
    asset_graph = repo.asset_graph
    return {
        "assets": {
            key.to_user_string(): {
                "group": asset_graph.get(key).group_name,
                "partitioned": asset_graph.get(key).partitions_def is not None,
                "deps": sorted(k.to_user_string() for k in asset_graph.get(key).parent_keys),
            }
            for key in sorted(asset_graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
        },
        "checks": sorted(
            f"{k.asset_key.to_user_string()}:{k.name}{' (blocking)' if asset_graph.get(k).blocking else ''}"
            for k in asset_graph.asset_check_keys
        ),
        "jobs": sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")),
        "schedules": {s.name: {"cron": s.cron_schedule, "job": s.job_name} for s in repo.schedule_defs},
        "sensors": sorted(s.name for s in repo.sensor_defs),
    }


def test_definitions_load_and_match_the_snapshot():
    current = graph()
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_graph_is_connected_from_raw_to_kpis():
    g = graph()
    assert "raw/shopify/orders" in g["assets"]["staging/stg_shopify__orders"]["deps"]
    assert "raw/ecb/rates" in g["assets"]["staging/stg_ecb__fx_rates"]["deps"]
    assert "intermediate/int_kpi_alerts__observations" in g["assets"]["marts/kpi_alerts"]["deps"]
    assert "marts/kpi_daily" in g["assets"]["intermediate/int_kpi_alerts__observations"]["deps"]
    assert "raw/shopify/orders:raw_expectations (blocking)" in g["checks"]
    assert g["schedules"]["kpi_ingest_schedule"]["cron"] == "15 2 * * *"


def test_schedule_requests_yesterday_and_today_as_one_run():
    from orchestration.launch import load_defs

    defs = load_defs()
    schedule = defs.resolve_schedule_def("kpi_ingest_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=__import__("datetime").datetime(2026, 3, 10, 2, 15),
        repository_def=defs.get_repository_def(),
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2026-03-09"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-03-10"
