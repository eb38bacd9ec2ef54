"""A stream's config checked against the stream config schema (schemas/stream_config.schema.json).

The program checks every seed stream with it before anything is deployed; the DAG file applies the same
check to every row it reads, since rows written by others than Pulumi are not trusted either.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator


@functools.cache
def schema_validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def stream_config_problems(schema_json: str, config: Any) -> list[str]:
    """Every way `config` breaks the schema, as '<JSON path>: <reason>' sorted by path (empty when it conforms).

    The path starts at the config itself (`$`, `$.store_name`, `$.credential_names[0]`); the reason is
    jsonschema's message.
    """
    errors = sorted(schema_validator(schema_json).iter_errors(config), key=lambda e: (e.json_path, e.message))
    return [f"{error.json_path}: {error.message}" for error in errors]
