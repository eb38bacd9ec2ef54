"""The policy pack as the engine runs it: its files, its pulumi_policy adapter, and the real program's resources."""

from __future__ import annotations

import copy
import importlib.util
import re
import select
import subprocess
from pathlib import Path

import pytest
import yaml
import yellow_policies as yp
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from tests.policy import resources as r
from tests.program_harness import STACKS, run_program

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
REPO_ROOT = POLICY_DIR.parent
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine sends a value not known in a preview
HOST_PATCH = "pulumi-python:dynamic/datasurface:WorkloadPatch"


@pytest.fixture(scope="module")
def runs():
    return {stack: run_program(stack) for stack in STACKS}


@pytest.fixture
def pack():
    """policy/__main__.py loaded fresh (not as __main__, so it does not start serving)."""
    spec = importlib.util.spec_from_file_location("yellow_policy_pack", POLICY_DIR / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def servicer(pack):
    return _PolicyAnalyzerServicer(
        pack.PACK_NAME, "0.1.0", pack.policies(), EnforcementLevel.MANDATORY, None, None, None, None, None, None, None
    )


def as_struct(props: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update({k: v for k, v in props.items() if not k.startswith("__")})  # the engine drops internal keys
    return struct


def urn(stack: str, typ: str, name: str) -> str:
    return f"urn:pulumi:{stack}::datasurface-yellow::{typ}::{name}"


def analyze_each(service, stack: str, resources) -> list:
    """Analyze every resource in registration order, as the engine does; the diagnostics of all."""
    diagnostics = []
    for typ, name, props in resources:
        request = proto.AnalyzeRequest(type=typ, properties=as_struct(props), urn=urn(stack, typ, name), name=name)
        diagnostics += list(service.Analyze(request, None).diagnostics)
    return diagnostics


def analyze_stack(service, stack: str, resources) -> list:
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(type=typ, properties=as_struct(props), urn=urn(stack, typ, name), name=name)
            for typ, name, props in resources
        ]
    )
    return list(service.AnalyzeStack(request, None).diagnostics)


def recorded(run) -> list[tuple[str, str, dict]]:
    return [(res.typ, res.name, copy.deepcopy(res.inputs)) for res in run.resources]


def with_host(resources, host: str):
    for typ, _, props in resources:
        if typ == HOST_PATCH:
            for entry in props["spec"]["template"]["spec"]["containers"][0]["env"]:
                if entry["name"] == "DATASURFACE_POSTGRES_HOST":
                    entry["value"] = host
    return resources


# --- the pack's files -------------------------------------------------------------------------


def test_the_pack_pins_the_policy_sdk_and_the_programs_pulumi():
    pins = (POLICY_DIR / "requirements.txt").read_text().split()
    assert pins == ["pulumi-policy==1.21.0", "pulumi==3.272.0"]
    program_pins = (REPO_ROOT / "requirements.txt").read_text()
    assert re.search(r"^pulumi==3\.272\.0$", program_pins, re.MULTILINE), "the pack must use the program's pulumi"
    assert "pulumi-policy==1.21.0" in (REPO_ROOT / "requirements" / "test.lock").read_text()


def test_the_pack_is_a_python_policy_pack_running_in_the_locked_project_venv():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    venv = (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == REPO_ROOT / ".venv"


def test_every_policy_is_mandatory_and_uniquely_named(pack):
    policies = pack.policies()
    names = [p.name for p in policies]
    assert len(names) == len(set(names)) == len(yp.RESOURCE_POLICIES) + 1
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in policies)


def test_reviews_are_kept_per_stack_and_project(pack):
    stack = pack.stack_of("urn:pulumi:yellowlive::datasurface-yellow::a$b::n")
    assert stack == "urn:pulumi:yellowlive::datasurface-yellow"


# --- the real program's resources, under mocks ------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_programs_resources_pass_every_policy(runs, stack):
    resources = recorded(runs[stack])
    assert any(t == yp.PLATFORM_TYPE for t, _, _ in resources)
    assert yp.review_resources(resources) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_programs_resources_pass_the_pack_as_the_engine_runs_it(runs, pack, stack):
    service = servicer(pack)
    resources = recorded(runs[stack])
    assert analyze_each(service, stack, resources) == []
    assert analyze_stack(service, stack, resources) == []


def test_a_mangled_host_in_the_programs_patches_is_flagged(runs):
    resources = with_host(recorded(runs["yellowlive"]), "pg-datans-kub-pg-testsvcclusterlocal")
    violations = yp.review_resources(resources)
    assert {v.policy for v in violations} == {"yellow-host-env-is-configured-dns-name"}
    assert len(violations) == len(runs["yellowlive"].config["airflowWorkloads"])
    assert all("with its dots removed" in v.message for v in violations)


