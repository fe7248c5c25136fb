"""The code location: everything under defs/ is loaded; cross-cutting policy lives here."""

from pathlib import Path

import dagster as dg

from ingestion.settings import Settings

# dbt reads the lake and warehouse paths from the environment: resolve them once, for every process.
Settings.from_env().export()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
