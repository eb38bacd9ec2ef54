"""The cluster stacks through the real engine, with the Kubernetes provider in render mode."""

from __future__ import annotations

import pytest
import yaml

from tests.e2e.test_local_stack import planned_steps

pytestmark = pytest.mark.e2e


def prepare_cluster_stack(project, stack: str, render_to) -> None:
    project.pulumi("stack", "select", "--create", stack)
    project.pulumi("config", "set", "--secret", "mergeDbPassword", f"{stack}-login-pw")
    project.pulumi("config", "set", "--secret", "adminPassword", f"{stack}-admin-pw")
    project.pulumi("config", "set", "renderManifestsTo", str(render_to))
    # No postgresql provider plugin can be built here (see README, "Status"): database objects via psycopg.
    project.pulumi("config", "set", "dbAdminVia", "dynamic")


@pytest.mark.parametrize("stack", ["yellowlive", "yellowforensic"])
def test_preview_of_a_cluster_stack_in_render_mode_succeeds(project, tmp_path, stack):
    prepare_cluster_stack(project, stack, tmp_path / "manifests")
    steps = planned_steps(project.pulumi("preview", "--json").stdout)
    patches = [name for (typ, name) in steps if typ == "kubernetes:apps/v1:DeploymentPatch"]
    assert sorted(patches) == [f"{stack}-airflow-deployment-airflow-dag-processor",
                               f"{stack}-airflow-deployment-airflow-scheduler"]
    assert ("pulumi-python:dynamic/datasurface:DsgTable", f"{stack}-merge-db-dsg-table") in steps


def test_a_config_value_of_the_wrong_type_is_refused_by_the_engine(project, tmp_path):
    prepare_cluster_stack(project, "yellowlive", tmp_path / "manifests")
    path = project.stack_file("yellowlive")
    document = yaml.safe_load(path.read_text())
    document["config"]["datasurface-yellow:mergeDbPort"] = "five-four-three-two"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    assert "Stack 'yellowlive' with configuration key 'mergeDbPort' must be of type 'integer'" in result.output
