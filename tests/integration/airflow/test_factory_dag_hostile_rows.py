"""Rows anyone with write access to the dsg table can insert, each costing only its own DAG in Airflow 3.3.2:
a NUL byte, a lone surrogate, deep nesting, a huge config, unknown status values and a schedule Airflow refuses.

The DagBag tests (the driver) show each reason, the metrics, the sync and the cache; the dag-processor test runs
the real `airflow dag-processor` over a PostgreSQL metadata database (which cannot store a NUL) with another
team's DAG file beside the factory's, as a shared Airflow has.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from factory.stream_schema import MAX_CONFIG_JSON_CHARS
from tests.integration.airflow.conftest import dag_processor, errors_of

pytestmark = pytest.mark.integration

FACTORY = "yellowlive_factory_dag"
OTHER_TEAM_DAG = "other_team_dag"
DEEP = '{"store_name": "Deep", "x": ' + "[" * 1000 + "]" * 1000 + "}"
HUGE = '{"store_name": "Huge", "datasets": [' + ",".join(['"d"'] * 2_000_000) + "]}"
HOSTILE: dict[str, tuple[object, str | None]] = {
    "Nul": ('{"store_name": "A\\u0000B"}', "active"),
    "Surrogate": ('{"store_name": "A\\ud800B"}', "active"),
    "Deep": (DEEP, "active"),
    "Huge": (HUGE, "active"),
    "Capital": ('{"store_name": "Capital"}', "Active"),
    "Space": ('{"store_name": "Space"}', "active "),
    "NoStatus": ('{"store_name": "NoStatus"}', None),
    "Typo": ('{"store_name": "Typo"}', "actve"),
    "Dayly": ('{"store_name": "Dayly", "schedule_string": "@dayly"}', "active"),
}
REASONS = {
    "Nul": "config $.store_name: contains a NUL character (U+0000), which Airflow's metadata database cannot store",
    "Surrogate": "config $.store_name: contains a lone surrogate (U+D800), which is not valid Unicode text",
    "Deep": "config_json is nested too deeply to be read",
    "Huge": f"config_json is {len(HUGE)} characters long; at most {MAX_CONFIG_JSON_CHARS}",
    "Capital": "status 'Active' is not one of active, disabled",
    "Space": "status 'active ' is not one of active, disabled",
    "NoStatus": "status NULL is not one of active, disabled",
    "Typo": "status 'actve' is not one of active, disabled",
    "Dayly": "config $.schedule_string: '@dayly' is not a schedule Airflow accepts (Exactly 5, 6 or 7 columns "
    "has to be specified for iterator expression; presets: @hourly, @daily, @weekly, @monthly, @quarterly, "
    "@yearly, @once, @continuous)",
}
GOOD = {
    "Good": ({"store_name": "Good", "schedule_string": "@hourly"}, "active"),
    "Off": ({"store_name": "Off"}, "disabled"),
}
GOOD_IDS = sorted([FACTORY, "yellowlive__Good_ingestion"])


@pytest.fixture
def hostile_run(airflow_run):
    airflow_run.db.seed({**GOOD, **HOSTILE})
    return airflow_run


def test_each_hostile_row_costs_only_its_own_dag_with_its_reason_logged(hostile_run, statsd):
    result = hostile_run.parse(**statsd.settings)
    assert result["import_errors"] == {}
    assert result["dag_ids"] == GOOD_IDS
    assert sorted(errors_of(result)) == sorted(
        f"{FACTORY}: stream {key!r} in yellowlive_airflow_dsg skipped: {why}" for key, why in REASONS.items()
    )
    assert result["parse_seconds"] < 30  # Airflow's dagbag_import_timeout


def test_the_parse_reports_the_hostile_rows_as_invalid_in_its_metrics(hostile_run, statsd):
    hostile_run.parse(**statsd.settings)
    deadline = time.monotonic() + 5
    while "rows_invalid" not in statsd.metrics("datasurface.factory.yellowlive.parse.") and time.monotonic() < deadline:
        time.sleep(0.05)
    metrics = statsd.metrics("datasurface.factory.yellowlive.parse.")
    assert metrics["rows_invalid"] == (str(len(HOSTILE)), "g")
    assert metrics["dags_built"] == ("1", "g")


def test_the_sync_records_the_good_row_and_fails_naming_every_hostile_one(hostile_run):
    result = hostile_run.sync(run_id="run-1")
    reasons = "; ".join(f"{key}: {why}" for key, why in sorted(REASONS.items()))
    assert result["error"] == f"InvalidStreamRows: {len(HOSTILE)} invalid row(s) in yellowlive_airflow_dsg: {reasons}"
    assert hostile_run.db.rows_of("yellowlive_airflow_dsg_ledger", "stream_key", "stream_key") == [("Good",)]
    messages = [r["message"] for r in result["logs"]]
    assert f"   ⚠️  Skipped {len(HOSTILE)} invalid rows:" in messages


def test_the_last_good_cache_holds_only_rows_that_passed_and_serves_them_in_an_outage(hostile_run, free_tcp_port):
    assert hostile_run.parse()["dag_ids"] == GOOD_IDS
    [cache_file] = list(hostile_run.cache_dir.iterdir())
    cached = json.loads(cache_file.read_text())
    assert [key for key, _ in cached["rows"]] == ["Good"]
    result = hostile_run.parse(DATASURFACE_POSTGRES_PORT=str(free_tcp_port))
    assert result["import_errors"] == {} and result["dag_ids"] == GOOD_IDS
    [error] = errors_of(result)
    assert "using the last good configuration" in error and "(1 active streams)" in error


# ---------------------------------------------------------------------------------------------
# The real dag-processor over a PostgreSQL metadata database, with another team's DAG file beside ours
# ---------------------------------------------------------------------------------------------

OTHER_TEAM_FILE = f"""
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id={OTHER_TEAM_DAG!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)):
    EmptyOperator(task_id="t")
