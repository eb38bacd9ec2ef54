"""The README's main command, `bash scripts/run_local.sh`, run as a user runs it, in a copy of the repository:
deploy, deploy again, start Airflow beside the stack (`airflow`), destroy, stop.

Only the embedded PostgreSQL's port and Airflow's port differ from the committed local stack (free ones, so a
running local deployment on this machine is left alone). The copy shares the installed environments and the
toolchain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools import processes
from devtools.airflow_api import AirflowApi
from devtools.control_plane import running
from devtools.local_airflow_config import LOGIN
from devtools.net import free_port
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import copy_project

pytestmark = pytest.mark.e2e

SHARED = (".venv-airflow", "requirements", "requirements.txt")
AIRFLOW_PORT = free_port()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Iterator[Path]:
    root = copy_project(tmp_path_factory.mktemp("run-local"))
    for name in ("scripts", "devtools", "toolchain"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    # Its own .venv, as a fresh clone has: the command installs the project into it, editable, and must
    # not point the repository's .venv at this copy.
    (root / ".venv").unlink()
    for name in SHARED:
        (root / name).symlink_to(REPO_ROOT / name)
    stack_file = root / "config" / "Pulumi.local.yaml"
    document = yaml.safe_load(stack_file.read_text())
    port = free_port()
    for key in ("adminPort", "mergeDbPort"):
        document["config"][f"datasurface-yellow:{key}"] = port
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    yield root
    run_local(root, "stop")


def run_local(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "KUBECONFIG"))}
    env["LOCAL_AIRFLOW_PORT"] = str(AIRFLOW_PORT)
    return subprocess.run(
        ["bash", "scripts/run_local.sh", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_main_job_deploys_into_the_local_control_plane_and_shows_the_dags(checkout):
    result = run_local(checkout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "In the API server, namespace datasurface-local:" in out
    assert "ConfigMap    datasurface-local/yellowlive-factory-dag" in out
    for dag_id in ("yellowlive_factory_dag", "yellowlive__Store1_ingestion", "yellowlive__Store2_ingestion"):
        assert f"  {dag_id}  schedule=" in out, out
    assert "yellowlive__Store3_ingestion" not in out
    kubectl = "kubectl --kubeconfig .local/kube/admin.kubeconfig -n datasurface-local get"
    for workload in ("deployment/airflow-scheduler", "deployment/airflow-dag-processor"):
        assert f"{kubectl} {workload} -o yaml" in out
    assert running(checkout / ".local" / "kube")


def test_a_second_run_changes_nothing(checkout):
    result = run_local(checkout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "17 unchanged" in result.stdout, result.stdout


def test_the_airflow_command_starts_airflow_showing_the_deployed_dags(checkout):
    result = run_local(checkout, "airflow")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    url = f"http://127.0.0.1:{AIRFLOW_PORT}"
    assert f"UI        {url}   login admin / admin" in result.stdout, result.stdout
    dags = AirflowApi(url, *LOGIN).dags()
    assert set(dags) == {"yellowlive_factory_dag", "yellowlive__Store1_ingestion", "yellowlive__Store2_ingestion"}
    again = run_local(checkout, "airflow")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert "Airflow already running (api-server, scheduler, dag-processor, dag-sync)" in again.stdout, again.stdout


def test_destroy_then_stop_leave_nothing_running(checkout):
    airflow_state = checkout / ".local" / "airflow" / "state.json"
    airflow_pids = json.loads(airflow_state.read_text())["pids"].values()
    destroyed = run_local(checkout, "destroy")
    assert destroyed.returncode == 0, destroyed.stdout[-4000:] + destroyed.stderr[-4000:]
    assert "17 deleted" in destroyed.stdout, destroyed.stdout
    stopped = run_local(checkout, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "Airflow stopped\n" in stopped.stdout, stopped.stdout
    assert processes.in_sids(airflow_pids) == []
    assert not airflow_state.exists()
    assert not running(checkout / ".local" / "kube")
    status = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "python"),
            "-m",
            "devtools.embedded_pg",
            "status",
            "--data",
            ".local/postgres",
        ],
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    assert status.returncode != 0, status.stdout
