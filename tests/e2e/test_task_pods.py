"""Where the factory's tasks run: the worker pods KubernetesExecutor would create, a rotation's rollout and the
executor refusal, with the committed yellowlive stack applied by the real engine to a real API server
(devtools/control_plane.py, with kube-controller-manager: Deployments get ReplicaSets; no kubelet) on top of
what the Airflow chart left there, and the merge database on an embedded PostgreSQL.

The worker pods are built as the scheduler builds them: the DAG file read back from the ConfigMap is parsed
in Airflow 3.3.2 against the seeded table, each DAG serialized and read back, and each task's
`executor_config` merged into the chart's pod template by Airflow's own `PodGenerator`
(tests/unit/factory/task_pod_driver.py); the API server then takes each pod in a server-side dry run.
The tests run in file order.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from components.naming import DATABASE_ENV, HOST_ENV, PORT_ENV, PlatformNames
from components.rollout import credentials_annotation
from devtools.airflow_chart import WORKLOADS, apply_chart, chart_manifests
from devtools.chart_pod_template import WORKER_SERVICE_ACCOUNT, chart_pod_template
from devtools.control_plane import ControlPlane, kubectl_env
from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.bad_input_matrix import promised_message
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Project, copy_project, planned_steps
from tests.program_harness import load_stack_config

pytestmark = pytest.mark.e2e

STACK = "yellowlive"
CONFIG = load_stack_config(STACK)
NAMESPACE = CONFIG["namespace"]
NAMES = PlatformNames(STACK, CONFIG.get("credentialName", "postgres"))
LOGIN_PASSWORD = "task-pods-login-pw"
PATCH_TYPE = "pulumi-python:dynamic/datasurface:WorkloadPatch"
DRIVER = REPO_ROOT / "tests" / "unit" / "factory" / "task_pod_driver.py"
AIRFLOW_PYTHON = REPO_ROOT / ".venv-airflow" / "bin" / "python"
ANNOTATION = credentials_annotation(STACK)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, toolchain_bin) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path_factory.mktemp("task-pods-cluster"), toolchain_bin) as cluster:
        apply_chart(cluster.kubeconfig, NAMESPACE)
        # The chart's worker service account: the API server admits a pod only with its service account.
        assert kubectl(cluster, "create", "serviceaccount", WORKER_SERVICE_ACCOUNT).returncode == 0
        yield cluster


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("task-pods-pg"), free_port(), "admin-pw") as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory, pulumi_env, cluster, server) -> Project:
    root = tmp_path_factory.mktemp("task-pods-project")
    env = {
        **pulumi_env,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('task-pods-state')}",
    }
    project = Project(root=copy_project(root), env=env, manifests=root / "unused")
    project.pulumi("stack", "init", STACK)
    for flags, key, value in (
        (("--type", "int"), "adminPort", str(server.port)),
        ((), "adminHost", server.host),
        (("--secret",), "adminPassword", server.password),
        (("--secret",), "mergeDbPassword", LOGIN_PASSWORD),
    ):
        project.pulumi("config", "set", *flags, key, value, "--stack", STACK)
    return project


def kubectl(cluster: ControlPlane, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", NAMESPACE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=kubectl_env(cluster.kubeconfig),
    )


def live(cluster: ControlPlane, kind: str, name: str) -> dict:
    result = kubectl(cluster, "get", f"{kind}/{name}", "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def up(project: Project) -> None:
    project.pulumi("up", "--yes", "--skip-preview", "--stack", STACK)


def no_changes(project: Project) -> None:
    project.pulumi("preview", "--refresh", "--expect-no-changes", "--stack", STACK)
    project.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", STACK)


def worker_pods(cluster: ControlPlane, server: EmbeddedPostgres, tmp_path: Path) -> dict[str, dict]:
    """dag id -> task id -> the worker pod as KubernetesExecutor builds it from what the cluster holds."""
    dag_file = tmp_path / NAMES.dag_file_name
    dag_file.write_text(live(cluster, "configmap", NAMES.configmap_name)["data"][NAMES.dag_file_name])
    template = tmp_path / "pod_template_file.yaml"
    template.write_text(yaml.safe_dump(chart_pod_template(NAMESPACE)))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATASURFACE_DAG_CACHE_DIR": str(tmp_path / "cache"),
        # The parse reads the seeded table as the login role, through this machine's address of the database.
        HOST_ENV: server.host,
        PORT_ENV: str(server.port),
        DATABASE_ENV: CONFIG["mergeDbName"],
        NAMES.user_env: CONFIG["mergeDbUser"],
        NAMES.password_env: LOGIN_PASSWORD,
    }
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), str(DRIVER), str(dag_file), str(template), "{}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_worker_pods_of_the_sync_and_of_an_ingestion_task_carry_the_file_and_the_database(
    project, cluster, server, tmp_path
):
    up(project)
    pods = worker_pods(cluster, server, tmp_path)
    active = [json.loads(row) for row in CONFIG["seedStreams"]]
    expected_dags = {NAMES.factory_dag_id} | {
        NAMES.stream_dag_id(row["stream_key"]) for row in active if row.get("status", "active") == "active"
    }
    assert set(pods) == expected_dags
    secret_keys = set(live(cluster, "secret", NAMES.credentials_secret_name)["data"])
    configmap = live(cluster, "configmap", NAMES.configmap_name)
    template = chart_pod_template(NAMESPACE)
    (template_container,) = template["spec"]["containers"]
    checked = 0
    for dag_id in (NAMES.factory_dag_id, NAMES.stream_dag_id("Store1")):
        for task_id, report in pods[dag_id].items():
            created = kubectl(
                cluster, "create", "--dry-run=server", "-o", "json", "-f", "-", stdin=json.dumps(report["pod"])
            )
            assert created.returncode == 0, (dag_id, task_id, created.stderr)
            pod = json.loads(created.stdout)  # the pod as the API server would store it
            (container,) = pod["spec"]["containers"]
            assert container["name"] == "base"
            env = {e["name"]: e for e in container["env"]}
            assert env[HOST_ENV] == {"name": HOST_ENV, "value": CONFIG["mergeDbHost"]}
            assert env[PORT_ENV]["value"] == str(CONFIG["mergeDbPort"])
            assert env[DATABASE_ENV]["value"] == CONFIG["mergeDbName"]
            for name in (NAMES.user_env, NAMES.password_env):
                ref = env[name]["valueFrom"]["secretKeyRef"]
                assert ref["name"] == NAMES.credentials_secret_name and ref["key"] in secret_keys
            assert LOGIN_PASSWORD not in created.stdout
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert mounts[f"/opt/airflow/dags/{STACK}"]["readOnly"] is True
            volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
            dag_volume = volumes[mounts[f"/opt/airflow/dags/{STACK}"]["name"]]["configMap"]
            assert dag_volume["name"] == configmap["metadata"]["name"]
            assert [item["key"] for item in dag_volume["items"]] == list(configmap["data"])
            for entry in template_container["env"]:
                assert entry in container["env"]
            for mount in template_container["volumeMounts"]:
                assert {k: v for k, v in mounts[mount["mountPath"]].items() if k in mount} == mount
            for volume in template["spec"]["volumes"]:
                assert volume["name"] in volumes
            assert pod["spec"]["restartPolicy"] == "Never"
            assert pod["spec"]["serviceAccountName"] == WORKER_SERVICE_ACCOUNT
            checked += 1
    assert checked == 2


def replica_sets(cluster: ControlPlane, deployment: str) -> dict[str, dict]:
    """The Deployment's ReplicaSets by name, as kube-controller-manager made them."""
    listed = json.loads(kubectl(cluster, "get", "replicasets", "-o", "json").stdout)["items"]
    return {
        rs["metadata"]["name"]: rs
        for rs in listed
        if any(owner["name"] == deployment for owner in rs["metadata"].get("ownerReferences") or [])
    }


