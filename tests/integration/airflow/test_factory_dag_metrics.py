"""The factory reports through Airflow's own metrics facility (here StatsD, to a listener on loopback),
and a sync with invalid rows or an unreadable table fails so Airflow's alerting fires."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.integration

PARSE = "datasurface.factory.yellowlive.parse."
SYNC = "datasurface.factory.yellowlive.sync."


def received(statsd, prefix: str, names: set[str], timeout: float = 5) -> dict[str, tuple[str, str]]:
    """UDP is asynchronous: wait until every expected name has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = statsd.metrics(prefix)
        if names <= set(metrics):
            return metrics
        time.sleep(0.05)
    pytest.fail(f"missing metrics {sorted(names - set(statsd.metrics(prefix)))}; got {statsd.packets}")


def test_a_parse_reports_rows_read_dags_built_invalid_rows_and_its_times(airflow_run, statsd):
    airflow_run.db.seed({"A": ({"store_name": "A"}, "active"), "B": ({"store_name": "B"}, "active")})
    airflow_run.db.seed({"Bad": ("{not json", "active")})
    result = airflow_run.parse(**statsd.settings)
    assert len(result["dag_ids"]) == 3
    metrics = received(statsd, PARSE, {"streams_read", "duration", "query_time"})
    assert metrics["streams_read"] == ("3", "g")
    assert metrics["dags_built"] == ("2", "g")
    assert metrics["rows_invalid"] == ("1", "g")
    assert metrics["table_unavailable"] == ("0", "g") and metrics["cache_served"] == ("0", "g")
    assert metrics["duration"][1] == metrics["query_time"][1] == "ms"
    assert 0 < float(metrics["query_time"][0]) <= float(metrics["duration"][0])
    assert "cache_age_seconds" not in metrics


def test_a_parse_served_from_the_cache_reports_it_with_its_age(airflow_run, statsd, free_tcp_port):
    airflow_run.db.seed({"A": ({"store_name": "A"}, "active")})
    airflow_run.parse()  # a good read fills the cache
    time.sleep(1.1)
    airflow_run.parse(DATASURFACE_POSTGRES_PORT=str(free_tcp_port), **statsd.settings)
    metrics = received(statsd, PARSE, {"cache_served", "cache_age_seconds"})
    assert metrics["table_unavailable"] == ("1", "g") and metrics["cache_served"] == ("1", "g")
    assert metrics["dags_built"] == ("1", "g")
    assert 1.0 <= float(metrics["cache_age_seconds"][0]) < 60


def test_a_sync_counts_its_changes_and_fails_naming_invalid_rows_after_recording_the_valid_ones(airflow_run, statsd):
    db = airflow_run.db
    db.seed({"A": ({"store_name": "A"}, "active"), "Bad": ({"schedule_string": "@daily"}, "active")})
    result = airflow_run.sync(run_id="run-1", **statsd.settings)
    assert result["error"] == (
        "InvalidStreamRows: 1 invalid row(s) in yellowlive_airflow_dsg: "
        "Bad: config $: 'store_name' is a required property"
    )
    messages = [r["message"] for r in result["logs"]]
    assert "   ✅ CREATED: yellowlive__A_ingestion" in messages  # the report was logged first
    assert "      ⚠️  Bad: config $: 'store_name' is a required property" in messages
    assert db.rows_of("yellowlive_airflow_dsg_ledger", "stream_key", "stream_key") == [("A",)]
    metrics = received(statsd, SYNC, {"created", "rows_invalid", "duration"})
    assert metrics["created"] == ("1", "c")
    assert metrics["updated"] == metrics["removed"] == ("0", "c")
    assert metrics["rows_invalid"] == ("1", "g")


def test_a_sync_that_cannot_read_the_table_fails_and_is_counted(airflow_run, statsd, free_tcp_port):
    result = airflow_run.sync(DATASURFACE_POSTGRES_PORT=str(free_tcp_port), **statsd.settings)
    assert result["error"].startswith(f"ConfigUnavailable: cannot connect to 127.0.0.1:{free_tcp_port}/")
    assert received(statsd, SYNC, {"table_unavailable"})["table_unavailable"] == ("1", "c")
