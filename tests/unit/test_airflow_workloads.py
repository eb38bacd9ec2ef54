"""What one workload's patch holds, and which config changes change it (a change restarts the workload)."""

from __future__ import annotations

import json

import pytest

from components.airflow_workloads import credentials_rollout_digest, patch_manifest
from components.rollout import credentials_annotation
from components.settings import parse_settings
from tests.program_harness import valid_raw

WORKLOADS = json.dumps(["Deployment/airflow-scheduler:airflow-scheduler", "StatefulSet/airflow-worker:worker"])


PASSWORD = "Rotation-Test-S3cret"


def manifests(**changes) -> list[dict]:
    raw = valid_raw(airflowWorkloads=WORKLOADS, mergeDbPassword=PASSWORD)
    settings = parse_settings({**raw, **changes})
    digest = credentials_rollout_digest(settings)
    return [patch_manifest(settings, workload, digest) for workload in settings.workloads]


def without_annotations(manifest: dict) -> dict:
    template = manifest["spec"]["template"]
    return {**manifest, "spec": {**manifest["spec"], "template": {**template, "metadata": {}}}}


def template_annotations(manifest: dict) -> dict:
    return manifest["spec"]["template"]["metadata"]["annotations"]


def test_every_patch_carries_the_credentials_annotation_and_no_password():
    for manifest in manifests():
        assert template_annotations(manifest)[credentials_annotation("yellowlive")]
        assert PASSWORD not in json.dumps(manifest)


@pytest.mark.parametrize("key", ["mergeDbPassword", "mergeDbUser"])
def test_a_rotation_changes_only_the_annotation_of_every_patch_so_each_workload_rolls_out(key):
    before, after = manifests(), manifests(**{key: "rotated_value"})
    annotation = credentials_annotation("yellowlive")
    for old, new in zip(before, after, strict=True):
        assert template_annotations(old)[annotation] != template_annotations(new)[annotation]
        if key == "mergeDbPassword":
            assert without_annotations(old) == without_annotations(new)


@pytest.mark.parametrize(
    "change",
    [
        {"factorySchedule": "*/10 * * * *"},
        {"jobImage": "datasurface/datasurface:9.9.9"},
        {"seedStreams": [json.dumps({"stream_key": "Other", "config": {"store_name": "Other"}})]},
    ],
)
def test_a_change_of_the_factory_file_or_its_rows_alone_changes_no_patch(change):
    assert manifests(**change) == manifests()
