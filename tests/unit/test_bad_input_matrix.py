"""Every row of docs/bad-input-matrix.md, checked: the user sees exactly the message the row shows.

Settings rows run the whole program under mocks with the row's config; policy rows run the policy
pack's functions over crafted resources (or the program's own, for a config the settings let through);
engine and admin-endpoint rows name the end-to-end test (tests/e2e) that checks them with the real
Pulumi engine.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from components.settings import SettingsError
from tests.bad_input_matrix import ROWS, code, rows_of
from tests.policy import resources as r
from tests.program_harness import execute, prepare_run

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = "yellowlive"
E2E_TEST_ID = re.compile(r"^(?P<path>tests/e2e/\w+\.py)::(?P<test>test_\w+)(\[[\w.-]+\])?$")


def _load_policies():
    """policy/yellow_policies.py, imported by name as the engine does from the pack's folder."""
    if "yellow_policies" not in sys.modules:
        spec = importlib.util.spec_from_file_location("yellow_policies", REPO_ROOT / "policy" / "yellow_policies.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["yellow_policies"] = module
        spec.loader.exec_module(module)
    return sys.modules["yellow_policies"]


yp = _load_policies()


# --- reading the table ------------------------------------------------------------------------


def test_the_matrix_lists_every_step_and_unique_rows():
    assert len(ROWS) == len({row.id for row in ROWS})
    assert all(row.kind for row in ROWS)
    assert {row.id[0] for row in rows_of("settings validation")} == {"S"}
    assert {row.id[0] for row in rows_of("policy")} == {"P"}
    assert {row.id[0] for row in rows_of("engine")} == {"E"}
    assert {row.id[0] for row in rows_of("admin endpoint")} == {"A"}
    assert {row.id[0] for row in rows_of("cluster apply")} == {"K"}
    assert len(rows_of("settings validation")) >= 30 and len(rows_of("policy")) >= 10 and len(rows_of("engine")) >= 5


# --- settings validation: the program, run under mocks ----------------------------------------


@pytest.mark.parametrize("row", rows_of("settings validation"), ids=lambda row: row.id)
def test_a_settings_row_stops_the_program_with_its_message(row):
    overrides = yaml.safe_load(code(row.bad_input))
    assert isinstance(overrides, dict) and overrides, f"{row.id}: the input must be `key: value`"
    run = prepare_run(STACK, overrides)
    with pytest.raises(SettingsError) as caught:
        execute(run)
    assert code(row.message) in caught.value.problems
    assert run.resources == [], f"{row.id}: resources were declared before the error"


# --- policy: the pack's functions over the resources the row describes ------------------------


def _platform() -> tuple:
    return (yp.PLATFORM_TYPE, STACK, r.platform())


def _patch(env) -> list[tuple]:
    return [_platform(), ("kubernetes:apps/v1:DeploymentPatch", "scheduler", r.patch(env))]


def _with_dag(source: str, **configmap) -> list[tuple]:
    return [_platform(), (yp.CONFIGMAP_TYPE, "dag", r.configmap({r.DAG_FILE: source}, **configmap))]


HOST = "DATASURFACE_POSTGRES_HOST"
CRAFTED: dict[str, Callable[[], list[tuple]]] = {
    "P1": lambda: _patch(r.with_env(HOST, {"value": "pg-datans-kub-pg-testsvcclusterlocal"})),
    "P2": lambda: _patch(r.with_env(HOST, {"value": "pg-data.ns-kub-pg-prod.svc.cluster.local"})),
    "P3": lambda: _patch([e for e in r.good_env() if e["name"] != HOST]),
    "P4": lambda: [_platform(), (yp.SECRET_TYPE, "credentials", r.secret({"username": "u", "password": "p1234567"}))],
    "P5": lambda: [
        _platform(),
        (yp.SECRET_TYPE, "credentials", r.secret({"postgres_USER": "u", "postgres_PASSWORD": "p1234567"})),
    ],
    "P6": lambda: [
        _platform(),
        (
            yp.SECRET_TYPE,
            "credentials",
            r.secret({"username": "u", "password": "", "postgres_USER": "u", "postgres_PASSWORD": ""}),
        ),
    ],
    "P7": lambda: _patch(r.with_env("postgres_PASSWORD", {"value": "hunter2hunter2"})),
    "P8": lambda: _with_dag(r.DAG_SOURCE + 'CONNECTION = {"password": "hunter2hunter2"}\n'),
    "P9": lambda: [
        _platform(),
        (yp.SECRET_TYPE, "credentials", r.secret()),
        (yp.CONFIGMAP_TYPE, "dag", r.configmap({r.DAG_FILE: r.DAG_SOURCE + f"# {r.PASSWORD}\n"})),
    ],
    "P10": lambda: _with_dag(r.DAG_SOURCE + "def broken(:\n"),
    "P11": lambda: _with_dag(r.DAG_SOURCE + "LEDGER = 'yellowforensic_airflow_dsg_ledger'\n"),
    "P12": lambda: [_platform(), (yp.CONFIGMAP_TYPE, "dag", r.configmap(name="yellowforensic-factory-dag"))],
    "P13": lambda: [_platform(), (yp.DYNAMIC_TYPE, "table", r.dsg_table("yellowforensic_airflow_dsg"))],
    "P14": lambda: [(yp.PLATFORM_TYPE, STACK, r.platform(dsgTable="airflow_dsg"))],
    "P15": lambda: [("kubernetes:apps/v1:DeploymentPatch", "scheduler", r.patch())],
}


def test_every_policy_row_has_its_crafted_resources():
    assert sorted(CRAFTED) == sorted(row.id for row in rows_of("policy"))


@pytest.mark.parametrize("row", rows_of("policy"), ids=lambda row: row.id)
def test_a_policy_row_is_reported_by_its_policy_with_its_message(row):
    policy = code(row.step)
    assert policy in {p.name for p in yp.RESOURCE_POLICIES} | {yp.STACK_POLICY_NAME}
    violations = yp.review_resources(CRAFTED[row.id]())
    assert (policy, code(row.message)) in {(v.policy, v.message) for v in violations}, violations


# --- engine: named end-to-end tests -----------------------------------------------------------


@pytest.mark.parametrize(
    "row", rows_of("engine") + rows_of("admin endpoint") + rows_of("cluster apply"), ids=lambda row: row.id
)
def test_an_engine_admin_endpoint_or_cluster_row_names_the_e2e_test_that_checks_it(row):
    test_id = E2E_TEST_ID.match(code(row.checked_by))
    assert test_id, f"{row.id}: 'checked by' must be a tests/e2e test id, not {row.checked_by!r}"
    module = REPO_ROOT / test_id["path"]
    if module.exists():  # once the e2e module is written, the named test must be in it
        assert re.search(rf"^def {test_id['test']}\(", module.read_text(), re.MULTILINE), (
            f"{row.id}: {test_id['test']} is not in {test_id['path']}"
        )
    if row.kind == "engine":
        assert code(row.message).startswith(f"Stack '{STACK}' ")
