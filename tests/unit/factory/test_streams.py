import json
import re

import pytest

from components.stream_schema import worst_allowed_config
from factory.stream_schema import MAX_CONFIG_JSON_CHARS, MAX_CONFIG_VALUES, MAX_NESTING_DEPTH, shape_problems
from factory.streams import config_hash, job_arguments, k8s_name, pod_spec, secret_refs, stream_spec, valid_specs
from factory.table import UnknownStatus

STORE1 = {"store_name": "Store1", "schedule_string": "@hourly", "dataset_name": "orders"}


def test_a_valid_row_becomes_a_spec_with_its_dag_id_schedule_and_dataset(cfg):
    spec = stream_spec(cfg, "Store1", json.dumps(STORE1))
    assert spec["dag_id"] == "yellowlive__Store1_ingestion"
    assert (spec["store_name"], spec["schedule"], spec["dataset_name"]) == ("Store1", "@hourly", "orders")


@pytest.mark.parametrize(
    ("config_json", "reason"),
    [
        (None, "config_json is empty"),
        ("  ", "config_json is empty"),
        ("{not json", "config_json is not valid JSON"),
        ("[1, 2]", "config_json must be a JSON object, not list"),
        ("{}", "config $: 'store_name' is a required property"),
        ('{"store_name": " "}', "config $.store_name: ' ' does not match '\\\\S'"),
        ('{"store_name": "S", "schedule_string": 5}', "config $.schedule_string: 5 is not of type 'string', 'null'"),
        ('{"store_name": "S", "dataset_name": ["a"]}', "config $.dataset_name: ['a'] is not of type 'string', 'null'"),
        ('{"store_name": "S", "ingestion_type": "ftp"}', "config $.ingestion_type: 'ftp' is not one of"),
        ('{"store_name": 5, "datasets": "x"}', "config $.datasets: 'x' is not of type 'array'; config $.store_name: 5"),
    ],
)
def test_a_bad_row_is_refused_saying_why(cfg, config_json, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        stream_spec(cfg, "Store1", config_json)


def test_a_stream_key_that_makes_an_invalid_dag_id_is_refused(cfg):
    with pytest.raises(ValueError, match="is not valid"):
        stream_spec(cfg, "has space", json.dumps(STORE1))


def test_valid_specs_keeps_row_order_and_names_each_skipped_row(cfg, caplog):
    rows = [("B", json.dumps(STORE1)), ("bad", "{}"), ("A", json.dumps(STORE1))]
    specs, skipped = valid_specs(cfg, rows)
    assert [s["stream_key"] for s in specs] == ["B", "A"]
    assert skipped == {"bad": "config $: 'store_name' is a required property"}
    assert f"stream 'bad' in yellowlive_airflow_dsg skipped: {skipped['bad']}" in caplog.text


def test_config_hash_ignores_whitespace_and_key_order_but_not_values():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash(json.loads('{ "b": [1,2],  "a": 1 }'))
    assert config_hash({"a": 1}) != config_hash({"a": 2})


@pytest.mark.parametrize(
    ("text", "name"), [("yellowlive-Store_1", "yellowlive-store-1"), ("--", "datasurface-job"), ("a" * 50, "a" * 40)]
)
def test_pod_names_are_kubernetes_names(text, name):
    assert k8s_name(text) == name


def test_the_pod_runs_the_job_image_in_the_namespace_with_the_platform_labels(cfg):
    pod = pod_spec(cfg, stream_spec(cfg, "Store1", json.dumps(STORE1)))
    assert (pod["namespace"], pod["image"], pod["cmds"]) == (cfg.namespace, cfg.job_image, ["python"])
    assert pod["labels"] == {"app.kubernetes.io/part-of": "datasurface-yellow", "datasurface.io/platform": "yellowlive"}
    assert pod["arguments"][-2:] == ["--dataset-name", "orders"]


def test_without_a_dataset_the_job_gets_no_dataset_argument(cfg):
    spec = stream_spec(cfg, "S", json.dumps({"store_name": "S"}))
    assert "--dataset-name" not in job_arguments(cfg, spec)


def test_credentials_reach_the_job_only_by_secret_reference(cfg):
    assert secret_refs(cfg) == [
        ("postgres_USER", "yellowlive-postgres-credentials", "username"),
        ("postgres_PASSWORD", "yellowlive-postgres-credentials", "password"),
    ]


# --- hostile rows: each costs only its own DAG, with a reason, and the check never raises ----------------

DEEP_LISTS = '{"store_name": "S", "x": ' + "[" * 1000 + "]" * 1000 + "}"
DEEP_WITHIN_RECURSION = '{"store_name": "S", "x": ' + "[" * MAX_NESTING_DEPTH + "]" * MAX_NESTING_DEPTH + "}"


@pytest.mark.parametrize(
    ("config_json", "reason"),
    [
        (
            '{"store_name": "A\\u0000B"}',
            "config $.store_name: contains a NUL character (U+0000), which Airflow's metadata database cannot store",
        ),
        (
            '{"store_name": "S", "notes": {"deep": ["x\\u0000"]}}',
            "config $.notes.deep[0]: contains a NUL character (U+0000)",
        ),
        ('{"store_name": "S", "k\\u0000": 1}', "config $: a key contains a NUL character (U+0000)"),
        (
            '{"store_name": "A\\ud800B"}',
            "config $.store_name: contains a lone surrogate (U+D800), which is not valid Unicode text",
        ),
        ('{"store_name": "S", "datasets": ["\\udfff"]}', "config $.datasets[0]: contains a lone surrogate (U+DFFF)"),
        (DEEP_LISTS, "config_json is nested too deeply to be read"),
        (
            DEEP_WITHIN_RECURSION,
            "config $.x" + "[0]" * (MAX_NESTING_DEPTH - 1) + f": nested deeper than {MAX_NESTING_DEPTH} levels",
        ),
        (
            '{"store_name": "S", "datasets": [' + ",".join(['"d"'] * 2_000_000) + "]}",
            f"config_json is 8000034 characters long; at most {MAX_CONFIG_JSON_CHARS}",
        ),
        (
            '{"store_name": "S", "v": [' + ",".join(["0"] * MAX_CONFIG_VALUES) + "]}",
            f"config $: holds more than {MAX_CONFIG_VALUES} values",
        ),
        ('{"store_name": "' + "s" * 300 + '"}', "config $.store_name: '" + "s" * 300 + "' is too long"),
        ('{"store_name": "S", "schedule_string": "@dayly"}', "config $.schedule_string: '@dayly' is not a schedule"),
        (
            '{"store_name": "S", "schedule_string": "*/5 * * *"}',
            "config $.schedule_string: '*/5 * * *' is not a schedule Airflow accepts (Exactly 5, 6 or 7 columns",
        ),
    ],
)
def test_a_hostile_row_is_refused_saying_why(cfg, config_json, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        stream_spec(cfg, "Store1", config_json)


def test_a_row_of_an_unknown_status_is_skipped_and_named(cfg, caplog):
    rows = [("A", json.dumps(STORE1)), ("B", UnknownStatus("Active")), ("C", UnknownStatus(None))]
    specs, skipped = valid_specs(cfg, rows)
    assert [s["stream_key"] for s in specs] == ["A"]
    assert skipped == {
        "B": "status 'Active' is not one of active, disabled",
        "C": "status NULL is not one of active, disabled",
    }
    assert "stream 'B' in yellowlive_airflow_dsg skipped: status 'Active'" in caplog.text


def test_a_check_that_breaks_costs_only_its_row(cfg, monkeypatch):
    def broken(cfg, stream_key, config):
        raise MemoryError("no room")

    monkeypatch.setattr("factory.streams.check_config", broken)
    specs, skipped = valid_specs(cfg, [("A", json.dumps(STORE1))])
    assert specs == [] and skipped == {"A": "row cannot be checked (MemoryError: no room)"}


def test_the_worst_allowed_row_passes(cfg):
    config = worst_allowed_config()
    text = json.dumps(config, separators=(",", ":"))
    assert len(json.dumps(config, sort_keys=True, separators=(",", ":"))) == MAX_CONFIG_JSON_CHARS
    assert shape_problems({**config, "one_more": 0}) == [f"$: holds more than {MAX_CONFIG_VALUES} values"]
    assert stream_spec(cfg, "Worst", text)["store_name"] == config["store_name"]
