"""What the local Airflow takes from the API server: the workloads' environment and DAG files, computed from the
objects as the stack and the chart leave them."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from components.credentials import credentials_secret_manifest
from components.factory_dag import configmap_manifest
from components.factory_pod import dag_volume, dag_volume_mount, database_env
from components.settings import Settings, parse_settings
from devtools.airflow_chart import chart_manifests
from devtools.kubelet_view import (
    NamespaceView,
    WorkloadRef,
    WorkloadViewError,
    container_dags_folder,
    merge_files,
    projected_files,
    resolve_env,
    workload_for,
)
from tests.program_harness import valid_raw

NAMESPACE = "datasurface-local"
SCHEDULER = WorkloadRef("Deployment", "airflow-scheduler")
DAG_PROCESSOR = WorkloadRef("Deployment", "airflow-dag-processor")


@pytest.fixture
def settings() -> Settings:
    return parse_settings(valid_raw(namespace=NAMESPACE, mergeDbHost="localhost", mergeDbPassword="l0gin:pw"))


def as_served(secret: dict[str, Any]) -> dict[str, Any]:
    """A Secret as the API server returns it: stringData encoded into data."""
    served = {k: v for k, v in secret.items() if k != "stringData"}
    served["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in secret["stringData"].items()}
    return served


def patched(settings: Settings, name: str) -> dict[str, Any]:
    """The chart's Deployment with the stack's entries merged in, as server-side apply leaves it."""
    (deployment,) = [m for m in chart_manifests(NAMESPACE) if m["metadata"]["name"] == name]
    deployment = copy.deepcopy(deployment)
    pod = deployment["spec"]["template"]["spec"]
    pod["containers"][0]["env"] += database_env(settings)
    pod["containers"][0]["volumeMounts"].append(dag_volume_mount(settings))
    pod["volumes"].append(dag_volume(settings))
    return deployment


@pytest.fixture
def view(settings) -> NamespaceView:
    return NamespaceView(
        workloads={ref: patched(settings, ref.name) for ref in (SCHEDULER, DAG_PROCESSOR)},
        secrets=[as_served(credentials_secret_manifest(settings, "yellowlive_airflow", "l0gin:pw"))],
        configmaps=[configmap_manifest(settings, "# the factory file\n")],
    )


def test_the_environment_resolves_the_credentials_from_the_secret_and_keeps_the_charts_entries(view):
    assert view.env(SCHEDULER) == {
        "AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor",
        "DATASURFACE_POSTGRES_HOST": "localhost",
        "DATASURFACE_POSTGRES_PORT": "5432",
        "DATASURFACE_POSTGRES_DATABASE": "datasurface_merge",
        "postgres_USER": "yellowlive_airflow",
        "postgres_PASSWORD": "l0gin:pw",
    }


def test_the_dag_file_is_projected_at_the_mount_path_under_the_dags_folder(view):
    assert view.dag_files() == {"yellowlive/yellowlive_factory_dag.py": "# the factory file\n"}


def test_a_missing_secret_key_names_the_secret_and_the_key():
    container = {"env": [{"name": "x", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope"}}}]}
    secret = {"metadata": {"name": "creds"}, "data": {"username": "dQ=="}}
    with pytest.raises(WorkloadViewError, match="Secret creds has no key 'nope'"):
        resolve_env(container, [secret], [])
    with pytest.raises(WorkloadViewError, match=r"Secret creds \(not found\) has no key 'nope'"):
        resolve_env(container, [], [])


def test_an_optional_reference_that_does_not_resolve_leaves_the_variable_out():
    ref = {"name": "creds", "key": "nope", "optional": True}
    container = {"env": [{"name": "x", "valueFrom": {"secretKeyRef": ref}}, {"name": "y", "value": "1"}]}
    assert resolve_env(container, [], []) == {"y": "1"}


def test_configmap_references_resolve_and_other_sources_are_refused():
    configmap = {"metadata": {"name": "cm"}, "data": {"k": "v"}}
    container = {"env": [{"name": "x", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]}
    assert resolve_env(container, [], [configmap]) == {"x": "v"}
    field_ref = {"env": [{"name": "ip", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}
    with pytest.raises(WorkloadViewError, match=r"env ip: source \['fieldRef'\] is not supported"):
        resolve_env(field_ref, [], [])
    with pytest.raises(WorkloadViewError, match="envFrom"):
        resolve_env({"envFrom": [{"secretRef": {"name": "creds"}}]}, [], [])


def workload(mounts: list[dict], volumes: list[dict]) -> dict[str, Any]:
    container = {"name": "c", "volumeMounts": mounts}
    return {"metadata": {"name": "w"}, "spec": {"template": {"spec": {"containers": [container], "volumes": volumes}}}}


def test_a_volume_without_items_projects_every_key_and_mounts_outside_the_dags_folder_are_ignored():
    configmaps = [
        {"metadata": {"name": "a"}, "data": {"one.py": "1", "two.py": "2"}},
        {"metadata": {"name": "b"}, "data": {"x.py": "x"}},
    ]
    w = workload(
        [
            {"name": "a", "mountPath": "/opt/airflow/dags/team/a"},
            {"name": "b", "mountPath": "/etc/elsewhere"},
            {"name": "dags", "mountPath": "/opt/airflow/dags"},
        ],
        [{"name": "a", "configMap": {"name": "a"}}, {"name": "b", "configMap": {"name": "b"}}, {"name": "dags"}],
    )
    assert projected_files(w, configmaps, "/opt/airflow/dags") == {"team/a/one.py": "1", "team/a/two.py": "2"}


def test_a_mounted_configmap_that_does_not_exist_is_an_error_unless_optional():
    mounts = [{"name": "a", "mountPath": "/opt/airflow/dags/a"}]
    with pytest.raises(WorkloadViewError, match="ConfigMap gone .* not found"):
        projected_files(workload(mounts, [{"name": "a", "configMap": {"name": "gone"}}]), [], "/opt/airflow/dags")
    optional = [{"name": "a", "configMap": {"name": "gone", "optional": True}}]
    assert projected_files(workload(mounts, optional), [], "/opt/airflow/dags") == {}


def test_the_dags_folder_is_the_images_unless_the_container_sets_it():
    assert container_dags_folder({}) == "/opt/airflow/dags"
    assert container_dags_folder({"AIRFLOW__CORE__DAGS_FOLDER": "/dags"}) == "/dags"


def test_each_component_runs_as_the_workload_named_after_it_else_the_first():
    both = [SCHEDULER, DAG_PROCESSOR]
    assert workload_for("dag-processor", both) == DAG_PROCESSOR
    assert workload_for("scheduler", both) == SCHEDULER
    assert workload_for("dag-processor", [SCHEDULER]) == SCHEDULER
    with pytest.raises(WorkloadViewError, match="no workload"):
        workload_for("scheduler", [])


def test_workload_names_are_parsed_as_the_stack_outputs_them():
    assert WorkloadRef.parse("StatefulSet/airflow-scheduler") == WorkloadRef("StatefulSet", "airflow-scheduler")
    assert str(SCHEDULER) == "Deployment/airflow-scheduler"
    for bad in ("airflow-scheduler", "Pod/x", "Deployment/"):
        with pytest.raises(WorkloadViewError, match="not a workload"):
            WorkloadRef.parse(bad)


def test_workloads_must_agree_on_a_shared_path():
    assert merge_files([{"a.py": "1"}, {"a.py": "1", "b.py": "2"}]) == {"a.py": "1", "b.py": "2"}
    with pytest.raises(WorkloadViewError, match="different contents at a.py"):
        merge_files([{"a.py": "1"}, {"a.py": "2"}])
