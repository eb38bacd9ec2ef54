"""The real engine on the local stack, applied to a local control plane: preview, up, a no-op up, a row
change, a row removal, destroy, and the same stack rendered to a folder instead.

The tests run in file order and share one stack, as a user's sequence of commands would.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from components import dsg_sql
from devtools.airflow_chart import chart_manifests
from devtools.control_plane import kubectl_env
from devtools.show_local import cluster_documents, extract_dag_files, rendered_documents, workload_env
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import edit_seed_streams, planned_steps

pytestmark = pytest.mark.e2e

WORKLOAD_PATCH = "pulumi-python:dynamic/datasurface:WorkloadPatch"
DSG_TABLE_TYPE = "pulumi-python:dynamic/datasurface:DsgTable"
PLANNED = {
    ("kubernetes:core/v1:Secret", "yellowlive-credentials"),
    ("kubernetes:core/v1:ConfigMap", "yellowlive-factory-dag"),
    (WORKLOAD_PATCH, "yellowlive-airflow-deployment-airflow-scheduler"),
    (WORKLOAD_PATCH, "yellowlive-airflow-deployment-airflow-dag-processor"),
    ("pulumi:providers:postgresql", "yellowlive-merge-db-admin"),
    ("pulumi:providers:postgresql", "yellowlive-merge-db-merge-admin"),
    ("postgresql:index/database:Database", "yellowlive-merge-db-database"),
    ("postgresql:index/role:Role", "yellowlive-merge-db-role"),
    ("postgresql:index/grant:Grant", "yellowlive-merge-db-database-grant"),
    ("postgresql:index/grant:Grant", "yellowlive-merge-db-schema-grant"),
    ("pulumi-python:dynamic/datasurface:DsgTable", "yellowlive-merge-db-dsg-table"),
    ("pulumi-python:dynamic/datasurface:FactoryTables", "yellowlive-merge-db-factory-tables"),
}


AIRFLOW_DRIVER = REPO_ROOT / "tests" / "integration" / "airflow" / "airflow_driver.py"
LOGIN_ROLE = "yellowlive_airflow"
DSG_TABLE = "yellowlive_airflow_dsg"
FACTORY_TABLES = ("yellowlive_airflow_dsg_ledger", "yellowlive_airflow_dsg_audit", "yellowlive_airflow_dsg_history")


def deployed(project) -> list[tuple[str, dict]]:
    """The stack's namespace as the API server holds it."""
    return cluster_documents(Path(project.env["KUBECONFIG"]), config_value(project, "namespace"))


def of_kind(documents, kind: str) -> list[dict]:
    return [document for _, document in documents if document["kind"] == kind]


def config_value(project, key: str) -> str:
    return project.pulumi("config", "get", key).stdout.strip()


def connect_as_login_role(server, password: str) -> psycopg.Connection:
    return psycopg.connect(server.conninfo("datasurface_merge", user=LOGIN_ROLE, password=password), autocommit=True)


def table_rows(server, table=DSG_TABLE) -> dict[str, tuple[str, str]]:
    with psycopg.connect(server.conninfo("datasurface_merge")) as conn:
        return {k: (c, s) for k, c, s in conn.execute(f"SELECT stream_key, config_json, status FROM {table}")}


