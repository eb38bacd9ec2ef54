"""What the engine itself refuses before the program runs: typed config, missing keys, plain secrets.

The expected messages are the ones docs/bad-input-matrix.md promises for its engine rows.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.bad_input_matrix import promised_message
from tests.e2e.conftest import Project, copy_project

pytestmark = pytest.mark.e2e

PREFIX = "datasurface-yellow:"


@pytest.fixture
def fresh_project(tmp_path, pulumi_env) -> Project:
    project = Project(root=copy_project(tmp_path / "project"), env=pulumi_env, manifests=tmp_path / "manifests")
    project.pulumi("stack", "select", "--create", "yellowlive")
    return project


def set_secrets(project: Project, *keys: str) -> None:
    for key in keys:
        project.pulumi("config", "set", "--secret", key, f"{key}-value")


def edit_stack_file(project: Project, edit) -> None:
    path = project.stack_file("yellowlive")
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))


def refusal(project: Project) -> str:
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0, result.output
    return result.output


WRONG_TYPES = {
    "createDatabase": "maybe",
    "seedStreams": [{"stream_key": "Store1", "config": {"store_name": "Store1"}}],
    "airflowWorkloads": "Deployment/airflow-scheduler",
}


@pytest.mark.parametrize("key", sorted(WRONG_TYPES))
def test_a_value_of_the_wrong_type_is_refused(fresh_project, key):
    set_secrets(fresh_project, "mergeDbPassword", "adminPassword")
    edit_stack_file(fresh_project, lambda config: config.__setitem__(PREFIX + key, WRONG_TYPES[key]))
    assert promised_message("engine", f"test_a_value_of_the_wrong_type_is_refused[{key}]") in refusal(fresh_project)


MISSING = {
    "both-secrets": ((), ()),
    "mergeDbPassword": (("adminPassword",), ()),
    "platform": (("mergeDbPassword", "adminPassword"), ("platform",)),
}


@pytest.mark.parametrize("case", sorted(MISSING))
def test_a_missing_config_value_is_refused(fresh_project, case):
    secrets, removed = MISSING[case]
    set_secrets(fresh_project, *secrets)
    edit_stack_file(fresh_project, lambda config: [config.pop(PREFIX + k) for k in removed])
    assert promised_message("engine", f"test_a_missing_config_value_is_refused[{case}]") in refusal(fresh_project)


def test_a_plain_text_secret_is_refused(fresh_project):
    set_secrets(fresh_project, "adminPassword")
    fresh_project.pulumi("config", "set", "mergeDbPassword", "S3cr3t")
    assert promised_message("engine", "test_a_plain_text_secret_is_refused") in refusal(fresh_project)


def one_inline_stream(size: int) -> list[str]:
    """`seedStreams` holding one stream whose config carries `size` characters of data."""
    config = {"store_name": "Store1", "blob": "x" * size}
    return [json.dumps({"stream_key": "Store1", "status": "active", "config": config})]


def test_an_inline_stream_past_the_environment_cap_stops_the_engine_before_the_program(fresh_project):
    """1 MB inline: the whole stack config reaches the program in PULUMI_CONFIG, one environment string, which
    Linux caps at 128 KiB; the program cannot be started, so no check of it can name the key."""
    set_secrets(fresh_project, "mergeDbPassword", "adminPassword")
    edit_stack_file(
        fresh_project, lambda config: config.__setitem__(PREFIX + "seedStreams", one_inline_stream(1 << 20))
    )
    output = refusal(fresh_project)
    assert (
        promised_message("engine", "test_an_inline_stream_past_the_environment_cap_stops_the_engine_before_the_program")
        in output
    )


def test_an_inline_stream_that_still_fits_is_refused_by_the_program_naming_it(fresh_project):
    """20 KB inline: the program starts, and its settings validation names the entry (row S67's check)."""
    set_secrets(fresh_project, "mergeDbPassword", "adminPassword")
    edit_stack_file(fresh_project, lambda config: config.__setitem__(PREFIX + "seedStreams", one_inline_stream(20_000)))
    output = refusal(fresh_project)
    assert f"{PREFIX}seedStreams[0] = " in output and "is longer than 16384 characters" in output, output


SETTINGS_REFUSALS = {
    "one-bad-value": {"mergeDbHost": "pg-datans-kub-pg-testsvcclusterlocal"},
    "two-bad-values": {"mergeDbHost": "pg-datans-kub-pg-testsvcclusterlocal", "platform": "yellowtest"},
}


@pytest.mark.parametrize("case", sorted(SETTINGS_REFUSALS))
def test_a_settings_refusal_is_one_error_naming_each_key_with_no_traceback(fresh_project, case):
    set_secrets(fresh_project, "mergeDbPassword", "adminPassword")
    values = SETTINGS_REFUSALS[case]
    edit_stack_file(fresh_project, lambda config: config.update({PREFIX + k: v for k, v in values.items()}))
    output = refusal(fresh_project)
    diagnostics = output[output.index("Diagnostics:") :]
    assert diagnostics.count("error: invalid stack config:") == 1, output
    for key, value in values.items():
        assert output.count(f"  - {PREFIX}{key} = {value!r}: ") == 1, output
    for noise in ("Traceback", "unhandled exception", "SettingsError", "to update"):
        assert noise not in output, output
