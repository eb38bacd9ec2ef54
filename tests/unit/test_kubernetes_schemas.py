"""Every Secret and ConfigMap the program declares, and the pod-template parts each patch sets,
validate against the Kubernetes JSON schemas (kubernetes-validate, strict: no unknown fields)."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests.program_harness import CONFIGMAP, SECRET, ProgramRun, patches, unwrap

KUBERNETES_VERSION = "1.33.0"


def validate(manifest: dict) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_rejects_a_wrong_field():
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": 1}})


def test_secret_validates(stack_run: ProgramRun):
    secret = copy.deepcopy(stack_run.one(SECRET).inputs)
    secret["stringData"] = unwrap(secret["stringData"])
    validate(secret)


def test_configmap_validates(stack_run: ProgramRun):
    validate(stack_run.one(CONFIGMAP).inputs)


def deployment_around(patch_inputs: dict) -> dict:
    """A complete workload holding exactly the pod-template parts the patch sets."""
    template = copy.deepcopy(patch_inputs["spec"]["template"])
    template.setdefault("metadata", {})["labels"] = {"app": "airflow"}
    for container in template["spec"]["containers"]:
        container["image"] = "apache/airflow:3.3.2"
    spec = {"selector": {"matchLabels": {"app": "airflow"}}, "template": template}
    if patch_inputs["kind"] == "StatefulSet":
        spec["serviceName"] = patch_inputs["metadata"]["name"]
    return {
        "apiVersion": patch_inputs["apiVersion"],
        "kind": patch_inputs["kind"],
        "metadata": {k: v for k, v in patch_inputs["metadata"].items()},
        "spec": spec,
    }


def test_pod_template_parts_of_every_patch_validate(stack_run: ProgramRun):
    for patch in patches(stack_run):
        validate(deployment_around(patch.inputs))


def test_statefulset_workloads_are_patched_as_statefulsets():
    from tests.program_harness import run_program

    run = run_program(
        "yellowlive",
        {
            "airflowWorkloads": [
                "Deployment/airflow-scheduler:scheduler",
                "StatefulSet/airflow-worker:worker",
                "StatefulSet/airflow-triggerer:triggerer",
            ]
        },
    )
    kinds = sorted((p.inputs["kind"], p.inputs["metadata"]["name"]) for p in patches(run))
    assert kinds == [
        ("Deployment", "airflow-scheduler"),
        ("StatefulSet", "airflow-triggerer"),
        ("StatefulSet", "airflow-worker"),
    ]
    for patch in patches(run):
        validate(deployment_around(patch.inputs))