def run_airflow_driver(project, tmp_path, command: str) -> subprocess.CompletedProcess:
    """The factory DAG file from the ConfigMap in the API server, run by Airflow with the workload's env and
    the credentials the Secret gives the pods."""
    documents = deployed(project)
    (dag_file,) = extract_dag_files(documents, tmp_path / "dags")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATASURFACE_"))},
        **workload_env(documents),
        "postgres_USER": LOGIN_ROLE,
        "postgres_PASSWORD": config_value(project, "mergeDbPassword"),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATASURFACE_DAG_CACHE_DIR": str(tmp_path / "cache"),
        # The KubernetesPodOperator builds its pod with a client of this cluster.
        "KUBECONFIG": project.env["KUBECONFIG"],
    }
    airflow_python = REPO_ROOT / ".venv-airflow" / "bin" / "python"
    return subprocess.run(
        [str(airflow_python), str(AIRFLOW_DRIVER), command, str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_preview_lists_the_planned_resources(local_stack):
    project, _ = local_stack
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    assert PLANNED <= set(steps)
    assert all(steps[r] == "create" for r in PLANNED)


def test_preview_shows_the_login_password_only_as_a_secret(local_stack):
    project, _ = local_stack
    diff = project.pulumi("preview", "--diff").stdout
    role_block = diff[diff.index("postgresql:index/role:Role") :]
    assert "password" in role_block and "[secret]" in role_block.split("password", 1)[1].splitlines()[0]
    for key in ("mergeDbPassword", "adminPassword"):
        assert config_value(project, key) not in diff


def test_up_creates_the_rows_and_applies_the_objects(local_stack):
    project, server = local_stack
    up = project.pulumi("up", "--yes", "--skip-preview")
    # Every plugin comes from the plugin cache or beside the CLI, none from PATH with a warning.
    assert "from $PATH" not in up.output
    rows = table_rows(server)
    assert set(rows) == {"Store1", "Store2", "Store3"}
    assert rows["Store3"][1] == "disabled"
    documents = deployed(project)
    configmaps = {c["metadata"]["name"]: c for c in of_kind(documents, "ConfigMap")}
    source = configmaps["yellowlive-factory-dag"]["data"]["yellowlive_factory_dag.py"]
    compile(source, "yellowlive_factory_dag.py", "exec")
    hosts = {
        e["value"]
        for d in of_kind(documents, "Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
        for e in c["env"]
        if e["name"] == "DATASURFACE_POSTGRES_HOST"
    }
    assert hosts == {"localhost"}
    assert [s["metadata"]["name"] for s in of_kind(documents, "Secret")] == ["yellowlive-postgres-credentials"]
    password = config_value(project, "mergeDbPassword")
    assert all(password not in json.dumps(d) for _, d in documents if d["kind"] != "Secret")


def test_up_creates_the_login_role_the_database_and_the_grants(local_stack):
    project, server = local_stack
    with psycopg.connect(server.conninfo()) as conn:
        role = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s", (LOGIN_ROLE,)
        ).fetchone()
        assert role == (True, False, False, False)
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'datasurface_merge'").fetchone()
        privileges = conn.execute(
            "SELECT has_database_privilege(%(r)s, 'datasurface_merge', 'CONNECT'), "
            "has_database_privilege(%(r)s, 'datasurface_merge', 'CREATE'), "
            "has_database_privilege(%(r)s, 'datasurface_merge', 'TEMPORARY')",
            {"r": LOGIN_ROLE},
        ).fetchone()
        assert privileges == (True, False, False)  # TEMPORARY is PUBLIC's no more: this stack owns the database


def test_the_state_holds_no_password_in_plain_text(local_stack):
    project, _ = local_stack
    state = project.pulumi("stack", "export").stdout
    assert '"type": "postgresql:index/role:Role"' in state
    for key in ("mergeDbPassword", "adminPassword"):
        assert config_value(project, key) not in state


def test_the_login_role_runs_the_factory_sync_and_has_no_more_rights(local_stack, tmp_path):
    """The factory DAG file as deployed, run as the role Airflow uses: it reads the dsg table and keeps
    the ledger and audit tables the stack declared. The role cannot do what the design does not give it."""
    project, server = local_stack
    password = config_value(project, "mergeDbPassword")
    result = run_airflow_driver(project, tmp_path, "sync")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])["summary"]
    assert sorted(summary["created"]) == ["yellowlive__Store1_ingestion", "yellowlive__Store2_ingestion"], summary
    # Each created DAG is traced to the history entry of the seed row Pulumi inserted.
    assert sorted(summary["history"]) == sorted(summary["created"])

    with connect_as_login_role(server, password) as conn:
        owners = dict(
            conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE tablename LIKE 'yellowlive%' ").fetchall()
        )
        assert owners == {table: server.user for table in (DSG_TABLE, *FACTORY_TABLES)}, owners
        for forbidden in (
            "CREATE DATABASE stolen",
            "CREATE ROLE stolen",
            "CREATE TABLE stolen (x int)",
            "CREATE TEMP TABLE stolen (x int)",
            "CREATE EXTENSION IF NOT EXISTS dblink",
            f"INSERT INTO {DSG_TABLE} (stream_key, config_json) VALUES ('Evil', '{{\"store_name\": \"Evil\"}}')",
            f"UPDATE {DSG_TABLE} SET status = 'active'",
            f"DELETE FROM {DSG_TABLE}",
            *(f"DROP TABLE {table}" for table in (DSG_TABLE, *FACTORY_TABLES)),
            *(f"ALTER TABLE {table} ADD COLUMN stolen int" for table in (DSG_TABLE, *FACTORY_TABLES)),
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(forbidden)


def test_what_was_deployed_is_shown_with_the_dags_airflow_builds_from_it(local_stack, tmp_path):
    """The main job's last step: manifests, the table as the login role reads it, the DAGs it yields."""
    project, _ = local_stack
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.show_local",
            "--kubeconfig",
            project.env["KUBECONFIG"],
            "--namespace",
            "datasurface-local",
            "--dags",
            str(tmp_path / "dags"),
            "--login-user",
            "yellowlive_airflow",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "MERGE_DB_PASSWORD": project.pulumi("config", "get", "mergeDbPassword").stdout.strip(),
            "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ConfigMap    datasurface-local/yellowlive-factory-dag" in result.stdout
    assert "Store3     disabled" in result.stdout
    assert "yellowlive__Store1_ingestion" in result.stdout
    assert "yellowlive__Store2_ingestion" in result.stdout
    assert "yellowlive__Store3_ingestion" not in result.stdout


def test_the_pod_an_ingestion_dag_launches_is_accepted_by_the_api_server(local_stack, tmp_path):
    """Built by the deployed DAG file's own code, created server-side with dry run in the stack's namespace."""
    project, _ = local_stack
    result = run_airflow_driver(project, tmp_path, "parse")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert not parsed["import_errors"], parsed["import_errors"]
    (task,) = parsed["dags"]["yellowlive__Store1_ingestion"]["tasks"]
    pod = task["pod"]["manifest"]
    assert pod["metadata"]["namespace"] == "datasurface-local"
    kubeconfig = Path(project.env["KUBECONFIG"])
    created = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "create", "--dry-run=server", "-o", "json", "-f", "-"],
        input=json.dumps(pod),
        capture_output=True,
        text=True,
        timeout=60,
        env=kubectl_env(kubeconfig),
    )
    assert created.returncode == 0, created.stderr
    accepted = json.loads(created.stdout)
    assert accepted["spec"]["containers"][0]["image"] == "datasurface/datasurface:0.9.6"
    (secret,) = of_kind(deployed(project), "Secret")
    references = [
        e["valueFrom"]["secretKeyRef"]
        for c in accepted["spec"]["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]
    assert references, accepted["spec"]["containers"]
    for reference in references:
        assert reference["name"] == secret["metadata"]["name"]
        assert reference["key"] in secret["data"], (reference, sorted(secret["data"]))


def test_a_second_up_changes_nothing(local_stack):
    project, server = local_stack
    before = table_rows(server)
    project.pulumi("preview", "--expect-no-changes")
    project.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert table_rows(server) == before


def test_a_state_that_holds_the_rows_in_the_outputs_previews_no_change(local_stack, tmp_path):
    """Before the outputs kept one digest per row they kept the rows themselves, and before the inputs kept
    the rows as one text they kept them as a map: such a state is read the same way, so nothing is to do,
    and the next tests change rows from it."""
    project, _ = local_stack
    state = json.loads(project.pulumi("stack", "export").stdout)
    (table,) = [r for r in state["deployment"]["resources"] if r["type"] == DSG_TABLE_TYPE]
    rows = dsg_sql.rows_from_text(table["inputs"]["rows"])
    assert "rows" not in table["outputs"] and set(table["outputs"]["row_digests"]) == set(rows)
    table["inputs"]["rows"] = rows
    table["outputs"]["rows"] = rows
    del table["outputs"]["row_digests"]
    (tmp_path / "state.json").write_text(json.dumps(state))
    project.pulumi("stack", "import", "--file", str(tmp_path / "state.json"))
    project.pulumi("preview", "--expect-no-changes")
    # The first `up` after the upgrade changes nothing and writes the inputs in today's shape, so a row
    # change after it previews as that row's lines only.
    assert "to update" not in project.pulumi("up", "--yes").stdout
    state = json.loads(project.pulumi("stack", "export").stdout)
    (table,) = [r for r in state["deployment"]["resources"] if r["type"] == DSG_TABLE_TYPE]
    assert isinstance(table["inputs"]["rows"], str)


def test_changing_one_seed_row_previews_and_applies_exactly_that_row(local_stack):
    project, server = local_stack

    def reschedule_store2(rows):
        for row in rows:
            if row["stream_key"] == "Store2":
                row["config"]["schedule_string"] = "@daily"
        return rows

    edit_seed_streams(project, "local", reschedule_store2)
    diff = project.pulumi("preview", "--diff").stdout
    changed_lines = [line for line in diff.splitlines() if line.lstrip().startswith(("~", "+", "-"))]
    assert any("Store2" in line for line in changed_lines), diff
    assert not any("Store1" in line or "Store3" in line for line in changed_lines), diff
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    assert [r for r, op in steps.items() if op not in ("same", "read")] == [
        ("pulumi-python:dynamic/datasurface:DsgTable", "yellowlive-merge-db-dsg-table")
    ]
    project.pulumi("up", "--yes", "--skip-preview")
    assert json.loads(table_rows(server)["Store2"][0])["schedule_string"] == "@daily"


def test_removing_a_seed_row_deletes_it_from_the_table(local_stack):
    project, server = local_stack
    edit_seed_streams(project, "local", lambda rows: [r for r in rows if r["stream_key"] != "Store3"])
    project.pulumi("up", "--yes", "--skip-preview")
    assert set(table_rows(server)) == {"Store1", "Store2"}


def test_a_row_deleted_by_hand_is_found_by_a_refreshed_preview_and_written_back(local_stack):
    project, server = local_stack
    with psycopg.connect(server.conninfo("datasurface_merge"), autocommit=True) as conn:
        conn.execute(f"DELETE FROM {DSG_TABLE} WHERE stream_key = 'Store1'")
    project.pulumi("preview", "--expect-no-changes")  # the state still says the row is there
    ops = planned_steps(project.pulumi("preview", "--refresh", "--json").stdout)
    changed = {key: op for key, op in ops.items() if op not in ("same", "refresh")}
    assert changed == {(DSG_TABLE_TYPE, "yellowlive-merge-db-dsg-table"): "update"}, ops
    project.pulumi("up", "--yes", "--skip-preview", "--refresh")
    assert set(table_rows(server)) == {"Store1", "Store2"}


def changed_steps(project) -> dict[tuple[str, str], str]:
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    return {r: op for r, op in steps.items() if op not in ("same", "read")}


def test_a_host_change_updates_the_patches_and_the_task_pods_override_in_place(local_stack):
    """The host reaches the workloads by their patches and the task pods by the override rendered into the
    factory file (the ConfigMap): those three change, in place, and nothing else."""
    project, _ = local_stack
    project.pulumi("config", "set", "mergeDbHost", "pg-data.datasurface-local.svc.cluster.local")
    try:
        diff = project.pulumi("preview", "--diff").stdout
        assert '~ value: "localhost" => "pg-data.datasurface-local.svc.cluster.local"' in diff
        assert changed_steps(project) == {
            ("datasurface:yellow:Platform", "yellowlive"): "update",
            (WORKLOAD_PATCH, "yellowlive-airflow-deployment-airflow-scheduler"): "update",
            (WORKLOAD_PATCH, "yellowlive-airflow-deployment-airflow-dag-processor"): "update",
            ("kubernetes:core/v1:ConfigMap", "yellowlive-factory-dag"): "update",
        }
    finally:
        project.pulumi("config", "set", "mergeDbHost", "localhost")


def test_a_template_change_updates_the_configmap_in_place_with_a_line_diff(local_stack):
    project, _ = local_stack
    template = project.root / "templates" / "factory_dag.py.j2"
    original = template.read_text()
    template.write_text("# reviewed change\n" + original)
    try:
        diff = project.pulumi("preview", "--diff").stdout
        assert "+ # reviewed change" in diff
        assert changed_steps(project) == {("kubernetes:core/v1:ConfigMap", "yellowlive-factory-dag"): "update"}
    finally:
        template.write_text(original)


def test_a_password_change_updates_the_role_and_the_secret_in_place(local_stack):
    project, server = local_stack
    old_password = config_value(project, "mergeDbPassword")
    new_password = "rotated-" + old_password[::-1]
    project.pulumi("config", "set", "--secret", "mergeDbPassword", new_password)
    assert changed_steps(project) == {
        ("postgresql:index/role:Role", "yellowlive-merge-db-role"): "update",
        ("kubernetes:core/v1:Secret", "yellowlive-credentials"): "update",
        # The credentials digest in each patched pod template changes: the rotation rolls them out.
        (WORKLOAD_PATCH, "yellowlive-airflow-deployment-airflow-scheduler"): "update",
        (WORKLOAD_PATCH, "yellowlive-airflow-deployment-airflow-dag-processor"): "update",
    }
    output = project.pulumi("up", "--yes", "--skip-preview").stdout
    assert "replace" not in output and "deleted" not in output, output
    with connect_as_login_role(server, new_password) as conn:
        assert conn.execute(f"SELECT count(*) FROM {DSG_TABLE}").fetchone()[0] == 2
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect_as_login_role(server, old_password)
    (secret,) = of_kind(deployed(project), "Secret")
    assert {base64.b64decode(v).decode() for v in secret["data"].values()} == {LOGIN_ROLE, new_password}


def test_destroy_drops_the_table_and_the_role_and_keeps_the_database_and_the_rows_others_wrote(local_stack):
    project, server = local_stack
    project.pulumi("destroy", "--yes", "--skip-preview")
    with psycopg.connect(server.conninfo("datasurface_merge")) as conn:
        assert conn.execute("SELECT to_regclass('yellowlive_airflow_dsg')").fetchone()[0] is None
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (LOGIN_ROLE,)).fetchone()
        # The ledger and audit rows the factory wrote, and the history of every change, stay (admin-owned);
        # the trigger's function goes, and PUBLIC gets TEMPORARY back.
        owners = dict(
            conn.execute(
                "SELECT tablename, tableowner FROM pg_tables WHERE tablename LIKE 'yellowlive_airflow_dsg_%'"
            ).fetchall()
        )
        assert owners == {table: server.user for table in FACTORY_TABLES}
        assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'yellowlive%'").fetchone() == (0,)
        assert conn.execute("SELECT has_database_privilege('public', 'datasurface_merge', 'TEMPORARY')").fetchone() == (
            True,
        )
    documents = deployed(project)
    assert not of_kind(documents, "Secret")
    assert "yellowlive-factory-dag" not in {c["metadata"]["name"] for c in of_kind(documents, "ConfigMap")}
    chart = {m["metadata"]["name"]: m for m in chart_manifests("datasurface-local") if m["kind"] == "Deployment"}
    for deployment in of_kind(documents, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (chart_container,) = chart[deployment["metadata"]["name"]]["spec"]["template"]["spec"]["containers"]
        assert container["env"] == chart_container["env"]
        assert container["volumeMounts"] == chart_container["volumeMounts"]


def test_render_mode_writes_the_manifests_to_a_folder_instead(local_stack):
    on_cluster, _ = local_stack
    # As scripts/run_local.sh does: no kubeconfig, which the provider refuses beside renderManifestsTo.
    project = replace(on_cluster, env={k: v for k, v in on_cluster.env.items() if k != "KUBECONFIG"})
    project.pulumi("config", "set", "renderManifestsTo", str(project.manifests))
    try:
        project.pulumi("up", "--yes", "--skip-preview")
        documents = [d for _, d in rendered_documents(project.manifests)]
        assert sorted(d["kind"] for d in documents) == ["ConfigMap", "Deployment", "Deployment", "Secret"]
        env = workload_env([(None, d) for d in documents])
        assert env["DATASURFACE_POSTGRES_HOST"] == "localhost"
        project.pulumi("destroy", "--yes", "--skip-preview")
        assert not list(project.manifests.rglob("*.yaml"))
    finally:
        project.pulumi("config", "rm", "renderManifestsTo")
