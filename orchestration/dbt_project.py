"""The dbt project as Dagster sees it. No @dbt_assets here, so `dagster-dbt project prepare-and-package`
and the manifest fixture can import it before a manifest exists."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# `dg` and `dagster dev` may run without the venv activated; prepare_if_dev() looks dbt up on PATH.
_bin = str(Path(sys.prefix) / "bin")
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
