from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.factory_dag import factory_config
from components.settings import parse_settings
from factory.config import FactoryConfig
from tests.program_harness import REPO_ROOT, valid_raw


@pytest.fixture
def cfg() -> FactoryConfig:
    """yellowlive's factory config, as the program renders it into the DAG file."""
    return factory_config(parse_settings(valid_raw()))


@pytest.fixture
def no_database_env(cfg, monkeypatch, tmp_path):
    """No merge database settings in the environment, and a private cache folder."""
    for env in cfg.connection_env.values():
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("DATASURFACE_DAG_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def airflow_python() -> Path:
    """The Airflow virtualenv's python (made by scripts/setup_airflow_env.sh); tests fail, never skip, without it."""
    python = Path(os.environ.get("AIRFLOW_PYTHON") or REPO_ROOT / ".venv-airflow" / "bin" / "python")
    if not python.exists():
        pytest.fail(f"no Airflow python at {python}: run `bash scripts/setup_airflow_env.sh`")
    return python
