"""Background processes, each started with setsid, and found again with every descendant by that SID (the
kernel's session id, which children inherit): Airflow's task processes leave the scheduler's process group but
keep its SID, and Airflow rewrites its processes' titles over their environment, so neither a group nor an
environment marker finds them all. Stop ends every process with those SIDs; memory is summed over them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def kib_field(text: str, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (`VmRSS`) or smaps_rollup (`Pss`: shared pages split between the
    processes that map them); 0 when absent (a kernel thread, a zombie)."""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key == field:
            return int(rest.split()[0])
    return 0


def _stat_fields(stat: str) -> list[str]:
    """/proc/<pid>/stat after the command name, which may hold spaces and parentheses: state, ppid, pgrp,
    sid, ..."""
    return stat.rsplit(")", 1)[1].split()


def parent_of(stat: str) -> int:
    return int(_stat_fields(stat)[1])


def sid_of(stat: str) -> int:
    return int(_stat_fields(stat)[3])


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return None


def _stats() -> dict[int, str]:
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _read(entry / "stat")) is not None:
            stats[int(entry.name)] = stat.decode(errors="replace")
    return stats


def in_sids(sids: Iterable[int]) -> list[int]:
    """Every live process with one of these SIDs (a zombie, dead but not yet reaped, is not live)."""
    wanted = set(sids)
    return sorted(pid for pid, stat in _stats().items() if sid_of(stat) in wanted and _stat_fields(stat)[0] != "Z")


def descendants(root: int) -> list[int]:
    """`root` and every live process below it."""
    stats = _stats()
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(parent_of(stat), []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats and _stat_fields(stats[pid])[0] != "Z":
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a process's log file, or nothing when it has none yet."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def boot_id() -> str:
    return (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()


def start_time(pid: int) -> str | None:
    """When the process started, in clock ticks since boot: tells it from a later process that reuses its pid.
    None when it does not run."""
    stat = _read(PROC / str(pid) / "stat")
    return None if stat is None else _stat_fields(stat.decode(errors="replace"))[19]


def alive(pid: int) -> bool:
    stat = _read(PROC / str(pid) / "stat")
    return stat is not None and _stat_fields(stat.decode(errors="replace"))[0] != "Z"


@dataclass(frozen=True)
class Memory:
    processes: int
    rss_kib: int
    pss_kib: int

    def __str__(self) -> str:
        return f"{self.processes} processes, RSS {self.rss_kib / 1024:.0f} MiB (PSS {self.pss_kib / 1024:.0f} MiB)"


def memory_of(pids: Iterable[int]) -> Memory:
    """VmRSS summed (shared pages counted in every process) and Pss summed (shared pages split)."""
    count = rss = pss = 0
    for pid in set(pids):
        status, rollup = _read(PROC / str(pid) / "status"), _read(PROC / str(pid) / "smaps_rollup")
        if status is None:
            continue
        count += 1
        rss += kib_field(status.decode(), "VmRSS")
        pss += kib_field(rollup.decode(), "Pss") if rollup else 0
    return Memory(count, rss, pss)


def spawn(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> int:
    """A process with a SID of its own (its pid), output appended to `log`; it outlives the caller."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return process.pid


def terminate(sids: list[int], timeout: float) -> list[int]:
    """SIGTERM to the process group each SID's leader started (Airflow shuts down its workers and tasks, and
    the KubernetesPodOperator deletes its pod); after `timeout` seconds SIGKILL to every process left with
    one of the SIDs. Returns the pids that had to be killed."""
    for pid in sids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(sids)
        if not in_sids(sids):
            return []
        time.sleep(0.2)
    killed = in_sids(sids)
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while any(alive(pid) for pid in killed):
        _reap(sids)
        time.sleep(0.1)
    return killed


def _reap(pids: Iterable[int]) -> None:
    """Collects the exit status of the ones this process started, so they do not linger as zombies."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
