"""The real engine on the local stack: preview, up, a no-op up, a row change, a row removal, destroy.

The tests run in file order and share one stack, as a user's sequence of commands would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

PLANNED = {
    ("kubernetes:core/v1:Secret", "yellowlive-credentials"),
    ("kubernetes:core/v1:ConfigMap", "yellowlive-factory-dag"),
    ("kubernetes:apps/v1:DeploymentPatch", "yellowlive-airflow-deployment-airflow-scheduler"),
    ("kubernetes:apps/v1:DeploymentPatch", "yellowlive-airflow-deployment-airflow-dag-processor"),
    ("pulumi-python:dynamic/datasurface:DatabaseAccess", "yellowlive-merge-db-access"),
    ("pulumi-python:dynamic/datasurface:DsgTable", "yellowlive-merge-db-dsg-table"),
}


def planned_steps(preview_json: str) -> dict[tuple[str, str], str]:
    steps = json.loads(preview_json)["steps"]
    out = {}
    for step in steps:
        urn = step["urn"]
        typ, name = urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]
        out[(typ, name)] = step["op"]
    return out


def table_rows(server, table="yellowlive_airflow_dsg") -> dict[str, tuple[str, str]]:
    with psycopg.connect(server.conninfo("datasurface_merge")) as conn:
        return {k: (c, s) for k, c, s in conn.execute(f"SELECT stream_key, config_json, status FROM {table}")}


def edit_seed_streams(project, stack, edit) -> None:
    path = project.stack_file(stack)
    document = yaml.safe_load(path.read_text())
    key = "datasurface-yellow:seedStreams"
    rows = [json.loads(r) for r in document["config"][key]]
    document["config"][key] = [json.dumps(r) for r in edit(rows)]
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))


def test_preview_lists_the_planned_resources(local_stack):
    project, _ = local_stack
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    assert PLANNED <= set(steps)
    assert all(steps[r] == "create" for r in PLANNED)


def test_up_creates_the_rows_and_renders_the_manifests(local_stack):
    project, server = local_stack
    project.pulumi("up", "--yes", "--skip-preview")
    rows = table_rows(server)
    assert set(rows) == {"Store1", "Store2", "Store3"}
    assert rows["Store3"][1] == "disabled"
    rendered = {p.name: p.read_text() for p in project.manifests.rglob("*.yaml")}
    configmaps = [yaml.safe_load(text) for text in rendered.values() if "kind: ConfigMap" in text]
    assert [c["metadata"]["name"] for c in configmaps] == ["yellowlive-factory-dag"]
    source = configmaps[0]["data"]["yellowlive_factory_dag.py"]
    compile(source, "yellowlive_factory_dag.py", "exec")
    patches = [yaml.safe_load(t) for t in rendered.values() if "kind: Deployment" in t]
    hosts = {e["value"] for p in patches for c in p["spec"]["template"]["spec"]["containers"]
             for e in c["env"] if e["name"] == "DATASURFACE_POSTGRES_HOST"}
    assert hosts == {"localhost"}
    secrets = [t for t in rendered.values() if "kind: Secret" in t]
    assert secrets and all(project.pulumi("config", "get", "mergeDbPassword").stdout.strip() not in t
                           for t in rendered.values() if "kind: Secret" not in t)


def test_what_was_deployed_is_shown_with_the_dags_airflow_builds_from_it(local_stack, tmp_path):
    """The main job's last step: manifests, the table as the login role reads it, the DAGs it yields."""
    project, _ = local_stack
    result = subprocess.run(
        [sys.executable, "-m", "devtools.show_local", "--manifests", str(project.manifests),
         "--dags", str(tmp_path / "dags"), "--login-user", "yellowlive_airflow"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MERGE_DB_PASSWORD": project.pulumi("config", "get", "mergeDbPassword").stdout.strip(),
             "AIRFLOW_HOME": str(tmp_path / "airflow-home")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ConfigMap    datasurface-local/yellowlive-factory-dag" in result.stdout
    assert "Store3     disabled" in result.stdout
    assert "yellowlive__Store1_ingestion" in result.stdout
    assert "yellowlive__Store2_ingestion" in result.stdout
    assert "yellowlive__Store3_ingestion" not in result.stdout


def test_a_second_up_changes_nothing(local_stack):
    project, server = local_stack
    before = table_rows(server)
    project.pulumi("preview", "--expect-no-changes")
    project.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes")
    assert table_rows(server) == before


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


def changed_steps(project) -> dict[tuple[str, str], str]:
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    return {r: op for r, op in steps.items() if op not in ("same", "read")}


def test_an_env_var_change_updates_only_the_patches_in_place(local_stack):
    project, _ = local_stack
    project.pulumi("config", "set", "mergeDbHost", "pg-data.datasurface-local.svc.cluster.local")
    try:
        diff = project.pulumi("preview", "--diff").stdout
        assert '~ value: "localhost" => "pg-data.datasurface-local.svc.cluster.local"' in diff
        assert changed_steps(project) == {
            ("datasurface:yellow:Platform", "yellowlive"): "update",
            ("kubernetes:apps/v1:DeploymentPatch", "yellowlive-airflow-deployment-airflow-scheduler"): "update",
            ("kubernetes:apps/v1:DeploymentPatch", "yellowlive-airflow-deployment-airflow-dag-processor"): "update",
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


def test_destroy_removes_the_table_and_the_rendered_manifests(local_stack):
    project, server = local_stack
    project.pulumi("destroy", "--yes", "--skip-preview")
    with psycopg.connect(server.conninfo("datasurface_merge")) as conn:
        assert conn.execute("SELECT to_regclass('yellowlive_airflow_dsg')").fetchone()[0] is None
    assert not list(project.manifests.rglob("*.yaml"))
