"""`python <rendered file>` prints what the factory would create from the live table, with no scheduler."""

from __future__ import annotations

import json

import pytest

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
    assert result.returncode == 0, result.stderr
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
    assert result.returncode == 0, result.stderr
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
    assert "cannot connect to 127.0.0.1" in result.stderr
    assert "(source: cache " in result.stdout
