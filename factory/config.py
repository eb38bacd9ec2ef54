"""One platform's values, and the constants every part of the factory shares."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

STATEMENT_TIMEOUT_MS = 10000  # a parse must never come near [dag_processor] dag_file_processor_timeout
CONNECT_TIMEOUT_SECONDS = 3
START_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)  # fixed: no churn between parses
CACHE_DIR_ENV = "DATASURFACE_DAG_CACHE_DIR"
DEFAULT_CACHE_DIR = "/tmp/datasurface-dag-cache"
JOB_MODULE = "datasurface.platforms.yellow.jobs"
JOB_OPERATION = "snapshot-merge"
INGESTION_TASK_ID = "snapshot_merge"
SYNC_TASK_ID = "sync_dynamic_dags"
TAG_MAX_LEN = 100
DAG_ID_MAX_LEN = 250
DAG_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+\Z")  # \Z: `$` would accept a final newline


@dataclass(frozen=True)
class FactoryConfig:
    """What differs between platforms: names from the stack, rendered into the DAG file."""

    platform: str
    factory_dag_id: str
    dag_prefix: str
    dag_suffix: str
    dsg_table: str
    ledger_table: str
    audit_table: str
    history_table: str
    namespace: str
    credentials_secret_name: str
    job_image: str
    factory_schedule: str
    host_env: str
    port_env: str
    database_env: str
    user_env: str
    password_env: str
    secret_user_key: str
    secret_password_key: str
    stream_schema: str  # schemas/stream_config.schema.json as compact JSON: the file carries the rules it checks

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger("datasurface.factory_dag." + self.platform)

    @property
    def connection_env(self) -> dict[str, str]:
        """psycopg connection keyword -> the environment variable that carries it."""
        return {
            "host": self.host_env,
            "port": self.port_env,
            "dbname": self.database_env,
            "user": self.user_env,
            "password": self.password_env,
        }

    @property
    def factory_tags(self) -> list[str]:
        return ["datasurface", "factory", self.platform, "dynamic-dag-manager"]

    @property
    def pod_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/part-of": "datasurface-yellow", "datasurface.io/platform": self.platform}

    def dag_id_for(self, stream_key: str) -> str:
        return f"{self.dag_prefix}{stream_key}{self.dag_suffix}"

    def stream_key_for(self, dag_id: str) -> str | None:
        """The stream key a dynamic DAG id names, or None when the id is not one of this factory's."""
        prefix, suffix = self.dag_prefix, self.dag_suffix
        if dag_id.startswith(prefix) and dag_id.endswith(suffix) and len(dag_id) > len(prefix + suffix):
            return dag_id[len(prefix) : -len(suffix)]
        return None


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
