"""A real Airflow 3 beside the deployed local stack: api-server (with the UI), scheduler (LocalExecutor) and
dag-processor from .venv-airflow, their metadata in a database of their own on the embedded PostgreSQL, all on
127.0.0.1. What they get comes from the API server, as a kubelet would give it to the chart's pods: each
component runs with its workload's environment (credentials resolved from the stack's Secret), and the dags
folder holds the files of the workloads' ConfigMap volumes, kept in sync by a small process (devtools/dag_sync.py).
The KubernetesPodOperator reaches the same API server through its kubeconfig.

    PGPASSWORD=<admin password> python -m devtools.local_airflow start --dir .local/airflow \
        --kubeconfig .local/kube/admin.kubeconfig --namespace datasurface-local \
        --workload Deployment/airflow-scheduler --workload Deployment/airflow-dag-processor --db-port 55432
    python -m devtools.local_airflow status|stop --dir .local/airflow

`start` is idempotent: with the same configuration and environment it leaves the running set alone; when
the workloads' environment changed (a rollout, in a cluster) it restarts it. `stop` ends every process the
run started, their children included.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from devtools import processes
from devtools.airflow_api import AirflowApi, poll
from devtools.dag_sync import apply_plan, folder_files, sync_plan
from devtools.kubelet_view import NamespaceView, WorkloadRef, WorkloadViewError, read_namespace, workload_for
from devtools.local_airflow_config import (
    COMPONENTS,
    EXECUTOR,
    LOGIN,
    Layout,
    MetadataDb,
    Secrets,
    airflow_settings,
    base_url,
    commands,
    component_env,
    factory_dag_ids,
    fingerprint,
    host_env,
)
from devtools.local_airflow_state import load_state, own_sids, running, running_set, save_state

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 58080
READY_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 60
DAG_SYNC = "dag-sync"


class LocalAirflowError(RuntimeError):
    pass


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str


@dataclass(frozen=True)
class StartRequest:
    layout: Layout
    kubeconfig: Path
    namespace: str
    workloads: list[WorkloadRef]
    db_host: str
    db_port: int
    admin_user: str
    admin_password: str
    port: int
    airflow_bin: Path


def load_or_create_secrets(layout: Layout) -> Secrets:
    if layout.secrets_file.exists():
        return Secrets(**json.loads(layout.secrets_file.read_text()))
    keys = Secrets.generate()
    layout.secrets_file.touch(mode=0o600)
    layout.secrets_file.write_text(json.dumps(asdict(keys)))
    return keys


def launches(request: StartRequest, view: NamespaceView, keys: Secrets) -> tuple[dict[str, Launch], dict[str, tuple]]:
    """Every process of the running set, and what the local settings replaced in the workloads' environment."""
    layout = request.layout
    db = MetadataDb(request.db_host, request.db_port, keys.db_password)
    settings = airflow_settings(layout, request.port, db, keys, request.kubeconfig.resolve())
    host = host_env(dict(os.environ))
    planned: dict[str, Launch] = {}
    replaced: dict[str, tuple] = {}
    for name, argv in commands(request.airflow_bin).items():
        # The API server parses no DAG file and runs no task: it gets no workload's environment.
        workload = {} if name == "api-server" else view.env(workload_for(name, request.workloads))
        env = component_env(host, workload, settings)
        replaced.update(env.replaced)
        planned[name] = Launch(argv, env.env, str(layout.home))
    sync_argv = [sys.executable, "-m", "devtools.dag_sync", "--kubeconfig", str(request.kubeconfig.resolve())]
    sync_argv += ["--namespace", request.namespace, "--dags", str(layout.dags)]
    sync_argv += [arg for ref in request.workloads for arg in ("--workload", str(ref))]
    planned[DAG_SYNC] = Launch(sync_argv, host, str(REPO_ROOT))
    return planned, replaced


