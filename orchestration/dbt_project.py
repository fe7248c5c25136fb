"""The dbt project as Dagster sees it. No @dbt_assets here, so `dagster-dbt project prepare-and-package`
and the manifest fixture can import it before a manifest exists."""

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
