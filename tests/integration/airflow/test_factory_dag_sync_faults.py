"""Faults during `sync_dynamic_dags`: a sync is all or nothing, and each change is reported once."""

from __future__ import annotations

import time

import psycopg
import pytest

from components.factory_dag import factory_config
from components.settings import parse_settings
from factory.lifecycle import sync_lock_key
from tests.integration.airflow.conftest import sync_result
from tests.program_harness import valid_raw

pytestmark = pytest.mark.integration

LEDGER = "yellowlive_airflow_dsg_ledger"
AUDIT = "yellowlive_airflow_dsg_audit"
SYNC_APP = "yellowlive_factory_dag:sync"


def ledger_and_audit(db) -> tuple[list[tuple], list[tuple]]:
    return (
        db.rows_of(LEDGER, "stream_key", "stream_key"),
        db.rows_of(AUDIT, "stream_key, change, run_id", "id"),
    )


def wait_until_syncs_wait_on_a_lock(db, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
            (SYNC_APP,),
        )[0][0]
        if waiting == count:
            return
        time.sleep(0.1)
    pytest.fail(f"{count} sync(s) never waited on a lock")


def test_postgres_restarted_mid_sync_leaves_ledger_and_audit_as_before_and_the_next_sync_reports_once(airflow_run):
    db = airflow_run.db
    db.seed({"A": ({"store_name": "A"}, "active")})
    airflow_run.sync(run_id="run-1")
    before = ledger_and_audit(db)
    db.set_config("A", '{"store_name": "A", "schedule_string": "@daily"}')
    db.seed({"B": ({"store_name": "B"}, "active"), "C": ({"store_name": "C"}, "active")})
    holder = psycopg.connect(db.server.conninfo(db.name))
    try:
        # The sync inserts B and C into the ledger, then waits on A's row while the server restarts.
        holder.execute(f'SELECT * FROM "{LEDGER}" WHERE stream_key = %s FOR UPDATE', ("A",))
        process = airflow_run.start_sync("run-2")
        wait_until_syncs_wait_on_a_lock(db, 1)
        db.server.stop()
    finally:
        holder.close()
    db.server.start()
    interrupted = sync_result(process)
    assert interrupted["summary"] is None
    assert interrupted["error"].startswith("AdminShutdown: terminating connection due to administrator command")
    assert f'while updating tuple (0,1) in relation "{LEDGER}"' in interrupted["error"]  # A's row
    assert ledger_and_audit(db) == before  # none of the interrupted sync

    retried = airflow_run.sync(run_id="run-3")["summary"]
    assert (retried["created"], retried["updated"]) == (
        ["yellowlive__B_ingestion", "yellowlive__C_ingestion"],
        ["yellowlive__A_ingestion"],
    )
    assert airflow_run.sync(run_id="run-4")["summary"]["total_changes"] == 0
    assert ledger_and_audit(db) == (
        [("A",), ("B",), ("C",)],
        [("A", "created", "run-1"), ("B", "created", "run-3"), ("C", "created", "run-3"), ("A", "updated", "run-3")],
    )


def test_two_syncs_at_once_report_each_change_once(airflow_run):
    db = airflow_run.db
    db.seed({"A": ({"store_name": "A"}, "active"), "B": ({"store_name": "B"}, "active")})
    key = sync_lock_key(factory_config(parse_settings(valid_raw())))
    with psycopg.connect(db.server.conninfo(db.name), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        scheduled = airflow_run.start_sync("scheduled__1")
        manual = airflow_run.start_sync("manual__1")
        wait_until_syncs_wait_on_a_lock(db, 2)
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
    summaries = [sync_result(process)["summary"] for process in (scheduled, manual)]
    assert sorted(s["total_changes"] for s in summaries) == [0, 2]
    assert sorted(len(s["created"]) for s in summaries) == [0, 2]
    audit = db.rows_of(AUDIT, "stream_key, change", "id")
    assert audit == [("A", "created"), ("B", "created")]
