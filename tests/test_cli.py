"""The `kpi` console script and the entry points Dagster users start from."""

import os
import subprocess
import sys
from pathlib import Path

from ingestion.settings import PROJECT_ROOT
from orchestration.cli import main


def test_run_with_a_bad_stores_file_names_file_line_and_field(tmp_path, capsys):
    stores = tmp_path / "stores.yaml"
    stores.write_text(
        "stores:\n  - store_id: Acme US\n    platform: shopify\n    name: x\n    marketplace: m\n"
        "    region: NA\n    country: USA\n    timezone: UTC\n    currency: USD\n"
        "    credentials: {access_token_env: TOKEN}\n"
    )
    code = main(["run", "--stores", str(stores), "--start", "2026-01-01", "--end", "2026-01-02"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{stores}:2: stores[0].store_id: String should match pattern" in err
    assert f"{stores}:7: stores[0].country: String should match pattern" in err


def test_run_rejects_an_inverted_range(tmp_path, capsys):
    assert main(["run", "--stores", "x.yaml", "--start", "2026-01-02", "--end", "2026-01-01"]) == 2
    assert "before --start" in capsys.readouterr().err


def test_dagster_loads_the_workspace_file(tmp_path):
    """`dagster dev -w workspace.yaml` (make dev) loads the same definitions as `dg` (pyproject.toml)."""
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation successful for code location kpi_platform" in result.stdout + result.stderr
