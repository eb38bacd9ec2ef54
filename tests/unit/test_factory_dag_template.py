"""The assembled factory DAG file, for each platform: self-contained, compiles, runs without Airflow."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from components.factory_dag import factory_config, render_factory_dag
from components.naming import PLATFORMS
from components.settings import parse_settings
from tests.program_harness import valid_raw


def rendered(platform: str) -> str:
    return render_factory_dag(factory_config(parse_settings(valid_raw(platform=platform))))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rendered_file_compiles_and_names_its_platform_tables_and_factory_dag(platform):
    source = rendered(platform)
    compile(source, f"{platform}_factory_dag.py", "exec")
    for literal in (
        platform,
        f"{platform}_factory_dag",
        f"{platform}_airflow_dsg",
        f"{platform}_airflow_dsg_ledger",
        f"{platform}_airflow_dsg_audit",
        f"{platform}-postgres-credentials",
    ):
        assert repr(literal) in source
    other = next(p for p in PLATFORMS if p != platform)
    assert other not in source


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rendered_file_imports_no_project_code(platform):
    tree = ast.parse(rendered(platform))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in modules if m and m.split(".")[0] in ("components", "devtools", "factory", "tests")}


def test_operator_import_is_top_level_so_the_dag_processor_preimports_it_once():
    """Airflow's dag-processor imports a file's top-level `airflow.*` imports before forking a parser."""
    tree = ast.parse(rendered("yellowlive"))
    top_level = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert "airflow.providers.cncf.kubernetes.operators.pod" in top_level
    assert "airflow.sdk" in top_level


def test_running_the_file_without_airflow_or_database_settings_names_what_is_missing(tmp_path):
    path = tmp_path / "yellowlive_factory_dag.py"
    path.write_text(rendered("yellowlive"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATASURFACE_") and not k.endswith("_PASSWORD")}
    env["DATASURFACE_DAG_CACHE_DIR"] = str(tmp_path / "cache")
    result = subprocess.run([sys.executable, str(path), "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("yellowlive_factory_dag: no database settings (environment variable(s) not set")
    assert "DATASURFACE_POSTGRES_HOST" in result.stderr and "postgres_PASSWORD" in result.stderr
    assert result.stdout == ""
