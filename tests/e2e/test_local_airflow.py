"""The whole chain on one machine, as a user runs it: the local stack deployed by the real engine into its own
control plane and PostgreSQL, then a real Airflow 3 started beside it by the Airflow command
(`python -m devtools.local_airflow start`, which `bash scripts/run_local.sh airflow` runs), reached through
its REST API and, at the end, through its UI in headless Chromium.

The tests run in file order and share one stack and one Airflow, as a user's sequence of steps would.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from devtools import processes
from devtools.airflow_api import AirflowApi, poll
from devtools.airflow_ui import CHROMEDRIVER, CHROMIUM, headless_chromium, listed_dag_ids, log_in
from devtools.control_plane import kubectl_env
from devtools.local_airflow_config import LOGIN, Layout
from devtools.net import free_port
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import edit_seed_streams

pytestmark = pytest.mark.e2e

AIRFLOW_BIN = REPO_ROOT / ".venv-airflow" / "bin" / "airflow"
ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"
FACTORY = "yellowlive_factory_dag"
STORE1, STORE2, STORE4 = (f"yellowlive__{key}_ingestion" for key in ("Store1", "Store2", "Store4"))
DAG_FILE = "yellowlive/yellowlive_factory_dag.py"  # the ConfigMap's key, mounted at <dags folder>/yellowlive
RUN_TIMEOUT_SECONDS = 240
# The dag-processor re-parses every 10 s and retires a DAG 20 s after the file stopped producing it.
REFRESH_TIMEOUT_SECONDS = 180
# How long the local run waits at most before it sees a changed ConfigMap (devtools/dag_sync.py: 10 s).
SYNC_TIMEOUT_SECONDS = 60


@dataclass
class LocalAirflow:
    layout: Layout
    api: AirflowApi
    started: subprocess.CompletedProcess
    kubeconfig: Path
    namespace: str

    def kubectl(self, *args: str) -> dict:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=kubectl_env(self.kubeconfig),
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def pids(self) -> dict[str, int]:
        return json.loads(self.layout.state_file.read_text())["pids"]


def airflow_command(action: str, layout: Layout, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "devtools.local_airflow", action, "--dir", str(layout.root), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def config_value(project, key: str) -> str:
    return project.pulumi("config", "get", key).stdout.strip()


@pytest.fixture(scope="module")
def deployed(local_stack):
    """The main job's `pulumi up` of the local stack, destroyed afterwards: the other test modules share the
    state backend, and the stack `local` in it, and must find it as this one did."""
    project, server = local_stack
    project.pulumi("up", "--yes", "--skip-preview")
    yield project, server
    project.pulumi("destroy", "--yes", "--skip-preview")


@pytest.fixture(scope="module")
def airflow(deployed, tmp_path_factory) -> Iterator[LocalAirflow]:
    """The Airflow command, as scripts/run_local.sh runs it, on a free port and in a folder of this module."""
    if not AIRFLOW_BIN.exists():
        pytest.fail(f"no {AIRFLOW_BIN}: run bash scripts/setup_airflow_env.sh")
    project, server = deployed
    layout = Layout(tmp_path_factory.mktemp("local-airflow"))
    port = free_port()
    kubeconfig = Path(project.env["KUBECONFIG"])
    namespace = config_value(project, "namespace")
    workloads = json.loads(project.pulumi("stack", "output", "patchedWorkloads", "--json").stdout)
    args = ["--kubeconfig", str(kubeconfig), "--namespace", namespace, "--db-port", str(server.port)]
    args += ["--port", str(port)] + [a for w in workloads for a in ("--workload", w)]
    env = {**os.environ, "PGPASSWORD": server.password}
    started = airflow_command("start", layout, *args, env=env)
    try:
        assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]
        yield LocalAirflow(layout, AirflowApi(f"http://127.0.0.1:{port}", *LOGIN), started, kubeconfig, namespace)
    finally:
        airflow_command("stop", layout)


@pytest.fixture(scope="module")
def browser() -> None:
    """Chromium and its driver, installed when missing (scripts/setup_browser.sh); fails, never skips."""
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "setup_browser.sh")], capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0 or not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"no headless browser (scripts/setup_browser.sh):\n{result.stdout}\n{result.stderr}")


def run_to_end(api: AirflowApi, dag_id: str, run_id: str) -> dict:
    def ended() -> dict | None:
        run = api.dag_run(dag_id, run_id)
        return run if run["state"] in ("success", "failed") else None

    return poll(ended, RUN_TIMEOUT_SECONDS, f"{dag_id} run {run_id} to end", interval=2)


def factory_report(api: AirflowApi, run_id: str) -> list[str]:
    """What the factory's task logged, from the task's log as the REST API serves it."""
    records = api.task_log(FACTORY, run_id, "sync_dynamic_dags")
    return [r["event"] for r in records if str(r.get("logger", "")).startswith("datasurface")]


def test_the_airflow_command_starts_the_set_and_prints_the_ui_and_the_login(airflow):
    out = airflow.started.stdout
    assert f"UI        {airflow.api.base_url}   login admin / admin" in out, out
    assert "AIRFLOW__CORE__EXECUTOR: the workload's 'KubernetesExecutor' replaced by 'LocalExecutor'" in out, out
    assert "import errors: 0" in out, out
    for dag_id in (FACTORY, STORE1, STORE2):
        assert f"  DAG       {dag_id}  schedule=" in out, out
    assert sorted(airflow.pids()) == ["api-server", "dag-processor", "dag-sync", "scheduler"]
    assert all(processes.alive(pid) for pid in airflow.pids().values())
    health = airflow.api.health()
    assert health["scheduler"]["status"] == health["dag_processor"]["status"] == "healthy", health


def test_the_metadata_database_is_its_own_on_the_embedded_postgresql(airflow, deployed):
    _, server = deployed
    with psycopg.connect(server.conninfo()) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'airflow'").fetchone()
    assert owner == ("airflow",)
    with psycopg.connect(server.conninfo("airflow")) as conn:
        assert conn.execute("SELECT count(*) FROM dag WHERE dag_id = %s", (FACTORY,)).fetchone() == (1,)


def test_the_dags_folder_holds_the_file_of_the_configmap_in_the_api_server(airflow, deployed):
    project, _ = deployed
    configmap = airflow.kubectl("get", "configmap", project.pulumi("stack", "output", "configMap").stdout.strip())
    files = sorted(p.relative_to(airflow.layout.dags).as_posix() for p in airflow.layout.dags.rglob("*.py"))
    assert files == [DAG_FILE]
    assert (airflow.layout.dags / DAG_FILE).read_text() == configmap["data"]["yellowlive_factory_dag.py"]


def test_the_scheduler_runs_with_the_workload_environment_and_the_secrets_values(airflow, deployed):
    """What a kubelet would give the scheduler's container: its env, credentials resolved from the Secret."""
    project, server = deployed
    environ = Path(f"/proc/{airflow.pids()['scheduler']}/environ").read_bytes().split(b"\0")
    env = dict(entry.decode().split("=", 1) for entry in environ if b"=" in entry)
    secret = airflow.kubectl("get", "secret", project.pulumi("stack", "output", "credentialsSecret").stdout.strip())
    assert env["postgres_USER"] == base64.b64decode(secret["data"]["postgres_USER"]).decode() == "yellowlive_airflow"
    assert env["postgres_PASSWORD"] == base64.b64decode(secret["data"]["postgres_PASSWORD"]).decode()
    assert env["postgres_PASSWORD"] == config_value(project, "mergeDbPassword")
    assert (env["DATASURFACE_POSTGRES_HOST"], env["DATASURFACE_POSTGRES_PORT"]) == ("localhost", str(server.port))
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert "PULUMI_CONFIG_PASSPHRASE" not in env and "PGPASSWORD" not in env


