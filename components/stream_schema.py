"""The JSON Schema of a stream's `config_json` (schemas/stream_config.schema.json) and the check against it.

Plain Python and `jsonschema`, no Pulumi: the program checks every seed stream with it before anything is
declared, and the factory DAG can apply the same schema to the rows it reads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_NAME = "schemas/stream_config.schema.json"
SCHEMA_FILE = Path(__file__).resolve().parents[1] / SCHEMA_NAME


def load_schema(path: Path = SCHEMA_FILE) -> dict[str, Any]:
    """The schema in `path`, checked to be a valid draft 2020-12 schema."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@functools.cache
def _repo_validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def stream_config_problems(config: Any, schema: Mapping[str, Any] | None = None) -> list[str]:
    """Every way `config` breaks the schema (the repository's unless given), as '<JSON path>: <reason>'.

    The path starts at the config itself (`$`, `$.store_name`, `$.credential_names[0]`) and the reason is
    jsonschema's message. Sorted by path, so the same config always gives the same list; empty when the
    config conforms.
    """
    validator = _repo_validator() if schema is None else Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (e.json_path, e.message))
    return [f"{error.json_path}: {error.message}" for error in errors]
