"""What N seed rows cost a no-change `pulumi preview` through the real engine, the DsgTable alone.

Four programs, each a project of its own on one file backend and one embedded PostgreSQL, `pulumi up` once,
then --repeat rounds of `pulumi preview --expect-no-changes` of each, the order alternating:
  empty   no resource: the engine, the language host and a Python program, nothing else;
  map     one DsgTable whose inputs hold the N rows as a map, stream key -> {config_json, status} (as before);
  text    the same DsgTable with the rows as one text, a line per row (dsg_sql.rows_text, as now);
  parse   as text, the rows read from a streams file and checked as the program does (components/streams.py).
The rows of map and text come from a JSON file, so these two differ only in how the rows cross the engine
and the dynamic provider's process. No Kubernetes provider or cluster is needed: only the CLI and the
Python language host of the toolchain.

    .venv/bin/python bench/preview_rows_bench.py [--sizes 10 10000] [--repeat 3] [--bin DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from stack_bench import pulumi_env, seed_streams, toolchain_bin

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devtools.embedded_pg import EmbeddedPostgres  # noqa: E402
from devtools.net import free_port  # noqa: E402

MODES = ("empty", "map", "text", "parse")
PASSWORD = "bench-pw"

PROGRAM = '''\
"""One DsgTable (or none), its rows as the bench's mode says."""

import json
import os
from pathlib import Path

import pulumi
from pulumi.dynamic import Resource

from components import dsg_sql
from components.dsg_table import DsgTableProvider
from components.naming import PlatformNames
from components.streams import parse_streams

MODE = os.environ["BENCH_MODE"]


class DsgTable(Resource, module="datasurface", name="DsgTable"):
    def __init__(self, name, props):
        opts = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(DsgTableProvider(), name, props, opts)


if MODE != "empty":
    if MODE == "parse":
        names = PlatformNames("yellowlive", "postgres")
        secrets = {"adminPassword": os.environ["BENCH_PG_PASSWORD"]}
        streams, problems = parse_streams([], "streams.yaml", names, Path.cwd(), secrets)
        assert not problems, problems
        rows = {s.stream_key: {"config_json": s.config_json, "status": s.status} for s in streams}
    else:
        rows = json.loads(Path("rows.json").read_text())
    DsgTable(
        "dsg",
        {
            "host": "127.0.0.1",
            "port": int(os.environ["BENCH_PG_PORT"]),
            "dbname": "postgres",
            "user": "postgres",
            "password": pulumi.Output.secret(os.environ["BENCH_PG_PASSWORD"]),
            "sslmode": "disable",
            "table": f"dsg_{MODE}",
            "grant_to": None,
            "rows": rows if MODE == "map" else dsg_sql.rows_text(rows),
            "row_count": None,
            "last_change": None,
        },
    )
'''


def project(root: Path, mode: str, rows: list[dict], env: dict[str, str]) -> Callable[..., float]:
    """The project of one mode, and a runner of the CLI in it that returns the seconds a command took."""
    root.mkdir()
    (root / "Pulumi.yaml").write_text(
        f"name: rows-{mode}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\n"
    )
    (root / "__main__.py").write_text(PROGRAM)
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    declared = {
        r["stream_key"]: {
            "config_json": json.dumps(r["config"], sort_keys=True, separators=(",", ":")),
            "status": "active",
        }
        for r in rows
    }
    (root / "rows.json").write_text(json.dumps(declared))
    (root / "streams.yaml").write_text(yaml.dump(rows, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 20))
    mode_env = {**env, "BENCH_MODE": mode}

    def run(*args: str) -> float:
        started = time.perf_counter()
        completed = subprocess.run(
            ["pulumi", *args, "--stack", "bench", "--non-interactive"],
            cwd=root,
            env=mode_env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"{mode}: pulumi {' '.join(args)} failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
            )
        return time.perf_counter() - started

    run("stack", "init")
    run("up", "--yes", "--skip-preview")
    run("preview", "--expect-no-changes")  # the first preview after an up reads a new state file
    return run


def run_size(work: Path, n: int, bin_dir: Path, repeat: int) -> dict[str, list[float]]:
    rows = seed_streams(n)
    with EmbeddedPostgres(work / "pg", free_port(), PASSWORD) as server:
        env = {**pulumi_env(work, bin_dir), "BENCH_PG_PORT": str(server.port), "BENCH_PG_PASSWORD": PASSWORD}
        runners = {mode: project(work / mode, mode, rows, env) for mode in MODES}
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for round_ in range(repeat):
            for mode in MODES if round_ % 2 == 0 else tuple(reversed(MODES)):
                times[mode].append(runners[mode]("preview", "--expect-no-changes"))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--bin", type=Path, help="the toolchain's bin folder (default: as toolchain/pulumi_toolchain.py prints it)"
    )
    args = parser.parse_args(argv)
    bin_dir = args.bin or toolchain_bin()
    print("| N | load average | " + " | ".join(f"{m}, median (best)" for m in MODES) + " |")
    print("|--:|--:|" + "--:|" * len(MODES))
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"preview-rows-{n}-") as tmp:
            times = run_size(Path(tmp), n, bin_dir, args.repeat)
        cells = " | ".join(f"{statistics.median(t):.2f} ({min(t):.2f})" for t in times.values())
        print(f"| {n} | {os.getloadavg()[0]:.1f} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
