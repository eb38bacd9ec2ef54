"""The rendered factory DAG parsed by a real Airflow 3 against a seeded, real PostgreSQL table."""

from __future__ import annotations

import pytest

from tests.integration.airflow.conftest import (
    JOB_IMAGE,
    NAMESPACE,
    ROLE_PASSWORD,
    AirflowRun,
    drop_factory_db,
    errors_of,
    make_factory_db,
    render_dag_file,
)

pytestmark = pytest.mark.integration

ROWS = {  # inserted in this (unsorted) order
    "Store1": (
        {
            "store_name": "Store1",
            "schedule_string": "@hourly",
            "ingestion_type": "sql_snapshot",
            "datasets": ["customers", "orders"],
        },
        "active",
    ),
    "Orders_ds": (
        {
            "store_name": "Orders",
            "dataset_name": "orders",
            "schedule_string": "15 2 * * *",
            "ingestion_type": "sql_snapshot",
        },
        "active",
    ),
    "KafkaStore": (
        {"store_name": "KafkaStore", "schedule_string": None, "ingestion_type": "kafka", "kept_unknown_key": {"x": 1}},
        "active",
    ),
    "Retired": ({"store_name": "Retired", "schedule_string": "@daily"}, "disabled"),
}
ACTIVE_IN_ORDER = ["KafkaStore", "Orders_ds", "Store1"]


@pytest.fixture(scope="module", params=["yellowlive", "yellowforensic"])
def seeded(request, airflow_python, postgres_server, statement_log, tmp_path_factory):
    """One parse per platform of a table with three active rows and one disabled row."""
    platform = request.param
    db = make_factory_db(postgres_server, platform)
    db.seed(ROWS)
    root = tmp_path_factory.mktemp(f"parse-{platform}")
    render_dag_file(root / "dags", platform)
    run = AirflowRun(airflow_python, db, root)
    mark = statement_log.mark()
    result = run.parse()
    statements = statement_log.statements(mark, db.name, f"{platform}_factory_dag:parse")
    yield platform, result, statements
    drop_factory_db(db)


def dag_id(platform: str, key: str) -> str:
    return f"{platform}__{key}_ingestion"


def test_file_imports_cleanly_and_builds_one_dag_per_active_row_plus_the_factory(seeded):
    platform, result, _ = seeded
    assert result["import_errors"] == {}
    assert errors_of(result) == []
    assert result["dag_ids"] == sorted([f"{platform}_factory_dag"] + [dag_id(platform, k) for k in ACTIVE_IN_ORDER])
    assert dag_id(platform, "Retired") not in result["dag_ids"]


def test_dynamic_dags_are_built_in_stream_key_order(seeded):
    platform, result, _ = seeded
    assert result["built_order"] == [f"{platform}_factory_dag"] + [dag_id(platform, k) for k in ACTIVE_IN_ORDER]


def test_parse_runs_exactly_one_query_for_the_active_rows(seeded):
    """Every row but the disabled ones: a row of another status is read to be reported, not built."""
    _, _, statements = seeded
    assert len(statements) == 1, statements
    assert "WHERE status IS DISTINCT FROM 'disabled'" in statements[0]


@pytest.mark.parametrize("key, schedule", [("Store1", "@hourly"), ("Orders_ds", "15 2 * * *"), ("KafkaStore", None)])
def test_stream_dag_schedule_comes_from_schedule_string_and_null_means_no_schedule(seeded, key, schedule):
    platform, result, _ = seeded
    dag = result["dags"][dag_id(platform, key)]
    assert dag["schedule"] == schedule
    if schedule is None:
        assert dag["timetable"] == "NullTimetable"


def test_stream_dags_have_no_catchup_start_unpaused_and_carry_their_tags(seeded):
    platform, result, _ = seeded
    for key in ACTIVE_IN_ORDER:
        dag = result["dags"][dag_id(platform, key)]
        assert dag["catchup"] is False
        assert dag["is_paused_upon_creation"] is False
        assert dag["tags"] == sorted(["datasurface", "ingestion", platform, key])


def test_factory_dag_is_visible_every_five_minutes_unpaused_with_one_sync_task(seeded):
    platform, result, _ = seeded
    factory = result["dags"][f"{platform}_factory_dag"]
    assert factory["schedule"] == "*/5 * * * *"
    assert factory["is_paused_upon_creation"] is False
    assert factory["catchup"] is False
    assert factory["tags"] == sorted(["datasurface", "factory", platform, "dynamic-dag-manager"])
    assert [(t["task_id"], t["task_type"]) for t in factory["tasks"]] == [("sync_dynamic_dags", "PythonOperator")]


def job_command(platform: str, store: str, *extra: str) -> list[str]:
    return [
        "-m",
        "datasurface.platforms.yellow.jobs",
        "--platform-name",
        platform,
        "--store-name",
        store,
        "--operation",
        "snapshot-merge",
        *extra,
    ]


@pytest.mark.parametrize(
    "key, store, extra",
    [
        ("Store1", "Store1", ()),
        ("KafkaStore", "KafkaStore", ()),
        ("Orders_ds", "Orders", ("--dataset-name", "orders")),
    ],
)
def test_ingestion_task_runs_the_job_image_in_the_platform_namespace(seeded, key, store, extra):
    platform, result, _ = seeded
    [task] = result["dags"][dag_id(platform, key)]["tasks"]
    assert task["task_type"] == "KubernetesPodOperator"
    assert (task["namespace"], task["image"]) == (NAMESPACE, JOB_IMAGE)
    assert task["cmds"] == ["python"]
    assert task["arguments"] == job_command(platform, store, *extra)
    pod = task["pod"]
    assert (pod["namespace"], pod["image"]) == (NAMESPACE, JOB_IMAGE)
    assert pod["command"] + pod["args"] == ["python"] + job_command(platform, store, *extra)


def test_pod_reads_the_merge_database_credentials_by_secret_key_ref_never_as_values(seeded):
    platform, result, _ = seeded
    secret = f"{platform}-postgres-credentials"
    for key in ACTIVE_IN_ORDER:
        env = result["dags"][dag_id(platform, key)]["tasks"][0]["pod"]["env"]
        refs = {e["name"]: (e["secret_name"], e["secret_key"]) for e in env if e["secret_name"]}
        assert refs == {"postgres_USER": (secret, "username"), "postgres_PASSWORD": (secret, "password")}
        assert {e["name"] for e in env if e["value"]} >= {
            "DATASURFACE_POSTGRES_HOST",
            "DATASURFACE_POSTGRES_PORT",
            "DATASURFACE_POSTGRES_DATABASE",
        }
        assert all(e["value"] != ROLE_PASSWORD for e in env)


def test_every_dag_serializes_as_the_dag_processor_does_and_carries_no_password(seeded):
    _, result, _ = seeded
    assert sorted(result["serialized"]) == result["dag_ids"]
    for text in result["serialized"].values():
        assert ROLE_PASSWORD not in text and "fac'tory" not in text
