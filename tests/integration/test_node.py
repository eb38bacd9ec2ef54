"""The one-node cluster (devtools/node.py): a real kubelet, containerd, runc, CNI bridge and CoreDNS in
namespaces of their own, pods from images built here, and nothing left on the machine after a stop or
after its starter is killed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import node_config, processes
from devtools.node import Node, default_images
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

NAMESPACE = "node-test"


@pytest.fixture(scope="session")
def node_images():
    return default_images(("pause", "busybox"))


@pytest.fixture(scope="module")
def node(tmp_path_factory, toolchain_bin, node_images) -> Iterator[Node]:
    images = [node_images["busybox"].archive]
    with Node(tmp_path_factory.mktemp("node"), toolchain_bin, node_images["pause"], images) as node:
        kubectl(node, "create", "namespace", NAMESPACE)
        wait_for(
            lambda: kubectl(node, "-n", NAMESPACE, "get", "serviceaccount", "default", check=False).returncode == 0
        )
        yield node


def kubectl(node: Node, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(node.kubectl), *args], input=stdin, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def wait_for(condition, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def run_pod(
    node: Node, name: str, image: str, script: str, pod: dict | None = None, container: dict | None = None
) -> tuple[str, str]:
    """Runs `script` in a pod of the busybox image to its end; returns (phase, its log). `pod` and
    `container` add fields to the pod's spec and to its container."""
    main = {"name": "main", "image": image, "imagePullPolicy": "Never", "command": ["sh", "-c", script]}
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"restartPolicy": "Never", "containers": [main | (container or {})], **(pod or {})},
    }
    kubectl(node, "apply", "-f", "-", stdin=json.dumps(manifest))
    phase = ""

    def ended() -> bool:
        nonlocal phase
        phase = kubectl(node, "-n", NAMESPACE, "get", "pod", name, "-o", "jsonpath={.status.phase}").stdout
        return phase in ("Succeeded", "Failed")

    wait_for(ended)
    return phase, kubectl(node, "-n", NAMESPACE, "logs", name).stdout


def test_the_node_is_ready_with_the_built_versions(node):
    status = json.loads(kubectl(node, "get", "node", "yellow-node", "-o", "json").stdout)["status"]
    ready = {c["type"]: c["status"] for c in status["conditions"]}["Ready"]
    assert ready == "True"
    info = status["nodeInfo"]
    assert (info["kubeletVersion"], info["containerRuntimeVersion"]) == ("v1.34.3", "containerd://2.2.9")
    assert status["addresses"][0] == {"type": "InternalIP", "address": "10.244.0.1"}


def test_a_pod_from_a_locally_built_image_is_scheduled_runs_and_succeeds(node, node_images):
    phase, log = run_pod(node, "hello", node_images["busybox"].ref, "echo hello from $(hostname)")
    assert (phase, log) == ("Succeeded", "hello from hello\n")
    pod = json.loads(kubectl(node, "-n", NAMESPACE, "get", "pod", "hello", "-o", "json").stdout)
    assert pod["spec"]["nodeName"] == "yellow-node"  # placed by kube-scheduler: the manifest names no node
    assert pod["status"]["podIP"].startswith("10.244.0.")


def test_kubelet_mounts_a_configmap_and_resolves_a_secret_key_ref(node, node_images):
    kubectl(node, "-n", NAMESPACE, "create", "configmap", "factory", "--from-literal=dag.py=print('dag')")
    kubectl(node, "-n", NAMESPACE, "create", "secret", "generic", "creds", "--from-literal=password=s3cr3t")
    phase, log = run_pod(
        node,
        "mounts",
        node_images["busybox"].ref,
        "cat /opt/dags/dag.py; echo; echo password=$PASSWORD",
        pod={"volumes": [{"name": "dags", "configMap": {"name": "factory"}}]},
        container={
            "volumeMounts": [{"name": "dags", "mountPath": "/opt/dags"}],
            "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}],
        },
    )
    assert (phase, log) == ("Succeeded", "print('dag')\npassword=s3cr3t\n")


SELECTORLESS = """
apiVersion: v1
kind: Service
metadata: {name: pg-data, namespace: node-test}
spec: {clusterIP: None, ports: [{name: postgres, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: pg-data-1
  namespace: node-test
  labels: {kubernetes.io/service-name: pg-data}
addressType: IPv4
ports: [{name: postgres, port: 5432}]
endpoints: [{addresses: ["10.244.0.1"]}]
"""


def test_service_names_resolve_from_a_pod_through_coredns(node, node_images):
    kubectl(node, "apply", "-f", "-", stdin=SELECTORLESS)
    script = (
        "nslookup pg-data.node-test.svc.cluster.local; "
        "nslookup kubernetes.default.svc.cluster.local; "
        "cat /etc/resolv.conf"
    )
    phase, log = run_pod(node, "dns", node_images["busybox"].ref, script)
    assert phase == "Succeeded", log
    answers = [line.split()[-1] for line in log.splitlines() if line.startswith("Address:")]
    # The server's address, then each name's: the selector-less Service's endpoint, the API's cluster IP.
    assert answers == ["10.0.0.10:53", "10.244.0.1", "10.0.0.10:53", "10.0.0.1"]
    assert "nameserver 10.0.0.10" in log
    assert "search node-test.svc.cluster.local svc.cluster.local cluster.local" in log


def test_a_name_outside_the_cluster_is_not_resolved(node, node_images):
    phase, log = run_pod(node, "outside", node_images["busybox"].ref, "nslookup pypi.org. || echo refused")
    assert phase == "Succeeded"
    assert log.rstrip().endswith("refused")


