"""A stream's config checked completely: its text, its size and depth, the stream config schema
(schemas/stream_config.schema.json) and its schedule.

The program checks every seed stream with it before anything is deployed; the DAG file applies the same
check to every row it reads, since rows written by others than Pulumi are not trusted either. The check
never raises: whatever a row holds, the answer is a list of reasons.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from jsonschema import Draft202012Validator

from factory.schedules import schedule_string_problem

# Bounds JSON Schema cannot state (the schema bounds its own fields' lengths and counts). A row beyond one
# costs only its own DAG; within them, a parse of 10,000 such rows stays well inside Airflow's import timeout
# (bench/factory_parse_bench.py --worst-row).
MAX_CONFIG_JSON_CHARS = 16384  # config_json's text; the program measures the canonical JSON it writes
MAX_NESTING_DEPTH = 16  # objects and arrays inside each other, the config itself being level 1
MAX_CONFIG_VALUES = 4096  # values of every kind in one config, keys not counted
_PLAIN_PROPERTY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")  # written `.name` in a JSON path, as jsonschema does
_SURROGATE = re.compile("[\ud800-\udfff]")


@functools.cache
def schema_validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_PROPERTY.match(key):
        return f"{path}.{key}"
    return f"{path}['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


def text_problem(text: str) -> str | None:
    """Why a string cannot reach Airflow: PostgreSQL (its metadata database) stores no NUL, and a lone
    surrogate cannot be encoded, so the parse could not hand its DAGs over."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which Airflow's metadata database cannot store"
    found = _SURROGATE.search(text)
    if found:
        return f"contains a lone surrogate (U+{ord(found.group()):04X}), which is not valid Unicode text"
    return None


def shape_problems(config: Any) -> list[str]:
    """Text, depth and count problems, found by an iterative walk (no recursion, whatever the depth)."""
    problems: list[str] = []
    pending: list[tuple[Any, str, int]] = [(config, "$", 1)]
    values = 0
    while pending:
        value, path, depth = pending.pop()
        values += 1
        if values > MAX_CONFIG_VALUES:
            return problems + [f"$: holds more than {MAX_CONFIG_VALUES} values"]
        if isinstance(value, str):
            why = text_problem(value)
            if why:
                problems.append(f"{path}: {why}")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_NESTING_DEPTH:
            problems.append(f"{path}: nested deeper than {MAX_NESTING_DEPTH} levels")
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                why = text_problem(key)
                if why:
                    problems.append(f"{path}: a key {why}")
                    continue
            pending.append((item, child_path(path, key), depth + 1))
    return sorted(problems)


def stream_config_problems(schema_json: str, config: Any) -> list[str]:
    """Every way `config` breaks the rules, as '<JSON path>: <reason>' sorted by path (empty when it conforms).

    The path starts at the config itself (`$`, `$.store_name`, `$.credential_names[0]`). Text, depth and
    count come first (the schema's validator recurses, so it only sees a config within the bounds), then the
    size of its canonical JSON, the schema (the reason is jsonschema's message), then the schedule.
    """
    try:
        problems = shape_problems(config)
        if problems:
            return problems
        size = len(json.dumps(config, sort_keys=True, separators=(",", ":"), default=str))
        if size > MAX_CONFIG_JSON_CHARS:
            return [f"$: is {size} characters as JSON; at most {MAX_CONFIG_JSON_CHARS}"]
        errors = sorted(schema_validator(schema_json).iter_errors(config), key=lambda e: (e.json_path, e.message))
        problems = [f"{error.json_path}: {error.message}" for error in errors]
        if problems or not isinstance(config, dict):
            return problems
        schedule = config.get("schedule_string") or None
        why = schedule_string_problem(schedule)
        return [f"$.schedule_string: {schedule!r} {why}"] if why else []
    except Exception as err:  # never raise: a row that cannot be checked is a bad row
        return [f"$: cannot be checked ({type(err).__name__}: {' '.join(str(err).split())})"]
