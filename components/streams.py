"""The dsg table's seed streams, from the inline `seedStreams` and from the stack's `streamsFile`.

Both sources hold the same entries, `{stream_key, status, config}`, and go through the same checks: a
stream key may appear once across both, and every config must match schemas/stream_config.schema.json.
A stream's `config_json` is the canonical JSON of its config, whichever source it came from. Everything
here is pure apart from reading the streams file; problems name the config key, the entry and the value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.naming import PlatformNames, dag_id_problem
from components.project_file import PROJECT
from components.stream_schema import SCHEMA_NAME, stream_config_problems

STREAM_STATUSES = ("active", "disabled")
ENTRY_FIELDS = ("stream_key", "status", "config")
INLINE_KEY = "seedStreams"
FILE_KEY = "streamsFile"
# Relative, so that a stack file names the same file on every machine.
_RELATIVE_TO = "the path is relative to the project directory, where Pulumi.yaml is"
# How deep one entry may nest (the entry itself is level 1, its config level 2), checked before anything
# else reads it: deeper text would make the JSON parser and the checks recurse past Python's limit.
MAX_ENTRY_DEPTH = 64
# The inline streams reach the program inside one environment variable (PULUMI_CONFIG, the whole stack
# config as JSON, the list as JSON text within it), which Linux caps at 128 KiB (MAX_ARG_STRLEN). The
# list may take 96 KiB of it, one stream 16 KiB; more must come from a streams file.
MAX_INLINE_STREAM_CHARS = 16 * 1024
MAX_INLINE_CONFIG_BYTES = 96 * 1024
# Property names written as `.name` in a JSON path, as jsonschema writes them; others as `['name']`.
_PLAIN_PROPERTY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class SeedStream:
    stream_key: str
    status: str
    config: dict[str, Any]

    @property
    def config_json(self) -> str:
        """Canonical JSON, so the same config always yields the same text (and no spurious diff)."""
        return json.dumps(self.config, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Entry:
    """One stream as written, before it is checked."""

    where: str  # names the entry in problems: "seedStreams[0]", "streamsFile config/x.yaml[0]"
    item: Any
    shown: Any  # what a problem with the whole entry shows: an inline entry's JSON text, a file's entry itself
    object_word: str  # what a config must be, in the words of its source


def problem(where: str, value: Any, why: str) -> str:
    return f"{PROJECT}:{where} = {value!r}: {why}"


# How much of a long inline stream a problem line shows.
SHOWN_TEXT_MAX = 200


def shown_text(text: str) -> str:
    """A long text as a problem line shows it: its start and its length."""
    return text if len(text) <= SHOWN_TEXT_MAX else f"{text[:SHOWN_TEXT_MAX]}... ({len(text)} characters)"


def json_text_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest, counted without parsing it (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def value_depth(value: Any) -> int:
    """How deep the dicts and lists of a value nest (a scalar is 0), by an iterative walk."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_ENTRY_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                pending.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(depth: int) -> str | None:
    if depth > MAX_ENTRY_DEPTH:
        return f"nests deeper than {MAX_ENTRY_DEPTH} levels of arrays and objects"
    return None


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def inline_config_bytes(texts: list[str]) -> int:
    """What `seedStreams` adds to PULUMI_CONFIG: the list as JSON text, itself a JSON string there."""
    return len(json.dumps(json.dumps(texts)).encode())


def _inline_text_problem(text: str) -> str | None:
    if len(text) > MAX_INLINE_STREAM_CHARS:
        return (
            f"is longer than {MAX_INLINE_STREAM_CHARS} characters ({len(text)}); a stream that large belongs in the "
            f"streams file ({FILE_KEY}): the stack config reaches the program in one environment variable"
        )
    return _too_deep(json_text_depth(text))


