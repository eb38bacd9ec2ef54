"""The committed yellowlive and yellowforensic stacks applied by the real engine to a real API server
(devtools/control_plane.py) on top of what the Airflow chart left there, with the merge database on an
embedded PostgreSQL.

Only the cluster's kubeconfig, the admin endpoint and the secrets differ from the committed stack files.
The tests run in file order: yellowlive alone, then yellowforensic beside it, then each destroyed.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest
import yaml

from components.factory_dag import factory_config, render_factory_dag
from components.naming import PlatformNames, to_k8s_name
from components.settings import parse_settings
from devtools.airflow_chart import AIRFLOW_IMAGE, WORKLOADS, apply_chart, chart_manifests
from devtools.control_plane import ControlPlane, kubectl_env
from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.bad_input_matrix import promised_message
from tests.e2e.conftest import Project, copy_project, edit_seed_streams, planned_steps
from tests.program_harness import load_stack_config

pytestmark = pytest.mark.e2e

CONFIGS = {stack: load_stack_config(stack) for stack in ("yellowlive", "yellowforensic")}
NAMESPACE = CONFIGS["yellowlive"]["namespace"]
PATCH_TYPE = "pulumi-python:dynamic/datasurface:WorkloadPatch"
SHARED_ENV = ("DATASURFACE_POSTGRES_HOST", "DATASURFACE_POSTGRES_PORT", "DATASURFACE_POSTGRES_DATABASE")


def login_password(stack: str) -> str:
    return f"{stack}-login-pw"


def secret_name(stack: str) -> str:
    return PlatformNames(stack, CONFIGS[stack].get("credentialName", "postgres")).credentials_secret_name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, toolchain_bin) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path_factory.mktemp("cluster"), toolchain_bin) as cluster:
        apply_chart(cluster.kubeconfig, NAMESPACE)
        yield cluster


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("cluster-pg"), free_port(), "admin-pw") as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory, pulumi_env, cluster, server) -> Project:
    root = tmp_path_factory.mktemp("cluster-project")
    env = {
        **pulumi_env,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('cluster-state')}",
    }
    project = Project(root=copy_project(root), env=env, manifests=root / "unused")
    for stack in CONFIGS:
        project.pulumi("stack", "init", stack)
        for flags, key, value in (
            (("--type", "int"), "adminPort", str(server.port)),
            ((), "adminHost", server.host),
            (("--secret",), "adminPassword", server.password),
            (("--secret",), "mergeDbPassword", login_password(stack)),
        ):
            project.pulumi("config", "set", *flags, key, value, "--stack", stack)
    return project


def up(project: Project, stack: str) -> None:
    project.pulumi("up", "--yes", "--skip-preview", "--stack", stack)


def kubectl(cluster: ControlPlane, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", NAMESPACE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=kubectl_env(cluster.kubeconfig),
    )


def live(cluster: ControlPlane, kind: str, name: str, *flags: str) -> dict:
    result = kubectl(cluster, "get", f"{kind}/{name}", "-o", "json", *flags)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def exists(cluster: ControlPlane, kind: str, name: str) -> bool:
    return kubectl(cluster, "get", f"{kind}/{name}").returncode == 0


def chart_pod_spec(deployment: str) -> dict:
    (manifest,) = [m for m in chart_manifests(NAMESPACE) if m["metadata"]["name"] == deployment]
    return manifest["spec"]["template"]["spec"]


def pod_spec(cluster: ControlPlane, deployment: str) -> dict:
    return live(cluster, "deployment", deployment)["spec"]["template"]["spec"]


def assert_carries(spec: dict, stack: str) -> None:
    """The workload has the stack's DAG volume and mount and its credentials by reference."""
    config = CONFIGS[stack]
    credential = config.get("credentialName", "postgres")
    (container,) = spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DATASURFACE_POSTGRES_HOST"]["value"] == config["mergeDbHost"]
    for name in (f"{credential}_USER", f"{credential}_PASSWORD"):
        assert env[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name(stack), "key": name}}}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[f"/opt/airflow/dags/{stack}"] == f"{stack}-factory-dag"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[f"{stack}-factory-dag"]["configMap"]["name"] == f"{stack}-factory-dag"


