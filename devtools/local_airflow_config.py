"""The local Airflow's configuration, as pure functions: where its files live, the settings it runs with
(environment variables, as the chart sets them in a cluster), and each component's environment: the workload's
own (read back from the API server) under the settings the local run must decide itself.

Choices, and why:
- LocalExecutor: tasks run as processes beside the scheduler. The chart's KubernetesExecutor would need a
  kubelet to run each task in a pod; the local control plane has none.
- No triggerer: nothing defers. The ingestion task's KubernetesPodOperator is not deferrable
  (`[operators] default_deferrable` is False) and the factory's task is a plain Python task.
- The scheduler skips its log server: the API server reads the task logs from the same disk.
- Short dag-processor intervals, so a `pulumi up` that changes a row shows in the UI within about a minute
  rather than several.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

EXECUTOR = "LocalExecutor"
# Two scheduled ingestion runs wait for their pods (120 s, see README) while the factory and a manual run
# still find a slot.
PARALLELISM = 4
COMPONENTS = ("api-server", "scheduler", "dag-processor")
LOGIN = ("admin", "admin")  # the UI on 127.0.0.1 only, over the throwaway local stack
LOGIN_ROLE = "admin"  # one of the simple auth manager's viewer, user, op, admin
METADATA_DATABASE = "airflow"
METADATA_ROLE = "airflow"
# What the processes keep from the caller's environment: a container starts from its image's, not from the
# shell's (which may hold PULUMI_CONFIG_PASSPHRASE, PGPASSWORD or another Airflow's settings).
HOST_ENV_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")


@dataclass(frozen=True)
class Layout:
    """Everything of one local Airflow under one folder (`.local/airflow` for scripts/run_local.sh)."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"  # AIRFLOW_HOME: airflow.cfg, the task logs

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def logs(self) -> Path:
        return self.root / "logs"  # one file per process

    @property
    def dag_cache(self) -> Path:
        return self.root / "dag-cache"

    @property
    def passwords_file(self) -> Path:
        return self.root / "passwords.json"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"


@dataclass(frozen=True)
class Secrets:
    """Generated once per folder and kept: the signing keys every component must share, and the metadata
    database role's password."""

    jwt_secret: str
    api_secret_key: str
    fernet_key: str
    db_password: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(
            jwt_secret=secrets.token_urlsafe(32),
            api_secret_key=secrets.token_urlsafe(32),
            fernet_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            db_password=secrets.token_urlsafe(24),
        )


@dataclass(frozen=True)
class MetadataDb:
    host: str
    port: int
    password: str
    user: str = METADATA_ROLE
    database: str = METADATA_DATABASE

    def url(self, driver: str) -> str:
        """A SQLAlchemy URL; `psycopg` (psycopg 3, what .venv-airflow has) or `psycopg_async`."""
        credentials = f"{urllib.parse.quote(self.user, safe='')}:{urllib.parse.quote(self.password, safe='')}"
        return f"postgresql+{driver}://{credentials}@{self.host}:{self.port}/{self.database}"


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def kubernetes_connection(kubeconfig: Path) -> str:
    """`kubernetes_default`, the connection the KubernetesPodOperator uses: the control plane's kubeconfig
    stands in for the service account an Airflow pod would have (`in_cluster`)."""
    return json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}})


def airflow_settings(layout: Layout, port: int, db: MetadataDb, keys: Secrets, kubeconfig: Path) -> dict[str, str]:
    url = base_url(port)
    return {
        "AIRFLOW_HOME": str(layout.home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(layout.dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": EXECUTOR,
        "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
        "AIRFLOW__CORE__FERNET_KEY": keys.fernet_key,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{LOGIN[0]}:{LOGIN_ROLE}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.passwords_file),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.url("psycopg"),
        # Airflow derives the async URL with asyncpg, which .venv-airflow does not have.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db.url("psycopg_async"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__SECRET_KEY": keys.api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": keys.jwt_secret,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "20",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "10",
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": kubernetes_connection(kubeconfig),
        # The factory file's last-good-rows cache, per run rather than the shared /tmp default.
        "DATASURFACE_DAG_CACHE_DIR": str(layout.dag_cache),
    }


def host_env(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k in HOST_ENV_KEPT}


@dataclass(frozen=True)
class ComponentEnv:
    env: dict[str, str]
    replaced: dict[str, tuple[str, str]]  # name -> (the workload's value, the local run's)


def component_env(host: dict[str, str], workload: dict[str, str], settings: dict[str, str]) -> ComponentEnv:
    """The workload's environment as a kubelet gives it, with the local run's settings over it."""
    replaced = {k: (v, settings[k]) for k, v in workload.items() if k in settings and settings[k] != v}
    return ComponentEnv({**host, **workload, **settings}, replaced)


def commands(airflow_bin: Path) -> dict[str, list[str]]:
    return {
        "api-server": [str(airflow_bin), "api-server"],
        "scheduler": [str(airflow_bin), "scheduler", "--skip-serve-logs"],
        "dag-processor": [str(airflow_bin), "dag-processor"],
    }


def fingerprint(launch: dict[str, tuple[list[str], dict[str, str]]]) -> str:
    """Of every process's command and environment: a start with the same one has nothing to do."""
    return hashlib.sha256(json.dumps(launch, sort_keys=True).encode()).hexdigest()


def factory_dag_ids(dag_files: list[str]) -> list[str]:
    """The factory DAG of each `<platform>_factory_dag.py` file in the dags folder (the ConfigMap's key)."""
    names = (Path(path).name for path in dag_files)
    return sorted(name[: -len(".py")] for name in names if name.endswith("_factory_dag.py"))