def test_the_rest_api_lists_the_factory_and_one_ingestion_dag_per_active_row(airflow):
    dags = airflow.api.dags()
    assert set(dags) == {FACTORY, STORE1, STORE2}  # Store3's row is disabled
    assert dags[FACTORY]["is_paused"] is False
    assert dags[FACTORY]["timetable_summary"] == "*/5 * * * *"
    assert airflow.api.import_errors() == []


def test_a_manual_factory_run_succeeds_and_its_log_holds_the_lifecycle_report(airflow):
    run = airflow.api.trigger(FACTORY)
    assert run_to_end(airflow.api, FACTORY, run["dag_run_id"])["state"] == "success"
    report = factory_report(airflow.api, run["dag_run_id"])
    for line in ("📋 LIFECYCLE ANALYSIS:", "🆕 To Create:", "🔄 To Update:", "🗑️  To Remove:", "📊 ACTIVE DAGS: 2"):
        assert any(line in event for event in report), (line, report)


def test_a_seed_row_change_and_pulumi_up_show_in_the_rest_api_without_touching_the_file(airflow, deployed):
    """Store2 disabled, Store4 added (no schedule: it only runs when triggered). Rows live in the database,
    so the DAG file stays as it is; the dag-processor's next parses change the DAGs."""
    project, _ = deployed
    dag_file = airflow.layout.dags / DAG_FILE
    before = (dag_file.read_text(), dag_file.stat().st_mtime_ns)

    def change(rows):
        for row in rows:
            if row["stream_key"] == "Store2":
                row["status"] = "disabled"
        store4 = {"store_name": "Store4", "schedule_string": None, "ingestion_type": "sql_snapshot"}
        return [*rows, {"stream_key": "Store4", "status": "active", "config": {**store4, "dataset_name": "refunds"}}]

    edit_seed_streams(project, "local", change)
    changed_at = time.time()
    project.pulumi("up", "--yes", "--skip-preview")

    def shows_the_change() -> dict | None:
        dags = airflow.api.dags()
        return dags if STORE4 in dags and STORE2 not in dags else None

    dags = poll(shows_the_change, REFRESH_TIMEOUT_SECONDS, "Store2's DAG gone and Store4's present", interval=2)
    print(f"the REST API showed the row change {time.time() - changed_at:.0f} s after the stack file changed")
    assert set(dags) == {FACTORY, STORE1, STORE4}
    assert dags[STORE4]["timetable_summary"] is None
    assert airflow.api.import_errors() == []
    assert (dag_file.read_text(), dag_file.stat().st_mtime_ns) == before


