"""The stream config schema's file (schemas/stream_config.schema.json), read and checked once.

No Pulumi here: the check itself is `factory.stream_schema.stream_config_problems`, which the DAG file
also runs, with the schema's text rendered into the file's `FactoryConfig`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from factory.stream_schema import MAX_CONFIG_JSON_CHARS, MAX_CONFIG_VALUES, MAX_NESTING_DEPTH
from factory.stream_schema import stream_config_problems as problems_against

SCHEMA_NAME = "schemas/stream_config.schema.json"
SCHEMA_FILE = Path(__file__).resolve().parents[1] / SCHEMA_NAME


def load_schema(path: Path = SCHEMA_FILE) -> dict[str, Any]:
    """The schema in `path`, checked to be a valid draft 2020-12 schema."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@functools.cache
def schema_json() -> str:
    """The repository's schema as compact JSON: what the DAG file carries."""
    return json.dumps(load_schema(), sort_keys=True, separators=(",", ":"))


def stream_config_problems(config: Any) -> list[str]:
    """Every way `config` breaks the repository's schema, as '<JSON path>: <reason>'."""
    return problems_against(schema_json(), config)


def _count_values(value: Any) -> int:
    pending, count = [value], 0
    while pending:
        item = pending.pop()
        count += 1
        pending += list(item.values()) if isinstance(item, dict) else item if isinstance(item, list) else []
    return count


def worst_allowed_config() -> dict[str, Any]:
    """The costliest config the rules still allow: every field the schema checks at its bound, nesting at the
    depth bound, values up to their bound and the JSON text filled to its bound (bench/factory_parse_bench.py
    times a parse of thousands of such rows)."""
    schema = load_schema()["properties"]
    config: dict[str, Any] = {
        "store_name": "s" * schema["store_name"]["maxLength"],
        "schedule_string": "*/5 * * * *",
        "ingestion_type": "sql_snapshot",
        "dataset_name": "d" * schema["dataset_name"]["maxLength"],
        "credential_names": [f"c{i}" for i in range(schema["credential_names"]["maxItems"])],
        "datasets": [],
    }
    nested: list[Any] = []
    config["nested"] = nested
    for _ in range(MAX_NESTING_DEPTH - 2):
        nested.append([])
        nested = nested[0]
    config["text"] = ""
    config["values"] = []
    room = MAX_CONFIG_VALUES - _count_values(config)
    config["datasets"] = [f"d{i}" for i in range(min(room, schema["datasets"]["maxItems"]))]
    config["values"] = [0] * (room - len(config["datasets"]))
    size = len(json.dumps(config, sort_keys=True, separators=(",", ":")))
    config["text"] = "t" * (MAX_CONFIG_JSON_CHARS - size)
    return config
