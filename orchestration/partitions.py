"""The time partitioning shared by every asset of the pipeline."""

import os

import dagster as dg

# Partitions are static definitions: the first day of history comes from KPI_HISTORY_START.
HISTORY_START = os.environ.get("KPI_HISTORY_START", "2025-01-01")

# One partition per UTC day, today's included (end_offset=1): the newest window is synced as it fills.
daily_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC", end_offset=1)
