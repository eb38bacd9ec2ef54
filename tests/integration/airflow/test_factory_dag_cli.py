"""`python <rendered file>` prints what the factory would create from the live table, with no scheduler."""

from __future__ import annotations

import json

import pytest

from tests.integration.airflow.conftest import drop_factory_db, make_factory_db

pytestmark = pytest.mark.integration

ROWS = {
    "Store1": ({"store_name": "Store1", "schedule_string": "@hourly"}, "active"),
    "Orders_ds": ({"store_name": "Orders", "dataset_name": "orders"}, "active"),
    "Retired": ({"store_name": "Retired"}, "disabled"),
    "Broken": ("{not json", "active"),
}


@pytest.fixture
def seeded_run(airflow_run):
    airflow_run.db.seed(ROWS)
    return airflow_run


def test_running_the_file_prints_the_dags_commands_and_secret_refs_it_would_create(seeded_run):
    result = seeded_run.run([str(seeded_run.dag_file)], timeout=60)
    assert result.returncode == 2, result.stderr  # the broken row would be skipped
    out = result.stdout
    assert "3 DAGs from yellowlive_airflow_dsg (source: database)" in out
    for dag_id in ("yellowlive_factory_dag", "yellowlive__Orders_ds_ingestion", "yellowlive__Store1_ingestion"):
        assert f"  {dag_id}  " in out
    assert "Retired" not in out
    assert (
        "command: python -m datasurface.platforms.yellow.jobs --platform-name yellowlive "
        "--store-name Orders --operation snapshot-merge --dataset-name orders"
    ) in out
    assert "env postgres_PASSWORD <- Secret yellowlive-postgres-credentials key password" in out
    assert "SKIPPED Broken: config_json is not valid JSON" in out
    assert "stream 'Broken' in yellowlive_airflow_dsg skipped" in result.stderr


def test_json_output_lists_the_same_dags_in_stream_key_order(seeded_run):
    result = seeded_run.run([str(seeded_run.dag_file), "--json"], timeout=60)
    assert result.returncode == 2, result.stderr
    plan = json.loads(result.stdout)
    assert [d["dag_id"] for d in plan["dags"]] == [
        "yellowlive_factory_dag",
        "yellowlive__Orders_ds_ingestion",
        "yellowlive__Store1_ingestion",
    ]
    assert plan["source"] == "database"
    assert list(plan["skipped"]) == ["Broken"]


def test_running_the_file_with_the_database_down_says_so_and_exits_non_zero(seeded_run, free_tcp_port):
    result = seeded_run.run([str(seeded_run.dag_file)], timeout=60, DATASURFACE_POSTGRES_PORT=str(free_tcp_port))
    assert result.returncode == 1
    assert result.stderr.startswith("yellowlive_factory_dag: cannot read yellowlive_airflow_dsg (cannot connect to")
    assert "pass --cache" in result.stderr and result.stdout == ""


def test_without_database_settings_the_file_says_so_first_and_shows_no_cache(seeded_run):
    assert seeded_run.parse()["dag_ids"]  # a parse has written this table's cache
    result = seeded_run.run([str(seeded_run.dag_file)], timeout=60, DATASURFACE_POSTGRES_HOST=None)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(
        "yellowlive_factory_dag: no database settings (environment variable(s) not set: DATASURFACE_POSTGRES_HOST)"
    )
    assert result.stdout == ""


def test_a_schedule_airflow_would_refuse_makes_the_plan_exit_2_naming_the_stream(airflow_run):
    airflow_run.db.seed(
        {
            "Good": ({"store_name": "Good", "schedule_string": "@daily"}, "active"),
            "Typo": ({"store_name": "Typo", "schedule_string": "@dayly"}, "active"),
        }
    )
    result = airflow_run.run([str(airflow_run.dag_file)], timeout=60)
    assert result.returncode == 2, result.stderr
    assert "  yellowlive__Good_ingestion  schedule='@daily'" in result.stdout
    assert "SKIPPED Typo: config $.schedule_string: '@dayly' is not a schedule Airflow accepts" in result.stdout


def test_two_tables_of_the_same_name_in_two_databases_never_serve_each_others_rows(
    airflow_run, postgres_server, free_tcp_port
):
    """One user, one cache folder, two merge databases each with yellowlive_airflow_dsg: in an outage each
    parse serves its own table's last good rows, and --cache labels each with its database."""
    other_db = make_factory_db(postgres_server, "yellowlive")
    try:
        airflow_run.db.seed({"OnlyInA": ({"store_name": "A"}, "active")})
        other_db.seed({"OnlyInB": ({"store_name": "B"}, "active")})
        in_b = {"DATASURFACE_POSTGRES_DATABASE": other_db.name}
        assert airflow_run.parse()["dag_ids"] == ["yellowlive__OnlyInA_ingestion", "yellowlive_factory_dag"]
        assert airflow_run.parse(**in_b)["dag_ids"] == ["yellowlive__OnlyInB_ingestion", "yellowlive_factory_dag"]
        assert len(list(airflow_run.cache_dir.iterdir())) == 2
        down = {"DATASURFACE_POSTGRES_PORT": str(free_tcp_port)}
        assert airflow_run.parse(**down)["dag_ids"] == ["yellowlive__OnlyInA_ingestion", "yellowlive_factory_dag"]
        assert airflow_run.parse(**down, **in_b)["dag_ids"] == [
            "yellowlive__OnlyInB_ingestion",
            "yellowlive_factory_dag",
        ]
        result = airflow_run.run([str(airflow_run.dag_file), "--cache", "--json"], timeout=60, **in_b)
        assert result.returncode == 0, result.stderr
        plan = json.loads(result.stdout)
        assert [d["dag_id"] for d in plan["dags"]] == ["yellowlive_factory_dag", "yellowlive__OnlyInB_ingestion"]
        assert plan["source"].endswith(f"last good read of 127.0.0.1/{other_db.name}")
        everywhere = airflow_run.run([str(airflow_run.dag_file), "--cache"], timeout=60, DATASURFACE_POSTGRES_HOST=None)
        assert everywhere.returncode == 0, everywhere.stderr
        assert everywhere.stdout.count("DAGs from yellowlive_airflow_dsg (source: cache ") == 2
        assert f"last good read of 127.0.0.1/{airflow_run.db.name}" in everywhere.stdout
        assert f"last good read of 127.0.0.1/{other_db.name}" in everywhere.stdout
    finally:
        drop_factory_db(other_db)
