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
