"""What a kubelet would hand an Airflow container of a workload, computed from the objects in the API server:
its environment (`value`, `secretKeyRef` and `configMapKeyRef` resolved) and the files its ConfigMap volumes
project under the container's dags folder. The local Airflow run (devtools/local_airflow.py) gets its
environment and its DAG files from here, so it runs what `pulumi up` deployed, not a local render.

Objects are plain dicts in the API's own camelCase shape (`kubectl get -o json`).
"""

from __future__ import annotations

import base64
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The apache/airflow image's AIRFLOW_HOME is /opt/airflow; its dags folder is AIRFLOW_HOME/dags.
IMAGE_DAGS_FOLDER = "/opt/airflow/dags"
DAGS_FOLDER_ENV = "AIRFLOW__CORE__DAGS_FOLDER"


class WorkloadViewError(ValueError):
    """The workload refers to something the API server does not hold, or to a source not supported here."""


@dataclass(frozen=True)
class WorkloadRef:
    kind: str  # Deployment or StatefulSet
    name: str

    @classmethod
    def parse(cls, text: str) -> WorkloadRef:
        """`Deployment/airflow-scheduler`, as the stack's `patchedWorkloads` output names it."""
        kind, _, name = text.partition("/")
        if kind not in ("Deployment", "StatefulSet") or not name:
            raise WorkloadViewError(f"not a workload: {text!r} (expected Deployment/<name> or StatefulSet/<name>)")
        return cls(kind, name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def workload_for(component: str, workloads: list[WorkloadRef]) -> WorkloadRef:
    """The workload an Airflow component runs as: the one named after it (`airflow-dag-processor` for the
    dag-processor), else the first, which is the scheduler in every committed stack."""
    if not workloads:
        raise WorkloadViewError("the stack patches no workload")
    for workload in workloads:
        if workload.name == component or workload.name.endswith("-" + component):
            return workload
    return workloads[0]


def main_container(workload: dict[str, Any]) -> dict[str, Any]:
    """The workload's first container: the one the chart runs Airflow in."""
    containers = workload["spec"]["template"]["spec"].get("containers") or []
    if not containers:
        raise WorkloadViewError(f"{workload['metadata']['name']} has no container")
    return containers[0]


def _by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects}


def _key_of(kind: str, objects: dict[str, dict[str, Any]], ref: dict[str, Any]) -> str | None:
    """One key of a Secret (base64 in `data`, as the API returns it) or of a ConfigMap; None when the
    reference is optional and the key is missing."""
    source = objects.get(ref["name"])
    values = (source or {}).get("data") or {}
    if ref["key"] not in values:
        if ref.get("optional"):
            return None
        where = f"{kind} {ref['name']}" + ("" if source else " (not found)")
        raise WorkloadViewError(f"{where} has no key {ref['key']!r}")
    value = values[ref["key"]]
    return base64.b64decode(value).decode() if kind == "Secret" else value


def resolve_env(
    container: dict[str, Any], secrets: list[dict[str, Any]], configmaps: list[dict[str, Any]]
) -> dict[str, str]:
    """The container's environment as the process inside it sees it. Raises for a reference that cannot be
    resolved (the kubelet would not start the container) and for sources this view does not handle."""
    secret_objects, configmap_objects = _by_name(secrets), _by_name(configmaps)
    env: dict[str, str] = {}
    for entry in container.get("env") or []:
        name, source = entry["name"], entry.get("valueFrom")
        value: str | None
        if source is None:
            value = entry.get("value", "")
        elif "secretKeyRef" in source:
            value = _key_of("Secret", secret_objects, source["secretKeyRef"])
        elif "configMapKeyRef" in source:
            value = _key_of("ConfigMap", configmap_objects, source["configMapKeyRef"])
        else:
            raise WorkloadViewError(f"env {name}: source {sorted(source)} is not supported by the local run")
        if value is not None:
            env[name] = value
    if container.get("envFrom"):
        raise WorkloadViewError("envFrom is not supported by the local run")
    return env


def container_dags_folder(env: dict[str, str]) -> str:
    return env.get(DAGS_FOLDER_ENV) or IMAGE_DAGS_FOLDER


def projected_files(workload: dict[str, Any], configmaps: list[dict[str, Any]], dags_folder: str) -> dict[str, str]:
    """`{path relative to the dags folder: content}` for every ConfigMap volume the main container mounts
    inside `dags_folder`: the listed `items`, or every key when the volume lists none."""
    pod = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    objects = _by_name(configmaps)
    files: dict[str, str] = {}
    for mount in main_container(workload).get("volumeMounts") or []:
        source = volumes.get(mount["name"], {}).get("configMap")
        relative = posixpath.relpath(mount["mountPath"], dags_folder)
        if source is None or relative.startswith(".."):
            continue
        configmap = objects.get(source["name"])
        if configmap is None:
            if source.get("optional"):
                continue
            raise WorkloadViewError(f"ConfigMap {source['name']} (mounted at {mount['mountPath']}) not found")
        data = configmap.get("data") or {}
        items = source.get("items") or [{"key": key, "path": key} for key in data]
        for item in items:
            if item["key"] not in data:
                raise WorkloadViewError(f"ConfigMap {source['name']} has no key {item['key']!r}")
            files[posixpath.normpath(posixpath.join(relative, item["path"]))] = data[item["key"]]
    return files


def merge_files(per_workload: list[dict[str, str]]) -> dict[str, str]:
    """One dags folder serves every local component: the workloads must agree on each path they share."""
    merged: dict[str, str] = {}
    for files in per_workload:
        for path, content in files.items():
            if merged.get(path, content) != content:
                raise WorkloadViewError(f"the workloads mount different contents at {path}")
            merged[path] = content
    return merged


@dataclass(frozen=True)
class NamespaceView:
    """The objects of one namespace a kubelet would read for the workloads' pods."""

    workloads: dict[WorkloadRef, dict[str, Any]]
    secrets: list[dict[str, Any]]
    configmaps: list[dict[str, Any]]

    def env(self, workload: WorkloadRef) -> dict[str, str]:
        return resolve_env(main_container(self.workloads[workload]), self.secrets, self.configmaps)

    def dag_files(self) -> dict[str, str]:
        return merge_files(
            [
                projected_files(manifest, self.configmaps, container_dags_folder(self.env(ref)))
                for ref, manifest in self.workloads.items()
            ]
        )


def read_namespace(kubeconfig: Path, namespace: str, workloads: list[WorkloadRef]) -> NamespaceView:
    """The workloads, Secrets and ConfigMaps of `namespace`, read with the Kubernetes Python client."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        readers = {"Deployment": apps.read_namespaced_deployment, "StatefulSet": apps.read_namespaced_stateful_set}
        as_dict = api.sanitize_for_serialization
        return NamespaceView(
            workloads={ref: as_dict(readers[ref.kind](ref.name, namespace)) for ref in workloads},
            secrets=as_dict(core.list_namespaced_secret(namespace))["items"],
            configmaps=as_dict(core.list_namespaced_config_map(namespace))["items"],
        )
    finally:
        api.close()
