"""Time from a stopped machine to Airflow's UI showing the factory's DAGs, and the memory of the running set.

Everything installed and the local stack deployed once before; "stopped" is after `run_local.sh stop` (no
server, no Airflow). Two paths are timed, each until headless Chromium, logged in, lists every DAG the REST
API lists:
  * returning:  run_local.sh airflow  (starts PostgreSQL, the control plane and Airflow; the stack as deployed)
  * full:       run_local.sh, then run_local.sh airflow  (the main job first: pulumi up, what was deployed)
Then, after --settle seconds of the running set doing its scheduled work, RSS and PSS of Airflow (every
process with the SIDs of its processes), the control plane and PostgreSQL.

    .venv/bin/python bench/local_airflow_bench.py [--settle 60] [--keep-running]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devtools import processes  # noqa: E402
from devtools.airflow_api import AirflowApi  # noqa: E402
from devtools.airflow_ui import headless_chromium, listed_dag_ids, log_in  # noqa: E402
from devtools.local_airflow_config import LOGIN  # noqa: E402

LOCAL = REPO_ROOT / ".local"


def run_local(*args: str) -> float:
    began = time.monotonic()
    result = subprocess.run(["bash", "scripts/run_local.sh", *args], cwd=REPO_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"run_local.sh {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.monotonic() - began


def ui_shows_the_dags(base_url: str) -> float:
    began = time.monotonic()
    expected = set(AirflowApi(base_url, *LOGIN).dags())
    with tempfile.TemporaryDirectory() as profile, headless_chromium(Path(profile)) as driver:
        log_in(driver, base_url, *LOGIN)
        listed_dag_ids(driver, base_url, expected)
    return time.monotonic() - began


def timed_path(steps: list[tuple[str, ...]], base_url: str) -> dict[str, float]:
    run_local("stop")
    figures = {" ".join(("run_local.sh", *step)): run_local(*step) for step in steps}
    figures["UI lists the DAGs"] = ui_shows_the_dags(base_url)
    figures["total"] = sum(figures.values())
    return figures


def running_set() -> dict[str, processes.Memory]:
    airflow = json.loads((LOCAL / "airflow" / "state.json").read_text())["pids"].values()
    control_plane = json.loads((LOCAL / "kube" / "state.json").read_text())["pids"].values()
    postmaster = int((LOCAL / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])
    groups = {
        "Airflow (api-server, scheduler and its workers, dag-processor, dag-sync)": processes.in_sids(airflow),
        "control plane (etcd, kube-apiserver, kube-controller-manager)": list(control_plane),
        "PostgreSQL (server and its backends)": processes.descendants(postmaster),
    }
    memories = {name: processes.memory_of(pids) for name, pids in groups.items()}
    every = [pid for pids in groups.values() for pid in pids]
    return {**memories, "everything": processes.memory_of(every)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=60, help="seconds of running before memory is measured")
    parser.add_argument("--keep-running", action="store_true")
    args = parser.parse_args()
    base_url = f"http://127.0.0.1:{os.environ.get('LOCAL_AIRFLOW_PORT', '58080')}"
    run_local()  # the stack deployed, whatever state the machine is in
    paths = {
        "returning (run_local.sh airflow)": timed_path([("airflow",)], base_url),
        "full (run_local.sh; run_local.sh airflow)": timed_path([(), ("airflow",)], base_url),
    }
    for name, figures in paths.items():
        print(f"stopped -> UI showing the DAGs, {name}:")
        for step, seconds in figures.items():
            print(f"  {step:<24} {seconds:6.1f} s")
    time.sleep(args.settle)
    print(f"memory of the running set after {args.settle:.0f} s:")
    for name, memory in running_set().items():
        print(f"  {name}: {memory}")
    if not args.keep_running:
        run_local("stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
