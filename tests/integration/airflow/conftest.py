"""A real Apache Airflow 3 (its own virtualenv) parsing the rendered factory DAG against a real PostgreSQL.

The file runs as a role with exactly the privileges the stack gives the login role (tables owned by the
admin role, declared by the stack's own FactoryTables provider), so every test here is also a test that
those privileges are enough.

Airflow runs in subprocesses with the python named by AIRFLOW_PYTHON (default
<repo>/.venv-airflow/bin/python, made by scripts/setup_airflow_env.sh); `airflow_driver.py` loads the
file there and prints JSON. PostgreSQL is the test run's embedded server (tests/integration/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from components.factory_dag import factory_config, render_factory_dag
from components.factory_tables import FactoryTablesProvider
from components.factory_tables_sql import Tables
from components.naming import PlatformNames
from components.privileges import (
    DATABASE_PRIVILEGES,
    PUBLIC_REVOKED,
    SCHEMA,
    SCHEMA_PRIVILEGES,
    grants_input,
    login_grants,
)
from components.settings import parse_settings
from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.program_harness import valid_raw

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent.parent
DRIVER = HERE / "airflow_driver.py"
EXPECTED_AIRFLOW = "3.3.2"
DRIVER_TIMEOUT = 180
NAMESPACE = "ns-kub-pg-test"
JOB_IMAGE = "datasurface/datasurface:1.0.0"
ROLE = "factory_dag_tests"
ROLE_PASSWORD = 'fac\'tory "pw" 1'
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:9"}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
users: [{name: test, user: {token: not-used}}]
"""


# ---------------------------------------------------------------------------------------------
# The Airflow interpreter
# ---------------------------------------------------------------------------------------------


def airflow_python_path() -> Path:
    return Path(os.environ.get("AIRFLOW_PYTHON") or REPO_ROOT / ".venv-airflow" / "bin" / "python")


@pytest.fixture(scope="session")
def airflow_python() -> Path:
    """The Airflow virtualenv's python; the tests fail (never skip) when it is missing."""
    python = airflow_python_path()
    if not python.exists():
        pytest.fail(
            f"no Airflow python at {python}: run `bash scripts/setup_airflow_env.sh` "
            "(or set AIRFLOW_PYTHON to an interpreter with requirements/airflow.txt installed)"
        )
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('apache-airflow'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    version = probe.stdout.strip()
    if probe.returncode != 0 or version != EXPECTED_AIRFLOW:
        pytest.fail(
            f"{python} should have apache-airflow=={EXPECTED_AIRFLOW}, found {version or probe.stderr!r}: "
            "run `bash scripts/setup_airflow_env.sh`"
        )
    return python


# ---------------------------------------------------------------------------------------------
# The merge database
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def statement_log(postgres_server):
    """Log every statement of the factory's role, prefixed with its database and application name."""
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(ROLE_PASSWORD))
        )
        conn.execute(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(sql.Identifier(ROLE)))
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] db=%d app=%a '")
        conn.execute("SELECT pg_reload_conf()")
    return ServerLog(postgres_server.pgdata / "server.log")


@dataclass
class ServerLog:
    path: Path

    def mark(self) -> int:
        return self.path.stat().st_size

    def statements(self, since: int, database: str, application: str) -> list[str]:
        with self.path.open("rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", "replace")
        tag = f"db={database} app={application} "
        return [
            line
            for line in text.splitlines()
            if tag in line and ("LOG:  statement:" in line or "LOG:  execute" in line)
        ]


