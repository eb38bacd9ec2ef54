"""A worker that runs one task parses the file for one DAG: it builds only that DAG, from one row."""

from __future__ import annotations

import pytest

from tests.integration.airflow.conftest import errors_of

pytestmark = pytest.mark.integration

ROWS = {key: ({"store_name": key, "schedule_string": "@hourly"}, "active") for key in ("S1", "S2", "S3")}
PARSE_APP = "yellowlive_factory_dag:parse"


@pytest.fixture
def three_streams(airflow_run):
    airflow_run.db.seed(ROWS)
    return airflow_run


def test_worker_parse_for_one_stream_builds_only_that_dag_from_a_one_row_query(three_streams, statement_log):
    mark = statement_log.mark()
    result = three_streams.parse(parsing_dag_id="yellowlive__S2_ingestion")
    assert result["import_errors"] == {}
    assert result["dag_ids"] == ["yellowlive__S2_ingestion"]
    [task] = result["dags"]["yellowlive__S2_ingestion"]["tasks"]
    assert task["arguments"][task["arguments"].index("--store-name") + 1] == "S2"
    [statement] = statement_log.statements(mark, three_streams.db.name, PARSE_APP)
    assert "AND stream_key = $1" in statement


def test_worker_parse_for_the_factory_dag_builds_only_it_and_reads_no_table(three_streams, statement_log):
    mark = statement_log.mark()
    result = three_streams.parse(parsing_dag_id="yellowlive_factory_dag")
    assert result["dag_ids"] == ["yellowlive_factory_dag"]
    assert statement_log.statements(mark, three_streams.db.name, PARSE_APP) == []


def test_worker_parse_for_a_disabled_stream_builds_nothing(three_streams):
    three_streams.db.set_status("S3", "disabled")
    result = three_streams.parse(parsing_dag_id="yellowlive__S3_ingestion")
    assert result["import_errors"] == {}
    assert result["dag_ids"] == []


def test_worker_parse_for_one_stream_uses_the_cache_when_the_database_is_down(three_streams, free_tcp_port):
    assert len(three_streams.parse()["dag_ids"]) == 4  # a full parse writes the cache
    result = three_streams.parse(
        parsing_dag_id="yellowlive__S1_ingestion", DATASURFACE_POSTGRES_PORT=str(free_tcp_port)
    )
    assert result["dag_ids"] == ["yellowlive__S1_ingestion"]
    [error] = errors_of(result)
    assert "using the last good configuration" in error and "(1 active streams)" in error
