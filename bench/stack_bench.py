"""The local stack with the real Pulumi engine at 10, 1,000 and 10,000 seed streams.

For each N, in a copy of the project with its own file backend and a fresh embedded PostgreSQL, one
after the other:
  1. `pulumi preview` of the new stack           (best of --repeat)
  2. `pulumi up --skip-preview`: the first apply of N rows
  3. one seed row changed in the stack file
  4. `pulumi preview`                             (best of --repeat)
  5. `pulumi up --skip-preview`: the one changed row
and reads, for each `up`, what the DsgTable provider sent to PostgreSQL (statements from the server's
statement log, round trips from bench/wire_counter.py between the engine and the server), the rows it
wrote (row versions before and after), and the state file's size.

Only the database side is real: the stack's `renderManifestsTo` points at a temporary folder, so the
Kubernetes provider renders the manifests there and no control plane is started. The N streams are
generated into the copy, never into the repository: into a streams file named by `streamsFile` when
the project declares that key, else inline into the stack file's `seedStreams`, which holds only a few
hundred streams of this size (a size beyond that is reported as not run, with the reason).

Run with the project's main virtualenv; the Pulumi CLI is the one toolchain/pulumi_toolchain.py built:
    .venv/bin/python bench/stack_bench.py [--sizes 10 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml
from factory_parse_bench import streams
from wire_counter import WireCounter

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from components import dsg_sql  # noqa: E402
from devtools.embedded_pg import EmbeddedPostgres  # noqa: E402
from devtools.net import free_port  # noqa: E402
from devtools.project_copy import copy_project  # noqa: E402
from toolchain import plugins  # noqa: E402

STACK = "local"
CONFIG_PREFIX = "datasurface-yellow:"
DSG_TYPE = "pulumi-python:dynamic/datasurface:DsgTable"
DATABASE = "datasurface_merge"
TABLE = "yellowlive_airflow_dsg"
PROVIDER_APPLICATION = "datasurface-yellow-pulumi"
CHANGED_SCHEDULE = "@weekly"  # not among the generated schedules, so the edit is always a change
STREAMS_FILE = "config/bench.streams.yaml"
# The Python language host hands the whole stack config to the program in one environment variable
# (PULUMI_CONFIG), and Linux caps one environment string at 128 KiB (MAX_ARG_STRLEN).
ENV_STRING_LIMIT = 128 * 1024
ROWS_PER_ROUND_TRIP_TARGET = 1000  # "one batched round trip per few thousand rows": at most one per 1,000


# ---------------------------------------------------------------------------------------------
# The stack file
# ---------------------------------------------------------------------------------------------


def seed_streams(n: int) -> list[dict]:
    """N seed streams as the stack file takes them (the parse benchmark's streams, status explicit)."""
    return [{"stream_key": s["stream_key"], "status": "active", "config": s["config"]} for s in streams(n)]


def middle_key(rows: list[dict]) -> str:
    """The row the bench changes."""
    return rows[len(rows) // 2]["stream_key"]


def sample_index(rows: list[dict]) -> int:
    """A row that has a dataset_name (every third) and is not the one the bench changes."""
    return next(i for i, r in enumerate(rows) if "dataset_name" in r["config"] and r["stream_key"] != middle_key(rows))


def with_one_row_changed(rows: list[dict], key: str) -> list[dict]:
    changed = {"schedule_string": CHANGED_SCHEDULE}
    return [{**r, "config": {**r["config"], **changed}} if r["stream_key"] == key else r for r in rows]


def reads_streams_file(project_file: Path) -> bool:
    """Whether the project declares `streamsFile`, a YAML file of seed streams beside `seedStreams`."""
    return "streamsFile" in (yaml.safe_load(project_file.read_text()).get("config") or {})


def streams_config(rows: list[dict], streams_file: str | None) -> dict[str, object]:
    if streams_file:
        return {"streamsFile": streams_file}
    return {"seedStreams": [json.dumps(r) for r in rows]}


def inline_config_bytes(rows: list[dict]) -> int:
    """About what `seedStreams` adds to PULUMI_CONFIG: the list as JSON text, itself a JSON string there."""
    return len(json.dumps(json.dumps(streams_config(rows, None)["seedStreams"])))


def inline_problem(n: int) -> str | None:
    size = inline_config_bytes(seed_streams(n))
    if size < ENV_STRING_LIMIT:
        return None
    return (
        f"{n} streams inline in seedStreams make about {size // 1024} KiB of stack config; the Python language "
        f"host passes the config in one environment variable, which Linux caps at {ENV_STRING_LIMIT // 1024} KiB "
        "(`argument list too long`). More streams need a streams file (streamsFile)."
    )


def stack_document(document: dict, stream_settings: dict[str, object], port: int, render_to: Path) -> dict:
    """The local stack file with the given streams, the database behind `port` and the manifests rendered."""
    config = {
        k: v
        for k, v in document["config"].items()
        if k not in (CONFIG_PREFIX + "seedStreams", CONFIG_PREFIX + "streamsFile")
    }
    config.update({CONFIG_PREFIX + key: value for key, value in stream_settings.items()})
    config[CONFIG_PREFIX + "adminPort"] = port
    config[CONFIG_PREFIX + "mergeDbPort"] = port
    config[CONFIG_PREFIX + "renderManifestsTo"] = str(render_to)
    return {**document, "config": config}


@dataclass
class StackFile:
    """The copy's stack file, and its streams file when the project reads one."""

    root: Path
    template: dict
    streams_file: str | None
    port: int
    render_to: Path

    @property
    def path(self) -> Path:
        return self.root / "config" / f"Pulumi.{STACK}.yaml"

    def write(self, rows: list[dict]) -> None:
        if self.streams_file:
            text = yaml.dump(rows, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 20)
            (self.root / self.streams_file).write_text(text)
        document = stack_document(self.template, streams_config(rows, self.streams_file), self.port, self.render_to)
        self.path.write_text(yaml.safe_dump(document, sort_keys=False, width=1 << 20))


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def toolchain_bin() -> Path:
    completed = subprocess.run(
        ["python3", str(REPO_ROOT / "toolchain" / "pulumi_toolchain.py"), "--print-bin"],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return Path(completed.stdout.strip().splitlines()[-1])


def pulumi_env(work: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PULUMI_ACCESS_TOKEN")}
    env.update(
        {
            "PULUMI_HOME": str(work / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": (REPO_ROOT / "config" / "local.passphrase").read_text().strip(),
        }
    )
    (work / "state").mkdir(parents=True, exist_ok=True)
    return plugins.pulumi_env(bin_dir, env)


@dataclass
class Engine:
    root: Path
    env: dict[str, str]

    def run(self, *args: str) -> tuple[float, str]:
        """Seconds the command took, and what it printed."""
        started = time.perf_counter()
        completed = subprocess.run(
            ["pulumi", *args, "--stack", STACK, "--non-interactive"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            output = completed.stdout[-4000:] + completed.stderr[-4000:]
            raise RuntimeError(f"pulumi {' '.join(args)} failed:\n{output}")
        return seconds, completed.stdout

    def best_preview(self, repeat: int) -> tuple[float, str]:
        """The best of `repeat` previews: other load on the machine only ever adds time."""
        runs = [self.run("preview") for _ in range(repeat)]
        return min(runs, key=lambda run: run[0])

    def state_file(self) -> Path:
        (path,) = (Path(self.env["PULUMI_BACKEND_URL"].removeprefix("file://")) / ".pulumi" / "stacks").rglob(
            f"{STACK}.json"
        )
        return path


def change_summary(output: str) -> str:
    """The engine's 'Resources:' block on one line, e.g. '~ 1 to update, 15 unchanged'."""
    lines = output[output.rindex("Resources:") :].splitlines()[1:]
    return ", ".join(line.strip() for line in lines if line.strip() and not line.startswith("Duration"))


# ---------------------------------------------------------------------------------------------
# What the provider sent, and what it wrote
# ---------------------------------------------------------------------------------------------


def log_every_statement(server: EmbeddedPostgres) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("ALTER SYSTEM SET log_parameter_max_length = 0")
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] db=%d app=%a '")
        conn.execute("SELECT pg_reload_conf()")


_STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (\w+)")


def provider_statements(log_text: str) -> Counter[str]:
    """Statements of the DsgTable provider's connections in a stretch of the server log, by their first word."""
    tag = f"db={DATABASE} app={PROVIDER_APPLICATION} "
    return Counter(
        match.group(1).upper() for line in log_text.splitlines() if tag in line and (match := _STATEMENT.search(line))
    )


@dataclass
class ServerLog:
    path: Path

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        """Yields a list that holds, once the block is left, the log written meanwhile."""
        start = self.path.stat().st_size
        captured: list[str] = []
        yield captured
        time.sleep(0.5)  # the logging collector writes asynchronously
        with self.path.open("rb") as log:
            log.seek(start)
            captured.append(log.read().decode("utf-8", "replace"))


def row_versions(server: EmbeddedPostgres) -> dict[str, tuple[str, str]]:
    """stream_key -> (xmin, xmax): a new xmin is a written row version, a new xmax alone a locked row."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return {}
    with psycopg.connect(server.conninfo(DATABASE), autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone() == (None,):
            return {}
        rows = conn.execute(f"SELECT stream_key, xmin::text, xmax::text FROM {TABLE}")
        return {k: (xmin, xmax) for k, xmin, xmax in rows}


def rows_touched(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> tuple[int, int]:
    """(rows written: inserted, updated or deleted; rows only locked: same version, new xmax)."""
    written = sum(1 for k in after if k not in before or after[k][0] != before[k][0])
    written += sum(1 for k in before if k not in after)
    locked = sum(1 for k in after if k in before and after[k][0] == before[k][0] and after[k][1] != before[k][1])
    return written, locked


@dataclass
class Traffic:
    statements: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    round_trips: int = 0
    executions: int = 0
    bytes_sent: int = 0
    rows_written: int = 0
    rows_locked: int = 0


@dataclass
class Database:
    server: EmbeddedPostgres
    wire: WireCounter
    log: ServerLog

    def measured(self, action: Callable[[], tuple[float, str]]) -> tuple[float, str, Traffic]:
        before, first = row_versions(self.server), len(self.wire.connections)
        with self.log.capture() as captured:
            seconds, output = action()
        connections = [
            s for s in self.wire.connections[first:] if s.database == DATABASE and s.application == PROVIDER_APPLICATION
        ]
        written, locked = rows_touched(before, row_versions(self.server))
        traffic = Traffic(
            statements=provider_statements(captured[0]),
            connections=len(connections),
            round_trips=sum(s.round_trips for s in connections),
            executions=sum(s.executions for s in connections),
            bytes_sent=sum(s.bytes_sent for s in connections),
            rows_written=written,
            rows_locked=locked,
        )
        return seconds, output, traffic


# ---------------------------------------------------------------------------------------------
# The state
# ---------------------------------------------------------------------------------------------


def compact_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")))


@dataclass
class StateFigures:
    file_bytes: int
    dsg_inputs: int
    dsg_outputs: int
    dynamic_provider: int
    stack_outputs: int
    copies_of_a_row: int


def copies_of_row(state_text: str, index: int) -> int:
    """How often row `index` (one with a dataset_name) is in the state, in any form: its dataset name
    is in no other row and in nothing else."""
    return len(re.findall(rf"dataset{index}(?![0-9])", state_text))


def state_figures(state_text: str, sample: int) -> StateFigures:
    resources = json.loads(state_text)["checkpoint"]["latest"]["resources"]
    (dsg,) = [r for r in resources if r["type"] == DSG_TYPE]
    (stack,) = [r for r in resources if r["type"] == "pulumi:pulumi:Stack"]
    # The default provider of dynamic resources, whose inputs and outputs are the whole stack config.
    (dynamic,) = [r for r in resources if r["type"] == "pulumi:providers:pulumi-python"]
    return StateFigures(
        file_bytes=len(state_text.encode()),
        dsg_inputs=compact_size(dsg.get("inputs", {})),
        dsg_outputs=compact_size(dsg.get("outputs", {})),
        dynamic_provider=compact_size(dynamic.get("inputs", {})) + compact_size(dynamic.get("outputs", {})),
        stack_outputs=compact_size(stack.get("outputs", {})),
        copies_of_a_row=copies_of_row(state_text, sample),
    )


def state_row(row: dict) -> str:
    """A seed stream as the DsgTable resource's inputs hold it: its line of `dsg_sql.rows_text`. As compact
    JSON its size is what it takes in the state: the quotes stand for the line break that joins it to the next."""
    return dsg_sql.rows_text({row["stream_key"]: {"config_json": canonical_config_json(row), "status": row["status"]}})


def canonical_config_json(row: dict) -> str:
    """As components.settings.SeedStream.config_json writes it."""
    return json.dumps(row["config"], sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# One size
# ---------------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    n: int
    preview_first: float
    up_first: float
    preview_change: float
    up_change: float
    preview_change_summary: str
    traffic_first: Traffic
    traffic_change: Traffic
    state: StateFigures
    row_bytes: int


def run_size(work: Path, n: int, bin_dir: Path, repeat: int) -> SizeResult:
    root = copy_project(work / "project")
    engine = Engine(root, pulumi_env(work, bin_dir))
    template = yaml.safe_load((root / "config" / f"Pulumi.{STACK}.yaml").read_text())
    streams_file = STREAMS_FILE if reads_streams_file(root / "Pulumi.yaml") else None
    engine.run("stack", "init")
    _, password = engine.run("config", "get", "adminPassword")
    rows = seed_streams(n)
    with EmbeddedPostgres(work / "pg", free_port(), password.strip()) as server, WireCounter(server.port) as wire:
        log_every_statement(server)
        database = Database(server, wire, ServerLog(server.pgdata / "server.log"))
        stack_file = StackFile(root, template, streams_file, wire.port, work / "manifests")
        stack_file.write(rows)
        preview_first, _ = engine.best_preview(repeat)
        up_first, _, traffic_first = database.measured(lambda: engine.run("up", "--yes", "--skip-preview"))

        changed = with_one_row_changed(rows, middle_key(rows))
        stack_file.write(changed)
        preview_change, preview_output = engine.best_preview(repeat)
        up_change, _, traffic_change = database.measured(lambda: engine.run("up", "--yes", "--skip-preview"))
        state = state_figures(engine.state_file().read_text(), sample_index(rows))
    row_bytes = sum(compact_size(state_row(r)) for r in changed) // n
    return SizeResult(
        n=n,
        preview_first=preview_first,
        up_first=up_first,
        preview_change=preview_change,
        up_change=up_change,
        preview_change_summary=change_summary(preview_output),
        traffic_first=traffic_first,
        traffic_change=traffic_change,
        state=state,
        row_bytes=row_bytes,
    )


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def statement_list(statements: Counter[str]) -> str:
    return ", ".join(f"{verb} {count}" for verb, count in sorted(statements.items(), key=lambda kv: (-kv[1], kv[0])))


def timing_table(results: list[SizeResult]) -> list[str]:
    base = results[0]
    lines = [
        "Engine time (seconds; previews best of several runs, each up one run):",
        "|      N | preview, new stack | up, first apply | preview, 1 row changed | up, 1 row changed "
        f"| preview 1 row / N={base.n} |",
        "|-------:|-------------------:|----------------:|-----------------------:|------------------:|"
        + "-" * (len(f" preview 1 row / N={base.n} ") - 1)
        + ":|",
    ]
    for r in results:
        lines.append(
            f"| {r.n:6d} | {r.preview_first:18.2f} | {r.up_first:15.2f} | {r.preview_change:22.2f} | "
            f"{r.up_change:17.2f} | {r.preview_change / base.preview_change:{len(str(base.n)) + 18}.2f} |"
        )
    return lines


def traffic_table(results: list[SizeResult]) -> list[str]:
    lines = [
        "What the DsgTable provider sent (its connections only) and wrote:",
        "|      N | up                | connections | statements | round trips | rows written | rows locked, unchanged "
        "| statements by kind |",
        "|-------:|:------------------|------------:|-----------:|------------:|-------------:|-----------------------:"
        "|:-------------------|",
    ]
    for r in results:
        for label, t in (("first apply", r.traffic_first), ("1 row changed", r.traffic_change)):
            lines.append(
                f"| {r.n:6d} | {label:17s} | {t.connections:11d} | {sum(t.statements.values()):10d} | "
                f"{t.round_trips:11d} | {t.rows_written:12d} | {t.rows_locked:22d} | {statement_list(t.statements)} |"
            )
    return lines


def state_bytes_per_row(r: SizeResult, base: SizeResult) -> float:
    """What one more row adds to the state file: the slope between the smallest size and this one."""
    return (r.state.file_bytes - base.state.file_bytes) / (r.n - base.n)


def state_table(results: list[SizeResult]) -> list[str]:
    lines = [
        "The state file after the two ups (bytes; the parts as compact JSON):",
        "|      N | state file | DsgTable inputs | DsgTable outputs | dynamic provider config | stack outputs "
        "| copies of a row | state bytes per row | one row's own bytes |",
        "|-------:|-----------:|----------------:|-----------------:|------------------------:|--------------:"
        "|----------------:|--------------------:|--------------------:|",
    ]
    base = results[0]
    for r in results:
        per_row = "" if r.n == base.n else f"{state_bytes_per_row(r, base):.0f}"
        s = r.state
        lines.append(
            f"| {r.n:6d} | {s.file_bytes:10d} | {s.dsg_inputs:15d} | {s.dsg_outputs:16d} | {s.dynamic_provider:23d} | "
            f"{s.stack_outputs:13d} | {s.copies_of_a_row:15d} | {per_row:>19s} | {r.row_bytes:19d} |"
        )
    return lines


def verdict(status: str, text: str, why: str) -> str:
    """One target's line, and for one not met, the reason the figures give."""
    line = f"  [{status}] {text}"
    return line if status == "met" else f"{line}\n      why: {why}"


def preview_target(base: SizeResult, top: SizeResult) -> str:
    ratio = top.preview_change / base.preview_change
    return verdict(
        "met" if ratio <= 2 else "NOT met",
        f"at N={top.n} a preview with one changed row takes {ratio:.2f} x the one at N={base.n} (at most 2 x)",
        "every preview carries every row from the program through the engine to the dynamic provider's Check "
        "and Diff, and reads the whole state; the machine's load varies the ratio from run to run",
    )


def write_target(top: SizeResult) -> str:
    t = top.traffic_change
    return verdict(
        "met" if t.rows_written == 1 else "NOT met",
        f"at N={top.n} the up with one changed row wrote {t.rows_written} row(s) (exactly 1), "
        f"locked {t.rows_locked} unchanged row(s), in {sum(t.statements.values())} statements",
        f"the provider wrote {t.rows_written - 1} row(s) more than the one that changed",
    )


def batch_target(base: SizeResult, top: SizeResult) -> str:
    first, fixed = top.traffic_first, base.traffic_first
    added_trips = first.round_trips - fixed.round_trips
    added_statements = sum(first.statements.values()) - sum(fixed.statements.values())
    allowed = top.n // ROWS_PER_ROUND_TRIP_TARGET
    return verdict(
        "met" if max(added_trips, added_statements) <= allowed else "NOT met",
        f"the first apply of {top.n} rows took {first.round_trips} round trips and {sum(first.statements.values())} "
        f"statements, {added_trips} and {added_statements} more than for {base.n} rows (at most one of each per "
        f"{ROWS_PER_ROUND_TRIP_TARGET} rows: {allowed})",
        f"{added_statements / (top.n - base.n):.2f} statements and {added_trips / (top.n - base.n):.4f} round trips "
        "per added row: the rows are not grouped into statements or round trips",
    )


def state_target(base: SizeResult, top: SizeResult) -> str:
    s = top.state
    beyond = state_bytes_per_row(top, base) - top.row_bytes
    # Within 5% of the row's own size is no more than the slope's noise.
    status = "NOT met" if s.copies_of_a_row > 1 else "met" if beyond <= top.row_bytes / 20 else "partly met"
    return verdict(
        status,
        f"the state holds each row {s.copies_of_a_row} time(s) (once), and {beyond:.0f} bytes per row beyond the "
        f"row's own {top.row_bytes} (DsgTable inputs {s.dsg_inputs}, outputs {s.dsg_outputs}, dynamic provider "
        f"config {s.dynamic_provider}, stack outputs {s.stack_outputs} bytes)",
        f"per row, the DsgTable outputs hold {s.dsg_outputs / top.n:.0f} bytes (a dynamic provider's diff, update "
        "and refresh receive only the old outputs, so these keep what they compare), the dynamic provider's "
        f"config {s.dynamic_provider / top.n:.0f} (the stack config, with any inline streams) and the stack "
        f"outputs {s.stack_outputs / top.n:.0f} (the stream keys the program exports)",
    )


def targets(results: list[SizeResult]) -> list[str]:
    base, top = results[0], results[-1]
    if top.n == base.n:
        return ["Targets: need two sizes"]
    return [
        "Targets:",
        preview_target(base, top),
        write_target(top),
        batch_target(base, top),
        state_target(base, top),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="previews per measurement; the best is kept")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop PostgreSQL when stopped
    bin_dir = toolchain_bin()
    version = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True).stdout.strip()
    from_file = reads_streams_file(REPO_ROOT / "Pulumi.yaml")
    print(
        f"Pulumi {version}; the streams in {'a streams file (streamsFile)' if from_file else 'seedStreams'}; "
        "the Kubernetes manifests rendered to a temporary folder (renderManifestsTo), the database side real "
        "(embedded PostgreSQL)",
        flush=True,
    )
    results, skipped = [], []
    for n in sorted(args.sizes):
        problem = None if from_file else inline_problem(n)
        if problem:
            skipped.append(f"N={n} not run: {problem}")
            print(skipped[-1], flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix=f"stack-bench-{n}-") as tmp:
            results.append(run_size(Path(tmp), n, bin_dir, args.repeat))
        r = results[-1]
        print(
            f"N={n}: preview {r.preview_first:.2f}s, up {r.up_first:.2f}s, preview 1 row {r.preview_change:.2f}s "
            f"({r.preview_change_summary}), up 1 row {r.up_change:.2f}s",
            flush=True,
        )
    if not results:
        return 1
    print()
    for table in (timing_table(results), traffic_table(results), state_table(results), targets(results), skipped):
        print("\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
