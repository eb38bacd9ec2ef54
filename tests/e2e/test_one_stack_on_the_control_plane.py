"""The committed yellowlive stack applied by the real engine to a real API server (devtools/control_plane.py)
on top of what the Airflow chart left there, with its merge database on an embedded PostgreSQL.

Only the cluster's kubeconfig, the admin endpoint and the secrets differ from the committed stack file.
One stack only: two stacks on one cluster still conflict (see README, "Live and forensic on the same
Airflow").
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

from components.factory_dag import factory_dag_values, render_factory_dag
from components.settings import parse_settings
from devtools.airflow_chart import AIRFLOW_IMAGE, WORKLOADS, apply_chart, chart_manifests
from devtools.control_plane import ControlPlane
from devtools.embedded_pg import EmbeddedPostgres
from tests.e2e.conftest import Project, copy_project
from tests.integration.conftest import free_port
from tests.program_harness import load_stack_config

pytestmark = pytest.mark.e2e

STACK = "yellowlive"
CONFIG = load_stack_config(STACK)
NAMESPACE = CONFIG["namespace"]
LOGIN_PASSWORD = "yellowlive-login-pw"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, toolchain_bin) -> ControlPlane:
    with ControlPlane(tmp_path_factory.mktemp("cluster"), toolchain_bin) as cluster:
        apply_chart(cluster.kubeconfig, NAMESPACE)
        yield cluster


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, pulumi_env, cluster) -> Project:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("cluster-pg"), free_port(), "admin-pw").start()
    root = tmp_path_factory.mktemp("cluster-project")
    env = {
        **pulumi_env,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('cluster-state')}",
    }
    project = Project(root=copy_project(root), env=env, manifests=root / "unused")
    project.pulumi("stack", "init", STACK)
    for flags, key, value in (
        (("--type", "int"), "adminPort", str(server.port)),
        ((), "adminHost", server.host),
        (("--secret",), "adminPassword", server.password),
        (("--secret",), "mergeDbPassword", LOGIN_PASSWORD),
    ):
        project.pulumi("config", "set", *flags, key, value)
    project.pulumi("up", "--yes", "--skip-preview")
    yield project
    server.stop()


def live(cluster: ControlPlane, kind: str, name: str) -> dict:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", NAMESPACE, "get", f"{kind}/{name}", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECACHEDIR": str(cluster.folder / "cache")},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def chart_container(deployment: str) -> dict:
    (manifest,) = [m for m in chart_manifests(NAMESPACE) if m["metadata"]["name"] == deployment]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("deployment", sorted(WORKLOADS))
def test_each_workload_gets_the_dag_volume_and_the_database_env_beside_the_charts_own(deployed, cluster, deployment):
    spec = live(cluster, "deployment", deployment)["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["name"] == WORKLOADS[deployment] and container["image"] == AIRFLOW_IMAGE
    env = {e["name"]: e for e in container["env"]}
    assert env["DATASURFACE_POSTGRES_HOST"]["value"] == CONFIG["mergeDbHost"]
    for name, key in (("postgres_USER", "postgres_USER"), ("postgres_PASSWORD", "postgres_PASSWORD")):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "yellowlive-postgres-credentials", "key": key}
        assert "value" not in env[name]
    chart = chart_container(deployment)
    assert env["AIRFLOW__CORE__EXECUTOR"] == chart["env"][0]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/opt/airflow/dags": "dags", "/opt/airflow/dags/yellowlive": "yellowlive-factory-dag"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["dags"] == {"name": "dags", "emptyDir": {}}
    assert volumes["yellowlive-factory-dag"]["configMap"]["name"] == "yellowlive-factory-dag"


def test_the_secret_has_both_key_variants(deployed, cluster):
    data = live(cluster, "secret", "yellowlive-postgres-credentials")["data"]
    decoded = {key: base64.b64decode(value).decode() for key, value in data.items()}
    assert decoded == {
        "username": "yellowlive_airflow",
        "password": LOGIN_PASSWORD,
        "postgres_USER": "yellowlive_airflow",
        "postgres_PASSWORD": LOGIN_PASSWORD,
    }


def test_the_configmap_holds_exactly_the_locally_rendered_dag_file(deployed, cluster):
    settings = parse_settings({**CONFIG, "mergeDbPassword": LOGIN_PASSWORD, "adminPassword": "unused"})
    expected = render_factory_dag(factory_dag_values(settings))
    data = live(cluster, "configmap", "yellowlive-factory-dag")["data"]
    assert data == {"yellowlive_factory_dag.py": expected}


def test_a_password_change_updates_the_secret_in_place_without_a_moment_of_absence(deployed, cluster):
    before = live(cluster, "secret", "yellowlive-postgres-credentials")["metadata"]["uid"]
    watch = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "-n",
            NAMESPACE,
            "get",
            "secret",
            "yellowlive-postgres-credentials",
            "--watch",
            "--output-watch-events",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "KUBECACHEDIR": str(cluster.folder / "cache")},
    )
    try:
        deployed.pulumi("config", "set", "--secret", "mergeDbPassword", "rotated-" + LOGIN_PASSWORD)
        deployed.pulumi("up", "--yes", "--skip-preview")
    finally:
        watch.terminate()
        events, _ = watch.communicate(timeout=30)
    kinds = [json.loads(line)["type"] for line in events.splitlines() if line.startswith('{"type"')]
    assert "MODIFIED" in kinds and "DELETED" not in kinds, kinds
    after = live(cluster, "secret", "yellowlive-postgres-credentials")
    assert after["metadata"]["uid"] == before
    assert base64.b64decode(after["data"]["password"]).decode() == "rotated-" + LOGIN_PASSWORD