def template_annotation(cluster: ControlPlane, deployment: str) -> str:
    return live(cluster, "deployment", deployment)["spec"]["template"]["metadata"]["annotations"][ANNOTATION]


def test_a_rotation_is_one_up_that_rolls_out_each_patched_deployment_and_keeps_the_secret(project, cluster):
    secret_before = live(cluster, "secret", NAMES.credentials_secret_name)
    before = {d: replica_sets(cluster, d) for d in WORKLOADS}
    annotations_before = {d: template_annotation(cluster, d) for d in WORKLOADS}
    rotated = "rotated-" + LOGIN_PASSWORD
    project.pulumi("config", "set", "--secret", "mergeDbPassword", rotated, "--stack", STACK)

    preview = project.pulumi("preview", "--json", "--stack", STACK)
    changed = {key: op for key, op in planned_steps(preview.stdout).items() if op not in ("same", "refresh")}
    patch_names = {f"{STACK}-airflow-deployment-{d}" for d in WORKLOADS}
    assert {name for (typ, name), op in changed.items() if typ == PATCH_TYPE and op == "update"} == patch_names
    assert rotated not in preview.stdout

    up(project)
    secret_after = live(cluster, "secret", NAMES.credentials_secret_name)
    assert secret_after["metadata"]["uid"] == secret_before["metadata"]["uid"]
    assert base64.b64decode(secret_after["data"]["password"]).decode() == rotated
    for deployment in WORKLOADS:
        annotation = template_annotation(cluster, deployment)
        assert annotation != annotations_before[deployment]
        assert rotated not in json.dumps(live(cluster, "deployment", deployment))
        new = {name: rs for name, rs in replica_sets(cluster, deployment).items() if name not in before[deployment]}
        assert len(new) == 1, (deployment, sorted(before[deployment]), sorted(new))
        (replica_set,) = new.values()
        assert replica_set["spec"]["template"]["metadata"]["annotations"][ANNOTATION] == annotation
        rolled = live(cluster, "deployment", deployment)
        assert rolled["status"]["observedGeneration"] == rolled["metadata"]["generation"]
    rolled_out = {d: set(replica_sets(cluster, d)) for d in WORKLOADS}
    no_changes(project)
    assert {d: set(replica_sets(cluster, d)) for d in WORKLOADS} == rolled_out


