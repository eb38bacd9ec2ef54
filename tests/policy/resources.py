"""Crafted resources, shaped like what the program declares and the engine reports, to feed the policies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yellow_policies as yp

from components.dsg_sql import rows_text

STACK = PLATFORM = "yellowlive"
OTHER_PLATFORM = "yellowforensic"
HOST = "pg-data.ns-kub-pg-test.svc.cluster.local"
MANGLED_HOST = "pg-datans-kub-pg-testsvcclusterlocal"
PASSWORD = "Correct-Horse-Battery"
SECRET_NAME = f"{PLATFORM}-postgres-credentials"
CONFIGMAP_NAME = f"{PLATFORM}-factory-dag"
DAG_FILE = f"{PLATFORM}_factory_dag.py"
WORKLOADS = f"{PLATFORM}-airflow"
WORKLOAD_PATCH = "pulumi-python:dynamic/datasurface:WorkloadPatch"
DSG_TABLE = "pulumi-python:dynamic/datasurface:DsgTable"

DAG_SOURCE = f"""\
PLATFORM = '{PLATFORM}'
FACTORY_DAG_ID = '{PLATFORM}_factory_dag'
DAG_PREFIX = '{PLATFORM}__'
DSG_TABLE = '{PLATFORM}_airflow_dsg'
PASSWORD_ENV = 'postgres_PASSWORD'
"""


@dataclass(frozen=True)
class Resource:
    """One resource of a stack: its type, name, properties and the name of its parent."""

    type: str
    name: str
    props: dict[str, Any]
    parent: str | None = None


def platform(**changes: Any) -> dict[str, Any]:
    """What the Platform component records (its inputs, and its outputs too)."""
    props = {
        "platform": PLATFORM,
        "mergeDbHost": HOST,
        "dsgTable": f"{PLATFORM}_airflow_dsg",
        "dagIdPrefix": f"{PLATFORM}__",
        "factoryDagId": f"{PLATFORM}_factory_dag",
        "configMap": CONFIGMAP_NAME,
        "credentialsSecret": SECRET_NAME,
    }
    props.update(changes)
    return props


def of_other_platform(props: dict[str, Any]) -> dict[str, Any]:
    """`props` as the other platform's stack would declare them: every name its own."""
    return json.loads(json.dumps(props).replace(PLATFORM, OTHER_PLATFORM))


def credentials() -> dict[str, str]:
    user = f"{PLATFORM}_airflow"
    return {"username": user, "password": PASSWORD, "postgres_USER": user, "postgres_PASSWORD": PASSWORD}


def secret(string_data: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": SECRET_NAME,
            "namespace": "ns-kub-pg-test",
            "labels": {"app.kubernetes.io/part-of": "datasurface-yellow", "datasurface.io/platform": PLATFORM},
            **metadata,
        },
        "stringData": credentials() if string_data is None else string_data,
    }


def configmap(data: dict[str, str] | None = None, name: str = CONFIGMAP_NAME) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns-kub-pg-test", "labels": {"datasurface.io/platform": PLATFORM}},
        "data": {DAG_FILE: DAG_SOURCE} if data is None else data,
    }


def good_env() -> list[dict[str, Any]]:
    return [
        {"name": "DATASURFACE_POSTGRES_HOST", "value": HOST},
        {"name": "DATASURFACE_POSTGRES_PORT", "value": "5432"},
        {"name": "postgres_USER", "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "postgres_USER"}}},
        {"name": "postgres_PASSWORD", "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "postgres_PASSWORD"}}},
    ]


def with_env(name: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The good env with the entry called `name` replaced (or added)."""
    return [e for e in good_env() if e["name"] != name] + [{"name": name, **entry}]


def without_env(name: str) -> list[dict[str, Any]]:
    return [e for e in good_env() if e["name"] != name]


def patch(env: list[dict[str, Any]] | None = None, kind: str = "Deployment", config_map: str = CONFIGMAP_NAME):
    container = {
        "name": "airflow-scheduler",
        "env": good_env() if env is None else env,
        "volumeMounts": [{"name": CONFIGMAP_NAME, "mountPath": f"/opt/airflow/dags/{PLATFORM}"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "airflow-scheduler", "namespace": "ns-kub-pg-test"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": CONFIGMAP_NAME, "configMap": {"name": config_map}}],
                }
            }
        },
    }


ADMIN_PASSWORD = "Admin-Staple-Correct"


def seed_row(config: dict[str, Any], status: str = "active") -> dict[str, str]:
    """A row of the DsgTable's `rows`, as the program declares it: canonical config_json text and the status."""
    return {"config_json": json.dumps(config, sort_keys=True, separators=(",", ":")), "status": status}


def dsg_table(table: str = f"{PLATFORM}_airflow_dsg", rows: dict[str, Any] | None = None) -> dict[str, Any]:
    """The DsgTable's inputs, the rows as the program declares them (one text, `dsg_sql.rows_text`); the admin
    password comes as the program passes it, in `password`."""
    return {
        "table": table,
        "rows": rows_text(rows or {}),
        "host": "localhost",
        "port": 15432,
        "dbname": "datasurface_merge",
        "user": "postgres",
        "password": ADMIN_PASSWORD,
    }


def dsg_table_part(rows: dict[str, Any] | None = None, table: str = f"{PLATFORM}_airflow_dsg") -> Resource:
    return part(DSG_TABLE, dsg_table(table, rows), "dsg-table")


# --- resources in a stack, as the program nests them ----------------------------------------------


def platform_component(**changes: Any) -> Resource:
    return Resource(yp.PLATFORM_TYPE, PLATFORM, platform(**changes))


def workloads_component() -> Resource:
    return Resource("datasurface:yellow:AirflowWorkloads", WORKLOADS, {}, PLATFORM)


def workload(props: dict[str, Any], typ: str = WORKLOAD_PATCH, name: str = "scheduler") -> Resource:
    """A workload patch under the platform's AirflowWorkloads component."""
    return Resource(typ, name, props, WORKLOADS)


def part(typ: str, props: dict[str, Any], name: str) -> Resource:
    """A resource directly under the platform."""
    return Resource(typ, name, props, PLATFORM)


def secret_part(string_data: dict[str, str] | None = None, **metadata: Any) -> Resource:
    return part(yp.SECRET_TYPE, secret(string_data, **metadata), "credentials")


def configmap_part(data: dict[str, str] | None = None, name: str = CONFIGMAP_NAME) -> Resource:
    return part(yp.CONFIGMAP_TYPE, configmap(data, name), "factory-dag")


def stack(*parts: Resource) -> list[Resource]:
    """The platform and its AirflowWorkloads component, with `parts` under them."""
    return [platform_component(), workloads_component(), *parts]


def complete_stack() -> list[Resource]:
    return stack(secret_part(), configmap_part(), part(DSG_TABLE, dsg_table(), "dsg-table"), workload(patch()))