def test_the_engine_reports_a_violation_as_mandatory_with_the_policys_message(runs, pack):
    resources = with_host(recorded(runs["yellowforensic"]), "pg-data.elsewhere.svc.cluster.local")
    diagnostics = analyze_each(servicer(pack), "yellowforensic", resources)
    assert diagnostics, "the tampered host passed the pack"
    for diagnostic in diagnostics:
        assert diagnostic.policyName == "yellow-host-env-is-configured-dns-name"
        assert diagnostic.enforcementLevel == proto.MANDATORY
        assert "differs from the platform's configured mergeDbHost" in diagnostic.message


def test_resources_seen_before_any_platform_are_flagged(runs):
    resources = [res for res in recorded(runs["yellowlive"]) if res[0] != yp.PLATFORM_TYPE]
    violations = yp.review_resources(resources)
    assert violations and all(v.message == yp.NO_PLATFORM for v in violations)


def test_two_platforms_in_one_stack_are_flagged():
    other = r.platform(
        platform="yellowforensic",
        mergeDbHost=r.HOST,
        dsgTable="yellowforensic_airflow_dsg",
        dagIdPrefix="yellowforensic__",
        factoryDagId="yellowforensic_factory_dag",
        configMap="yellowforensic-factory-dag",
        credentialsSecret="yellowforensic-c",
    )
    violations = yp.review_resources([(yp.PLATFORM_TYPE, "a", r.platform()), (yp.PLATFORM_TYPE, "b", other)])
    assert [v.message for v in violations] == [
        "this stack declares more than one platform (yellowforensic, yellowlive); one stack deploys one"
    ]


def test_the_stack_policy_finds_the_secrets_password_in_a_configmap(pack):
    leaked = r.configmap({r.DAG_FILE: r.DAG_SOURCE + f"# {r.PASSWORD}\n"})
    resources = [(yp.SECRET_TYPE, "s", r.secret()), (yp.CONFIGMAP_TYPE, "c", leaked)]
    diagnostics = analyze_stack(servicer(pack), "yellowlive", resources)
    assert [(d.policyName, d.urn) for d in diagnostics] == [
        (yp.STACK_POLICY_NAME, urn("yellowlive", yp.CONFIGMAP_TYPE, "c"))
    ]
    assert "contains the password of a Secret of this stack" in diagnostics[0].message
    assert r.PASSWORD not in diagnostics[0].message


def test_the_stack_policy_finds_the_secrets_password_in_an_env_value():
    env = r.with_env("DATASURFACE_POSTGRES_URL", {"value": f"postgresql://u:{r.PASSWORD}@h/db"})
    violations = yp.review_resources(
        [(yp.PLATFORM_TYPE, "p", r.platform()), (yp.SECRET_TYPE, "s", r.secret()), (HOST_PATCH, "w", r.patch(env))]
    )
    assert [(v.policy, v.resource) for v in violations] == [(yp.STACK_POLICY_NAME, "w")]
    assert "env DATASURFACE_POSTGRES_URL contains the password of a Secret" in violations[0].message


def test_values_unknown_during_a_preview_do_not_stop_the_checks(pack):
    patch = r.patch()
    patch["status"] = UNKNOWN_STRING
    patch["spec"]["template"]["spec"]["containers"][0]["image"] = UNKNOWN_STRING
    resources = [(yp.PLATFORM_TYPE, "p", r.platform()), (HOST_PATCH, "w", patch)]
    service = servicer(pack)
    assert analyze_each(service, "yellowlive", resources) == []
    assert analyze_stack(service, "yellowlive", resources) == []
    bad = copy.deepcopy(patch)
    bad["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "pg data"
    messages = [d.message for d in analyze_each(servicer(pack), "yellowlive", [resources[0], (HOST_PATCH, "w", bad)])]
    assert any("'pg data' is not a valid hostname" in m for m in messages)


def test_the_pack_starts_as_the_engine_starts_it_and_announces_its_port():
    """`python -m pulumi.policy <engine> <pack>` (what the CLI runs, here through run_pack.sh) serves the pack."""
    process = subprocess.Popen(
        [str(POLICY_DIR / "run_pack.sh"), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the policy pack did not announce a port within 60 s"
        line = process.stdout.readline().strip()
        assert line.isdigit() and int(line) > 0, f"expected a port, got {line!r}: {process.stderr.read()}"
    finally:
        process.kill()
        process.wait(timeout=10)
