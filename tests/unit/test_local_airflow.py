"""The local Airflow's running set: what each process is launched with, and which processes its state file names
as its own (never a process that reuses a pid)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from devtools import processes
from devtools.kubelet_view import NamespaceView, WorkloadRef
from devtools.local_airflow import StartRequest, launches
from devtools.local_airflow_config import Layout, Secrets
from devtools.local_airflow_state import own_sids, running

GONE = 999_999_999  # above the kernel's pid_max: never a live process


def container(env: dict[str, str]) -> dict:
    pod = {"containers": [{"name": "c", "env": [{"name": k, "value": v} for k, v in env.items()]}]}
    return {"metadata": {"name": "w"}, "spec": {"template": {"spec": pod}}}


def test_each_component_runs_with_its_workloads_environment_and_the_api_server_with_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "admin-secret")
    scheduler, processor = WorkloadRef("Deployment", "airflow-scheduler"), WorkloadRef("Deployment", "x-dag-processor")
    view = NamespaceView(
        workloads={scheduler: container({"FROM": "scheduler"}), processor: container({"FROM": "dag-processor"})},
        secrets=[],
        configmaps=[],
    )
    request = StartRequest(
        layout=Layout(tmp_path),
        kubeconfig=Path("/k/admin.kubeconfig"),
        namespace="ns",
        workloads=[scheduler, processor],
        db_host="127.0.0.1",
        db_port=55432,
        admin_user="postgres",
        admin_password="admin-secret",
        port=58080,
        airflow_bin=Path("/venv/bin/airflow"),
    )
    planned, replaced = launches(request, view, Secrets("j", "k", "f", "p"))
    assert sorted(planned) == ["api-server", "dag-processor", "dag-sync", "scheduler"]
    assert planned["scheduler"].env["FROM"] == "scheduler"
    assert planned["dag-processor"].env["FROM"] == "dag-processor"
    assert "FROM" not in planned["api-server"].env
    assert planned["dag-sync"].argv[-4:] == ["--workload", str(scheduler), "--workload", str(processor)]
    assert "AIRFLOW__CORE__EXECUTOR" not in planned["dag-sync"].env
    assert all("admin-secret" not in str(launch) for launch in planned.values())
    assert replaced == {}


def layout_with(tmp_path, **state) -> Layout:
    layout = Layout(tmp_path)
    layout.state_file.write_text(json.dumps({"boot_id": processes.boot_id(), "port": 1, **state}))
    return layout


def test_a_live_leader_is_ours_only_while_it_is_the_process_that_was_started(tmp_path):
    me = os.getpid()
    started = layout_with(tmp_path, pids={"scheduler": me}, start_times={"scheduler": processes.start_time(me)})
    assert own_sids(started) == {"scheduler": me} and running(started) == {"scheduler": me}
    reused = layout_with(tmp_path, pids={"scheduler": me}, start_times={"scheduler": "1"})
    assert own_sids(reused) == {} and running(reused) == {}


def test_a_dead_leader_still_names_its_sid_but_the_set_is_not_running(tmp_path):
    me = os.getpid()
    pids = {"scheduler": me, "dag-processor": GONE}
    layout = layout_with(tmp_path, pids=pids, start_times={"scheduler": processes.start_time(me), "dag-processor": "5"})
    assert own_sids(layout) == pids
    assert running(layout) == {}


def test_a_state_file_of_another_boot_names_nothing(tmp_path):
    layout = Layout(tmp_path)
    state = {"boot_id": "another-boot", "pids": {"scheduler": os.getpid()}, "start_times": {}}
    layout.state_file.write_text(json.dumps(state))
    assert own_sids(layout) == {}
    assert own_sids(Layout(tmp_path / "never-started")) == {}
