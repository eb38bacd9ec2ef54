"""An existing stack moves to the declared tables and least privilege in one `up`, with no row lost.

The committed yellowlive stack is applied by the real engine with the program as it was before the stack
declared the factory's tables (git commit BEFORE: the login role had CREATE and row writes, and the DAG
file created its ledger and audit tables at its first sync), the DAG file of that deployment runs its sync
as the login role, and someone writes a row with that role. Then the same stack, state and database get
one `up` of this program. The tests run in file order.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from components.factory_tables import drift, role_privileges
from components.factory_tables_sql import Tables
from components.naming import PlatformNames
from components.privileges import login_grants
from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from devtools.project_copy import PROJECT_FILES, copy_project
from devtools.show_local import extract_dag_files, rendered_documents
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Project, planned_steps

pytestmark = pytest.mark.e2e

# The last commit whose login role created the factory's tables itself.
BEFORE = "7c0c692a58df900ecf528af68a698e4a9569b612"
STACK = "yellowlive"
DATABASE = "datasurface_merge"
LOGIN = "yellowlive_airflow"
LOGIN_PASSWORD = "yellowlive-login-pw"
NAMES = PlatformNames("yellowlive", "postgres")
TABLES = Tables.of(NAMES)
AIRFLOW_DRIVER = REPO_ROOT / "tests" / "integration" / "airflow" / "airflow_driver.py"
EXTRA = json.dumps({"store_name": "Extra", "schedule_string": "@daily"})


def program_at(commit: str, target: Path) -> Path:
    """The project's files as they were at `commit` (from the repository's history), in `target`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", commit, *PROJECT_FILES],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    (target / ".venv").symlink_to(REPO_ROOT / ".venv")
    return target


def switch_to_this_program(project: Project) -> None:
    """This program's files in place of the old ones; the stack file (with its secrets) and state stay."""
    stack_file = project.stack_file(STACK).read_bytes()
    for name in PROJECT_FILES:
        path = project.root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    staging = copy_project(project.root.parent / "this-program")
    for name in PROJECT_FILES:
        shutil.move(str(staging / name), str(project.root / name))
    project.stack_file(STACK).write_bytes(stack_file)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("migration-pg"), free_port(), "admin-pw") as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory, pulumi_env, server) -> Project:
    root = tmp_path_factory.mktemp("migration")
    env = {**pulumi_env, "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('migration-state')}"}
    project = Project(root=program_at(BEFORE, root / "project"), env=env, manifests=root / "manifests")
    project.pulumi("stack", "init", STACK)
    for flags, key, value in (
        ((), "renderManifestsTo", str(project.manifests)),
        ((), "adminHost", server.host),
        (("--type", "int"), "adminPort", str(server.port)),
        (("--secret",), "mergeDbPassword", LOGIN_PASSWORD),
        (("--secret",), "adminPassword", server.password),
    ):
        project.pulumi("config", "set", *flags, key, value, "--stack", STACK)
    return project


def sync_as_the_login_role(project: Project, server: EmbeddedPostgres, folder: Path) -> dict:
    """The sync task of the DAG file the stack rendered, run in Airflow with the login role's credentials."""
    (dag_file,) = extract_dag_files(rendered_documents(project.manifests), folder)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATASURFACE_"))},
        "DATASURFACE_POSTGRES_HOST": server.host,
        "DATASURFACE_POSTGRES_PORT": str(server.port),
        "DATASURFACE_POSTGRES_DATABASE": DATABASE,
        "postgres_USER": LOGIN,
        "postgres_PASSWORD": LOGIN_PASSWORD,
        "AIRFLOW_HOME": str(folder / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATASURFACE_DAG_CACHE_DIR": str(folder / "cache"),
    }
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-airflow" / "bin" / "python"), str(AIRFLOW_DRIVER), "sync", str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["error"] is None, outcome
    return outcome["summary"]


def admin(server: EmbeddedPostgres) -> psycopg.Connection:
    return psycopg.connect(server.conninfo(DATABASE), autocommit=True)


def as_login(server: EmbeddedPostgres) -> psycopg.Connection:
    return psycopg.connect(server.conninfo(DATABASE, user=LOGIN, password=LOGIN_PASSWORD), autocommit=True)


def owners(server: EmbeddedPostgres) -> dict[str, str]:
    with admin(server) as conn:
        return dict(conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall())


def rows_of(server: EmbeddedPostgres, table: str, columns: str) -> list[tuple]:
    with admin(server) as conn:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1").fetchall()


@pytest.fixture(scope="module")
def before(project, server, tmp_path_factory) -> dict:
    """The old program applied, its DAG file's first sync run, and a row written with the login role."""
    project.pulumi("up", "--yes", "--skip-preview", "--stack", STACK)
    with as_login(server) as conn:
        conn.execute("INSERT INTO yellowlive_airflow_dsg (stream_key, config_json) VALUES ('Extra', %s)", (EXTRA,))
    summary = sync_as_the_login_role(project, server, tmp_path_factory.mktemp("old-dag"))
    return {
        "summary": summary,
        "ledger": rows_of(server, TABLES.ledger, "stream_key, config_hash"),
        "audit": rows_of(server, TABLES.audit, "id, stream_key, change, run_id"),
        "dsg": rows_of(server, TABLES.dsg, "stream_key, config_json, status"),
    }


