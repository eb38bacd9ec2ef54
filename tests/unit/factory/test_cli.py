import json

from factory.cli import describe_plan, main
from factory.history import change_lines


def test_the_plan_lists_the_factory_then_each_valid_stream_with_its_pod(cfg):
    plan = describe_plan(cfg, [("Store1", json.dumps({"store_name": "Store1"})), ("bad", "{}")], "database")
    assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag", "yellowlive__Store1_ingestion"]
    assert plan["dags"][1]["command"][:3] == ["python", "-m", "datasurface.platforms.yellow.jobs"]
    assert plan["skipped"] == {"bad": "config $: 'store_name' is a required property"}


def test_without_database_settings_the_cli_exits_1_and_prints_the_factory_alone(cfg, no_database_env, capsys):
    assert main(cfg, ["--json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag"]


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