def inline_entries(texts: list[str]) -> tuple[list[Entry], list[str]]:
    """The entries of `seedStreams` (one JSON text each), and a problem for each text that is not JSON."""
    entries, problems = [], []
    size = inline_config_bytes(texts)
    if size > MAX_INLINE_CONFIG_BYTES:
        why = (
            f"takes {size} bytes of the stack config, more than {MAX_INLINE_CONFIG_BYTES}: move streams to the "
            f"streams file ({FILE_KEY}); the stack config reaches the program in one environment variable, which "
            "Linux caps at 128 KiB"
        )
        return [], [f"{PROJECT}:{INLINE_KEY} {why}"]
    for index, text in enumerate(texts):
        where = f"{INLINE_KEY}[{index}]"
        text_problem = _inline_text_problem(text)
        if text_problem:
            problems.append(problem(where, shown_text(text), text_problem))
            continue
        try:
            item = json.loads(text, object_pairs_hook=_unique_json_object)
        except json.JSONDecodeError as err:
            problems.append(problem(where, shown_text(text), f"is not valid JSON ({err.msg})"))
            continue
        except ValueError as err:
            problems.append(problem(where, shown_text(text), f"is not valid JSON ({err})"))
            continue
        entries.append(Entry(where, item, text, "JSON object"))
    return entries, problems