def test_the_old_program_left_the_login_role_owning_the_factorys_tables(before, server):
    assert owners(server)[TABLES.ledger] == owners(server)[TABLES.audit] == LOGIN
    assert "yellowlive__Extra_ingestion" in before["summary"]["created"]
    assert len(before["ledger"]) == len(before["audit"]) == 3  # Store1, Store2 and Extra are active


def test_the_preview_updates_the_grants_in_place_and_creates_the_factory_tables(before, project):
    switch_to_this_program(project)
    steps = planned_steps(project.pulumi("preview", "--json", "--stack", STACK).stdout)
    changed = {key: op for key, op in steps.items() if op not in ("same", "read")}
    assert changed == {
        ("postgresql:index/grant:Grant", "yellowlive-merge-db-database-grant"): "update",
        ("postgresql:index/grant:Grant", "yellowlive-merge-db-schema-grant"): "update",
        ("pulumi-python:dynamic/datasurface:FactoryTables", "yellowlive-merge-db-factory-tables"): "create",
        ("pulumi-python:dynamic/datasurface:DsgTable", "yellowlive-merge-db-dsg-table"): "update",
        ("kubernetes:core/v1:ConfigMap", "yellowlive-factory-dag"): "update",
        # The provider now holds an empty kubeconfig instead of $KUBECONFIG's path (or nothing): once.
        ("pulumi:providers:kubernetes", "yellowlive-kubernetes"): "update",
        # The credentials digest each patched pod template now carries: one rollout, once.
        ("kubernetes:apps/v1:DeploymentPatch", "yellowlive-airflow-deployment-airflow-scheduler"): "update",
        ("kubernetes:apps/v1:DeploymentPatch", "yellowlive-airflow-deployment-airflow-dag-processor"): "update",
    }, changed


def test_one_up_moves_the_tables_to_the_admin_role_with_every_row(before, project, server):
    project.pulumi("up", "--yes", "--skip-preview", "--stack", STACK)
    assert owners(server) == {name: server.user for name in (TABLES.dsg, *TABLES.owned)}
    assert rows_of(server, TABLES.ledger, "stream_key, config_hash") == before["ledger"]
    assert rows_of(server, TABLES.audit, "id, stream_key, change, run_id") == before["audit"]
    assert rows_of(server, TABLES.dsg, "stream_key, config_json, status") == before["dsg"]  # 'Extra' kept


def test_after_the_move_the_login_role_holds_exactly_its_grants(before, server):
    with admin(server) as conn:
        held = role_privileges(conn.cursor(), LOGIN, [TABLES.dsg, *TABLES.owned, TABLES.audit_sequence])
        database = conn.execute(
            "SELECT has_database_privilege(%(r)s, %(d)s, 'CREATE'), has_database_privilege(%(r)s, %(d)s, 'TEMPORARY'), "
            "has_schema_privilege(%(r)s, 'public', 'CREATE')",
            {"r": LOGIN, "d": DATABASE},
        ).fetchone()
    assert held == {g.name: set(g.privileges) for g in login_grants(NAMES)}
    assert database == (False, False, False)
    with as_login(server) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO yellowlive_airflow_dsg (stream_key, config_json) VALUES ('Evil', '{}')")


def test_the_new_dag_file_syncs_as_the_login_role_from_the_kept_ledger(before, project, server, tmp_path):
    summary = sync_as_the_login_role(project, server, tmp_path)
    assert summary["total_changes"] == 0 and summary["active"] == 3, summary


def test_the_moved_stack_is_converged(before, project, server):
    project.pulumi("preview", "--expect-no-changes", "--stack", STACK)
    # What a refresh of FactoryTables would find (render mode has no cluster for the others to refresh).
    state = json.loads(project.pulumi("stack", "export", "--stack", STACK).stdout)
    (tables,) = [r for r in state["deployment"]["resources"] if r["type"].endswith("datasurface:FactoryTables")]
    with admin(server) as conn:
        assert drift(conn.cursor(), tables["inputs"]) == []


def test_destroy_keeps_the_database_and_every_row_others_wrote(before, project, server):
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK)
    kept = owners(server)
    # The dsg table holds a row someone else wrote ('Extra'): it stays with that row and only the stack's
    # rows go, which the history records, so the history stays too; the ledger and audit hold the
    # factory's rows and stay.
    assert {name: kept.get(name) for name in (TABLES.dsg, *TABLES.owned)} == {
        TABLES.dsg: server.user,
        TABLES.ledger: server.user,
        TABLES.audit: server.user,
        TABLES.history: server.user,
    }
    assert [key for key, *_ in rows_of(server, TABLES.dsg, "stream_key")] == ["Extra"]
    assert rows_of(server, TABLES.ledger, "stream_key, config_hash") == before["ledger"]
    with admin(server) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (LOGIN,)).fetchone() is None
