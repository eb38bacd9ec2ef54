"""Every task of the factory DAG file runs, under KubernetesExecutor, in a pod with the file and the database.

The rendered file is parsed by Airflow 3.3.2's DagBag (its own virtualenv), each DAG serialized as the dag-processor
stores it and read back as the scheduler does, and each task's `executor_config` merged into a chart-like
pod template by Airflow's own `PodGenerator.construct_pod` / `reconcile_pods` (tests/unit/factory/
task_pod_driver.py). Nothing runs but Airflow's code: no database, no cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.credentials import credentials_secret_manifest
from components.factory_dag import factory_config, render_factory_dag
from components.factory_pod import TASK_CONTAINER, task_pod_override_json
from components.naming import DATABASE_ENV, HOST_ENV, PORT_ENV
from components.settings import Settings, parse_settings
from devtools.chart_pod_template import chart_pod_template
from tests.program_harness import load_stack_config, secret_values_for

DRIVER = Path(__file__).resolve().parent / "task_pod_driver.py"
STREAMS = {"Store1": json.dumps({"store_name": "Store1", "schedule_string": "@hourly"})}
# What the parsing process's environment says; the override must not take any of it.
PARSER_HOST = "127.0.0.1"


def stack_settings(stack: str) -> Settings:
    return parse_settings({**load_stack_config(stack), **secret_values_for(stack)})


def worker_pods(airflow_python: Path, settings: Settings, tmp_path: Path) -> dict[str, dict[str, Any]]:
    dag_file = tmp_path / settings.names.dag_file_name
    dag_file.write_text(render_factory_dag(factory_config(settings)))
    template = tmp_path / "pod_template_file.yaml"
    template.write_text(yaml.safe_dump(chart_pod_template(settings.namespace)))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DATASURFACE_DAG_CACHE_DIR": str(tmp_path / "cache"),
        # A parse with another database in its environment (nothing listens there: no rows, the cache is empty).
        HOST_ENV: PARSER_HOST,
        PORT_ENV: "9",
        DATABASE_ENV: "not_the_merge_database",
    }
    result = subprocess.run(
        [str(airflow_python), str(DRIVER), str(dag_file), str(template), json.dumps(STREAMS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


PLATFORMS = ("yellowlive", "yellowforensic")


@pytest.fixture(scope="module")
def pods_by_platform(airflow_python, tmp_path_factory):
    """Each committed cluster stack's worker pods, one Airflow run per platform."""
    found = {}
    for stack in PLATFORMS:
        settings = stack_settings(stack)
        found[stack] = settings, worker_pods(airflow_python, settings, tmp_path_factory.mktemp(stack))
    return found


@pytest.fixture(params=PLATFORMS)
def platform_pods(request, pods_by_platform):
    return pods_by_platform[request.param]


def every_task(pods: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(dag_id, task_id, report) for dag_id, tasks in pods.items() for task_id, report in tasks.items()]


def base_container(pod: dict[str, Any]) -> dict[str, Any]:
    containers = pod["spec"]["containers"]
    assert [c["name"] for c in containers] == [TASK_CONTAINER]
    return containers[0]


def test_the_factory_sync_and_each_ingestion_task_carry_a_pod_override(platform_pods):
    settings, pods = platform_pods
    names = settings.names
    assert {dag_id: sorted(tasks) for dag_id, tasks in pods.items()} == {
        names.factory_dag_id: ["sync_dynamic_dags"],
        names.stream_dag_id("Store1"): ["snapshot_merge"],
    }
    for _dag_id, _task_id, report in every_task(pods):
        assert report["executor_config_keys"] == ["pod_override"]
        assert report["override_type"] == "V1Pod"


def test_the_worker_pod_has_the_configured_database_verbatim_not_the_parsers_environment(platform_pods):
    settings, pods = platform_pods
    for dag_id, task_id, report in every_task(pods):
        env = {e["name"]: e for e in base_container(report["pod"])["env"]}
        assert env[HOST_ENV] == {"name": HOST_ENV, "value": settings.merge_db_host}, (dag_id, task_id)
        assert env[PORT_ENV]["value"] == str(settings.merge_db_port)
        assert env[DATABASE_ENV]["value"] == settings.merge_db_name
        assert PARSER_HOST not in json.dumps(report["pod"])


def test_the_worker_pod_has_the_credentials_only_by_reference_to_keys_the_platforms_secret_has(platform_pods):
    settings, pods = platform_pods
    names = settings.names
    secret = credentials_secret_manifest(settings, "user", "pw")
    for _dag_id, _task_id, report in every_task(pods):
        env = {e["name"]: e for e in base_container(report["pod"])["env"]}
        for name in (names.user_env, names.password_env):
            assert "value" not in env[name]
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret["metadata"]["name"] == names.credentials_secret_name
            assert ref["key"] in secret["stringData"]


def test_the_worker_pod_mounts_the_platforms_factory_configmap_read_only_in_its_dags_sub_folder(platform_pods):
    settings, pods = platform_pods
    names = settings.names
    for _dag_id, _task_id, report in every_task(pods):
        pod = report["pod"]
        mounts = {m["mountPath"]: m for m in base_container(pod)["volumeMounts"]}
        assert mounts[f"/opt/airflow/dags/{settings.platform}"] == {
            "name": names.dag_volume_name,
            "mountPath": settings.dag_mount_path,
            "readOnly": True,
        }
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes[names.dag_volume_name]["configMap"] == {
            "name": names.configmap_name,
            "items": [{"key": names.dag_file_name, "path": names.dag_file_name}],
        }


def test_the_templates_own_env_mounts_volumes_and_settings_stay(platform_pods):
    settings, pods = platform_pods
    template = chart_pod_template(settings.namespace)
    template_container = template["spec"]["containers"][0]
    for _dag_id, _task_id, report in every_task(pods):
        pod = report["pod"]
        container = base_container(pod)
        for key in ("env", "volumeMounts"):
            assert [e for e in container[key] if e in template_container[key]] == template_container[key]
        assert [v for v in pod["spec"]["volumes"] if v in template["spec"]["volumes"]] == template["spec"]["volumes"]
        assert pod["spec"]["restartPolicy"] == "Never"
        assert pod["spec"]["serviceAccountName"] == template["spec"]["serviceAccountName"]
        assert container["image"] == "apache/airflow:3.3.2"
        # What the executor adds stays too: the task runs with its own arguments.
        assert container["args"][:3] == ["python", "-m", "airflow.sdk.execution_time.execute_workload"]


def test_live_and_forensic_tasks_each_carry_only_their_own_platforms_entries(pods_by_platform):
    (live, live_pods), (forensic, forensic_pods) = (pods_by_platform[p] for p in PLATFORMS)
    for own, pods, other in ((live, live_pods, forensic), (forensic, forensic_pods, live)):
        for _dag_id, _task_id, report in every_task(pods):
            text = json.dumps(report["pod"])
            assert own.names.credentials_secret_name in text and own.dag_mount_path in text
            assert other.names.credentials_secret_name not in text
            assert other.dag_mount_path not in text
            assert other.names.user_env not in {e["name"] for e in base_container(report["pod"])["env"]}


def test_the_file_carries_the_override_built_from_the_same_entries_as_the_patches():
    settings = stack_settings("yellowlive")
    assert factory_config(settings).task_pod_override == task_pod_override_json(settings)