def assert_chart_entries_untouched(spec: dict, deployment: str) -> None:
    chart = chart_pod_spec(deployment)
    (container,) = spec["containers"]
    (chart_container,) = chart["containers"]
    assert container["name"] == chart_container["name"] and container["image"] == AIRFLOW_IMAGE
    assert chart_container["env"][0] in container["env"]
    assert chart_container["volumeMounts"][0] in container["volumeMounts"]
    assert chart["volumes"][0] in spec["volumes"]


def test_yellowlive_patches_each_workload_beside_the_charts_own_entries(project, cluster):
    up(project, "yellowlive")
    for deployment in WORKLOADS:
        spec = pod_spec(cluster, deployment)
        assert_carries(spec, "yellowlive")
        assert_chart_entries_untouched(spec, deployment)


def test_the_secret_has_both_key_variants(project, cluster):
    data = live(cluster, "secret", secret_name("yellowlive"))["data"]
    decoded = {key: base64.b64decode(value).decode() for key, value in data.items()}
    password = login_password("yellowlive")
    assert decoded == {
        "username": "yellowlive_airflow",
        "password": password,
        "postgres_USER": "yellowlive_airflow",
        "postgres_PASSWORD": password,
    }


def test_the_configmap_holds_exactly_the_locally_rendered_dag_file(project, cluster):
    config = {**CONFIGS["yellowlive"], "mergeDbPassword": "unused", "adminPassword": "unused"}
    expected = render_factory_dag(factory_config(parse_settings(config)))
    data = live(cluster, "configmap", "yellowlive-factory-dag")["data"]
    assert data == {"yellowlive_factory_dag.py": expected}


def test_a_password_change_updates_the_secret_in_place_without_a_moment_of_absence(project, cluster):
    before = live(cluster, "secret", secret_name("yellowlive"))["metadata"]["uid"]
    watch = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", NAMESPACE, "get", "secret",
         secret_name("yellowlive"), "--watch", "--output-watch-events", "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=kubectl_env(cluster.kubeconfig),
    )  # fmt: skip
    rotated = "rotated-" + login_password("yellowlive")
    try:
        project.pulumi("config", "set", "--secret", "mergeDbPassword", rotated, "--stack", "yellowlive")
        up(project, "yellowlive")
    finally:
        watch.terminate()
        events, _ = watch.communicate(timeout=30)
    kinds = [json.loads(line)["type"] for line in events.splitlines() if line.startswith('{"type"')]
    assert "MODIFIED" in kinds and "DELETED" not in kinds, kinds
    after = live(cluster, "secret", secret_name("yellowlive"))
    assert after["metadata"]["uid"] == before
    assert base64.b64decode(after["data"]["password"]).decode() == rotated


def reschedule_store2(schedule: str):
    def edit(rows):
        for row in rows:
            if row["stream_key"] == "Store2":
                row["config"]["schedule_string"] = schedule
        return rows

    return edit


