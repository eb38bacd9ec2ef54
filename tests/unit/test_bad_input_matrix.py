"""Every row of docs/bad-input-matrix.md, checked: the user sees exactly the message the row shows.

Settings rows run the whole program under mocks with the row's config; policy rows run the policy
pack, as the engine calls it, over a crafted stack; engine and admin-endpoint rows name the end-to-end
test (tests/e2e) that checks them with the real Pulumi engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from components.factory_dag import factory_config
from components.settings import SettingsError, parse_settings
from factory.streams import valid_specs
from factory.table import UnknownStatus
from tests.bad_input_matrix import ROWS, code, expanded, rows_of
from tests.integration.airflow import test_factory_dag_hostile_rows as hostile
from tests.policy import resources as r
from tests.policy.analyzer import policy_names, review
from tests.program_harness import prepare_run, refused, valid_raw

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK = "yellowlive"
HOSTILE_ROWS_TEST = "tests/integration/airflow/test_factory_dag_hostile_rows.py"
E2E_TEST_ID = re.compile(r"^(?P<path>tests/e2e/\w+\.py)::(?P<test>test_\w+)(\[[\w.-]+\])?$")


# --- reading the table ------------------------------------------------------------------------


def test_the_matrix_lists_every_step_and_unique_rows():
    assert len(ROWS) == len({row.id for row in ROWS})
    assert all(row.kind for row in ROWS)
    assert {row.id[0] for row in rows_of("settings validation")} == {"S"}
    assert {row.id[0] for row in rows_of("policy")} == {"P"}
    assert {row.id[0] for row in rows_of("engine")} == {"E"}
    assert {row.id[0] for row in rows_of("admin endpoint")} == {"A"}
    assert {row.id[0] for row in rows_of("cluster apply")} == {"K"}
    assert {row.id[0] for row in rows_of("factory parse")} == {"F"}
    assert {row.id[0] for row in rows_of("database privileges")} == {"D"}
    assert len(rows_of("settings validation")) >= 30 and len(rows_of("policy")) >= 10 and len(rows_of("engine")) >= 5


# --- settings validation: the program, run under mocks ----------------------------------------


@pytest.mark.parametrize("row", rows_of("settings validation"), ids=lambda row: row.id)
def test_a_settings_row_stops_the_program_with_its_message(row):
    overrides = yaml.safe_load(expanded(code(row.bad_input)))
    assert isinstance(overrides, dict) and overrides, f"{row.id}: the input must be `key: value`"
    run = prepare_run(STACK, overrides)
    caught = refused(run)
    assert isinstance(caught, SettingsError)
    assert expanded(code(row.message)) in caught.problems
    assert run.resources == [], f"{row.id}: resources were declared before the error"


def test_a_repeated_value_in_a_row_is_written_out():
    assert expanded('x: "<3 × [><3 × ]>", y: <1,000 × ab>') == 'x: "[[[]]]", y: ' + "ab" * 1000


# --- policy: the pack over a stack holding the resources the row describes ----------------------

HOST = "DATASURFACE_POSTGRES_HOST"


def _patch(env) -> list[r.Resource]:
    return r.stack(r.workload(r.patch(env)))


def _secret(string_data: dict[str, str]) -> list[r.Resource]:
    return r.stack(r.secret_part(string_data))


def _rows(stream_key: str, **config) -> r.Resource:
    """The dsg table with one seed row, its config `store_name: Store1` and `config`."""
    return r.dsg_table_part({stream_key: r.seed_row({"store_name": "Store1", **config})})


def _dag(source: str) -> list[r.Resource]:
    return r.stack(r.configmap_part({r.DAG_FILE: source}))


CRAFTED: dict[str, Callable[[], list[r.Resource]]] = {
    "P1": lambda: _patch(r.with_env(HOST, {"value": r.MANGLED_HOST})),
    "P2": lambda: _patch(r.with_env(HOST, {"value": "pg-data.ns-kub-pg-prod.svc.cluster.local"})),
    "P3": lambda: _patch(r.without_env(HOST)),
    "P4": lambda: _secret({"username": "u", "password": "p1234567"}),
    "P5": lambda: _secret({"postgres_USER": "u", "postgres_PASSWORD": "p1234567"}),
    "P6": lambda: _secret(
        {"username": "u", "password": "p1234567", "postgres_USER": "u", "postgres_PASSWORD": "p7654"}
    ),
    "P7": lambda: _patch(r.with_env("postgres_PASSWORD", {"value": "hunter2hunter2"})),
    "P8": lambda: _dag(r.DAG_SOURCE + f"# {r.PASSWORD}\n") + [r.secret_part()],
    "P9": lambda: _dag(r.DAG_SOURCE + "LEDGER = 'yellowforensic_airflow_dsg_ledger'\n"),
    "P10": lambda: r.stack(r.configmap_part(name="yellowforensic-factory-dag")),
    "P11": lambda: r.stack(r.part(r.DSG_TABLE, r.dsg_table("yellowforensic_airflow_dsg"), "dsg-table")),
    "P12": lambda: [r.Resource(r.WORKLOAD_PATCH, "scheduler", r.patch())],
    "P13": lambda: r.stack(r.secret_part(), _rows("Store1", source_dsn=f"postgresql://u:{r.PASSWORD}@pg/db")),
    "P14": lambda: r.stack(_rows("Store1", token=r.ADMIN_PASSWORD)),
    "P15": lambda: r.stack(
        r.dsg_table_part(), r.part("postgresql:index/grant:Grant", {"role": "r", "comment": r.ADMIN_PASSWORD}, "g")
    ),
    "P16": lambda: r.stack(
        r.secret_part({**r.credentials(), "password": "airflow", "postgres_PASSWORD": "airflow"}),
        r.workload(r.patch(r.with_env("postgres_PASSWORD", {"value": "x"}))),
    ),
    "P17": lambda: r.stack(_rows("yellowforensic_replay")),
    "P18": lambda: r.stack(_rows("YELLOWFORENSIC")),
    "P19": lambda: r.stack(_rows("Store1", store_name="yellowforensic_store")),
    "P20": lambda: r.stack(
        r.secret_part(
            {"username": "u", "password": "p", "postgres_forensic_USER": "u", "postgres_forensic_PASSWORD": "p"}
        )
    ),
    "P21": lambda: r.stack(
        r.part("postgresql:index/role:Role", {"name": "yellowforensic_airflow", "login": True}, "role")
    ),
}


def test_every_policy_row_has_its_crafted_resources():
    assert sorted(CRAFTED) == sorted(row.id for row in rows_of("policy"))


@pytest.mark.parametrize("row", rows_of("policy"), ids=lambda row: row.id)
def test_a_policy_row_is_reported_by_its_policy_with_its_message(row):
    policy = code(row.step)
    assert policy in policy_names()
    violations = review(CRAFTED[row.id]())
    assert (policy, code(row.message)) in {(v.policy, v.message) for v in violations}, violations


# --- engine: named end-to-end tests -----------------------------------------------------------


@pytest.mark.parametrize(
    "row",
    rows_of("engine") + rows_of("admin endpoint") + rows_of("cluster apply") + rows_of("database privileges"),
    ids=lambda row: row.id,
)
def test_an_engine_admin_endpoint_cluster_or_privilege_row_names_the_e2e_test_that_checks_it(row):
    test_id = E2E_TEST_ID.match(code(row.checked_by))
    assert test_id, f"{row.id}: 'checked by' must be a tests/e2e test id, not {row.checked_by!r}"
    module = REPO_ROOT / test_id["path"]
    if module.exists():  # once the e2e module is written, the named test must be in it
        assert re.search(rf"^def {test_id['test']}\(", module.read_text(), re.MULTILINE), (
            f"{row.id}: {test_id['test']} is not in {test_id['path']}"
        )
    if row.kind == "engine":  # the engine's config checks name the stack; an exec failure is the OS's
        assert code(row.message).startswith(f"Stack '{STACK}' ") or code(row.message) == "argument list too long"


# --- factory parse: the DAG file's own check of a row in the table ------------------------------------


# Inputs too long to write in the table: the row shows them shortened with "…".
GENERATED = {
    "F12": '{"store_name": "Store1", "x": ' + "[" * 1000 + "]" * 1000 + "}",
    "F13": '{"store_name": "Store1", "datasets": [' + ",".join(['"d"'] * 2_000_000) + "]}",
}


def factory_row_input(row) -> tuple[str, object]:
    """(stream_key, what the table holds in config_json): an UnknownStatus when the row gives another status."""
    spans = re.findall(r"`([^`]+)`", row.bad_input)
    stream_key, config_json = spans[0], GENERATED.get(row.id, spans[1])
    assert "…" not in config_json, f"{row.id}: a shortened input needs its GENERATED text"
    if len(spans) == 3:
        status = None if spans[2] == "NULL" else spans[2]
        return stream_key, UnknownStatus(status)
    return stream_key, config_json


@pytest.mark.parametrize("row", rows_of("factory parse"), ids=lambda row: row.id)
def test_a_factory_row_is_skipped_by_the_dag_file_with_its_reason(row, caplog):
    stream_key, config_json = factory_row_input(row)
    cfg = factory_config(parse_settings(valid_raw()))
    specs, skipped = valid_specs(cfg, [(stream_key, config_json), ("Good", '{"store_name": "Good"}')])
    assert [spec["stream_key"] for spec in specs] == ["Good"]
    assert skipped == {stream_key: code(row.message)}
    assert f"stream {stream_key!r} in yellowlive_airflow_dsg skipped: {code(row.message)}" in caplog.text


@pytest.mark.parametrize(
    "row", [r for r in rows_of("factory parse") if HOSTILE_ROWS_TEST in r.checked_by], ids=lambda row: row.id
)
def test_a_factory_row_checked_in_airflow_has_its_reason_in_that_test(row):
    """The integration test runs the same inputs in Airflow 3.3.2; its reasons are the rows' messages."""
    assert code(row.message).replace("8000039", "<n>") in {
        why.replace(str(len(hostile.HUGE)), "<n>") for why in hostile.REASONS.values()
    }