@dataclass
class FactoryDb:
    """One merge database holding the platform's stream table, reached as the factory's role."""

    server: EmbeddedPostgres
    name: str
    platform: str

    @property
    def table(self) -> str:
        return f"{self.platform}_airflow_dsg"

    def connect(self):
        return psycopg.connect(self.server.conninfo(self.name), autocommit=True)

    def execute(self, query, params=()):
        with self.connect() as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else None

    def declare_tables(self) -> None:
        """The tables and privileges exactly as the stack declares them: owned by the admin role, the
        factory's role with CONNECT, USAGE and its grants (components/privileges.py), nothing more."""
        with self.connect() as conn:
            for privilege in DATABASE_PRIVILEGES:
                conn.execute(
                    sql.SQL("GRANT " + privilege + " ON DATABASE {} TO {}").format(
                        sql.Identifier(self.name), sql.Identifier(ROLE)
                    )
                )
            for privilege in SCHEMA_PRIVILEGES:
                conn.execute(
                    sql.SQL("GRANT " + privilege + " ON SCHEMA {} TO {}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(ROLE)
                    )
                )
        names = PlatformNames(self.platform, "postgres")
        FactoryTablesProvider().create(
            {
                "host": self.server.host,
                "port": self.server.port,
                "dbname": self.name,
                "user": self.server.user,
                "password": self.server.password,
                "sslmode": "disable",
                "tables": vars(Tables.of(names)),
                "grants": {ROLE: grants_input(login_grants(names))},
                "public_revoked": {kind: list(p) for kind, p in PUBLIC_REVOKED.items()},
            }
        )

    def seed(self, rows: dict[str, tuple[object, str]]) -> None:
        """rows: stream_key -> (config as dict, or raw config_json text, status)."""
        for key, (config, status) in rows.items():
            text = config if isinstance(config, str) or config is None else json.dumps(config)
            self.execute(
                sql.SQL("INSERT INTO {} (stream_key, config_json, status) VALUES (%s, %s, %s)").format(
                    sql.Identifier(self.table)
                ),
                (key, text, status),
            )

    def set_status(self, key: str, status: str) -> None:
        self.execute(
            sql.SQL("UPDATE {} SET status = %s, updated_at = now() WHERE stream_key = %s").format(
                sql.Identifier(self.table)
            ),
            (status, key),
        )

    def set_config(self, key: str, config_json: str) -> None:
        self.execute(
            sql.SQL("UPDATE {} SET config_json = %s, updated_at = now() WHERE stream_key = %s").format(
                sql.Identifier(self.table)
            ),
            (config_json, key),
        )

    def rows_of(self, table: str, columns: str, order: str) -> list[tuple]:
        return self.execute(sql.SQL("SELECT " + columns + " FROM {} ORDER BY " + order).format(sql.Identifier(table)))


def make_factory_db(server, platform: str) -> FactoryDb:
    name = f"merge_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = FactoryDb(server, name, platform)
    db.declare_tables()
    return db


def drop_factory_db(db: FactoryDb) -> None:
    with psycopg.connect(db.server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))


@pytest.fixture
def factory_db(postgres_server, statement_log) -> Iterator[FactoryDb]:
    db = make_factory_db(postgres_server, "yellowlive")
    yield db
    drop_factory_db(db)


# ---------------------------------------------------------------------------------------------
# The rendered DAG file and the Airflow processes that load it
# ---------------------------------------------------------------------------------------------