def test_a_pod_connects_to_the_api_server_at_its_in_cluster_address(node, node_images):
    # The address an in-cluster client takes from its environment. (busybox's TLS cannot talk to the API
    # server's ECDSA certificate: a full in-cluster request needs a Python image.)
    script = textwrap.dedent("""\
        set -e
        echo "$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
        test -s /var/run/secrets/kubernetes.io/serviceaccount/token
        nc -w 5 "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT" </dev/null && echo connected
        """)
    phase, log = run_pod(node, "in-cluster", node_images["busybox"].ref, script)
    assert (phase, log) == ("Succeeded", "10.0.0.1:443\nconnected\n")


def test_kubectl_exec_and_a_host_forwarder_reach_a_running_pod(node, node_images):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": NAMESPACE, "labels": {"app": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": node_images["busybox"].ref,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", "mkdir /www && echo served > /www/index.html && httpd -f -p 8080 -h /www"],
                }
            ]
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 8080}]},
    }
    kubectl(node, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod, service]}))
    kubectl(node, "-n", NAMESPACE, "wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
    assert kubectl(node, "-n", NAMESPACE, "exec", "web", "--", "cat", "/www/index.html").stdout == "served\n"

    port = node.forward(f"web.{NAMESPACE}.svc.cluster.local", 8080)
    served: list[bytes] = []

    def fetched() -> bool:  # the Service's EndpointSlice reaches CoreDNS shortly after the pod is Ready
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10) as response:
                served.append(response.read())
        except OSError:
            return False
        return True

    wait_for(fetched, timeout=30)
    assert served == [b"served\n"]


def host_traces(folder: Path, cgroup: str) -> dict[str, list[str]]:
    """What a node could leave on the host: mounts of its folder, its cgroups, the kernel settings kubelet
    writes (their values), the network namespaces `ip netns` knows."""
    mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(folder) in line]
    cgroups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{cgroup}")]
    sysctls = [f"{n}={(Path('/proc/sys') / n).read_text().strip()}" for n in node_config.KUBELET_SYSCTLS]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    return {"mounts": mounts, "cgroups": cgroups, "sysctls": sysctls, "netns": netns}


STARTER = textwrap.dedent("""
    import json, subprocess, sys, time
    from pathlib import Path
    from devtools.node import Image, Node
    folder, bin_dir, pause, busybox = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
    node = Node(folder, bin_dir, Image(pause["ref"], Path(pause["archive"])), [Path(sys.argv[5])]).start()
    pod = ["run", "sleeper", "--image", busybox, "--image-pull-policy=Never", "--", "sleep", "600"]
    subprocess.run([node.kubectl, *pod], check=True, capture_output=True)
    wait = ["wait", "--for=condition=Ready", "pod/sleeper", "--timeout=90s"]
    subprocess.run([node.kubectl, *wait], check=True, capture_output=True)
    print(json.dumps({"pids": node.pids(), "cgroup": node.state.cgroup}), flush=True)
    {ending}
""")


@pytest.mark.parametrize(
    "ending", ["raise RuntimeError('a test failed')", "time.sleep(600)"], ids=["exception", "killed"]
)
def test_nothing_of_the_node_outlives_its_starter(tmp_path, toolchain_bin, node_images, ending):
    """Whether the starting process ends with an unhandled exception (no stop called) or is killed outright,
    the node's processes (a pod's container among them), mounts, cgroups and kernel settings are gone."""
    folder = tmp_path / "node"
    before = host_traces(folder, "yellow-node-*")
    pause = node_images["pause"]
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STARTER.replace("{ending}", ending),
            str(folder),
            str(toolchain_bin),
            json.dumps({"ref": pause.ref, "archive": str(pause.archive)}),
            node_images["busybox"].ref,
            str(node_images["busybox"].archive),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    line = starter.stdout.readline()
    assert line, starter.stderr.read() if starter.stderr else ""
    started = json.loads(line)
    during = host_traces(folder, started["cgroup"])
    assert during["cgroups"] and during["sysctls"] == before["sysctls"] and during["netns"] == before["netns"]
    assert not during["mounts"]  # the node's mounts are in its own mount namespace
    if ending.startswith("time.sleep"):
        starter.send_signal(signal.SIGKILL)
    starter.wait(timeout=120)

    def gone() -> bool:
        traces = host_traces(folder, started["cgroup"])
        return not any(processes.alive(pid) for pid in started["pids"]) and not traces["cgroups"]

    wait_for(gone, timeout=60)
    assert host_traces(folder, started["cgroup"]) == {**before, "cgroups": []}


def test_the_command_leaves_the_node_running_until_stopped(tmp_path, toolchain_bin):
    folder = tmp_path / "node"

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "devtools.node", *args, "--dir", str(folder)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    started = command("start", "--bin", str(toolchain_bin))
    assert started.returncode == 0, started.stdout + started.stderr
    state = json.loads((folder / "state.json").read_text())
    pids = processes.descendants(state["unshare"]) + state["forwarders"]
    try:
        assert command("status").stdout.strip() == "running"
        assert "already running" in command("start", "--bin", str(toolchain_bin)).stdout
        nodes = subprocess.run([str(folder / "kubectl"), "get", "nodes", "-o", "name"], capture_output=True, text=True)
        assert nodes.stdout == "node/yellow-node\n"
    finally:
        assert command("stop").returncode == 0
    assert not [pid for pid in pids if processes.alive(pid)]
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{state['cgroup']}"))
    status = command("status")
    assert (status.returncode, status.stdout.strip()) == (1, "stopped")
