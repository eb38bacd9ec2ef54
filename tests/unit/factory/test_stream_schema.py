import json

from components.stream_schema import load_schema
from factory.stream_schema import stream_config_problems


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
