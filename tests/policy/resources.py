"""Crafted resource inputs, shaped like what the program registers, to feed the policies."""

from __future__ import annotations

import copy
from typing import Any

PLATFORM = "yellowlive"
HOST = "pg-data.ns-kub-pg-test.svc.cluster.local"
PASSWORD = "Correct-Horse-Battery"
SECRET_NAME = f"{PLATFORM}-postgres-credentials"
CONFIGMAP_NAME = f"{PLATFORM}-factory-dag"
DAG_FILE = f"{PLATFORM}_factory_dag.py"

DAG_SOURCE = f"""\
PLATFORM = '{PLATFORM}'
FACTORY_DAG_ID = '{PLATFORM}_factory_dag'
DAG_PREFIX = '{PLATFORM}__'
DSG_TABLE = '{PLATFORM}_airflow_dsg'
PASSWORD_ENV = 'postgres_PASSWORD'
CONNECTION_ENV = {{"host": 'DATASURFACE_POSTGRES_HOST', "password": PASSWORD_ENV}}


def connect(password: str):
    return dict(password=password)
"""


def platform(**changes: Any) -> dict[str, Any]:
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


def secret(string_data: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    data = (
        string_data
        if string_data is not None
        else {
            "username": "yellowlive_airflow",
            "password": PASSWORD,
            "postgres_USER": "yellowlive_airflow",
            "postgres_PASSWORD": PASSWORD,
        }
    )
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
        "stringData": data,
    }


def configmap(data: dict[str, str] | None = None, name: str = CONFIGMAP_NAME, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "ns-kub-pg-test",
            "labels": {
                "app.kubernetes.io/part-of": "datasurface-yellow",
                "datasurface.io/platform": PLATFORM,
                **labels,
            },
        },
        "data": data if data is not None else {DAG_FILE: DAG_SOURCE},
    }


def good_env() -> list[dict[str, Any]]:
    ref = {"secretKeyRef": {"name": SECRET_NAME, "key": "postgres_PASSWORD"}}
    return [
        {"name": "DATASURFACE_POSTGRES_HOST", "value": HOST},
        {"name": "DATASURFACE_POSTGRES_PORT", "value": "5432"},
        {"name": "postgres_USER", "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "postgres_USER"}}},
        {"name": "postgres_PASSWORD", "valueFrom": ref},
    ]


def patch(
    env: list[dict[str, Any]] | None = None,
    kind: str = "Deployment",
    config_map: str = CONFIGMAP_NAME,
    field_manager: str | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "airflow-scheduler", "namespace": "ns-kub-pg-test"}
    if field_manager is not None:
        metadata["annotations"] = {"pulumi.com/patchFieldManager": field_manager}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "airflow-scheduler",
                            "env": good_env() if env is None else env,
                            "volumeMounts": [{"name": CONFIGMAP_NAME, "mountPath": f"/opt/airflow/dags/{PLATFORM}"}],
                        }
                    ],
                    "volumes": [{"name": CONFIGMAP_NAME, "configMap": {"name": config_map}}],
                }
            }
        },
    }


def with_env(name: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The good env with the entry called `name` replaced (or added)."""
    env = [e for e in good_env() if e["name"] != name]
    return env + [{"name": name, **entry}]


def dsg_table(table: str = f"{PLATFORM}_airflow_dsg") -> dict[str, Any]:
    return {"table": table, "rows": {}, "host": "localhost", "port": 15432, "dbname": "datasurface_merge"}


def edited(props: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(props)
    result.update(changes)
    return result
