"""Outages and bad data never make the factory DAG file fail to import, nor make good DAGs vanish."""

from __future__ import annotations

import pytest
from psycopg import sql

from factory.config import CONNECT_TIMEOUT_SECONDS
from tests.integration.airflow.conftest import errors_of

pytestmark = pytest.mark.integration

GOOD = {
    "Alpha": ({"store_name": "Alpha", "schedule_string": "@daily"}, "active"),
    "Beta": ({"store_name": "Beta", "schedule_string": None}, "active"),
}
FACTORY = "yellowlive_factory_dag"
GOOD_IDS = sorted([FACTORY, "yellowlive__Alpha_ingestion", "yellowlive__Beta_ingestion"])


@pytest.fixture
def good_parse(airflow_run):
    """A table with two good streams, parsed once while the database is up (which writes the cache)."""
    airflow_run.db.seed(GOOD)
    result = airflow_run.parse()
    assert result["dag_ids"] == GOOD_IDS and errors_of(result) == []
    return airflow_run


def test_database_down_keeps_the_last_good_dags_and_logs_one_clear_error(good_parse, free_tcp_port):
    result = good_parse.parse(DATASURFACE_POSTGRES_PORT=str(free_tcp_port))
    assert result["import_errors"] == {}
    assert result["dag_ids"] == GOOD_IDS
    [error] = errors_of(result)
    assert "cannot read yellowlive_airflow_dsg" in error and "cannot connect" in error
    assert "using the last good configuration" in error and "(2 active streams)" in error


def test_failing_query_also_falls_back_to_the_last_good_dags(good_parse):
    db = good_parse.db
    db.execute(sql.SQL("ALTER TABLE {} RENAME TO moved_away").format(sql.Identifier(db.table)))
    result = good_parse.parse()
    assert result["import_errors"] == {}
    assert result["dag_ids"] == GOOD_IDS
    [error] = errors_of(result)
    assert "cannot query yellowlive_airflow_dsg" in error and "does not exist" in error
    assert "using the last good configuration" in error


def test_missing_connection_variables_are_named_and_the_last_good_dags_kept(good_parse):
    result = good_parse.parse(postgres_USER=None, postgres_PASSWORD=None)
    assert result["dag_ids"] == GOOD_IDS
    [error] = errors_of(result)
    assert "environment variable(s) not set: postgres_USER, postgres_PASSWORD" in error


def test_without_the_database_named_no_cache_is_served(good_parse):
    """The cache belongs to one database's table: an environment that names no database gets none."""
    result = good_parse.parse(DATASURFACE_POSTGRES_HOST=None)
    assert result["dag_ids"] == [FACTORY]
    [error] = errors_of(result)
    assert "environment variable(s) not set: DATASURFACE_POSTGRES_HOST" in error
    assert "no last good configuration at (none: the environment names no database)" in error


def test_database_down_without_a_cache_leaves_only_the_factory_dag(airflow_run, free_tcp_port):
    airflow_run.db.seed(GOOD)
    result = airflow_run.parse(DATASURFACE_POSTGRES_PORT=str(free_tcp_port))
    assert result["import_errors"] == {}
    assert result["dag_ids"] == [FACTORY]
    [error] = errors_of(result)
    assert "no last good configuration" in error


def test_a_hung_database_costs_a_parse_only_the_connect_timeout(airflow_run, silent_server):
    airflow_run.db.seed(GOOD)
    result = airflow_run.parse(DATASURFACE_POSTGRES_PORT=str(silent_server))
    assert result["import_errors"] == {}
    assert result["dag_ids"] == [FACTORY]
    [error] = errors_of(result)
    assert "timeout" in error.lower()
    assert CONNECT_TIMEOUT_SECONDS - 0.5 <= result["parse_seconds"] < CONNECT_TIMEOUT_SECONDS + 8


BROKEN = {
    "BrokenJson": ('{"store_name": "X", ', "active"),
    "NoStore": ({"schedule_string": "@daily"}, "active"),
    "EmptyStore": ({"store_name": "  "}, "active"),
    "NotAnObject": ('["store_name", "X"]', "active"),
    "NullConfig": (None, "active"),
    "BadCron": ({"store_name": "X", "schedule_string": "every tuesday"}, "active"),
    "BadDataset": ({"store_name": "X", "dataset_name": 7}, "active"),
    "bad key!": ({"store_name": "X"}, "active"),
}


def test_broken_rows_are_skipped_with_an_error_naming_their_stream_and_the_rest_load(airflow_run):
    airflow_run.db.seed({**GOOD, **BROKEN})
    result = airflow_run.parse()
    assert result["import_errors"] == {}
    assert result["dag_ids"] == GOOD_IDS
    errors = errors_of(result)
    assert len(errors) == len(BROKEN)
    for key in BROKEN:
        assert sum(f"stream {key!r} in yellowlive_airflow_dsg skipped" in e for e in errors) == 1, key
    reasons = " ".join(errors)
    for reason in (
        "not valid JSON",
        "'store_name' is a required property",
        "must be a JSON object",
        "config_json is empty",
        "every tuesday",
        "config $.dataset_name: ",
        "is not valid",
    ):
        assert reason in reasons
