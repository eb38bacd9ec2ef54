import json

from factory.cli import describe_plan, main


def test_the_plan_lists_the_factory_then_each_valid_stream_with_its_pod(cfg):
    plan = describe_plan(cfg, [("Store1", json.dumps({"store_name": "Store1"})), ("bad", "{}")], "database")
    assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag", "yellowlive__Store1_ingestion"]
    assert plan["dags"][1]["command"][:3] == ["python", "-m", "datasurface.platforms.yellow.jobs"]
    assert plan["skipped"] == {"bad": "config $: 'store_name' is a required property"}


def test_without_database_settings_the_cli_exits_1_and_prints_the_factory_alone(cfg, no_database_env, capsys):
    assert main(cfg, ["--json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag"]
