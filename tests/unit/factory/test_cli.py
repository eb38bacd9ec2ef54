import json

import pytest

from factory.cli import describe_plan, main
from factory.history import change_lines
from factory.table import write_cache


def test_the_plan_lists_the_factory_then_each_valid_stream_with_its_pod(cfg):
    plan = describe_plan(cfg, [("Store1", json.dumps({"store_name": "Store1"})), ("bad", "{}")], "database")
    assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag", "yellowlive__Store1_ingestion"]
    assert plan["dags"][1]["command"][:3] == ["python", "-m", "datasurface.platforms.yellow.jobs"]
    assert plan["skipped"] == {"bad": "config $: 'store_name' is a required property"}


@pytest.fixture
def cached_store1(cfg, no_database_env, monkeypatch):
    """A last good read of Store1 from pg-a/merge, then the database settings gone again."""
    monkeypatch.setenv("DATASURFACE_POSTGRES_HOST", "pg-a")
    monkeypatch.setenv("DATASURFACE_POSTGRES_PORT", "5432")
    monkeypatch.setenv("DATASURFACE_POSTGRES_DATABASE", "merge")
    write_cache(cfg, [("Store1", json.dumps({"store_name": "Store1"}))])
    monkeypatch.delenv("DATASURFACE_POSTGRES_HOST")


def test_without_database_settings_the_cli_says_so_first_and_exits_1_showing_no_cache(
    cfg, no_database_env, cached_store1, capsys
):
    assert main(cfg, ["--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("yellowlive_factory_dag: no database settings (environment variable(s) not set: ")
    assert "--cache" in err


def test_the_cache_is_shown_only_when_asked_for_with_the_database_it_was_read_from(
    cfg, no_database_env, cached_store1, capsys
):
    assert main(cfg, ["--cache", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag", "yellowlive__Store1_ingestion"]
    assert plan["source"].endswith("last good read of pg-a/merge")


def test_asking_for_the_cache_when_there_is_none_exits_1(cfg, no_database_env, capsys):
    assert main(cfg, ["--cache"]) == 1
    assert "no last good configuration of yellowlive_airflow_dsg" in capsys.readouterr().err


def test_the_plan_of_a_row_airflow_would_skip_exits_2(cfg, no_database_env, capsys, monkeypatch):
    rows = [
        ("Good", json.dumps({"store_name": "Good"})),
        ("Typo", json.dumps({"store_name": "T", "schedule_string": "@dayly"})),
    ]
    monkeypatch.setattr("factory.cli.connection_settings", lambda cfg: {})
    monkeypatch.setattr("factory.cli.query_active_rows", lambda cfg, purpose: rows)
    assert main(cfg, []) == 2
    out = capsys.readouterr().out
    assert "yellowlive__Good_ingestion" in out
    assert "SKIPPED Typo: config $.schedule_string: '@dayly' is not a schedule Airflow accepts" in out
    monkeypatch.setattr("factory.cli.query_active_rows", lambda cfg, purpose: rows[:1])
    assert main(cfg, []) == 0


def test_the_history_view_needs_a_stream_key(cfg, no_database_env, capsys):
    assert main(cfg, ["--history"]) == 2
    assert "usage: python <dag file> --history <stream_key>" in capsys.readouterr().out


def test_the_history_view_without_database_settings_exits_1_naming_what_is_missing(cfg, no_database_env, caplog):
    assert main(cfg, ["--history", "Store1"]) == 1
    assert "environment variable(s) not set: DATASURFACE_POSTGRES_HOST" in caplog.text


def test_a_history_entry_shows_what_it_changed_in_the_row():
    old = {"stream_key": "S", "status": "active", "config_json": '{"v": 1}', "updated_at": "t1"}
    assert change_lines(None, old) == ["status: active", 'config_json: {"v": 1}']
    assert change_lines(old, {**old, "config_json": '{"v": 2}', "updated_at": "t2"}) == [
        'config_json: {"v": 1} → {"v": 2}'
    ]
    assert change_lines(old, {**old, "updated_at": "t2"}) == ["(no change to status or config_json)"]
