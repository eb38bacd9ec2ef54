"""Runs inside the Airflow virtualenv (never imported by pytest): loads the rendered factory DAG file
the way Airflow does and prints one JSON document on the last line of stdout for the test to assert on.

    python airflow_driver.py parse DAG_FILE [--parsing-dag-id ID]
    python airflow_driver.py sync DAG_FILE --run-id RUN_ID

`parse` fills a DagBag from the file (as the dag-processor does, or as a worker does when
--parsing-dag-id is given), serializes every DAG, builds each ingestion task's pod, and reports the
DAGs, their tasks and the records the file logged. `sync` loads the file as a worker running the
factory task does and calls its `sync_dynamic_dags`, reporting the summary and the logged report.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import time

FILE_LOGGER = "datasurface"


class Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append({"level": record.levelname, "message": record.getMessage()})


def capture_logs() -> Records:
    handler = Records()
    logger = logging.getLogger(FILE_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def env_entry(var) -> dict:
    ref = var.value_from.secret_key_ref if var.value_from else None
    return {
        "name": var.name,
        "value": var.value,
        "secret_name": ref.name if ref else None,
        "secret_key": ref.key if ref else None,
    }


def pod_report(task) -> dict:
    from kubernetes.client import ApiClient

    pod = task.build_pod_request_obj()
    container = pod.spec.containers[0]
    return {
        "manifest": ApiClient().sanitize_for_serialization(pod),
        "namespace": pod.metadata.namespace,
        "name": pod.metadata.name,
        "labels": pod.metadata.labels,
        "image": container.image,
        "command": container.command,
        "args": container.args,
        "env": [env_entry(var) for var in container.env or []],
    }


def task_report(task) -> dict:
    report = {"task_id": task.task_id, "task_type": task.task_type}
    if task.task_type == "KubernetesPodOperator":
        report.update(
            namespace=task.namespace,
            image=task.image,
            cmds=list(task.cmds),
            arguments=list(task.arguments),
            pod=pod_report(task),
        )
    return report


def dag_report(dag) -> dict:
    return {
        "schedule": dag.schedule if dag.schedule is None or isinstance(dag.schedule, str) else repr(dag.schedule),
        "timetable": type(dag.timetable).__name__,
        "catchup": dag.catchup,
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "description": dag.description,
        "tasks": [task_report(task) for task in dag.tasks],
    }


def serialized(dags) -> dict:
    from airflow.serialization.serialized_objects import DagSerialization

    return {dag_id: json.dumps(DagSerialization.to_dict(dag)) for dag_id, dag in dags.items()}


def module_of(dag_file: str):
    from airflow.utils.file import get_unique_dag_module_name

    return sys.modules.get(get_unique_dag_module_name(dag_file))


def parse(dag_file: str, parsing_dag_id: str | None) -> dict:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager

    records = capture_logs()
    started = time.perf_counter()
    with _airflow_parsing_context_manager(dag_id=parsing_dag_id):
        bag = DagBag(dag_folder=dag_file)
    seconds = time.perf_counter() - started
    module = module_of(dag_file)
    return {
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "dag_ids": sorted(bag.dags),
        "built_order": list(getattr(module, "DAGS", {})),
        "dags": {dag_id: dag_report(dag) for dag_id, dag in bag.dags.items()},
        "serialized": serialized(bag.dags),
        "logs": records.records,
        "parse_seconds": seconds,
    }


def load_as_worker(dag_file: str, dag_id: str):
    from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager

    spec = importlib.util.spec_from_file_location("factory_dag_under_test", dag_file)
    assert spec is not None and spec.loader is not None, f"{dag_file} cannot be loaded as a module"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as Airflow's DagBag registers the DAG files it imports
    with _airflow_parsing_context_manager(dag_id=dag_id, task_id="sync_dynamic_dags"):
        spec.loader.exec_module(module)
    return module


def sync(dag_file: str, run_id: str) -> dict:
    factory_dag_id = os.path.basename(dag_file)[: -len(".py")]
    module = load_as_worker(dag_file, factory_dag_id)
    records = capture_logs()
    task = module.DAGS[factory_dag_id].get_task("sync_dynamic_dags")
    try:
        summary, error = task.python_callable(run_id=run_id), None
    except Exception as err:  # the task fails: Airflow would mark it failed and alert
        summary, error = None, f"{type(err).__name__}: {err}"
    return {"summary": summary, "error": error, "logs": records.records, "built": list(module.DAGS)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("parse", "sync"))
    parser.add_argument("dag_file")
    parser.add_argument("--parsing-dag-id")
    parser.add_argument("--run-id", default="manual__test")
    args = parser.parse_args()
    if args.command == "parse":
        result = parse(args.dag_file, args.parsing_dag_id)
    else:
        result = sync(args.dag_file, args.run_id)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
