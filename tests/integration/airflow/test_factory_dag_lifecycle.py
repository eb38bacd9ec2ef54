"""The true lifecycle: the sync task diffs config hashes against the ledger of the previous sync,
records every change in the audit table, and the real dag-processor retires removed DAGs."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time

import pytest

from tests.integration.airflow.conftest import dag_processor

pytestmark = pytest.mark.integration

LEDGER = "yellowlive_airflow_dsg_ledger"
AUDIT = "yellowlive_airflow_dsg_audit"


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def dag_id(key: str) -> str:
    return f"yellowlive__{key}_ingestion"


def ledger(db) -> dict[str, str]:
    return {key: digest for key, digest in db.rows_of(LEDGER, "stream_key, config_hash", "stream_key")}


def audit(db) -> list[tuple]:
    return db.rows_of(AUDIT, "stream_key, dag_id, change, old_hash, new_hash, run_id", "id")


def report(result) -> list[str]:
    return [r["message"] for r in result["logs"] if r["level"] == "INFO"]


A = {"store_name": "A", "schedule_string": "@daily"}
B = {"store_name": "B", "schedule_string": "@hourly", "ingestion_type": "sql_snapshot"}
B2 = {**B, "schedule_string": "*/30 * * * *"}
C = {"store_name": "C", "dataset_name": "c1", "schedule_string": None}
D = {"store_name": "D"}
E = {"store_name": "E", "ingestion_type": "kafka"}
C_REFORMATTED = '{ "schedule_string": null,\n  "dataset_name": "c1",   "store_name": "C" }'


def test_first_sync_reports_every_active_stream_as_created_and_fills_ledger_and_audit(airflow_run):
    db = airflow_run.db
    db.seed({"A": (A, "active"), "B": (B, "active"), "C": (C, "active"), "D": (D, "disabled")})
    result = airflow_run.sync(run_id="run-1")
    summary = result["summary"]
    assert result["built"] == ["yellowlive_factory_dag"]  # a worker running the sync builds only the factory
    assert summary["created"] == [dag_id("A"), dag_id("B"), dag_id("C")]
    assert (summary["updated"], summary["removed"], summary["previous"], summary["active"]) == ([], [], 0, 3)
    assert summary["total_changes"] == 3
    lines = report(result)
    for line in (
        "🏭 FACTORY DAG EXECUTION - Dynamic DAG Lifecycle Management",
        "📍 Platform: yellowlive",
        "   🆕 To Create: 3 DAGs",
        "   ✅ CREATED: yellowlive__A_ingestion",
        "📊 TOTAL CHANGES: 3",
        "📊 ACTIVE DAGS: 3 (after lifecycle management)",
    ):
        assert line in lines
    assert ledger(db) == {"A": config_hash(A), "B": config_hash(B), "C": config_hash(C)}
    assert audit(db) == [
        (k, dag_id(k), "created", None, config_hash(cfg), "run-1") for k, cfg in (("A", A), ("B", B), ("C", C))
    ]


def test_next_sync_updates_only_changed_hashes_and_removes_streams_active_at_the_previous_sync(airflow_run):
    db = airflow_run.db
    db.seed({"A": (A, "active"), "B": (B, "active"), "C": (C, "active"), "D": (D, "disabled")})
    airflow_run.sync(run_id="run-1")
    db.set_config("B", json.dumps(B2))  # a real change
    db.set_config("C", C_REFORMATTED)  # same config, other text
    db.set_status("A", "disabled")  # was active at the previous sync
    db.seed({"E": (E, "active")})  # new
    result = airflow_run.sync(run_id="run-2")
    summary = result["summary"]
    assert summary["created"] == [dag_id("E")]
    assert summary["updated"] == [dag_id("B")]
    assert summary["removed"] == [dag_id("A")]
    assert (summary["unchanged"], summary["previous"], summary["active"], summary["total_changes"]) == (1, 3, 3, 3)
    lines = report(result)
    for line in (
        "   🗑️  REMOVED: yellowlive__A_ingestion",
        "   🔄 UPDATED: yellowlive__B_ingestion",
        f"      → Configuration changed (hash {config_hash(B)[:12]} → {config_hash(B2)[:12]})",
        "   ✅ CREATED: yellowlive__E_ingestion",
        "   🗑️  To Remove: 1 DAGs",
        "📊 TOTAL CHANGES: 3",
    ):
        assert line in lines
    assert ledger(db) == {"B": config_hash(B2), "C": config_hash(C), "E": config_hash(E)}
    assert audit(db)[3:] == [
        ("E", dag_id("E"), "created", None, config_hash(E), "run-2"),
        ("B", dag_id("B"), "updated", config_hash(B), config_hash(B2), "run-2"),
        ("A", dag_id("A"), "removed", config_hash(A), None, "run-2"),
    ]

    quiet = airflow_run.sync(run_id="run-3")
    assert quiet["summary"]["total_changes"] == 0 and quiet["summary"]["unchanged"] == 3
    assert "   No changes since the previous sync" in report(quiet)
    assert len(audit(db)) == 6


def test_sync_task_runs_in_airflow_and_returns_its_summary(airflow_run, airflow_home):
    airflow_run.db.seed({"S1": ({"store_name": "S1"}, "active")})
    result = airflow_run.run(["-m", "airflow", "dags", "test", "yellowlive_factory_dag"], timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "✅ CREATED: yellowlive__S1_ingestion" in output
    with sqlite3.connect(airflow_home / "airflow.db") as meta:
        states = meta.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'yellowlive_factory_dag'")
        assert states.fetchall() == [("sync_dynamic_dags", "success")]
        [(value,)] = meta.execute(
            "SELECT value FROM xcom WHERE dag_id = 'yellowlive_factory_dag' "
            "AND task_id = 'sync_dynamic_dags' AND key = 'return_value'"
        ).fetchall()
    summary = json.loads(value)
    assert summary["created"] == [dag_id("S1")] and summary["total_changes"] == 1
    assert ledger(airflow_run.db) == {"S1": config_hash({"store_name": "S1"})}


# ---------------------------------------------------------------------------------------------
# The real dag-processor
# ---------------------------------------------------------------------------------------------


def stale_flags(metadata_db) -> dict[str, bool]:
    try:
        with sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True, timeout=5) as meta:
            return {dag: bool(stale) for dag, stale in meta.execute("SELECT dag_id, is_stale FROM dag")}
    except sqlite3.OperationalError:  # the processor holds a write lock for a moment
        return {}


def wait_for(metadata_db, expected: dict[str, bool], process, log_path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen: dict[str, bool] = {}
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dag-processor exited:\n{log_path.read_text()[-4000:]}"
        seen = stale_flags(metadata_db)
        if all(seen.get(dag) == stale for dag, stale in expected.items()):
            return
        time.sleep(0.5)
    pytest.fail(f"after {timeout}s the dag table shows {seen}, expected {expected}\n{log_path.read_text()[-4000:]}")


def test_removed_stream_dag_is_absent_from_the_next_parse_and_the_dag_processor_marks_it_stale(
    airflow_run, airflow_home
):
    db = airflow_run.db
    db.seed({"Keep": ({"store_name": "Keep"}, "active"), "Drop": ({"store_name": "Drop"}, "active")})
    log_path = airflow_run.root / "dag-processor.log"
    metadata_db = airflow_home / "airflow.db"
    live = {"yellowlive_factory_dag": False, dag_id("Keep"): False, dag_id("Drop"): False}
    with dag_processor(airflow_run, log_path) as process:
        wait_for(metadata_db, live, process, log_path, timeout=120)
        db.set_status("Drop", "disabled")
        wait_for(metadata_db, {**live, dag_id("Drop"): True}, process, log_path, timeout=60)
        assert f"Deactivating stale DAG {dag_id('Drop')}" in log_path.read_text()
        db.set_status("Drop", "active")
        wait_for(metadata_db, live, process, log_path, timeout=60)