def test_a_change_of_the_factory_file_alone_restarts_nothing(project, cluster):
    before = {d: set(replica_sets(cluster, d)) for d in WORKLOADS}
    project.pulumi("config", "set", "factorySchedule", "*/7 * * * *", "--stack", STACK)
    preview = project.pulumi("preview", "--json", "--stack", STACK)
    changed = {key: op for key, op in planned_steps(preview.stdout).items() if op not in ("same", "refresh")}
    assert changed == {("kubernetes:core/v1:ConfigMap", f"{STACK}-factory-dag"): "update"}, changed
    up(project)
    assert "*/7 * * * *" in live(cluster, "configmap", NAMES.configmap_name)["data"][NAMES.dag_file_name]
    assert {d: set(replica_sets(cluster, d)) for d in WORKLOADS} == before
    no_changes(project)


def set_chart_executor(cluster: ControlPlane, deployment: str, executor: str) -> None:
    """The chart applied again with another executor on one Deployment (as `helm upgrade` would)."""
    (manifest,) = [m for m in chart_manifests(NAMESPACE) if m["metadata"].get("name") == deployment]
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "AIRFLOW__CORE__EXECUTOR", "value": executor}
    ]
    applied = kubectl(cluster, "apply", "--server-side", "--field-manager=helm", "-f", "-", stdin=json.dumps(manifest))
    assert applied.returncode == 0, applied.stderr


def pod_specs(cluster: ControlPlane) -> dict[str, dict]:
    return {d: live(cluster, "deployment", d)["spec"]["template"] for d in WORKLOADS}


