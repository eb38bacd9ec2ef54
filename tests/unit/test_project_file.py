"""Pulumi.yaml declares every config key the program reads, typed, described and defaulted as the code."""

from __future__ import annotations

import pytest
import yaml

from components.settings import DEFAULTS, PROJECT, SECRET_KEYS
from components.stack_config import ALL_KEYS, LIST_KEYS
from tests.program_harness import REPO_ROOT, STACKS

PROJECT_FILE = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
DECLARED = PROJECT_FILE["config"]


def test_project_runs_python_in_a_pinned_virtualenv_with_stacks_in_config():
    assert PROJECT_FILE["name"] == PROJECT
    assert PROJECT_FILE["runtime"]["name"] == "python"
    assert PROJECT_FILE["runtime"]["options"]["virtualenv"] == ".venv"
    assert PROJECT_FILE["stackConfigDir"] == "config"


def test_every_key_the_program_reads_is_declared_and_nothing_else():
    assert set(DECLARED) == set(ALL_KEYS)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_each_key_has_a_type_and_a_description(key):
    declaration = DECLARED[key]
    assert declaration["type"] in ("string", "integer", "boolean", "array")
    assert len(declaration["description"]) > 20
    if key in LIST_KEYS:
        assert declaration["items"] == {"type": "string"}


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_project_defaults_match_the_code(key):
    assert DECLARED[key]["default"] == DEFAULTS[key]


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