_YAML_KINDS = {dict: "a mapping", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _what_it_holds(document: Any) -> str:
    if document is None:
        return "it is empty (write [] for no streams)"
    return f"it holds {_YAML_KINDS.get(type(document), type(document).__name__)}"


def _yaml_error_text(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        context = f"{err.context}: " if err.context else ""
        mark = err.problem_mark
        return f"{context}{err.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(err).split())


def _streams_path(path_text: str, project_dir: Path) -> Path:
    """Where a streams file is; raises ValueError when the path is absolute or leads outside the project."""
    if Path(path_text).is_absolute():
        raise ValueError(f"must be a relative path ({_RELATIVE_TO})")
    if any(ord(char) < 32 for char in path_text):
        raise ValueError("must not hold control characters (a newline, a tab)")
    path = (project_dir / path_text).resolve()
    if not path.is_relative_to(project_dir.resolve()):
        raise ValueError(f"must stay inside the project directory ({_RELATIVE_TO}; links are followed)")
    return path


def _streams_document(path_text: str, project_dir: Path) -> Any:
    """The YAML document of a streams file; raises ValueError saying why it cannot be had."""
    path = _streams_path(path_text, project_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no such file ({_RELATIVE_TO})") from None
    except OSError as err:
        raise ValueError(f"cannot be read ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"cannot be read as UTF-8 ({err.reason} at byte {err.start})") from None
    try:
        return _load_yaml(text)
    except RecursionError:
        raise ValueError(f"nests deeper than {MAX_ENTRY_DEPTH} levels of arrays and objects") from None
    except yaml.YAMLError as err:
        raise ValueError(f"is not valid YAML ({_yaml_error_text(err)})") from None


def _refuse_duplicate_keys(constructor: yaml.constructor.SafeConstructor, node: yaml.MappingNode) -> None:
    """Raise when a key is written twice in one mapping (YAML says keys are unique; PyYAML would keep the
    last one silently), naming both lines."""
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = constructor.construct_object(key_node, deep=True)
        try:
            seen = first_line.get(key)
        except TypeError:  # an unhashable key: the base constructor names it
            continue
        if seen is not None:
            why = f"duplicate key {key!r}, first at line {seen}, again"
            raise yaml.constructor.ConstructorError(None, None, why, key_node.start_mark)
        first_line[key] = key_node.start_mark.line + 1


class _FastLoader(yaml.CSafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        _refuse_duplicate_keys(self, node)
        return super().construct_mapping(node, deep)


class _PlainLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        _refuse_duplicate_keys(self, node)
        return super().construct_mapping(node, deep)


def _load_yaml(text: str) -> Any:
    # libyaml reads a file of thousands of streams about four times faster; the pure-Python loader, run
    # only when libyaml refuses the text, names the offending character in its message.
    # A text libyaml refuses whose brackets nest deeper than any entry may is not given to the pure-Python
    # loader, which recurses once per level (seconds, then RecursionError, at a few thousand).
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.constructor.ConstructorError:
        raise
    except yaml.YAMLError:
        if json_text_depth(text) > MAX_ENTRY_DEPTH:
            raise
    return yaml.load(text, Loader=_PlainLoader)


def read_streams_file(path_text: str, project_dir: Path) -> tuple[list[Any], str | None]:
    """The entries of a streams file (a YAML list), or no entries and the problem that stops it being read."""
    try:
        document = _streams_document(path_text, project_dir)
    except ValueError as err:
        return [], problem(FILE_KEY, path_text, str(err))
    if not isinstance(document, list):
        why = f"must be a YAML list of streams, each with stream_key, status and config; {_what_it_holds(document)}"
        return [], problem(FILE_KEY, path_text, why)
    return document, None


def file_entries(path_text: str, document: list[Any]) -> tuple[list[Entry], list[str]]:
    """The entries of a streams file, and a problem for each entry that nests too deeply to be checked."""
    entries, problems = [], []
    for index, item in enumerate(document):
        where = f"{FILE_KEY} {path_text}[{index}]"
        deep = _too_deep(value_depth(item))
        if deep:
            key = item.get("stream_key") if isinstance(item, dict) else None
            problems.append(problem(where, key if isinstance(key, str) else type(item).__name__, deep))
            continue
        entries.append(Entry(where, item, item, "mapping"))
    return entries, problems


def _child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_PROPERTY.fullmatch(key) else f"{path}[{key!r}]"


def json_value_problems(value: Any, path: str = "$") -> list[str]:
    """Where `value` holds what JSON cannot (a YAML date, binary, set or pair list; a key that is not a
    string; NaN or infinity), as '<JSON path>: <reason>'; empty when it is plain JSON."""
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            if isinstance(key, str):
                problems += json_value_problems(item, _child_path(path, key))
            else:
                problems.append(f"{path}: key {key!r} is not a string")
        return problems
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in json_value_problems(item, f"{path}[{index}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path}: {value!r} is not a JSON number"]
    if value is None or isinstance(value, (str, int, float, bool)):
        return []
    return [f"{path}: {value!r} is not a JSON value ({type(value).__name__}); quote it to keep it as text"]


def _stream_key_problem(entry: Entry, names: PlatformNames | None, first_at: dict[str, str]) -> str | None:
    """Why the entry has no usable stream key (malformed, cannot form a DAG id, already taken), or None."""
    if not isinstance(entry.item, dict):
        return problem(entry.where, entry.shown, f"must be a {entry.object_word} with stream_key, status and config")
    stream_key = entry.item.get("stream_key")
    if not isinstance(stream_key, str) or not stream_key:
        return problem(entry.where, entry.shown, "needs a non-empty string 'stream_key'")
    if names is not None:
        dag_id = names.stream_dag_id(stream_key)
        dag_problem = dag_id_problem(dag_id)
        if dag_problem:
            return problem(entry.where, stream_key, f"stream key cannot form DAG id {dag_id!r}: it {dag_problem}")
    if stream_key in first_at:
        return problem(entry.where, stream_key, f"duplicate stream key (first at {first_at[stream_key]})")
    return None


def _config_problems(config: dict[str, Any]) -> list[str]:
    """What is wrong with a config: values JSON cannot hold, else every way it breaks the schema."""
    not_json = json_value_problems(config)
    if not_json:
        return [f"config {p}" for p in not_json]
    return [f"config {p} ({SCHEMA_NAME})" for p in stream_config_problems(config)]


def _entry_problems(entry: Entry, stream_key: str) -> list[str]:
    """What is wrong with an entry whose stream key is good: its status, its config, fields beside them."""
    status = entry.item.get("status", "active")
    if status not in STREAM_STATUSES:
        why = f"status of stream {stream_key!r} must be one of {', '.join(STREAM_STATUSES)}"
        return [problem(entry.where, status, why)]
    config = entry.item.get("config")
    if not isinstance(config, dict):
        return [problem(entry.where, config, f"config of stream {stream_key!r} must be a {entry.object_word}")]
    problems = [problem(entry.where, stream_key, why) for why in _config_problems(config)]
    unknown = sorted((field for field in entry.item if field not in ENTRY_FIELDS), key=str)
    if unknown:
        why = f"unknown fields in stream {stream_key!r}; config goes under 'config'"
        problems.append(problem(entry.where, unknown, why))
    return problems


# Shorter secrets are not searched for in a stream: they would match by chance (the policy pack's bound too).
MIN_SEARCHED_SECRET_LENGTH = 6
NOT_SHOWN = "<not shown: it holds a secret>"


def _secret_problem(entry: Entry, stream: SeedStream, secrets: Mapping[str, str]) -> str | None:
    """Why a stream may not be written: it carries the value of a secret config key (its row is plain text in
    the table and in the state). Neither the value nor the part holding it is shown."""
    for key, value in secrets.items():
        if len(value) < MIN_SEARCHED_SECRET_LENGTH:
            continue
        if value in stream.stream_key:
            return problem(entry.where, NOT_SHOWN, f"the stream key holds the value of the secret {key}")
        if value in stream.config_json or value in json.dumps(stream.config, sort_keys=True):
            why = f"config of stream holds the value of the secret {key}; a stream's config is stored in plain text"
            return problem(entry.where, stream.stream_key, why)
    return None


def check_entries(
    entries: list[Entry], names: PlatformNames | None, secrets: Mapping[str, str] | None = None
) -> tuple[tuple[SeedStream, ...], list[str]]:
    """The streams of all entries, in order, and every problem of every bad entry. `secrets` (config key to
    value) may appear in none of them."""
    streams: list[SeedStream] = []
    problems: list[str] = []
    first_at: dict[str, str] = {}
    for entry in entries:
        key_problem = _stream_key_problem(entry, names, first_at)
        if key_problem:
            problems.append(key_problem if not _holds_any(key_problem, secrets) else _hidden_entry(entry))
            continue
        stream_key = entry.item["stream_key"]
        first_at[stream_key] = entry.where
        entry_problems = _entry_problems(entry, stream_key)
        if entry_problems:
            problems += [p if not _holds_any(p, secrets) else _hidden_entry(entry) for p in entry_problems]
            continue
        stream = SeedStream(stream_key, entry.item.get("status", "active"), entry.item["config"])
        secret_problem = _secret_problem(entry, stream, secrets or {})
        if secret_problem:
            problems.append(secret_problem)
            continue
        streams.append(stream)
    return tuple(streams), problems


def _holds_any(text: str, secrets: Mapping[str, str] | None) -> bool:
    return any(len(v) >= MIN_SEARCHED_SECRET_LENGTH and v in text for v in (secrets or {}).values())


def _hidden_entry(entry: Entry) -> str:
    return problem(entry.where, NOT_SHOWN, "is refused; its problem would show the value of a secret config key")


def without_secrets(problems: list[str], secrets: Mapping[str, str]) -> list[str]:
    """`problems`, each one that would show a secret's value (or a value equal to a short secret) replaced by
    one naming only its key: `<key> = '<not shown: it holds a secret>': ...`."""
    values = [value for value in secrets.values() if value]

    def shows(text: str) -> bool:
        return _holds_any(text, secrets) or any(f"= {value!r}:" in text for value in values)

    return [
        f"{p.split(' = ', 1)[0]} = {NOT_SHOWN!r}: is refused; its problem would show the value of a secret config key"
        if shows(p)
        else p
        for p in problems
    ]


def parse_streams(
    inline: list[str],
    streams_file: str | None,
    names: PlatformNames | None,
    project_dir: Path,
    secrets: Mapping[str, str] | None = None,
) -> tuple[tuple[SeedStream, ...], list[str]]:
    """The seed streams of both sources, inline ones first, and every problem found in either; no stream may
    carry one of `secrets` (config key to value)."""
    entries, problems = inline_entries(inline)
    if streams_file:
        document, file_problem = read_streams_file(streams_file, project_dir)
        if file_problem:
            problems.append(file_problem)
        more, deep = file_entries(streams_file, document)
        entries += more
        problems += deep
    streams, entry_problems = check_entries(entries, names, secrets)
    return streams, problems + entry_problems
