"""Which executor settings leave the factory's tasks without the file, and the one-line refusal."""

from __future__ import annotations

import pytest

from components.executors import container_env_value, executor_classes, executor_problem, is_celery_worker

SCHEDULER = "Deployment ns/airflow-scheduler"
WITHOUT_WORKER = ["Deployment/airflow-scheduler:airflow-scheduler", "Deployment/airflow-dag-processor:dag-processor"]


@pytest.mark.parametrize(
    ("value", "classes"),
    [
        ("CeleryExecutor", ["CeleryExecutor"]),
        ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", ["CeleryExecutor"]),
        (
            "KubernetesExecutor, my_celery:airflow.providers.celery.executors.celery_executor.CeleryExecutor",
            ["KubernetesExecutor", "CeleryExecutor"],
        ),
        ("", []),
    ],
)
def test_executor_classes_reads_names_paths_aliases_and_lists(value, classes):
    assert executor_classes(value) == classes


@pytest.mark.parametrize("executor", ["CeleryExecutor", "LocalExecutor,CeleryExecutor", "CeleryKubernetesExecutor"])
def test_a_celery_executor_with_no_worker_listed_is_refused_in_one_line_naming_the_key_and_the_value(executor):
    problem = executor_problem(SCHEDULER, executor, WITHOUT_WORKER)
    assert problem is not None and "\n" not in problem
    assert "datasurface-yellow:airflowWorkloads" in problem
    assert f"AIRFLOW__CORE__EXECUTOR={executor!r}" in problem
    assert "StatefulSet/airflow-worker:worker" in problem
    assert problem.startswith(SCHEDULER)


@pytest.mark.parametrize("worker", ["StatefulSet/airflow-worker:worker", "Deployment/my-release-worker:celery"])
def test_a_celery_executor_with_a_worker_listed_is_accepted(worker):
    assert executor_problem(SCHEDULER, "CeleryExecutor", [*WITHOUT_WORKER, worker]) is None


@pytest.mark.parametrize("executor", ["KubernetesExecutor", "LocalExecutor", None])
def test_kubernetes_and_local_executors_or_none_seen_need_nothing_more(executor):
    assert executor_problem(SCHEDULER, executor, WITHOUT_WORKER) is None


def test_the_chart_worker_and_only_workers_count_as_celery_workers():
    assert is_celery_worker("StatefulSet/airflow-worker:worker")
    assert not is_celery_worker("Deployment/airflow-scheduler:airflow-scheduler")
    assert not is_celery_worker("Deployment/airflow-triggerer:triggerer")


def test_the_executor_is_read_from_the_patched_containers_literal_env_only():
    live = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "other", "env": [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "LocalExecutor"}]},
                        {"name": "scheduler", "env": [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "CeleryExecutor"}]},
                        {"name": "from-ref", "env": [{"name": "AIRFLOW__CORE__EXECUTOR", "valueFrom": {}}]},
                    ]
                }
            }
        }
    }
    assert container_env_value(live, "scheduler", "AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor"
    assert container_env_value(live, "from-ref", "AIRFLOW__CORE__EXECUTOR") is None
    assert container_env_value(live, "missing", "AIRFLOW__CORE__EXECUTOR") is None


@pytest.mark.parametrize(("row", "executor"), [("K4", "CeleryExecutor"), ("K5", "KubernetesExecutor,CeleryExecutor")])
def test_the_matrix_rows_say_what_the_check_says_for_the_committed_stacks_workloads(row, executor):
    from tests.bad_input_matrix import ROWS, code
    from tests.program_harness import load_stack_config

    config = load_stack_config("yellowlive")
    target = f"Deployment {config['namespace']}/airflow-scheduler"
    problem = executor_problem(target, executor, config["airflowWorkloads"])
    (matrix_row,) = [r for r in ROWS if r.id == row]
    assert problem is not None and problem.startswith(code(matrix_row.message))
