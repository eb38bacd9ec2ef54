"""devtools/processes.py on real processes: a SID finds every descendant, a graceful stop needs no kill,
and what ignores SIGTERM or left its leader's process group is killed after the timeout."""

from __future__ import annotations

import os
import sys
import time

import pytest

from devtools import processes

pytestmark = pytest.mark.integration

# Stands in for Airflow's task processes: it moves to a process group of its own and ignores SIGTERM.
ESCAPER = "import os, signal, time; os.setpgid(0, 0); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"


def spawned(tmp_path, script: str) -> int:
    return processes.spawn(["sh", "-c", script], dict(os.environ), tmp_path / "log", tmp_path)


def settle(leader: int, count: int) -> list[int]:
    deadline = time.monotonic() + 10
    while len(found := processes.in_sids([leader])) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_a_graceful_stop_ends_every_process_with_the_sid_without_a_kill(tmp_path):
    leader = spawned(tmp_path, "sleep 120 & sleep 120 & wait")
    members = settle(leader, 3)
    assert leader in members and len(members) == 3
    assert processes.memory_of(members).processes == 3
    assert processes.terminate([leader], timeout=10) == []
    assert processes.in_sids([leader]) == []


def test_a_process_that_left_the_group_and_ignores_sigterm_is_killed_by_its_sid(tmp_path):
    leader = spawned(tmp_path, f"{sys.executable} -c '{ESCAPER}' & wait")
    members = settle(leader, 2)
    (escaper,) = [pid for pid in members if pid != leader]
    deadline = time.monotonic() + 10
    while os.getpgid(escaper) == leader and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.getpgid(escaper) == escaper
    started = time.monotonic()
    assert processes.terminate([leader], timeout=2) == [escaper]
    assert time.monotonic() - started < 10
    assert not processes.alive(escaper) and processes.in_sids([leader]) == []


def test_memory_sums_rss_and_pss_of_live_processes():
    own = processes.memory_of([os.getpid(), 999_999_999])
    assert own.processes == 1
    assert 0 < own.pss_kib <= own.rss_kib