def test_an_api_server_outage_during_up_fails_clearly_and_the_next_up_converges(project, cluster, server):
    """The `up` is held inside the merge database (a lock on the dsg table) while the API server stops, so the
    outage falls between the steps that reached Kubernetes and the patches that follow them."""
    project.pulumi("config", "set", "dagsFolder", "/opt/airflow/dags-moved", "--stack", "yellowlive")
    edit_seed_streams(project, "yellowlive", reschedule_store2("@daily"))
    lock = psycopg.connect(server.conninfo("datasurface_merge"))
    lock.execute("LOCK TABLE yellowlive_airflow_dsg IN ACCESS EXCLUSIVE MODE")
    running = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", "yellowlive"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_lock_waiter(server)
        cluster.stop_apiserver()
        lock.close()
        output, _ = running.communicate(timeout=600)
    finally:
        lock.close()
        if running.poll() is None:
            running.kill()
            running.wait()
        if "kube-apiserver" not in cluster.processes:
            cluster.start_apiserver()
    assert running.returncode != 0, output
    message = promised_message(
        "cluster apply", "test_an_api_server_outage_during_up_fails_clearly_and_the_next_up_converges"
    )
    # The first Kubernetes step after the outage fails naming what it could not reach: a workload's patch
    # (whichever the engine reached first names itself), or the ConfigMap when its update comes first, in
    # pulumi-kubernetes' own words.
    pattern = re.escape(message).replace(re.escape("<workload>"), r"airflow-[a-z-]+")
    configmap = r'yellowlive-factory-dag" failed: Get "https://127\.0\.0\.1:\d+/api'
    assert re.search(pattern, output) or re.search(configmap, output), output

    up(project, "yellowlive")
    no_changes(project, "yellowlive")
    assert (
        "pending_operations"
        not in json.loads(project.pulumi("stack", "export", "--stack", "yellowlive").stdout)["deployment"]
    )
    for deployment in WORKLOADS:
        (container,) = pod_spec(cluster, deployment)["containers"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/opt/airflow/dags-moved/yellowlive" in mounts and "/opt/airflow/dags/yellowlive" not in mounts

    project.pulumi("config", "set", "dagsFolder", "/opt/airflow/dags", "--stack", "yellowlive")
    edit_seed_streams(project, "yellowlive", reschedule_store2("*/15 * * * *"))
    up(project, "yellowlive")
    for deployment in WORKLOADS:
        assert_carries(pod_spec(cluster, deployment), "yellowlive")


def wait_for_lock_waiter(server: EmbeddedPostgres, timeout: float = 120) -> None:
    """Until a session waits for a lock in the merge database: the `up` has reached the dsg table."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'datasurface_merge' AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.2)
    raise AssertionError("the up never reached the dsg table")


def no_changes(project: Project, stack: str) -> None:
    """A preview against the live objects (refreshed first) and an `up` both find nothing to do."""
    project.pulumi("preview", "--refresh", "--expect-no-changes", "--stack", stack)
    project.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", stack)


def test_a_second_up_of_yellowlive_changes_nothing(project, cluster):
    no_changes(project, "yellowlive")


def test_the_same_cluster_through_a_kubeconfig_at_another_path_previews_no_change(project, cluster, tmp_path):
    elsewhere = tmp_path / "ci" / "kubeconfig"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(cluster.kubeconfig.read_bytes())
    through_ci = Project(project.root, {**project.env, "KUBECONFIG": str(elsewhere)}, project.manifests)
    through_ci.pulumi("preview", "--expect-no-changes", "--stack", "yellowlive")
    state = json.loads(project.pulumi("stack", "export", "--stack", "yellowlive").stdout)
    assert str(cluster.kubeconfig) not in json.dumps(state), "the state holds the kubeconfig's path"


@pytest.mark.parametrize("kubeconfig", ["missing-file", "unreachable-server"])
def test_a_preview_that_cannot_reach_the_cluster_fails_naming_the_kubeconfig_tried(
    project, cluster, tmp_path, kubeconfig
):
    path = tmp_path / "kubeconfig"
    port = free_port()
    if kubeconfig == "unreachable-server":
        config = yaml.safe_load(cluster.kubeconfig.read_text())  # a kubeconfig is YAML (or JSON, which is YAML)
        for entry in config["clusters"]:
            entry["cluster"]["server"] = f"https://127.0.0.1:{port}"
        path.write_text(json.dumps(config))
    nowhere = Project(project.root, {**project.env, "KUBECONFIG": str(path)}, project.manifests)
    result = nowhere.pulumi("preview", "--stack", "yellowlive", check=False)
    assert result.returncode != 0, result.output
    test_id = f"test_a_preview_that_cannot_reach_the_cluster_fails_naming_the_kubeconfig_tried[{kubeconfig}]"
    message = promised_message("cluster apply", test_id).replace("<path>", str(path)).replace("<port>", str(port))
    # Whichever workload's patch the engine checked first names itself.
    pattern = re.escape(message).replace("airflow\\-scheduler", r"airflow-[a-z-]+")
    assert re.search(pattern, result.output), result.output
    assert "Traceback" not in result.output


def test_yellowforensic_applies_beside_yellowlive_on_the_same_workloads(project, cluster):
    up(project, "yellowforensic")
    for deployment in WORKLOADS:
        spec = pod_spec(cluster, deployment)
        assert_carries(spec, "yellowlive")
        assert_carries(spec, "yellowforensic")
        assert_chart_entries_untouched(spec, deployment)


@pytest.mark.parametrize("stack", ["yellowlive", "yellowforensic"])
def test_with_both_applied_a_second_up_of_each_changes_nothing(project, cluster, stack):
    no_changes(project, stack)


def env_owners(cluster: ControlPlane, deployment: str) -> dict[str, set[str]]:
    """Env var name -> the field managers that hold it, from the Deployment's managedFields."""
    live_object = live(cluster, "deployment", deployment, "--show-managed-fields")
    owners: dict[str, set[str]] = {}
    for entry in live_object["metadata"]["managedFields"]:
        pod = entry.get("fieldsV1", {}).get("f:spec", {}).get("f:template", {}).get("f:spec", {})
        for fields in pod.get("f:containers", {}).values():
            for env_key in fields.get("f:env", {}):
                if env_key.startswith("k:"):
                    owners.setdefault(json.loads(env_key[2:])["name"], set()).add(entry["manager"])
    return owners


@pytest.mark.parametrize("deployment", sorted(WORKLOADS))
def test_each_stacks_manager_holds_exactly_its_entries_and_co_holds_the_shared_ones(project, cluster, deployment):
    owners = env_owners(cluster, deployment)
    held = {
        manager: {name for name, managers in owners.items() if manager in managers}
        for manager in ("datasurface-yellowlive", "datasurface-yellowforensic", "helm")
    }
    assert held == {
        "datasurface-yellowlive": {*SHARED_ENV, "postgres_USER", "postgres_PASSWORD"},
        "datasurface-yellowforensic": {*SHARED_ENV, "postgres_forensic_USER", "postgres_forensic_PASSWORD"},
        "helm": {"AIRFLOW__CORE__EXECUTOR"},
    }, owners


def scheduler_host(cluster: ControlPlane) -> str:
    (container,) = pod_spec(cluster, "airflow-scheduler")["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}["DATASURFACE_POSTGRES_HOST"]


def test_the_seeds_hand_edit_is_shown_by_a_refreshed_preview_and_repaired_by_up(project, cluster):
    configured = CONFIGS["yellowlive"]["mergeDbHost"]
    mangled = to_k8s_name(configured)
    edit = kubectl(cluster, "set", "env", "deployment/airflow-scheduler", f"DATASURFACE_POSTGRES_HOST={mangled}")
    assert edit.returncode == 0, edit.stderr
    assert scheduler_host(cluster) == mangled

    preview = project.pulumi("preview", "--refresh", "--json", "--stack", "yellowlive")
    ops = planned_steps(preview.stdout)
    changed = {key: op for key, op in ops.items() if op not in ("same", "refresh")}
    assert changed == {(PATCH_TYPE, "yellowlive-airflow-deployment-airflow-scheduler"): "update"}, ops
    assert mangled in preview.stdout

    repaired = project.pulumi("up", "--yes", "--skip-preview", "--refresh", "--stack", "yellowlive")
    assert scheduler_host(cluster) == configured, repaired.output
    assert "kubectl-set" not in {m for names in env_owners(cluster, "airflow-scheduler").values() for m in names}
    for stack in CONFIGS:
        project.pulumi("up", "--yes", "--skip-preview", "--refresh", "--stack", stack)
        no_changes(project, stack)
    assert env_owners(cluster, "airflow-scheduler")["DATASURFACE_POSTGRES_HOST"] == {
        "datasurface-yellowlive",
        "datasurface-yellowforensic",
    }


def test_a_forensic_stack_whose_shared_value_disagrees_is_refused_and_nothing_changes(project, cluster):
    before = {deployment: pod_spec(cluster, deployment) for deployment in WORKLOADS}
    configured = CONFIGS["yellowforensic"]["mergeDbHost"]
    other_host = "pg-other.ns-kub-pg-test.svc.cluster.local"
    project.pulumi("config", "set", "mergeDbHost", other_host, "--stack", "yellowforensic")
    try:
        preview = project.pulumi("preview", "--stack", "yellowforensic", check=False)
        result = project.pulumi("up", "--yes", "--skip-preview", "--stack", "yellowforensic", check=False)
    finally:
        project.pulumi("config", "set", "mergeDbHost", configured, "--stack", "yellowforensic")
    message = promised_message(
        "cluster apply", "test_a_forensic_stack_whose_shared_value_disagrees_is_refused_and_nothing_changes"
    )
    for refused in (preview, result):
        assert refused.returncode != 0
        assert message in refused.output, refused.output
        assert "Nothing was changed." in refused.output
        # Said once among the diagnostics (the progress display repeats it), with no traceback around it.
        diagnostics = refused.output[refused.output.index("Diagnostics:") :]
        assert diagnostics.count(message) == 1, refused.output
        assert "Traceback" not in refused.output
    assert {deployment: pod_spec(cluster, deployment) for deployment in WORKLOADS} == before
    # The failed `up` recorded the stack's outputs; the next one puts them back and touches nothing live.
    up(project, "yellowforensic")
    assert {deployment: pod_spec(cluster, deployment) for deployment in WORKLOADS} == before
    no_changes(project, "yellowforensic")


def test_a_workload_the_namespace_lacks_stops_up_naming_it(project, cluster):
    before = {deployment: pod_spec(cluster, deployment) for deployment in WORKLOADS}
    extra = "airflowWorkloads[2]"
    project.pulumi("config", "set", "--path", extra, "Deployment/airflow-triggerer:triggerer", "--stack", "yellowlive")
    try:
        result = project.pulumi("up", "--yes", "--skip-preview", "--stack", "yellowlive", check=False)
    finally:
        project.pulumi("config", "rm", "--path", extra, "--stack", "yellowlive")
    assert result.returncode != 0
    message = promised_message("cluster apply", "test_a_workload_the_namespace_lacks_stops_up_naming_it")
    assert message in result.output, result.output
    assert {deployment: pod_spec(cluster, deployment) for deployment in WORKLOADS} == before
    up(project, "yellowlive")
    no_changes(project, "yellowlive")


def test_destroying_yellowforensic_leaves_yellowlive_and_the_shared_env(project, cluster):
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", "yellowforensic")
    for deployment in WORKLOADS:
        spec = pod_spec(cluster, deployment)
        assert_carries(spec, "yellowlive")
        (container,) = spec["containers"]
        names = {e["name"] for e in container["env"]}
        assert not {"postgres_forensic_USER", "postgres_forensic_PASSWORD"} & names
        assert "/opt/airflow/dags/yellowforensic" not in {m["mountPath"] for m in container["volumeMounts"]}
        assert "yellowforensic-factory-dag" not in {v["name"] for v in spec["volumes"]}
    assert not exists(cluster, "secret", secret_name("yellowforensic"))
    assert not exists(cluster, "configmap", "yellowforensic-factory-dag")


def test_destroying_yellowlive_then_leaves_the_deployments_as_the_chart_applied_them(project, cluster):
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", "yellowlive")
    for deployment in WORKLOADS:
        spec = pod_spec(cluster, deployment)
        chart = chart_pod_spec(deployment)
        (container,) = spec["containers"]
        (chart_container,) = chart["containers"]
        assert container["env"] == chart_container["env"]
        assert container["volumeMounts"] == chart_container["volumeMounts"]
        assert spec["volumes"] == chart["volumes"]
