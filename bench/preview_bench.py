"""A no-change `pulumi preview` of the local stack against the floor: a program with one ConfigMap.

Both run on the same toolchain, the same Python virtualenv, the same file backend and the same local
Kubernetes control plane, side by side in one run. For each N:
  1. a copy of the project whose local stack reads N generated seed streams from a streams file, its merge
     database on a fresh embedded PostgreSQL, its workloads on the control plane (the Airflow chart's
     Deployments applied first, as scripts/run_local.sh does); `pulumi up` once;
  2. the floor: a Pulumi Python program declaring one ConfigMap in the same namespace (default Kubernetes
     provider, the same kubeconfig); `pulumi up` once;
  3. --repeat rounds of `pulumi preview --expect-no-changes` of each, the order alternating from round to
     round, so load on the machine falls on both alike.
It prints the median and the best preview of each, and the ratio of the medians. With --breakdown, one more
preview of each runs while /proc is sampled: the CPU seconds of every process the CLI started, by kind (the
program, the dynamic providers' Python process, each provider plugin, the CLI itself), which says where the
time above the floor goes. The sampling costs CPU itself, so those previews are not among the timed ones.

Needs the toolchain (python3 toolchain/pulumi_toolchain.py) and runs with the project's main virtualenv:
    .venv/bin/python bench/preview_bench.py [--sizes 10 10000] [--repeat 5] [--breakdown] [--bin DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from stack_bench import STREAMS_FILE, pulumi_env, seed_streams, toolchain_bin

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devtools.airflow_chart import apply_chart  # noqa: E402
from devtools.control_plane import ControlPlane  # noqa: E402
from devtools.embedded_pg import EmbeddedPostgres  # noqa: E402
from devtools.net import free_port  # noqa: E402
from devtools.project_copy import copy_project  # noqa: E402

STACK = "local"
FLOOR_STACK = "floor"
CONFIG_PREFIX = "datasurface-yellow:"
TARGET_RATIO = 1.5

FLOOR_PROJECT = """\
name: preview-floor
description: One ConfigMap, the floor a no-change preview of the local stack is compared with.
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: .venv
"""

FLOOR_PROGRAM = '''\
"""One ConfigMap with the default Kubernetes provider."""

import pulumi
import pulumi_kubernetes as k8s

namespace = pulumi.Config().require("namespace")
k8s.core.v1.ConfigMap(
    "floor",
    metadata={"name": "preview-floor", "namespace": namespace},
    data={"floor.txt": "one ConfigMap"},
)
'''


@dataclass
class Cli:
    """The Pulumi CLI in one project folder, on one stack."""

    root: Path
    stack: str
    env: dict[str, str]

    def run(self, *args: str) -> float:
        """Seconds the command took; a failure stops the bench with the command's output."""
        started = time.perf_counter()
        completed = subprocess.run(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            output = completed.stdout[-4000:] + completed.stderr[-4000:]
            raise RuntimeError(f"pulumi {' '.join(args)} ({self.root.name}) failed:\n{output}")
        return seconds

    def preview(self) -> float:
        return self.run("preview", "--expect-no-changes")

    def sampled_preview(self) -> dict[str, float]:
        """CPU seconds by kind of process of one no-change preview, and its wall-clock time (WALL_CLOCK)."""
        started = time.perf_counter()
        process = subprocess.Popen(
            ["pulumi", "preview", "--expect-no-changes", "--stack", self.stack, "--non-interactive"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sampler = CpuSampler(process.pid)
        sampler.start()
        if process.wait(timeout=3600) != 0:
            raise RuntimeError(f"pulumi preview ({self.root.name}) failed")
        elapsed = time.perf_counter() - started
        sampler.stop()
        return {**sampler.by_kind(), WALL_CLOCK: elapsed}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WALL_CLOCK = "wall clock of the preview"


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user + system) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_kind(pid: int) -> str:
    """What a process of a preview is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    line = " ".join(argv)
    if "pulumi.dynamic" in line:
        return "dynamic providers (python)"
    if "language-python-exec" in line or "__main__.py" in line:
        return "program (python)"
    name = Path(argv[0]).name
    if name.startswith("python"):
        return f"python {' '.join(argv[1:3])}"
    return name


class CpuSampler(threading.Thread):
    """Every `interval` seconds, the CPU seconds of each process descended from `root`; a process counts
    with its last sample (a process living less than one interval may be missed)."""

    def __init__(self, root: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.seconds: dict[int, float] = {}
        self.kinds: dict[int, str] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (found := _stat(int(entry.name))):
                parents[int(entry.name)], cpu[int(entry.name)] = found
        family = {self.root}
        grew = True
        while grew:
            joined = {pid for pid, parent in parents.items() if parent in family and pid not in family}
            family |= joined
            grew = bool(joined)
        for pid in family & cpu.keys():
            self.seconds[pid] = cpu[pid]
            # Read again each time: a child forked a moment ago may not have run its command yet.
            kind = process_kind(pid)
            if kind != "?":
                self.kinds[pid] = kind

    def stop(self) -> None:
        self.done.set()
        self.join()

    def by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for pid, seconds in self.seconds.items():
            totals[self.kinds.get(pid, "?")] += seconds
        return dict(totals)


def local_stack_document(template: dict, port: int) -> dict:
    """The local stack file with its streams in the generated file and its database behind `port`."""
    config = {k: v for k, v in template["config"].items() if k != CONFIG_PREFIX + "seedStreams"}
    config[CONFIG_PREFIX + "streamsFile"] = STREAMS_FILE
    config[CONFIG_PREFIX + "adminPort"] = port
    config[CONFIG_PREFIX + "mergeDbPort"] = port
    return {**template, "config": config}


def local_stack(work: Path, n: int, env: dict[str, str]) -> Cli:
    """A copy of the project with the local stack and N streams in its streams file."""
    root = copy_project(work / "project")
    rows = seed_streams(n)
    (root / STREAMS_FILE).write_text(yaml.dump(rows, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 20))
    cli = Cli(root, STACK, env)
    cli.run("stack", "init")
    return cli


def point_at_database(cli: Cli, port: int) -> None:
    stack_file = cli.root / "config" / f"Pulumi.{STACK}.yaml"
    document = local_stack_document(yaml.safe_load(stack_file.read_text()), port)
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False, width=1 << 20))


def floor_program(work: Path, env: dict[str, str], namespace: str) -> Cli:
    root = work / "floor"
    root.mkdir()
    (root / "Pulumi.yaml").write_text(FLOOR_PROJECT)
    (root / "__main__.py").write_text(FLOOR_PROGRAM)
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    cli = Cli(root, FLOOR_STACK, env)
    cli.run("stack", "init")
    cli.run("config", "set", "namespace", namespace)
    return cli


def admin_password(cli: Cli) -> str:
    completed = subprocess.run(
        ["pulumi", "config", "get", "adminPassword", "--stack", cli.stack],
        cwd=cli.root,
        env=cli.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


@contextmanager
def servers(work: Path, bin_dir: Path, namespace: str, password: str) -> Iterator[tuple[Path, EmbeddedPostgres]]:
    """The control plane with the chart's Deployments in `namespace`, and a fresh embedded PostgreSQL."""
    with ControlPlane(work / "kube", bin_dir) as cluster:
        apply_chart(cluster.kubeconfig, namespace)
        with EmbeddedPostgres(work / "pg", free_port(), password) as server:
            yield cluster.kubeconfig, server


@dataclass
class SizeResult:
    n: int
    up_seconds: float
    stack: list[float]
    floor: list[float]
    stack_cpu: dict[str, float] = field(default_factory=dict)
    floor_cpu: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return statistics.median(self.stack) / statistics.median(self.floor)


def run_size(work: Path, n: int, bin_dir: Path, repeat: int, breakdown: bool) -> SizeResult:
    env = pulumi_env(work, bin_dir)
    stack = local_stack(work, n, env)
    template = yaml.safe_load((REPO_ROOT / "config" / f"Pulumi.{STACK}.yaml").read_text())
    namespace = template["config"][CONFIG_PREFIX + "namespace"]
    with servers(work, bin_dir, namespace, admin_password(stack)) as (kubeconfig, server):
        env["KUBECONFIG"] = str(kubeconfig)
        point_at_database(stack, server.port)
        floor = floor_program(work, env, namespace)
        up_seconds = stack.run("up", "--yes", "--skip-preview")
        floor.run("up", "--yes", "--skip-preview")
        # One preview of each before the timed rounds: the first run after an up reads a new state file.
        floor.preview()
        stack.preview()
        timed: dict[str, list[float]] = {"stack": [], "floor": []}
        for round_ in range(repeat):
            order = [("floor", floor), ("stack", stack)]
            for label, cli in order if round_ % 2 == 0 else reversed(order):
                timed[label].append(cli.preview())
        result = SizeResult(n, up_seconds, timed["stack"], timed["floor"])
        if breakdown:
            result.floor_cpu, result.stack_cpu = floor.sampled_preview(), stack.sampled_preview()
    return result


def bytecode_note() -> str:
    """Whether the virtualenv's packages have bytecode: without it, each Python process compiles what it
    imports, and with PYTHONDONTWRITEBYTECODE set it never keeps the result."""
    spec = importlib.util.find_spec("pulumi_kubernetes")
    compiled = bool(spec and spec.origin and Path(importlib.util.cache_from_source(spec.origin)).is_file())
    return (
        f"virtualenv {'byte-compiled' if compiled else 'NOT byte-compiled'}, "
        f"PYTHONDONTWRITEBYTECODE={'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}"
    )


def breakdown_table(r: SizeResult) -> list[str]:
    kinds = sorted((set(r.stack_cpu) | set(r.floor_cpu)) - {WALL_CLOCK}, key=lambda k: -r.stack_cpu.get(k, 0.0))
    lines = [
        f"N={r.n}: CPU seconds by process in one more preview of each, sampled from /proc:",
        "| process | local stack | one ConfigMap | difference |",
        "|:--------|------------:|--------------:|-----------:|",
    ]
    for kind in [*kinds, WALL_CLOCK]:
        a, b = r.stack_cpu.get(kind, 0.0), r.floor_cpu.get(kind, 0.0)
        lines.append(f"| {kind} | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    a, b = (sum(v for k, v in cpu.items() if k != WALL_CLOCK) for cpu in (r.stack_cpu, r.floor_cpu))
    lines.append(f"| CPU of all processes | {a:.2f} | {b:.2f} | {a - b:+.2f} |")
    return lines


def report(results: list[SizeResult], repeat: int) -> list[str]:
    lines = [
        f"No-change `pulumi preview` (seconds, {repeat} of each, alternating; median and best):",
        "|      N | local stack, median | best | one ConfigMap, median | best | ratio of medians |",
        "|-------:|--------------------:|-----:|----------------------:|-----:|-----------------:|",
    ]
    for r in results:
        lines.append(
            f"| {r.n:6d} | {statistics.median(r.stack):19.2f} | {min(r.stack):4.2f} | "
            f"{statistics.median(r.floor):21.2f} | {min(r.floor):4.2f} | {r.ratio:16.2f} |"
        )
    lines += ["", "Every run (seconds):"]
    for r in results:
        lines.append(f"  N={r.n}: local stack {', '.join(f'{s:.2f}' for s in r.stack)}")
        lines.append(f"  N={r.n}: one ConfigMap {', '.join(f'{s:.2f}' for s in r.floor)}")
    for r in results:
        if r.stack_cpu:
            lines += ["", *breakdown_table(r)]
    lines += ["", "Target:"]
    for r in results:
        status = "met" if r.ratio <= TARGET_RATIO else "NOT met"
        lines.append(f"  [{status}] N={r.n}: {r.ratio:.2f} x the one-ConfigMap program (at most {TARGET_RATIO} x)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10000])
    parser.add_argument("--repeat", type=int, default=5, help="timed previews of each program per size")
    parser.add_argument("--breakdown", action="store_true", help="one more preview of each, CPU by process")
    parser.add_argument(
        "--bin", type=Path, help="the toolchain's bin folder (default: as toolchain/pulumi_toolchain.py prints it)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers when stopped
    bin_dir = args.bin or toolchain_bin()
    # kubectl (the chart's objects) from the toolchain too, as scripts/run_local.sh puts it on PATH.
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    version = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Pulumi {version}; {bytecode_note()}; {os.cpu_count()} cores, load average {load}", flush=True)
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"preview-bench-{n}-") as tmp:
            results.append(run_size(Path(tmp), n, bin_dir, args.repeat, args.breakdown))
        r = results[-1]
        print(
            f"N={n}: first up {r.up_seconds:.1f}s; preview: local stack {statistics.median(r.stack):.2f}s, "
            f"one ConfigMap {statistics.median(r.floor):.2f}s, {r.ratio:.2f} x",
            flush=True,
        )
    print("\n" + "\n".join(report(results, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