def test_the_next_factory_run_reports_the_removed_and_the_created_dag(airflow):
    run = airflow.api.trigger(FACTORY)
    assert run_to_end(airflow.api, FACTORY, run["dag_run_id"])["state"] == "success"
    # A scheduled run may have synced the change first; then the manual one reports it unchanged.
    reports = [factory_report(airflow.api, r["dag_run_id"]) for r in airflow.api.dag_runs(FACTORY)]
    assert any(
        any(f"REMOVED: {STORE2}" in e for e in report) and any(f"CREATED: {STORE4}" in e for e in report)
        for report in reports
    ), reports


def test_a_triggered_ingestion_dag_creates_its_pod_in_the_stacks_namespace(airflow, deployed):
    """No kubelet: the pod is created and stays Pending. Its object is checked, then the run is ended and
    the operator deletes the pod."""
    project, _ = deployed
    run = airflow.api.trigger(STORE4)
    selector = f"dag_id={STORE4}"

    def pod() -> dict | None:
        items = airflow.kubectl("get", "pods", "-l", selector)["items"]
        return items[0] if items else None

    created = poll(pod, RUN_TIMEOUT_SECONDS, f"the pod of {STORE4}", interval=2)
    assert created["status"]["phase"] == "Pending"
    assert "nodeName" not in created["spec"]
    labels = created["metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "datasurface-yellow"
    assert labels["datasurface.io/platform"] == "yellowlive"
    assert labels["task_id"] == "snapshot_merge"
    assert labels["run_id"].startswith("manual__")
    (container,) = created["spec"]["containers"]
    assert container["image"] == "datasurface/datasurface:0.9.6"
    assert container["command"] == ["python"]
    assert container["args"] == [
        "-m",
        "datasurface.platforms.yellow.jobs",
        "--platform-name",
        "yellowlive",
        "--store-name",
        "Store4",
        "--operation",
        "snapshot-merge",
        "--dataset-name",
        "refunds",
    ]
    env = {e["name"]: e for e in container["env"]}
    secret_name = project.pulumi("stack", "output", "credentialsSecret").stdout.strip()
    secret = airflow.kubectl("get", "secret", secret_name)
    for name, key in (("postgres_USER", "username"), ("postgres_PASSWORD", "password")):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": key}, env[name]
        assert key in secret["data"]
        assert "value" not in env[name]
    assert env["DATASURFACE_POSTGRES_HOST"]["value"] == "localhost"
    assert config_value(project, "mergeDbPassword") not in json.dumps(created)

    airflow.api.set_dag_run_state(STORE4, run["dag_run_id"], "failed")
    poll(lambda: pod() is None, 90, f"the pod of {STORE4} deleted once its run failed", interval=2)
    assert airflow.api.dag_run(STORE4, run["dag_run_id"])["state"] == "failed"


def test_a_template_change_reaches_the_dags_folder_through_the_configmap(airflow, deployed):
    project, _ = deployed
    template = project.root / "templates" / "factory_dag.py.j2"
    template.write_text("# reviewed change\n" + template.read_text())
    project.pulumi("up", "--yes", "--skip-preview")
    dag_file = airflow.layout.dags / DAG_FILE
    poll(lambda: dag_file.read_text().startswith("# reviewed change"), SYNC_TIMEOUT_SECONDS, "the new file", interval=1)
    synced_at = datetime.datetime.fromtimestamp(dag_file.stat().st_mtime, datetime.UTC)

    def parsed_since_the_sync() -> dict | None:
        dags = airflow.api.dags()
        parsed = [datetime.datetime.fromisoformat(d["last_parsed_time"]) for d in dags.values()]
        return dags if all(when > synced_at for when in parsed) else None

    dags = poll(parsed_since_the_sync, REFRESH_TIMEOUT_SECONDS, "the new file parsed", interval=2)
    assert set(dags) == {FACTORY, STORE1, STORE4}
    assert airflow.api.import_errors() == []


def test_the_ui_shows_the_factory_and_the_ingestion_dags_in_a_real_browser(airflow, browser, tmp_path):
    with headless_chromium(tmp_path / "profile") as driver:
        log_in(driver, airflow.api.base_url, *LOGIN)
        shown = listed_dag_ids(driver, airflow.api.base_url, {FACTORY, STORE1, STORE4})
        screenshot = tmp_path / "local-airflow-dags.png"
        assert driver.save_screenshot(str(screenshot))
    assert shown == {FACTORY, STORE1, STORE4}, shown
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, ARTIFACTS / screenshot.name)
    assert screenshot.stat().st_size > 10_000


def test_stop_ends_every_process_and_leaves_no_pod(airflow):
    pids = airflow.pids()
    stopped = airflow_command("stop", airflow.layout)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "Airflow stopped", stopped.stdout
    assert processes.in_sids(pids.values()) == []
    assert not airflow.layout.state_file.exists()
    with pytest.raises(OSError):
        airflow.api.health()
    assert airflow.kubectl("get", "pods")["items"] == []
    status = airflow_command("status", airflow.layout)
    assert status.returncode == 1 and status.stdout.strip() == "Airflow stopped"