"""


@pytest.fixture(scope="module")
def metadata_template(postgres_server, airflow_python, tmp_path_factory) -> str:
    """A PostgreSQL database migrated by `airflow db migrate`, copied by each test (CREATE DATABASE ... TEMPLATE)."""
    name = f"airflow_meta_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    home = tmp_path_factory.mktemp("airflow-pg-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", **metadata_settings(postgres_server, name))
    result = subprocess.run(
        [str(airflow_python), "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stderr[-4000:]}"
    return name


def metadata_settings(server, database: str) -> dict[str, str]:
    credentials = f"{urllib.parse.quote(server.user, safe='')}:{urllib.parse.quote(server.password, safe='')}"
    url = f"{credentials}@{server.host}:{server.port}/{database}"
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg://{url}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"postgresql+psycopg_async://{url}",
    }


@pytest.fixture
def metadata_db(postgres_server, metadata_template) -> Iterator[str]:
    name = f"airflow_meta_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(metadata_template))
        )
    yield name
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def registered(server, database: str) -> tuple[dict[str, tuple[bool, object]], list[str]]:
    """dag_id -> (is_stale, last_parsed_time), and the files with import errors, as the metadata database holds them."""
    with psycopg.connect(server.conninfo(database), autocommit=True) as conn:
        dags = {
            d: (stale, parsed)
            for d, stale, parsed in conn.execute("SELECT dag_id, is_stale, last_parsed_time FROM dag")
        }
        errors = [str(f) for (f,) in conn.execute("SELECT filename FROM import_error")]
    return dags, errors


def test_the_dag_processor_keeps_registering_every_files_dags_beside_the_hostile_rows(
    hostile_run, airflow_home, postgres_server, metadata_db
):
    (hostile_run.root / "dags" / "other_team_dag.py").write_text(OTHER_TEAM_FILE)
    log_path = hostile_run.root / "dag-processor.log"
    expected = {FACTORY, "yellowlive__Good_ingestion", OTHER_TEAM_DAG}
    with dag_processor(hostile_run, log_path, **metadata_settings(postgres_server, metadata_db)) as process:
        deadline = time.monotonic() + 240
        dags: dict[str, tuple[bool, object]] = {}
        while time.monotonic() < deadline:
            assert process.poll() is None, f"dag-processor exited:\n{log_path.read_text()[-6000:]}"
            dags, errors = registered(postgres_server, metadata_db)
            if expected <= {d for d, (stale, _) in dags.items() if not stale}:
                break
            time.sleep(1)
        else:
            pytest.fail(f"registered {sorted(dags)}, expected {sorted(expected)}\n{log_path.read_text()[-6000:]}")
        first_parse = dags[FACTORY][1]
        while time.monotonic() < deadline:  # the file parsed again: the processor lives on, nothing changes
            assert process.poll() is None, f"dag-processor exited:\n{log_path.read_text()[-6000:]}"
            dags, errors = registered(postgres_server, metadata_db)
            if dags[FACTORY][1] != first_parse:
                break
            time.sleep(1)
        else:
            pytest.fail(f"the factory file was not parsed again\n{log_path.read_text()[-6000:]}")
    assert set(dags) == expected and errors == []
    log = log_path.read_text()
    assert "Exception when executing DagProcessorJob" not in log and "NUL" not in log, log[-6000:]
