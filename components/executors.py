"""Where Airflow runs the factory's tasks, as the scheduler's executor says, and what the stack must patch then.

- KubernetesExecutor: each task in a worker pod built from the chart's pod template; every task of the DAG
  file carries a `pod_override` with this platform's entries (components/factory_pod.py), so nothing more.
- LocalExecutor: each task in the scheduler's pod, which the stack patches.
- CeleryExecutor: each task in a Celery worker, which has the file and the database only when
  `airflowWorkloads` lists it (the chart's is `StatefulSet/<release>-worker:worker`).

A workload patch reads the scheduler's live `AIRFLOW__CORE__EXECUTOR` (Airflow 3: one executor, or a
comma-separated list, each a name, a class path or `alias:class path`) and refuses a Celery executor when no
Celery worker is listed. Pure functions over Kubernetes JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

EXECUTOR_ENV = "AIRFLOW__CORE__EXECUTOR"
CELERY_EXECUTORS = frozenset({"CeleryExecutor", "CeleryKubernetesExecutor"})
CHART_CELERY_WORKER = "StatefulSet/airflow-worker:worker"
WORKLOADS_KEY = "datasurface-yellow:airflowWorkloads"


def executor_classes(value: str) -> list[str]:
    """The class names an executor setting names: `LocalExecutor`, `a.b.CeleryExecutor`, `alias:a.b.C`, lists."""
    names = []
    for part in value.split(","):
        path = part.strip().rpartition(":")[2]
        if path:
            names.append(path.rpartition(".")[2])
    return names


def is_celery_worker(entry: str) -> bool:
    """Whether an `airflowWorkloads` entry (`<Kind>/<name>:<container>`) names a Celery worker: the chart's
    is `<release>-worker` with its container `worker`."""
    _kind, _, rest = entry.partition("/")
    name, _, container = rest.partition(":")
    return name.endswith("worker") or container == "worker"


def container_env_value(workload: Mapping[str, Any], container: str, env_name: str) -> str | None:
    """A literal env value of one container of a live workload's pod template, or None."""
    spec = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    for candidate in spec.get("containers") or []:
        if candidate.get("name") == container:
            for env in candidate.get("env") or []:
                if env.get("name") == env_name and isinstance(env.get("value"), str):
                    return str(env["value"])
    return None


def executor_problem(target: str, executor: str | None, listed: Iterable[str]) -> str | None:
    """Why this stack would leave the tasks without the DAG file, in one line, or None."""
    if executor is None or not CELERY_EXECUTORS.intersection(executor_classes(executor)):
        return None
    if any(is_celery_worker(entry) for entry in listed):
        return None
    return (
        f"{target} runs {EXECUTOR_ENV}={executor!r}: its tasks run in Celery workers, and {WORKLOADS_KEY} lists "
        f"none, so they would have neither the factory DAG file nor the merge database; add the worker "
        f"(the chart's is {CHART_CELERY_WORKER!r}) to {WORKLOADS_KEY}. Nothing was changed."
    )
