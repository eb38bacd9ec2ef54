"""The local control plane (devtools/control_plane.py): real etcd, kube-apiserver and kube-controller-manager
on loopback, RBAC on, Deployments rolled out without a kubelet, and no process left behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from devtools import processes
from devtools.airflow_chart import FIELD_MANAGER, WORKLOADS, apply_chart
from devtools.control_plane import ControlPlane, kubectl_env
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: airflow-scheduler, namespace: default}
spec:
  replicas: 0
  selector: {matchLabels: {app: airflow-scheduler}}
  template:
    metadata: {labels: {app: airflow-scheduler}}
    spec:
      containers: [{name: airflow-scheduler, image: apache/airflow:3.3.2}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, toolchain_bin) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path_factory.mktemp("control-plane"), toolchain_bin) as cluster:
        yield cluster


def kubectl(
    cluster: ControlPlane, *args: str, stdin: str | None = None, check: bool = True, kubeconfig: str | None = None
) -> subprocess.CompletedProcess:
    env = kubectl_env(cluster.kubeconfig)
    result = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig or str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_api_server_reports_the_built_version(cluster):
    version = json.loads(kubectl(cluster, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.34.3"


def test_a_deployment_with_no_replicas_rolls_out_without_a_kubelet(cluster):
    kubectl(cluster, "apply", "--server-side", "--field-manager=helm", "-f", "-", stdin=DEPLOYMENT)
    kubectl(cluster, "rollout", "status", "deployment/airflow-scheduler", "--timeout=60s")
    status = json.loads(kubectl(cluster, "get", "deployment/airflow-scheduler", "-o", "json").stdout)["status"]
    assert status["observedGeneration"] == 1


def test_the_chart_starting_point_is_applied_under_the_charts_field_manager(cluster):
    apply_chart(cluster.kubeconfig, "airflow-chart-test")
    for deployment, container in WORKLOADS.items():
        live = json.loads(
            kubectl(
                cluster,
                "-n",
                "airflow-chart-test",
                "get",
                f"deployment/{deployment}",
                "-o",
                "json",
                "--show-managed-fields",
            ).stdout
        )
        (spec_container,) = live["spec"]["template"]["spec"]["containers"]
        assert spec_container["name"] == container
        assert [e["name"] for e in spec_container["env"]] == ["AIRFLOW__CORE__EXECUTOR"]
        assert [v["name"] for v in live["spec"]["template"]["spec"]["volumes"]] == ["dags"]
        appliers = {m["manager"] for m in live["metadata"]["managedFields"] if m["operation"] == "Apply"}
        assert appliers == {FIELD_MANAGER}
        assert live["status"]["observedGeneration"] == live["metadata"]["generation"]


def test_rbac_denies_an_identity_without_a_role(cluster, tmp_path):
    kubectl(cluster, "create", "serviceaccount", "nobody")
    token = kubectl(cluster, "create", "token", "nobody").stdout.strip()
    config = json.loads(cluster.kubeconfig.read_text())
    config["users"] = [{"name": "nobody", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "nobody"
    nobody = tmp_path / "nobody.kubeconfig"
    nobody.write_text(json.dumps(config))
    denied = kubectl(cluster, "get", "secrets", kubeconfig=str(nobody), check=False)
    assert denied.returncode != 0
    assert 'cannot list resource "secrets"' in denied.stderr


STARTER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from devtools.control_plane import ControlPlane
    cluster = ControlPlane(Path(sys.argv[1]), Path(sys.argv[2])).start()
    print(json.dumps({name: p.pid for name, p in cluster.processes.items()}), flush=True)
    {ending}
""")


@pytest.mark.parametrize(
    "ending", ["raise RuntimeError('a test failed')", "import time; time.sleep(600)"], ids=["exception", "killed"]
)
def test_no_process_outlives_the_process_that_started_the_control_plane(tmp_path, toolchain_bin, ending):
    """Whether the starting process ends with an unhandled exception or is killed outright, the kernel
    takes etcd, the API server and the controller-manager with it."""
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER.replace("{ending}", ending), str(tmp_path / "cp"), str(toolchain_bin)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids = json.loads(starter.stdout.readline())
    assert sorted(pids) == ["etcd", "kube-apiserver", "kube-controller-manager"]
    if ending.startswith("import time"):
        starter.send_signal(signal.SIGKILL)
    starter.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(processes.alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [name for name, pid in pids.items() if processes.alive(pid)]


def test_the_command_leaves_the_control_plane_running_until_stopped(tmp_path, toolchain_bin):
    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "devtools.control_plane", *args, "--dir", str(tmp_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    started = command("start", "--bin", str(toolchain_bin))
    assert started.returncode == 0, started.stdout + started.stderr
    pids = json.loads((tmp_path / "state.json").read_text())["pids"]
    try:
        assert all(processes.alive(pid) for pid in pids.values())
        assert command("status").stdout.strip() == "running"
        assert "already running" in command("start", "--bin", str(toolchain_bin)).stdout
    finally:
        assert command("stop").returncode == 0
    assert not [name for name, pid in pids.items() if processes.alive(pid)]
    status = command("status")
    assert (status.returncode, status.stdout.strip()) == (1, "stopped")
