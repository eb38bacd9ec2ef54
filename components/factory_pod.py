"""What every Airflow pod that parses or runs the factory DAG gets, as Kubernetes JSON: one source.

The workload patches (scheduler, dag-processor, Celery workers: components/airflow_workloads.py) and the
`pod_override` each task of the DAG file carries (the worker pod KubernetesExecutor builds from the chart's
pod template) are both `pod_spec_entries` of the same settings; only the container they go into differs.
So the DAG file, the database's address and the credentials by reference cannot drift apart between them.
"""

from __future__ import annotations

import json
from typing import Any

from components.naming import DATABASE_ENV, HOST_ENV, PORT_ENV
from components.settings import Settings

# The container KubernetesExecutor runs a task in: the chart's pod template names it so, and a pod_override
# is merged into the template's container of that name.
TASK_CONTAINER = "base"


def database_env(settings: Settings) -> list[dict[str, Any]]:
    """The env entries: the real DNS name verbatim, and credentials only by reference."""
    names = settings.names
    secret = names.credentials_secret_name
    return [
        {"name": HOST_ENV, "value": settings.merge_db_host},
        {"name": PORT_ENV, "value": str(settings.merge_db_port)},
        {"name": DATABASE_ENV, "value": settings.merge_db_name},
        {"name": names.user_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": names.user_env}}},
        {"name": names.password_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": names.password_env}}},
    ]


def dag_volume(settings: Settings) -> dict[str, Any]:
    names = settings.names
    return {
        "name": names.dag_volume_name,
        "configMap": {
            "name": names.configmap_name,
            "items": [{"key": names.dag_file_name, "path": names.dag_file_name}],
        },
    }


def dag_volume_mount(settings: Settings) -> dict[str, Any]:
    return {"name": settings.names.dag_volume_name, "mountPath": settings.dag_mount_path, "readOnly": True}


def pod_spec_entries(settings: Settings, container: str) -> dict[str, Any]:
    """This platform's entries in a pod spec: env and the DAG mount in `container`, the DAG volume in the pod."""
    return {
        "containers": [
            {
                "name": container,
                "env": database_env(settings),
                "volumeMounts": [dag_volume_mount(settings)],
            }
        ],
        "volumes": [dag_volume(settings)],
    }


def task_pod_override(settings: Settings) -> dict[str, Any]:
    """The `pod_override` of every task of the DAG file, as Kubernetes JSON (what `PodGenerator.serialize_pod`
    gives and `deserialize_model_dict` reads): the same entries as the workload patches, in `base`."""
    return {"apiVersion": "v1", "kind": "Pod", "spec": pod_spec_entries(settings, TASK_CONTAINER)}


def task_pod_override_json(settings: Settings) -> str:
    """`task_pod_override` as compact JSON with sorted keys, as the DAG file carries it."""
    return json.dumps(task_pod_override(settings), sort_keys=True, separators=(",", ":"))
