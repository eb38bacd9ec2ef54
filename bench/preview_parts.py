"""The Python side of a no-change preview of the local stack, part by part, at N seed streams: CPU seconds,
each part in a fresh process (so imports are paid as a preview pays them), no engine needed.

  imports, one ConfigMap      what the one-ConfigMap program imports (pulumi, pulumi_kubernetes core/v1)
  imports, program            what __main__.py imports, and the parts of pulumi_kubernetes it uses
  imports, provider process   the dynamic provider host (pulumi.dynamic, dill, grpc) and the modules the
                              pickled providers load (components.dsg_table, factory_tables, workload_patch)
  the Kubernetes client       what components/workload_patch.py imported with itself before it imported it
                              in the calls that reach the cluster (the program and the provider process paid it)
  streams file: YAML          reading the generated streams file (libyaml and the duplicate-key check, as
                              components/streams.py does)
  streams file: checks        the entries checked (depth, stream keys, JSON values, secrets, the schema)
  factory DAG render          the DAG file assembled from factory/ by the template
  provider Check + Diff       what the dynamic provider host does with the DsgTable's inputs in a preview:
                              deserialize olds and news, serialize the checked inputs, then Diff against
                              the old outputs; with the rows as one text (as now) and as a map (before)

Run with the project's main virtualenv:
    .venv/bin/python bench/preview_parts.py [--sizes 10 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from stack_bench import seed_streams

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each part prints the CPU seconds (user + system) of what it measures, taken in its own process.
_CLOCK = "import time\n_t = time.process_time()\n"
_DONE = "\nprint(time.process_time() - _t)\n"

IMPORTS = {
    "imports, one ConfigMap": "import pulumi, pulumi_kubernetes as k8s\nk8s.core.v1.ConfigMap",
    "imports, program": (
        "import pulumi, pulumi_kubernetes as k8s\n"
        "import components.platform, components.admin_endpoint, components.stack_config\n"
        "k8s.core.v1.ConfigMap, k8s.core.v1.Secret"
    ),
    "imports, provider process": (
        "import pulumi, pulumi.dynamic, pulumi.runtime, dill, grpc\n"
        "import components.dsg_table, components.factory_tables, components.workload_patch"
    ),
    "psycopg, alone (the provider process needs it only to write)": "import psycopg",
    "the Kubernetes Python client (imported by both before)": "import kubernetes.config, kubernetes.dynamic",
}

STREAMS_YAML = """
from components.streams import _load_yaml
text = open({path!r}).read()
_t = time.process_time()
_load_yaml(text)
"""

STREAMS_CHECKS = """
from components.naming import PlatformNames
from components.streams import _load_yaml, check_entries, file_entries
document = _load_yaml(open({path!r}).read())
names = PlatformNames("yellowlive", "postgres")
secrets = {{"adminPassword": "Admin-Staple-Correct", "mergeDbPassword": "Merge-Staple-Correct"}}
check_entries(file_entries("f", document[:1])[0], names, secrets)  # the schema read, its validator built
_t = time.process_time()
entries, deep = file_entries("f", document)
streams, problems = check_entries(entries, names, secrets)
assert not (problems or deep)
"""

RENDER = """
from components.factory_dag import factory_config, render_factory_dag
from components.settings import parse_settings
from tests.program_harness import valid_raw
config = factory_config(parse_settings(valid_raw()))
_t = time.process_time()
render_factory_dag(config)
"""

PROVIDER = """
import asyncio, json
import pulumi.dynamic
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from components import dsg_sql
from components.dsg_table import DsgTableProvider
# The host's servicer, without the server its module starts when run.
source = open(pulumi.dynamic.__file__.replace("__init__.py", "__main__.py")).read().rsplit("\\nmain()", 1)[0]
host = {{"__name__": "dynamic_host"}}
exec(compile(source, "dynamic_host", "exec"), host)
rows = json.load(open({path!r}))
base = {{"host": "localhost", "port": 5432, "dbname": "d", "user": "u", "password": "pw", "sslmode": "prefer",
        "table": "t", "grant_to": None, "__provider": serialize_provider(DsgTableProvider())}}
inputs = {{**base, "rows": dsg_sql.rows_text(rows) if {as_text} else rows}}
outputs = {{**base, "row_digests": dsg_sql.row_digests(rows), "row_count": len(rows), "last_change": ""}}
loop = asyncio.new_event_loop()
wire_inputs = loop.run_until_complete(rpc.serialize_properties(inputs, {{}}))
wire_outputs = loop.run_until_complete(rpc.serialize_properties(outputs, {{}}))
class Context:
    def abort(self, code, details):
        raise RuntimeError(details)
servicer = host["DynamicResourceProviderServicer"]()
servicer.Check(proto.CheckRequest(urn="u", olds=wire_inputs, news=wire_inputs), Context())  # provider unpickled
_t = time.process_time()
checked = servicer.Check(proto.CheckRequest(urn="u", olds=wire_inputs, news=wire_inputs), Context())
diff = servicer.Diff(proto.DiffRequest(id="i", urn="u", olds=wire_outputs, news=checked.inputs), Context())
assert diff.changes == proto.DiffResponse.DIFF_NONE
"""


def cpu_seconds(code: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _CLOCK + code + _DONE], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-3000:])
    return float(completed.stdout.strip().splitlines()[-1])


def best(code: str, repeat: int) -> float:
    """The least of `repeat` runs: other load on the machine only ever adds CPU time (cache misses)."""
    return min(cpu_seconds(code) for _ in range(repeat))


def parts(n: int, work: Path, repeat: int) -> dict[str, float]:
    rows = seed_streams(n)
    streams_file = work / "streams.yaml"
    streams_file.write_text(yaml.dump(rows, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 20))
    rows_file = work / "rows.json"
    declared = {
        r["stream_key"]: {
            "config_json": json.dumps(r["config"], sort_keys=True, separators=(",", ":")),
            "status": "active",
        }
        for r in rows
    }
    rows_file.write_text(json.dumps(declared))
    figures = {label: best(code, repeat) for label, code in IMPORTS.items()}
    figures["streams file: YAML"] = best(STREAMS_YAML.format(path=str(streams_file)), repeat)
    figures["streams file: checks"] = best(STREAMS_CHECKS.format(path=str(streams_file)), repeat)
    figures["factory DAG render"] = best(RENDER, repeat)
    figures["provider Check + Diff, rows as text"] = best(PROVIDER.format(path=str(rows_file), as_text=True), repeat)
    figures["provider Check + Diff, rows as a map"] = best(PROVIDER.format(path=str(rows_file), as_text=False), repeat)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each part; the least CPU time is kept")
    args = parser.parse_args(argv)
    results = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"preview-parts-{n}-") as tmp:
            results[n] = parts(n, Path(tmp), args.repeat)
    labels = list(results[args.sizes[0]])
    print("CPU seconds (least of", args.repeat, "runs, each in a fresh process):")
    print("| part | " + " | ".join(f"N={n}" for n in args.sizes) + " |")
    print("|:-----|" + "|".join("-----:" for _ in args.sizes) + "|")
    for label in labels:
        print(f"| {label} | " + " | ".join(f"{results[n][label]:.3f}" for n in args.sizes) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
