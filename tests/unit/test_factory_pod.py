"""One source for what every pod that parses or runs the factory gets: the workload patches and the tasks'
pod_override are the same entries, in different containers."""

from __future__ import annotations

import json

import pytest

from components.airflow_workloads import patch_manifest
from components.factory_pod import TASK_CONTAINER, pod_spec_entries, task_pod_override, task_pod_override_json
from components.naming import HOST_ENV
from components.settings import parse_settings
from tests.program_harness import valid_raw


@pytest.fixture
def settings():
    return parse_settings(valid_raw(airflowWorkloads=json.dumps(["Deployment/airflow-scheduler:scheduler"])))


def test_the_override_holds_exactly_the_workload_patchs_entries_in_the_task_container(settings):
    workload = settings.workloads[0]
    patch_spec = patch_manifest(settings, workload, "digest")["spec"]["template"]["spec"]
    override_spec = task_pod_override(settings)["spec"]
    assert override_spec["containers"][0]["name"] == TASK_CONTAINER == "base"
    assert {**override_spec["containers"][0], "name": workload.container} == patch_spec["containers"][0]
    assert override_spec["volumes"] == patch_spec["volumes"]


def test_the_override_is_a_pod_and_names_no_image_so_the_executors_image_stays(settings):
    override = task_pod_override(settings)
    assert (override["apiVersion"], override["kind"]) == ("v1", "Pod")
    assert "image" not in override["spec"]["containers"][0]
    assert "metadata" not in override


def test_the_host_goes_in_verbatim_with_its_dots(settings):
    env = {e["name"]: e.get("value") for e in pod_spec_entries(settings, "any")["containers"][0]["env"]}
    assert env[HOST_ENV] == "pg-data.ns-kub-pg-test.svc.cluster.local"


def test_the_json_the_file_carries_reads_back_to_the_override(settings):
    assert json.loads(task_pod_override_json(settings)) == task_pod_override(settings)
