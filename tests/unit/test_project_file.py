"""Pulumi.yaml declares every config key the program reads, typed and described; the program reads exactly those."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.project_file import DECLARED, DEFAULTS, KEYS, PROJECT, SECRET_KEYS
from components.settings import parse_settings
from tests.program_harness import REPO_ROOT, STACKS, load_stack_config, secret_values_for

PROJECT_FILE = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


def test_project_runs_python_in_a_pinned_virtualenv_with_stacks_in_config():
    assert PROJECT_FILE["name"] == PROJECT
    assert PROJECT_FILE["runtime"]["name"] == "python"
    assert PROJECT_FILE["runtime"]["options"]["virtualenv"] == ".venv"
    assert PROJECT_FILE["stackConfigDir"] == "config"


class _Recording(dict):
    """A raw config that records which keys are read."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_the_settings_read_every_declared_key_and_nothing_else():
    raw = _Recording({**load_stack_config("yellowlive"), **secret_values_for("yellowlive")})
    parse_settings(raw)
    assert raw.read == set(KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_each_key_has_a_type_and_a_description(key):
    declaration = DECLARED[key]
    assert declaration["type"] in ("string", "integer", "boolean", "array")
    assert len(declaration["description"]) > 20
    if declaration["type"] == "array":
        assert declaration["items"] == {"type": "string"}


def test_the_defaults_are_the_declared_ones():
    assert DEFAULTS == {key: d["default"] for key, d in PROJECT_FILE["config"].items() if "default" in d}
    assert DEFAULTS["mergeDbPort"] == 5432 and DEFAULTS["createDatabase"] is True


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_passwords_are_declared_secret_without_default(key):
    assert DECLARED[key]["secret"] is True
    assert "default" not in DECLARED[key]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_use_only_declared_keys_and_hold_no_plaintext_secret(stack):
    document = yaml.safe_load((REPO_ROOT / "config" / f"Pulumi.{stack}.yaml").read_text())
    for full_key, value in document["config"].items():
        namespace, _, key = full_key.partition(":")
        assert namespace == PROJECT, f"{full_key}: provider config belongs in code, not in stack files"
        assert key in DECLARED, f"{full_key} is not declared in Pulumi.yaml"
        if key in SECRET_KEYS:
            assert isinstance(value, dict) and set(value) == {"secure"}, f"{full_key} must be a secure value"
