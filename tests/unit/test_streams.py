"""components/streams.py: seed streams from the inline list and from a streams file, checked the same way."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from components.naming import PlatformNames
from components.streams import (
    MAX_ENTRY_DEPTH,
    MAX_INLINE_CONFIG_BYTES,
    MAX_INLINE_STREAM_CHARS,
    SHOWN_TEXT_MAX,
    check_entries,
    file_entries,
    inline_config_bytes,
    inline_entries,
    json_text_depth,
    json_value_problems,
    parse_streams,
    read_streams_file,
)

NAMES = PlatformNames("yellowlive", "postgres")
PREFIX = "datasurface-yellow:streamsFile"
NOT_A_LIST = "must be a YAML list of streams, each with stream_key, status and config; "
SCHEMA = "(schemas/stream_config.schema.json)"


def write(tmp_path: Path, text: str, name: str = "streams.yaml") -> str:
    (tmp_path / name).write_text(text)
    return name


# --- reading the file --------------------------------------------------------------------------


def test_a_streams_file_is_a_yaml_list_read_relative_to_the_project_directory(tmp_path):
    (tmp_path / "config").mkdir()
    write(tmp_path, "- stream_key: S1\n  config: {store_name: S1}\n", "config/s.yaml")
    assert read_streams_file("config/s.yaml", tmp_path) == (
        [{"stream_key": "S1", "config": {"store_name": "S1"}}],
        None,
    )


def test_an_empty_list_is_no_streams(tmp_path):
    assert read_streams_file(write(tmp_path, "[]\n"), tmp_path) == ([], None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "",
            NOT_A_LIST + "it is empty (write [] for no streams)",
        ),
        ("# only a comment\n", NOT_A_LIST + "it is empty"),
        (
            "stream_key: S1\n",
            NOT_A_LIST + "it holds a mapping",
        ),
        ("Store1\n", NOT_A_LIST + "it holds a string"),
        (
            "- stream_key: S1\n  config: {schedule_string: @hourly}\n",
            "is not valid YAML (while scanning for the next token: found character '@' that cannot start any token "
            "at line 2, column 29)",
        ),
        ("- [unclosed\n", "is not valid YAML (while parsing a flow sequence: expected ',' or ']', but got"),
    ],
    ids=["empty", "comment-only", "mapping", "string", "unquoted-preset", "unclosed-list"],
)
def test_a_file_that_is_not_a_list_of_streams_is_refused_naming_it(tmp_path, text, why):
    entries, problem = read_streams_file(write(tmp_path, text), tmp_path)
    assert entries == []
    assert problem is not None and problem.startswith(f"{PREFIX} = 'streams.yaml': {why}"), problem


def test_a_missing_file_is_refused_saying_where_paths_start(tmp_path):
    assert read_streams_file("nope.yaml", tmp_path) == (
        [],
        f"{PREFIX} = 'nope.yaml': no such file (the path is relative to the project directory, where Pulumi.yaml is)",
    )


def test_an_absolute_path_is_refused_so_stack_files_mean_the_same_file_everywhere(tmp_path):
    path = str(tmp_path / write(tmp_path, "[]\n"))
    entries, problem = read_streams_file(path, tmp_path)
    assert entries == [] and problem == (
        f"{PREFIX} = {path!r}: must be a relative path "
        "(the path is relative to the project directory, where Pulumi.yaml is)"
    )


def test_a_folder_or_a_file_that_is_not_utf8_cannot_be_read(tmp_path):
    (tmp_path / "folder").mkdir()
    assert read_streams_file("folder", tmp_path)[1] == f"{PREFIX} = 'folder': cannot be read (Is a directory)"
    (tmp_path / "latin1.yaml").write_bytes(b"- stream_key: Caf\xe9\n")
    assert read_streams_file("latin1.yaml", tmp_path)[1] == (
        f"{PREFIX} = 'latin1.yaml': cannot be read as UTF-8 (invalid continuation byte at byte 17)"
    )


# --- values JSON can hold ----------------------------------------------------------------------


def test_plain_json_values_have_no_problem():
    assert json_value_problems({"a": [1, 2.5, True, None, "x", {"b": []}]}) == []


def test_what_yaml_reads_but_json_cannot_hold_is_named_with_its_path():
    value = {
        "start": datetime.date(2024, 1, 1),
        "odd key": {"at": datetime.datetime(2024, 1, 1, 12, 0)},
        "blob": b"\x00",
        "tags": [1, {2: "two"}],
        "limit": float("inf"),
    }
    assert json_value_problems(value) == [
        "$.start: datetime.date(2024, 1, 1) is not a JSON value (date); quote it to keep it as text",
        "$['odd key'].at: datetime.datetime(2024, 1, 1, 12, 0) is not a JSON value (datetime); "
        "quote it to keep it as text",
        "$.blob: b'\\x00' is not a JSON value (bytes); quote it to keep it as text",
        "$.tags[1]: key 2 is not a string",
        "$.limit: inf is not a JSON number",
    ]


# --- checking entries --------------------------------------------------------------------------


def entry_text(**fields) -> str:
    return json.dumps(fields)


def test_every_bad_stream_is_listed_and_the_good_ones_kept(tmp_path):
    name = write(
        tmp_path,
        "- {stream_key: A, config: {store_name: A}}\n"
        "- {stream_key: B, config: {store_name: 7, ingestion_type: cdc}}\n"
        "- {stream_key: C, status: paused, config: {store_name: C}}\n"
        "- {stream_key: D, config: {store_name: D}, schedule_string: '@daily'}\n"
        "- {stream_key: E, status: disabled, config: {store_name: E}}\n",
    )
    streams, problems = parse_streams([], name, NAMES, tmp_path)
    assert [(s.stream_key, s.status) for s in streams] == [("A", "active"), ("E", "disabled")]
    assert problems == [
        f"{PREFIX} streams.yaml[1] = 'B': config $.ingestion_type: 'cdc' is not one of ['sql_snapshot', 'kafka'] "
        + SCHEMA,
        f"{PREFIX} streams.yaml[1] = 'B': config $.store_name: 7 is not of type 'string' {SCHEMA}",
        f"{PREFIX} streams.yaml[2] = 'paused': status of stream 'C' must be one of active, disabled",
        f"{PREFIX} streams.yaml[3] = ['schedule_string']: unknown fields in stream 'D'; config goes under 'config'",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- Store1\n", "streams.yaml[0] = 'Store1': must be a mapping with stream_key, status and config"),
        (
            "- {config: {store_name: S}}\n",
            "streams.yaml[0] = {'config': {'store_name': 'S'}}: needs a non-empty string",
        ),
        ("- {stream_key: 12, config: {store_name: S}}\n", "streams.yaml[0] = {'stream_key': 12, 'config': "),
        (
            "- {stream_key: Store/1, config: {store_name: S}}\n",
            "streams.yaml[0] = 'Store/1': stream key cannot form DAG id 'yellowlive__Store/1_ingestion'",
        ),
        (
            "- {stream_key: S1, config: [store_name]}\n",
            "streams.yaml[0] = ['store_name']: config of stream 'S1' must be a mapping",
        ),
        ("- {stream_key: S1}\n", "streams.yaml[0] = None: config of stream 'S1' must be a mapping"),
        (
            "- {stream_key: S1, status: on, config: {store_name: S}}\n",
            "streams.yaml[0] = True: status of stream 'S1' must be",
        ),
        (
            "- {stream_key: S1, config: {store_name: S, since: 2024-01-01}}\n",
            "streams.yaml[0] = 'S1': config $.since: datetime.date(2024, 1, 1) is not a JSON value (date)",
        ),
    ],
    ids=[
        "not-a-mapping",
        "no-key",
        "key-not-a-string",
        "key-not-a-dag-id",
        "config-list",
        "no-config",
        "yaml-bool-status",
        "date",
    ],
)
def test_a_bad_file_entry_is_named_by_file_and_index(tmp_path, text, problem):
    _, problems = parse_streams([], write(tmp_path, text), NAMES, tmp_path)
    assert len(problems) == 1 and problems[0].startswith(f"{PREFIX} {problem}"), problems


def test_both_sources_merge_inline_first_and_a_key_may_appear_once_across_them(tmp_path):
    name = write(tmp_path, "- {stream_key: B, config: {store_name: B}}\n- {stream_key: A, config: {store_name: A2}}\n")
    streams, problems = parse_streams([entry_text(stream_key="A", config={"store_name": "A"})], name, NAMES, tmp_path)
    assert [s.stream_key for s in streams] == ["A", "B"]
    assert problems == [f"{PREFIX} streams.yaml[1] = 'A': duplicate stream key (first at seedStreams[0])"]


def test_a_bad_inline_entry_and_a_bad_file_are_both_reported(tmp_path):
    streams, problems = parse_streams(["not json"], "missing.yaml", NAMES, tmp_path)
    assert streams == ()
    assert [p.split(" = ")[0] for p in problems] == ["datasurface-yellow:seedStreams[0]", PREFIX]


def test_the_same_stream_gives_the_same_config_json_from_either_source(tmp_path):
    """Moving a stream from seedStreams to a streams file changes nothing in its deployed row."""
    inline = (
        '{"stream_key": "Store2", "status": "active", "config": {"store_name": "Store2", "schedule_string": '
        '"*/15 * * * *", "ingestion_type": "sql_snapshot", "dataset_name": "payments", "credential_names": '
        '["postgres"], "note": "caf\\u00e9", "retries": 3, "ratio": 0.5, "extra": null}}'
    )
    name = write(
        tmp_path,
        "- stream_key: Store2\n"
        "  status: active\n"
        "  config:\n"
        "    credential_names: [postgres]\n"
        "    dataset_name: payments\n"
        "    extra: null\n"
        "    ingestion_type: sql_snapshot\n"
        "    note: café\n"
        "    ratio: 0.5\n"
        "    retries: 3\n"
        '    schedule_string: "*/15 * * * *"\n'
        "    store_name: Store2\n",
    )
    (from_inline,), _ = parse_streams([inline], None, NAMES, tmp_path)
    (from_file,), _ = parse_streams([], name, NAMES, tmp_path)
    assert from_file == from_inline
    assert from_file.config_json == (
        '{"credential_names":["postgres"],"dataset_name":"payments","extra":null,"ingestion_type":"sql_snapshot",'
        '"note":"caf\\u00e9","ratio":0.5,"retries":3,"schedule_string":"*/15 * * * *","store_name":"Store2"}'
    )


def test_entries_say_where_they_come_from():
    entries, problems = inline_entries([entry_text(stream_key="S")])
    assert problems == [] and entries[0].where == "seedStreams[0]" and entries[0].object_word == "JSON object"
    (entry,), deep = file_entries("config/s.yaml", [{"stream_key": "S"}])
    assert deep == [] and entry.where == "streamsFile config/s.yaml[0]" and entry.object_word == "mapping"


def test_without_a_platform_the_dag_id_check_is_left_to_the_platform_problem():
    entries, _ = inline_entries([entry_text(stream_key="Store 1", config={"store_name": "S"})])
    streams, problems = check_entries(entries, None)
    assert [s.stream_key for s in streams] == ["Store 1"] and problems == []


# --- what parsing itself must bound -------------------------------------------------------------

DEEP = 5000  # far past Python's recursion limit: json.loads and the pure-Python YAML loader raised RecursionError


def shown(text: str) -> str:
    return text[:SHOWN_TEXT_MAX] + f"... ({len(text)} characters)"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_key_written_twice_in_a_streams_file_is_refused_naming_both_lines(tmp_path):
    text = "- stream_key: S1\n  status: active\n  status: disabled\n  config: {store_name: S1}\n"
    assert read_streams_file(write(tmp_path, text), tmp_path) == (
        [],
        f"{PREFIX} = 'streams.yaml': is not valid YAML (duplicate key 'status', first at line 2, again at line 3, "
        "column 3)",
    )


def test_a_key_written_twice_inside_a_config_is_refused_too(tmp_path):
    text = "- stream_key: S1\n  config:\n    store_name: S1\n    store_name: S2\n"
    _, problem = read_streams_file(write(tmp_path, text), tmp_path)
    assert problem == (
        f"{PREFIX} = 'streams.yaml': is not valid YAML (duplicate key 'store_name', first at line 3, again at line 4, "
        "column 5)"
    )


def test_yaml_merge_keys_still_override_without_being_duplicates(tmp_path):
    text = "- &base {stream_key: S1, config: {store_name: S1}}\n- <<: *base\n  stream_key: S2\n"
    entries, problem = read_streams_file(write(tmp_path, text), tmp_path)
    assert problem is None and [e["stream_key"] for e in entries] == ["S1", "S2"]


def test_a_key_written_twice_in_an_inline_stream_is_refused():
    text = '{"stream_key": "S1", "status": "active", "status": "disabled", "config": {"store_name": "S1"}}'
    assert inline_entries([text]) == (
        [],
        [f"datasurface-yellow:seedStreams[0] = {text!r}: is not valid JSON (duplicate key 'status')"],
    )


@pytest.mark.parametrize(
    "path", ["../outside.yaml", "config/../../outside.yaml", "link/outside.yaml"], ids=["dotdot", "deeper", "symlink"]
)
def test_a_streams_file_outside_the_project_directory_is_refused(tmp_path, path):
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (tmp_path / "outside.yaml").write_text("[]\n")
    (project / "link").symlink_to(tmp_path)
    assert read_streams_file(path, project) == (
        [],
        f"{PREFIX} = {path!r}: must stay inside the project directory (the path is relative to the project "
        "directory, where Pulumi.yaml is; links are followed)",
    )


def test_a_path_inside_the_project_may_still_pass_through_a_folder_and_back(tmp_path):
    (tmp_path / "config").mkdir()
    write(tmp_path, "[]\n", "s.yaml")
    assert read_streams_file("config/../s.yaml", tmp_path) == ([], None)


def test_the_nesting_of_a_json_text_is_counted_without_parsing_it():
    assert json_text_depth('{"a": [1, {"b": "[[[{"}], "c": "\\\\"}') == 3
    assert json_text_depth(nested(DEEP)) == DEEP


def test_an_inline_stream_nested_too_deeply_is_refused_naming_its_entry():
    text = entry_text(stream_key="S1", config={"store_name": "S1"}).replace('"S1"}', '"S1", "x": ' + nested(DEEP) + "}")
    entries, problems = inline_entries([text])
    assert entries == []
    assert problems == [
        f"datasurface-yellow:seedStreams[0] = {shown(text)!r}: nests deeper than "
        f"{MAX_ENTRY_DEPTH} levels of arrays and objects"
    ]


def test_an_inline_stream_at_the_depth_bound_is_read():
    config_depth = MAX_ENTRY_DEPTH - 1  # the entry object is a level
    text = '{"stream_key": "S1", "config": ' + '{"a": ' * (config_depth - 1) + "{}" + "}" * (config_depth - 1) + "}"
    entries, problems = inline_entries([text])
    assert problems == [] and len(entries) == 1


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_a_streams_file_entry_nested_too_deeply_is_refused_naming_it(tmp_path, flow):
    if flow:
        deep = "  config: {store_name: S1, x: " + nested(DEEP) + "}\n"
    else:
        deep = "  config:\n    store_name: S1\n    x:\n" + "".join("  " * (i + 3) + "-\n" for i in range(200))
    name = write(tmp_path, "- stream_key: S0\n  config: {store_name: S0}\n- stream_key: S1\n" + deep)
    streams, problems = parse_streams([], name, NAMES, tmp_path)
    assert [s.stream_key for s in streams] == ["S0"]
    assert problems == [f"{PREFIX} {name}[1] = 'S1': nests deeper than {MAX_ENTRY_DEPTH} levels of arrays and objects"]


def test_a_broken_streams_file_nested_too_deeply_gets_libyamls_reason_at_once(tmp_path):
    """Unclosed, so libyaml refuses it; the pure-Python reader, which names the character otherwise, is not
    run: it recursed for seconds, then raised RecursionError."""
    name = write(tmp_path, "- stream_key: S1\n  config: {store_name: S1, x: " + "[" * DEEP + "\n")
    assert read_streams_file(name, tmp_path) == (
        [],
        f"{PREFIX} = {name!r}: is not valid YAML (while parsing a flow node: did not find expected node content at "
        "line 3, column 1)",
    )


def test_one_inline_stream_too_large_for_the_stack_config_is_refused_naming_it():
    text = entry_text(stream_key="S1", config={"store_name": "S1", "blob": "x" * MAX_INLINE_STREAM_CHARS})
    entries, problems = inline_entries([text, entry_text(stream_key="S2", config={"store_name": "S2"})])
    assert [e.item["stream_key"] for e in entries] == ["S2"]
    assert problems == [
        f"datasurface-yellow:seedStreams[0] = {shown(text)!r}: is longer than "
        f"{MAX_INLINE_STREAM_CHARS} characters ({len(text)}); a stream that large belongs in the streams file "
        "(streamsFile): the stack config reaches the program in one environment variable"
    ]


def test_inline_streams_that_would_not_fit_the_programs_environment_are_refused_naming_the_key():
    texts = [entry_text(stream_key=f"S{i}", config={"store_name": "x" * 1000}) for i in range(100)]
    size = inline_config_bytes(texts)
    assert size > MAX_INLINE_CONFIG_BYTES
    assert inline_entries(texts) == (
        [],
        [
            f"datasurface-yellow:seedStreams takes {size} bytes of the stack config, more than "
            f"{MAX_INLINE_CONFIG_BYTES}: move streams to the streams file (streamsFile); the stack config reaches "
            "the program in one environment variable, which Linux caps at 128 KiB"
        ],
    )


def test_the_inline_size_is_what_pulumi_config_holds_of_it():
    texts = ['{"stream_key": "S1"}']
    assert inline_config_bytes(texts) == len(json.dumps(json.dumps(texts)))


def test_a_key_with_a_final_newline_is_written_quoted_in_a_json_path():
    assert json_value_problems({"a\n": datetime.date(2024, 1, 1)}) == [
        "$['a\\n']: datetime.date(2024, 1, 1) is not a JSON value (date); quote it to keep it as text"
    ]
