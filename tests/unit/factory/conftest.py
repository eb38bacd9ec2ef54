from __future__ import annotations

import pytest

from components.factory_dag import factory_config
from components.settings import parse_settings
from factory.config import FactoryConfig
from tests.program_harness import valid_raw


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