def test_a_celery_scheduler_without_a_listed_worker_is_refused_by_preview_and_nothing_changes(project, cluster):
    """Nothing in the stack changed: the check reads the live executor at every preview."""
    set_chart_executor(cluster, "airflow-scheduler", "CeleryExecutor")
    before = pod_specs(cluster)
    preview = project.pulumi("preview", "--stack", STACK, check=False)
    result = project.pulumi("up", "--yes", "--stack", STACK, check=False)
    message = promised_message(
        "cluster apply", "test_a_celery_scheduler_without_a_listed_worker_is_refused_by_preview_and_nothing_changes"
    )
    for refused in (preview, result):
        assert refused.returncode != 0
        assert message in refused.output, refused.output
    assert pod_specs(cluster) == before


def test_a_celery_scheduler_with_its_worker_listed_previews_cleanly(project, cluster):
    worker = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "airflow-worker", "namespace": NAMESPACE},
        "spec": {
            "replicas": 0,
            "serviceName": "airflow-worker",
            "selector": {"matchLabels": {"component": "worker"}},
            "template": {
                "metadata": {"labels": {"component": "worker"}},
                "spec": {
                    "containers": [
                        {
                            "name": "worker",
                            "image": "apache/airflow:3.3.2",
                            "env": [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "CeleryExecutor"}],
                        }
                    ]
                },
            },
        },
    }
    applied = kubectl(cluster, "apply", "--server-side", "--field-manager=helm", "-f", "-", stdin=json.dumps(worker))
    assert applied.returncode == 0, applied.stderr
    entry = "airflowWorkloads[2]"
    project.pulumi("config", "set", "--path", entry, "StatefulSet/airflow-worker:worker", "--stack", STACK)
    try:
        preview = project.pulumi("preview", "--json", "--stack", STACK)
    finally:
        project.pulumi("config", "rm", "--path", entry, "--stack", STACK)
    steps = planned_steps(preview.stdout)
    assert steps[(PATCH_TYPE, f"{STACK}-airflow-statefulset-airflow-worker")] == "create"


def test_a_multi_executor_setting_with_celery_stops_an_up_in_its_preview_before_anything_changes(
    project, cluster, server
):
    """A stack never applied (the committed yellowforensic): its `up` stops in the preview, before any create."""
    set_chart_executor(cluster, "airflow-scheduler", "KubernetesExecutor,CeleryExecutor")
    fresh = "yellowforensic"
    project.pulumi("stack", "init", fresh)
    for flags, key, value in (
        (("--type", "int"), "adminPort", str(server.port)),
        ((), "adminHost", server.host),
        (("--secret",), "adminPassword", server.password),
        (("--secret",), "mergeDbPassword", LOGIN_PASSWORD),
    ):
        project.pulumi("config", "set", *flags, key, value, "--stack", fresh)
    before = pod_specs(cluster)
    result = project.pulumi("up", "--yes", "--stack", fresh, check=False)
    message = promised_message(
        "cluster apply", "test_a_multi_executor_setting_with_celery_stops_an_up_in_its_preview_before_anything_changes"
    )
    assert result.returncode != 0 and message in result.output, result.output
    assert pod_specs(cluster) == before
    exported = json.loads(project.pulumi("stack", "export", "--stack", fresh).stdout)
    assert not exported["deployment"].get("resources"), exported
    forensic = PlatformNames(fresh, load_stack_config(fresh).get("credentialName", "postgres"))
    assert kubectl(cluster, "get", "secret", forensic.credentials_secret_name).returncode != 0
    project.pulumi("stack", "rm", "--yes", fresh)
    set_chart_executor(cluster, "airflow-scheduler", "KubernetesExecutor")


def test_destroy_takes_the_annotation_back_with_the_stacks_other_entries(project, cluster):
    up(project)
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK)
    for deployment in WORKLOADS:
        template = live(cluster, "deployment", deployment)["spec"]["template"]
        assert ANNOTATION not in (template["metadata"].get("annotations") or {})
