"""What every task's pod_override costs a parse: N ingestion DAGs built and serialized (as the dag-processor
stores them) by the rendered factory file, with the file's executor_config and with none, from one run.

    .venv/bin/python bench/task_pod_override_bench.py [--streams 1000] [--repeat 3]

It renders yellowlive's file here and times, in the Airflow virtualenv (.venv-airflow), the file's own
`build_stream_dag` over N rows and `DagSerialization.to_dict` of each DAG; no database is needed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from components.factory_dag import factory_config, render_factory_dag  # noqa: E402
from components.settings import parse_settings  # noqa: E402
from tests.program_harness import load_stack_config, secret_values_for  # noqa: E402

TIMER = r"""
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("factory_dag_file", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
from airflow.serialization.serialized_objects import DagSerialization
cfg, streams, repeat, with_override = module.CONFIG, int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
if not with_override:
    module.executor_config = lambda cfg: {}
specs = [module.stream_spec(cfg, f"S{i}", json.dumps({"store_name": f"S{i}", "schedule_string": "@hourly"}))
         for i in range(streams)]
build, serialize = [], []
for _ in range(repeat):
    started = time.perf_counter()
    dags = [module.build_stream_dag(cfg, spec) for spec in specs]
    built = time.perf_counter()
    for dag in dags:
        DagSerialization.to_dict(dag)
    build.append(built - started)
    serialize.append(time.perf_counter() - built)
print(json.dumps({"build": min(build), "serialize": min(serialize)}))
"""


def measure(dag_file: Path, streams: int, repeat: int, with_override: bool) -> dict[str, float]:
    python = REPO_ROOT / ".venv-airflow" / "bin" / "python"
    env = {"AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
    with tempfile.TemporaryDirectory() as home:
        env["AIRFLOW_HOME"] = home
        env["DATASURFACE_DAG_CACHE_DIR"] = str(Path(home) / "cache")
        args = [str(python), "-c", TIMER, str(dag_file), str(streams), str(repeat), "1" if with_override else "0"]
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = parse_settings({**load_stack_config("yellowlive"), **secret_values_for("yellowlive")})
    with tempfile.TemporaryDirectory() as folder:
        dag_file = Path(folder) / settings.names.dag_file_name
        dag_file.write_text(render_factory_dag(factory_config(settings)))
        without = measure(dag_file, args.streams, args.repeat, with_override=False)
        with_override = measure(dag_file, args.streams, args.repeat, with_override=True)
    print(f"{args.streams} ingestion DAGs, best of {args.repeat}, seconds:")
    print(f"{'':28} {'no override':>12} {'pod_override':>12} {'ratio':>7}")
    labels = {"build": "build (the file's code)", "serialize": "serialize (to_dict)"}
    for step, label in labels.items():
        ratio = with_override[step] / without[step]
        print(f"{label:28} {without[step]:12.3f} {with_override[step]:12.3f} {ratio:7.2f}")
    total_without, total_with = sum(without.values()), sum(with_override.values())
    print(f"{'both':28} {total_without:12.3f} {total_with:12.3f} {total_with / total_without:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
