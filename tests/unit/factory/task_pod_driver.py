"""Runs inside the Airflow virtualenv (never imported by pytest): the worker pod KubernetesExecutor would build
for each task of the rendered factory DAG file, by Airflow's own code, printed as one JSON document.

    python task_pod_driver.py DAG_FILE POD_TEMPLATE STREAMS_JSON

The file is loaded as a module (as a worker loads it); STREAMS_JSON maps stream keys to `config_json`, and
each becomes an ingestion DAG through the file's own `build_stream_dag` (no database is asked). Every DAG is
serialized as the dag-processor stores it (JSON of `DagSerialization.to_dict`) and read back as the scheduler
reads it; each task's deserialized `executor_config` then goes through `PodGenerator.from_obj` and
`PodGenerator.construct_pod` with the pod template file (which merges by `PodGenerator.reconcile_pods`), as
the KubernetesExecutor's scheduler side builds a worker pod (`_build_pod_request`).
"""

from __future__ import annotations

import importlib.util
import json
import sys


def load_module(path: str):
    spec = importlib.util.spec_from_file_location("factory_dag_file", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def scheduler_view(dag):
    """The DAG as the scheduler has it: through the serialized form the dag-processor writes."""
    from airflow.serialization.serialized_objects import DagSerialization

    stored = json.dumps(DagSerialization.to_dict(dag))
    return DagSerialization.from_dict(json.loads(stored))


def worker_pod(task, dag_id: str, template_path: str, namespace: str) -> dict:
    from airflow.providers.cncf.kubernetes.kubernetes_helper_functions import create_unique_id
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    override = PodGenerator.from_obj(task.executor_config)
    base = PodGenerator.deserialize_model_file(template_path)
    pod = PodGenerator.construct_pod(
        dag_id=dag_id,
        task_id=task.task_id,
        pod_id=create_unique_id(dag_id, task.task_id),
        try_number=1,
        kube_image="apache/airflow:3.3.2",
        date=None,
        args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
        pod_override_object=override,
        base_worker_pod=base,
        namespace=namespace,
        scheduler_job_id="1",
        run_id="manual__test",
    )
    return {
        "executor_config_keys": sorted(task.executor_config or {}),
        "override_type": type(override).__name__,
        "pod": ApiClient().sanitize_for_serialization(pod),
    }


def main(dag_file: str, template_path: str, streams_json: str) -> dict:
    module = load_module(dag_file)
    cfg = module.CONFIG
    dags = dict(module.DAGS)
    for stream_key, config_json in json.loads(streams_json).items():
        spec = module.stream_spec(cfg, stream_key, config_json)
        dags[spec["dag_id"]] = module.build_stream_dag(cfg, spec)
    report = {}
    for dag_id, dag in dags.items():
        stored = scheduler_view(dag)
        report[dag_id] = {task.task_id: worker_pod(task, dag_id, template_path, cfg.namespace) for task in stored.tasks}
    return report


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
