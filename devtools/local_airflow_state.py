"""The local Airflow's state file (`<folder>/state.json`): the processes the run started, and which live
processes are still theirs. Each process was started with setsid, so its SID is its pid and every descendant
keeps it (devtools/processes.py)."""

from __future__ import annotations

import json

from devtools import processes
from devtools.local_airflow_config import Layout


def load_state(layout: Layout) -> dict:
    return json.loads(layout.state_file.read_text()) if layout.state_file.exists() else {}


def own_sids(layout: Layout) -> dict[str, int]:
    """The SIDs of the processes the run started, by name (each leads its own: SID = its pid). Only from this
    boot, and a leader that runs must still be the process that was started: a reused pid is someone else's.
    A leader that died still names its SID, which its children keep."""
    state = load_state(layout)
    if state.get("boot_id") != processes.boot_id():
        return {}
    started = state.get("start_times", {})
    return {
        name: pid
        for name, pid in state.get("pids", {}).items()
        if not processes.alive(pid) or processes.start_time(pid) == started.get(name)
    }


def running(layout: Layout) -> dict[str, int]:
    """The running set's leaders by name, when every one of them is alive; {} otherwise."""
    started, ours = load_state(layout).get("pids", {}), own_sids(layout)
    alive = {name: pid for name, pid in ours.items() if processes.alive(pid)}
    return alive if started and alive.keys() == started.keys() else {}


def running_set(layout: Layout) -> list[int]:
    """Every live process the run started, their children included."""
    return processes.in_sids(own_sids(layout).values())


def save_state(layout: Layout, pids: dict[str, int], port: int, fingerprint: str) -> None:
    start_times = {name: processes.start_time(pid) for name, pid in pids.items()}
    state = {"pids": pids, "start_times": start_times, "boot_id": processes.boot_id(), "port": port}
    layout.state_file.write_text(json.dumps({**state, "fingerprint": fingerprint}))