def ensure_metadata_db(request: StartRequest, db: MetadataDb) -> None:
    """The metadata database and its owner role on the embedded PostgreSQL, created once; the role's
    password is (re)set to the folder's."""
    with psycopg.connect(
        host=request.db_host,
        port=request.db_port,
        user=request.admin_user,
        password=request.admin_password,
        dbname="postgres",
        connect_timeout=5,
        autocommit=True,
    ) as conn:
        role = sql.Identifier(db.user)
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.user,)).fetchone()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        conn.execute(sql.SQL("{} {} LOGIN PASSWORD {}").format(verb, role, sql.Literal(db.password)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.database,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db.database), role))


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As the API server binds: connections of an earlier run in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def log_tail(layout: Layout, name: str) -> str:
    return processes.log_tail(layout.logs / f"{name}.log", lines=25)


def migrate(layout: Layout, launch: Launch, airflow_bin: Path) -> None:
    log = layout.logs / "db-migrate.log"
    with log.open("ab") as out:
        result = subprocess.run(
            [str(airflow_bin), "db", "migrate"], env=launch.env, cwd=launch.cwd, stdout=out, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        raise LocalAirflowError(f"airflow db migrate failed:\n{log_tail(layout, 'db-migrate')}")


def wait_ready(layout: Layout, api: AirflowApi, pids: dict[str, int], dag_files: list[str]) -> dict:
    """Until the scheduler and the dag-processor report healthy and every factory DAG is listed; fails as soon
    as a process of the set exits."""

    def check_alive() -> None:
        for name, pid in pids.items():
            if not processes.alive(pid):
                raise LocalAirflowError(f"{name} exited while starting:\n{log_tail(layout, name)}")

    def healthy() -> bool:
        check_alive()
        health = api.health()
        return all(health[c]["status"] == "healthy" for c in ("metadatabase", "scheduler", "dag_processor"))

    def listed() -> dict | None:
        check_alive()
        dags = api.dags()
        return dags if set(factory_dag_ids(dag_files)) <= set(dags) else None

    poll(healthy, READY_TIMEOUT_SECONDS, "Airflow's scheduler and dag-processor healthy")
    return poll(listed, READY_TIMEOUT_SECONDS, "the factory DAGs listed by the REST API")


def start(request: StartRequest) -> None:
    begin = time.monotonic()
    layout = request.layout
    for folder in (layout.root, layout.home, layout.logs, layout.dags):
        folder.mkdir(parents=True, exist_ok=True)
    keys = load_or_create_secrets(layout)
    try:
        view = read_namespace(request.kubeconfig, request.namespace, request.workloads)
    except Exception as err:  # the client raises its own, urllib3's and the kubeconfig loader's errors
        raise LocalAirflowError(f"cannot read namespace {request.namespace} from the API server: {err}") from err
    planned, replaced = launches(request, view, keys)
    wanted = fingerprint({name: (launch.argv, launch.env) for name, launch in planned.items()})
    api = AirflowApi(base_url(request.port), *LOGIN)

    current = running(layout)
    if current and load_state(layout).get("fingerprint") == wanted:
        print(f"Airflow already running ({', '.join(current)})")
        summary(layout, request, api, time.monotonic() - begin)
        return
    if current or running_set(layout):
        print("The workloads' environment or the run's settings changed (or a process died): restarting Airflow")
        stop(layout)
    if not port_free(request.port):
        raise LocalAirflowError(f"port {request.port} on 127.0.0.1 is in use: choose another one (--port)")
    for name, (workload_value, local_value) in sorted(replaced.items()):
        print(f"  {name}: the workload's {workload_value!r} replaced by {local_value!r} for the local run")

    try:
        ensure_metadata_db(request, MetadataDb(request.db_host, request.db_port, keys.db_password))
    except psycopg.Error as err:
        where = f"{request.admin_user}@{request.db_host}:{request.db_port}"
        raise LocalAirflowError(f"cannot create the metadata database as {where}: {err}") from err
    layout.passwords_file.write_text(json.dumps({LOGIN[0]: LOGIN[1]}))
    wanted_files = view.dag_files()
    apply_plan(layout.dags, sync_plan(folder_files(layout.dags), wanted_files))
    migrate(layout, planned["api-server"], request.airflow_bin)

    pids: dict[str, int] = {}
    try:
        for name, launch in planned.items():
            pids[name] = processes.spawn(launch.argv, launch.env, layout.logs / f"{name}.log", Path(launch.cwd))
            save_state(layout, pids, request.port, wanted)
        wait_ready(layout, api, pids, list(wanted_files))
    except BaseException:
        stop(layout)
        raise
    summary(layout, request, api, time.monotonic() - begin)


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary(layout: Layout, request: StartRequest, api: AirflowApi, seconds: float) -> None:
    dags = api.dags()
    errors = api.import_errors()
    memory = processes.memory_of(running_set(layout))
    print(f"Airflow running beside the local stack ({EXECUTOR}: {', '.join(COMPONENTS)}; and {DAG_SYNC}):")
    print(f"  UI        {api.base_url}   login {LOGIN[0]} / {LOGIN[1]}")
    print(f"  REST API  {api.base_url}/api/v2   (a token from POST {api.base_url}/auth/token)")
    for dag_id, dag in sorted(dags.items()):
        state = "paused" if dag["is_paused"] else "active"
        print(f"  DAG       {dag_id}  schedule={dag['timetable_summary']}  {state}")
    print(f"  import errors: {len(errors)}" + "".join(f"\n    {e['filename']}: {e['stack_trace']}" for e in errors))
    print(f"  dags folder {shown(layout.dags)} (from the ConfigMap volumes in namespace {request.namespace})")
    print(f"  ready in {seconds:.1f} s; memory: {memory}")
    print(f"  logs      {shown(layout.logs)}")


def stop(layout: Layout) -> list[int]:
    killed = processes.terminate(list(own_sids(layout).values()), STOP_TIMEOUT_SECONDS)
    layout.state_file.unlink(missing_ok=True)
    return killed


def status(layout: Layout) -> bool:
    current = running(layout)
    if not current:
        left = running_set(layout)
        print(f"Airflow not running; {len(left)} of its processes left (stop them)" if left else "Airflow stopped")
        return False
    port = load_state(layout)["port"]
    memory = processes.memory_of(running_set(layout))
    names = ", ".join(f"{name} ({pid})" for name, pid in current.items())
    print(f"Airflow running: {names}\n  UI {base_url(port)}   login {LOGIN[0]} / {LOGIN[1]}\n  memory: {memory}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.local_airflow",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--dir", required=True, type=Path, help="the run's folder (.local/airflow)")
    parser.add_argument("--kubeconfig", type=Path, help="for start: the local control plane's admin kubeconfig")
    parser.add_argument("--namespace", help="for start: the stack's namespace")
    parser.add_argument(
        "--workload", action="append", type=WorkloadRef.parse, help="for start: the stack's patchedWorkloads"
    )
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=55432)
    parser.add_argument("--admin-user", default="postgres")
    parser.add_argument("--password-env", default="PGPASSWORD", help="variable holding the admin's password")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the API server's (and UI's) port")
    parser.add_argument("--airflow-bin", type=Path, default=REPO_ROOT / ".venv-airflow" / "bin" / "airflow")
    args = parser.parse_args(argv)
    layout = Layout(args.dir.resolve())
    if args.action == "stop":
        killed = stop(layout)
        late = f" ({len(killed)} processes killed after {STOP_TIMEOUT_SECONDS} s)" if killed else ""
        print("Airflow stopped" + late)
        return 0
    if args.action == "status":
        return 0 if status(layout) else 1
    if not (args.kubeconfig and args.namespace and args.workload):
        parser.error("start needs --kubeconfig, --namespace and at least one --workload")
    request = StartRequest(
        layout=layout,
        kubeconfig=args.kubeconfig,
        namespace=args.namespace,
        workloads=args.workload,
        db_host=args.db_host,
        db_port=args.db_port,
        admin_user=args.admin_user,
        admin_password=os.environ.get(args.password_env, ""),
        port=args.port,
        airflow_bin=args.airflow_bin,
    )
    try:
        start(request)
    except (LocalAirflowError, WorkloadViewError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
