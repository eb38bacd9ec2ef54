import json

import pytest
from jsonschema import Draft202012Validator

from components.stream_schema import load_schema, schema_json
from factory.stream_schema import FactoryValidator, stream_config_problems


def test_an_unusual_property_name_is_quoted_in_the_path():
    schema = {"properties": {"odd key": {"type": "string"}}}
    assert stream_config_problems(json.dumps(schema), {"odd key": 1}) == ["$['odd key']: 1 is not of type 'string'"]


def test_every_violation_is_listed_sorted_by_path():
    schema = {"type": "object", "required": ["topic"], "properties": {"a": {"type": "integer"}}}
    assert stream_config_problems(json.dumps(schema), {"topic": "t"}) == []
    assert stream_config_problems(json.dumps(schema), {"a": "x"}) == [
        "$: 'topic' is a required property",
        "$.a: 'x' is not of type 'integer'",
    ]


def test_the_config_the_dag_file_carries_is_the_repositorys_schema(cfg):
    assert json.loads(cfg.stream_schema) == load_schema()


@pytest.mark.parametrize(
    "config",
    [
        {"store_name": "S", "datasets": ["a", "b"], "credential_names": ["postgres", "x_1"]},
        {"store_name": "S", "datasets": ["a", " ", 5, None, ["x"]], "credential_names": ["ok", "not-ok", "", 7]},
        {"store_name": "S", "datasets": "one", "credential_names": {"a": 1}},
        {"store_name": "S", "datasets": ["d"] * 201},
    ],
)
def test_the_fast_list_check_reports_exactly_what_jsonschema_reports(config):
    schema = json.loads(schema_json())
    slow = sorted((e.json_path, e.message) for e in Draft202012Validator(schema).iter_errors(config))
    fast = sorted((e.json_path, e.message) for e in FactoryValidator(schema).iter_errors(config))
    assert fast == slow
