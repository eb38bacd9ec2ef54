"""The cluster stacks through the real engine, with the Kubernetes provider in render mode and the admin
endpoint on an embedded PostgreSQL that already holds the merge database (as yellowlive leaves it)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import yaml

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.e2e.conftest import planned_steps

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin_endpoint(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("cluster-pg"), free_port(), "cluster-admin-pw") as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE datasurface_merge")
        yield server


def prepare_cluster_stack(project, stack: str, render_to, server: EmbeddedPostgres) -> None:
    project.pulumi("stack", "select", "--create", stack)
    project.pulumi("config", "set", "--secret", "mergeDbPassword", f"{stack}-login-pw")
    project.pulumi("config", "set", "--secret", "adminPassword", server.password)
    project.pulumi("config", "set", "--type", "int", "adminPort", str(server.port))
    project.pulumi("config", "set", "renderManifestsTo", str(render_to))


@pytest.mark.parametrize("stack", ["yellowlive", "yellowforensic"])
def test_preview_of_a_cluster_stack_in_render_mode_succeeds(project, tmp_path, stack, admin_endpoint):
    prepare_cluster_stack(project, stack, tmp_path / "manifests", admin_endpoint)
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    patches = [name for (typ, name) in steps if typ == "kubernetes:apps/v1:DeploymentPatch"]
    assert sorted(patches) == [
        f"{stack}-airflow-deployment-airflow-dag-processor",
        f"{stack}-airflow-deployment-airflow-scheduler",
    ]
    assert ("pulumi-python:dynamic/datasurface:DsgTable", f"{stack}-merge-db-dsg-table") in steps
    # The database exists: yellowlive, which owns it, adopts it; yellowforensic only uses it.
    database = steps.get(("postgresql:index/database:Database", f"{stack}-merge-db-database"))
    assert database == ("import" if stack == "yellowlive" else None)


def test_a_config_value_of_the_wrong_type_is_refused_by_the_engine(project, tmp_path, admin_endpoint):
    prepare_cluster_stack(project, "yellowlive", tmp_path / "manifests", admin_endpoint)
    path = project.stack_file("yellowlive")
    document = yaml.safe_load(path.read_text())
    document["config"]["datasurface-yellow:mergeDbPort"] = "five-four-three-two"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    assert "Stack 'yellowlive' with configuration key 'mergeDbPort' must be of type 'integer'" in result.output
