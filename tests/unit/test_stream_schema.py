"""schemas/stream_config.schema.json and `stream_config_problems`: what a stream's config_json may hold."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from components.stream_schema import SCHEMA_FILE, SCHEMA_NAME, load_schema, stream_config_problems
from tests.program_harness import REPO_ROOT, load_stack_config

GOOD = {
    "store_name": "Store1",
    "schedule_string": "@hourly",
    "ingestion_type": "sql_snapshot",
    "dataset_name": "payments",
    "datasets": ["customers", "orders"],
    "credential_names": ["postgres", "postgres_forensic"],
}


def test_the_schema_is_a_draft_2020_12_schema_in_the_repository():
    schema = load_schema()
    assert SCHEMA_FILE == REPO_ROOT / SCHEMA_NAME
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["store_name"]
    assert schema["additionalProperties"] is True


def test_the_schema_knows_every_config_key_the_factory_dag_reads():
    code = "".join(path.read_text() for path in (REPO_ROOT / "factory").glob("*.py"))
    read = set(re.findall(r"""config(?:\.get\(|\[)["'](\w+)["']""", code))
    assert read, "the factory reads config keys"
    assert read <= set(load_schema()["properties"]), read - set(load_schema()["properties"])


@pytest.mark.parametrize(
    "config",
    [
        GOOD,
        {"store_name": "S"},
        {"store_name": "S", "schedule_string": None, "dataset_name": None},
        {"store_name": "S", "schedule_string": "*/15 * * * *", "ingestion_type": "kafka"},
        {"store_name": "S", "datasets": [], "credential_names": []},
        {"store_name": "S", "future_option": {"nested": [1, 2]}, "another": None},
    ],
    ids=["every-known-key", "store-only", "nulls", "kafka", "empty-lists", "unknown-keys-kept"],
)
def test_a_good_config_has_no_problem(config):
    assert stream_config_problems(config) == []


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        ({}, ["$: 'store_name' is a required property"]),
        (["Store1"], ["$: ['Store1'] is not of type 'object'"]),
        ({"store_name": 5}, ["$.store_name: 5 is not of type 'string'"]),
        ({"store_name": ""}, ["$.store_name: '' does not match '\\\\S'"]),
        ({"store_name": " \t"}, ["$.store_name: ' \\t' does not match '\\\\S'"]),
        ({"store_name": "S", "schedule_string": 15}, ["$.schedule_string: 15 is not of type 'string', 'null'"]),
        (
            {"store_name": "S", "ingestion_type": "cdc"},
            ["$.ingestion_type: 'cdc' is not one of ['sql_snapshot', 'kafka']"],
        ),
        (
            {"store_name": "S", "dataset_name": ["payments"]},
            ["$.dataset_name: ['payments'] is not of type 'string', 'null'"],
        ),
        ({"store_name": "S", "datasets": "customers"}, ["$.datasets: 'customers' is not of type 'array'"]),
        ({"store_name": "S", "datasets": ["customers", ""]}, ["$.datasets[1]: '' does not match '\\\\S'"]),
        (
            {"store_name": "S", "credential_names": ["postgres", "postgres-forensic"]},
            ["$.credential_names[1]: 'postgres-forensic' does not match '^[A-Za-z0-9_]+$(?!\\\\n)'"],
        ),
        (
            {"store_name": "S", "credential_names": ["postgres\n"]},
            ["$.credential_names[0]: 'postgres\\n' does not match '^[A-Za-z0-9_]+$(?!\\\\n)'"],
        ),
        (
            {"store_name": "S", "credential_names": ["pöstgres"]},
            ["$.credential_names[0]: 'pöstgres' does not match '^[A-Za-z0-9_]+$(?!\\\\n)'"],
        ),
    ],
    ids=[
        "no-store-name",
        "not-an-object",
        "store-name-number",
        "store-name-empty",
        "store-name-blank",
        "schedule-number",
        "unknown-ingestion-type",
        "dataset-name-list",
        "datasets-string",
        "datasets-empty-item",
        "credential-name-not-env-var",
        "credential-name-final-newline",
        "credential-name-not-ascii",
    ],
)
def test_a_bad_config_gives_its_json_path_and_the_schemas_reason(config, problems):
    assert stream_config_problems(config) == problems


def test_every_problem_of_a_config_is_listed_sorted_by_path():
    config = {"schedule_string": 1, "ingestion_type": "cdc", "credential_names": ["a-b", "c d"]}
    assert stream_config_problems(config) == [
        "$: 'store_name' is a required property",
        "$.credential_names[0]: 'a-b' does not match '^[A-Za-z0-9_]+$(?!\\\\n)'",
        "$.credential_names[1]: 'c d' does not match '^[A-Za-z0-9_]+$(?!\\\\n)'",
        "$.ingestion_type: 'cdc' is not one of ['sql_snapshot', 'kafka']",
        "$.schedule_string: 1 is not of type 'string', 'null'",
    ]


@pytest.mark.parametrize("stack", ["yellowlive", "yellowforensic"])
def test_the_inline_streams_of_the_cluster_stacks_conform(stack):
    configs = [json.loads(text)["config"] for text in load_stack_config(stack)["seedStreams"]]
    assert configs and all(stream_config_problems(c) == [] for c in configs)


def test_the_module_works_without_pulumi():
    """The factory DAG runs where Pulumi is not installed: the module must not import it."""
    code = "import sys, components.stream_schema as s; s.stream_config_problems({}); print('pulumi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