def render_dag_file(folder: Path, platform: str) -> Path:
    settings = parse_settings(valid_raw(platform=platform, namespace=NAMESPACE, jobImage=JOB_IMAGE))
    values = factory_config(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{values.factory_dag_id}.py"
    path.write_text(render_factory_dag(values))
    return path


@dataclass
class AirflowRun:
    """The environment of one Airflow workload parsing the file: dags folder, merge DB, cache, home."""

    python: Path
    db: FactoryDb
    root: Path
    env_overrides: dict[str, str | None] = field(default_factory=dict)

    @property
    def dag_file(self) -> Path:
        return self.root / "dags" / f"{self.db.platform}_factory_dag.py"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "DATASURFACE_", "_AIRFLOW")) and not k.endswith(("_USER", "_PASSWORD"))
        }
        (self.root / "kubeconfig").write_text(KUBECONFIG)
        env.update(
            {
                "AIRFLOW_HOME": str(self.root / "airflow-home"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
                "KUBECONFIG": str(self.root / "kubeconfig"),
                "DATASURFACE_POSTGRES_HOST": self.db.server.host,
                "DATASURFACE_POSTGRES_PORT": str(self.db.server.port),
                "DATASURFACE_POSTGRES_DATABASE": self.db.name,
                "postgres_USER": ROLE,
                "postgres_PASSWORD": ROLE_PASSWORD,
                "DATASURFACE_DAG_CACHE_DIR": str(self.cache_dir),
            }
        )
        for key, value in {**self.env_overrides, **overrides}.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(
        self, args: list[str], timeout: float = DRIVER_TIMEOUT, input_text: str | None = None, **overrides
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.python), *args],
            env=self.env(**overrides),
            cwd=self.root,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def driver(self, *args: str, **overrides) -> dict:
        result = self.run([str(DRIVER), args[0], str(self.dag_file), *args[1:]], **overrides)
        assert result.returncode == 0, f"driver {args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        return json.loads(result.stdout.strip().splitlines()[-1])

    def parse(self, parsing_dag_id: str | None = None, **overrides) -> dict:
        args = ["parse"] + (["--parsing-dag-id", parsing_dag_id] if parsing_dag_id else [])
        return self.driver(*args, **overrides)

    def sync(self, run_id: str = "manual__test", **overrides) -> dict:
        return self.driver("sync", "--run-id", run_id, **overrides)

    def start_sync(self, run_id: str, **overrides) -> subprocess.Popen:
        """A sync in the background, as a second task instance running beside others."""
        args = [str(self.python), str(DRIVER), "sync", str(self.dag_file), "--run-id", run_id]
        return subprocess.Popen(
            args, env=self.env(**overrides), cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def sync_result(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=DRIVER_TIMEOUT)
    assert process.returncode == 0, f"driver sync failed:\n{stdout[-4000:]}\n{stderr[-8000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def airflow_run(airflow_python, factory_db, tmp_path) -> AirflowRun:
    render_dag_file(tmp_path / "dags", factory_db.platform)
    return AirflowRun(airflow_python, factory_db, tmp_path)


def errors_of(result: dict) -> list[str]:
    return [r["message"] for r in result["logs"] if r["level"] == "ERROR"]


# ---------------------------------------------------------------------------------------------
# A migrated Airflow metadata database (SQLite), for the CLI and the dag-processor
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_airflow_db(airflow_python, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home-template")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    result = subprocess.run(
        [str(airflow_python), "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stderr[-4000:]}"
    return home / "airflow.db"


@pytest.fixture
def airflow_home(airflow_run, migrated_airflow_db) -> Path:
    """A fresh copy of the migrated metadata database in this test's AIRFLOW_HOME."""
    home = airflow_run.root / "airflow-home"
    home.mkdir(exist_ok=True)
    shutil.copy(migrated_airflow_db, home / "airflow.db")
    return home


# ---------------------------------------------------------------------------------------------
# The real dag-processor
# ---------------------------------------------------------------------------------------------

PROCESSOR_SETTINGS = {
    "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "4",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "2",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "600",
    "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "2",
}


@contextmanager
def dag_processor(run, log_path, **settings: str):
    """A real `airflow dag-processor` over `run`'s dags folder, parsing every 2 s; stopped with its process group."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(run.python), "-m", "airflow", "dag-processor"],
            env=run.env(**PROCESSOR_SETTINGS, **settings),
            cwd=run.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except ProcessLookupError:  # it exited on its own (the test has said why)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def free_tcp_port() -> int:
    """A loopback port nothing listens on: a database that is down."""
    return free_port()


# ---------------------------------------------------------------------------------------------
# A TCP server that accepts connections and never answers (a hung database)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for conn in accepted:
        conn.close()
    listener.close()


# ---------------------------------------------------------------------------------------------
# A StatsD listener on loopback (UDP), for Airflow's metrics
# ---------------------------------------------------------------------------------------------


@dataclass
class StatsdListener:
    port: int
    packets: list[str] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, str | None]:
        """The `[metrics]` settings that point Airflow's StatsD backend at this listener."""
        return {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(self.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        }

    def metrics(self, prefix: str) -> dict[str, tuple[str, str]]:
        """The last `name -> (value, type)` received under `airflow.<prefix>`."""
        found: dict[str, tuple[str, str]] = {}
        for packet in self.packets:
            for line in packet.splitlines():
                name, _, rest = line.partition(":")
                if name.startswith(f"airflow.{prefix}"):
                    value, _, kind = rest.partition("|")
                    found[name[len(f"airflow.{prefix}") :]] = (value, kind.split("|")[0])
        return found


@pytest.fixture
def statsd() -> Iterator[StatsdListener]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    listener = StatsdListener(sock.getsockname()[1])
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            try:
                listener.packets.append(sock.recv(65535).decode())
            except OSError:
                continue

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    yield listener
    stop.set()
    thread.join(timeout=5)
    sock.close()
