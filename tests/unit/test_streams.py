"""components/streams.py: seed streams from the inline list and from a streams file, checked the same way."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from components.naming import PlatformNames
from components.streams import (
    check_entries,
    file_entries,
    inline_entries,
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
    (entry,) = file_entries("config/s.yaml", [{"stream_key": "S"}])
    assert entry.where == "streamsFile config/s.yaml[0]" and entry.object_word == "mapping"


def test_without_a_platform_the_dag_id_check_is_left_to_the_platform_problem():
    entries, _ = inline_entries([entry_text(stream_key="Store 1", config={"store_name": "S"})])
    streams, problems = check_entries(entries, None)
    assert [s.stream_key for s in streams] == ["Store 1"] and problems == []
