"""A stream's config checked completely: its text, its size and depth, the stream config schema
(schemas/stream_config.schema.json) and its schedule.

The program checks every seed stream with it before anything is deployed; the DAG file applies the same
check to every row it reads, since rows written by others than Pulumi are not trusted either. The check
never raises: whatever a row holds, the answer is a list of reasons.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from typing import Any

from jsonschema import Draft202012Validator, validators

from factory.schedules import schedule_string_problem

# Bounds JSON Schema cannot state (the schema bounds its own fields' lengths and counts). A row beyond one
# costs only its own DAG; within them, a parse of 10,000 such rows stays well inside Airflow's import timeout
# (bench/factory_parse_bench.py --worst-row).
MAX_CONFIG_JSON_CHARS = 4096  # config_json's text; the program measures the canonical JSON it writes
MAX_NESTING_DEPTH = 8  # objects and arrays inside each other, the config itself being level 1
MAX_CONFIG_VALUES = 128  # values of every kind in one config, keys not counted
_PLAIN_PROPERTY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")  # written `.name` in a JSON path, as jsonschema does
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_PROBLEMS = 10  # reported per row: a row of a thousand mistakes costs no more to check than one of ten


def string_items(validator: Any, items: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """jsonschema's `items` for the schema's lists of strings, as fast as a loop: only an item that breaks the
    item schema's type, pattern or length is handed to jsonschema, for jsonschema's own errors. Any other item
    schema goes to jsonschema's `items` as it is."""
    if not isinstance(items, dict) or items.get("type") != "string" or set(items) - {"type", "pattern", "maxLength"}:
        yield from _JSONSCHEMA_ITEMS(validator, items, instance, schema)
        return
    if not validator.is_type(instance, "array"):
        return
    pattern = re.compile(items["pattern"]) if "pattern" in items else None
    longest = items.get("maxLength")
    for index in range(len(schema.get("prefixItems", [])), len(instance)):
        item = instance[index]
        if (
            isinstance(item, str)
            and (pattern is None or pattern.search(item))
            and (longest is None or len(item) <= longest)
        ):
            continue
        yield from validator.descend(instance=item, schema=items, path=index)


_JSONSCHEMA_ITEMS = Draft202012Validator.VALIDATORS["items"]
FactoryValidator = validators.extend(Draft202012Validator, {"items": string_items})


@functools.cache
def schema_validator(schema_json: str) -> Any:
    return FactoryValidator(json.loads(schema_json))


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


def _path(link: Any) -> str:
    """The JSON path of a value from its (parent link, key) chain, built only for a problem."""
    keys = []
    while link is not None:
        link, key = link
        keys.append(key)
    path = "$"
    for key in reversed(keys):
        path = child_path(path, key)
    return path


def shape_problems(config: Any) -> list[str]:
    """Text, depth and count problems, found by an iterative walk (no recursion, whatever the depth); paths
    are built only for what is reported, so a good config costs well under a microsecond per value."""
    problems: list[str] = []
    pending: list[tuple[Any, Any, int]] = [(config, None, 1)]
    values = 0
    while pending and len(problems) < MAX_PROBLEMS:
        value, link, depth = pending.pop()
        values += 1
        if values > MAX_CONFIG_VALUES:
            return sorted(problems) + [f"$: holds more than {MAX_CONFIG_VALUES} values"]
        if isinstance(value, str):
            if "\x00" in value or _SURROGATE.search(value):
                problems.append(f"{_path(link)}: {text_problem(value)}")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_NESTING_DEPTH:
            problems.append(f"{_path(link)}: nested deeper than {MAX_NESTING_DEPTH} levels")
            continue
        if isinstance(value, list):
            pending.extend((item, (link, index), depth + 1) for index, item in enumerate(value))
            continue
        for key, item in value.items():
            if isinstance(key, str) and ("\x00" in key or _SURROGATE.search(key)):
                problems.append(f"{_path(link)}: a key {text_problem(key)}")
                continue
            pending.append((item, (link, key), depth + 1))
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
        found = itertools.islice(schema_validator(schema_json).iter_errors(config), MAX_PROBLEMS)
        errors = sorted(found, key=lambda e: (e.json_path, e.message))
        problems = [f"{error.json_path}: {error.message}" for error in errors]
        if problems or not isinstance(config, dict):
            return problems
        schedule = config.get("schedule_string") or None
        why = schedule_string_problem(schedule)
        return [f"$.schedule_string: {schedule!r} {why}"] if why else []
    except Exception as err:  # never raise: a row that cannot be checked is a bad row
        return [f"$: cannot be checked ({type(err).__name__}: {' '.join(str(err).split())})"]
