"""Runs inside the Airflow virtualenv (never imported by pytest): the worker pod KubernetesExecutor would build
for each task of the rendered factory DAG file, by Airflow's own code, printed as one JSON document.

    python task_pod_driver.py DAG_FILE POD_TEMPLATE STREAMS_JSON

The file is parsed by a DagBag, as the dag-processor parses it (its DAGs are those of the rows it read); each
entry of STREAMS_JSON (stream key -> `config_json`) adds an ingestion DAG built by the file's own
`build_stream_dag`, for runs with no database to read. Every DAG is
serialized as the dag-processor stores it (JSON of `DagSerialization.to_dict`) and read back as the scheduler
reads it; each task's deserialized `executor_config` then goes through `PodGenerator.from_obj` and
`PodGenerator.construct_pod` with the pod template file (which merges by `PodGenerator.reconcile_pods`), as
the KubernetesExecutor's scheduler side builds a worker pod (`_build_pod_request`).
"""

from __future__ import annotations

import json
import sys


def parse(dag_file: str):
    """The DAGs of the file as the dag-processor gets them, and the module the DagBag imported."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.file import get_unique_dag_module_name

    bag = DagBag(dag_folder=dag_file)
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    return dict(bag.dags), sys.modules[get_unique_dag_module_name(dag_file)]


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
    dags, module = parse(dag_file)
    cfg = module.CONFIG
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
