"""The deployment smoke job's checks, without a database: its command line, environment and row matching."""

from __future__ import annotations

import json
import socket

import pytest

from components import naming
from components.naming import PlatformNames
from factory.config import JOB_OPERATION
from images import deployment_smoke_job as job

ENV = {
    "DATASURFACE_POSTGRES_HOST": "pg-data.datasurface-local.svc.cluster.local",
    "DATASURFACE_POSTGRES_PORT": "5432",
    "DATASURFACE_POSTGRES_DATABASE": "datasurface_merge",
    "postgres_USER": "yellowlive_airflow",
    "postgres_PASSWORD": "secret",
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
}


def row(key: str, status: str = "active", **config: object) -> tuple[str, str, str]:
    return key, json.dumps(config), status


def test_the_table_and_env_names_are_the_ones_the_deployment_gives() -> None:
    assert job.dsg_table("yellowlive") == PlatformNames("yellowlive", "postgres").dsg_table
    assert (job.HOST_ENV, job.PORT_ENV, job.DATABASE_ENV) == (naming.HOST_ENV, naming.PORT_ENV, naming.DATABASE_ENV)
    assert job.OPERATION == JOB_OPERATION


def test_the_command_line_is_the_factorys() -> None:
    args = job.parse_args(["--platform-name", "yellowlive", "--store-name", "Store2", "--operation", JOB_OPERATION])
    assert (args.platform_name, args.store_name, args.operation, args.dataset_name) == (
        "yellowlive",
        "Store2",
        "snapshot-merge",
        None,
    )


def test_an_unknown_operation_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        job.parse_args(["--platform-name", "p", "--store-name", "s", "--operation", "drop-everything"])
    assert exited.value.code == 2
    assert "invalid choice: 'drop-everything'" in capsys.readouterr().err


def test_the_target_comes_from_the_env_and_its_one_credential_pair() -> None:
    target = job.target_from(ENV)
    assert (target.host, target.port, target.database) == (ENV["DATASURFACE_POSTGRES_HOST"], 5432, "datasurface_merge")
    assert (target.credential, target.user, target.password) == ("postgres", "yellowlive_airflow", "secret")


@pytest.mark.parametrize(
    "name", ["DATASURFACE_POSTGRES_HOST", "DATASURFACE_POSTGRES_PORT", "DATASURFACE_POSTGRES_DATABASE"]
)
def test_a_missing_connection_variable_is_named(name: str) -> None:
    with pytest.raises(job.SmokeFailure, match=f"^{name} not set"):
        job.target_from({k: v for k, v in ENV.items() if k != name})


def test_a_port_that_is_no_number_is_named() -> None:
    with pytest.raises(job.SmokeFailure, match="DATASURFACE_POSTGRES_PORT='5432x' is not a port number"):
        job.target_from({**ENV, "DATASURFACE_POSTGRES_PORT": "5432x"})


def test_no_credential_pair_is_a_failure() -> None:
    env = {k: v for k, v in ENV.items() if k != "postgres_PASSWORD"}
    with pytest.raises(job.SmokeFailure, match="found none"):
        job.target_from(env)


def test_two_credential_pairs_are_a_failure_naming_both() -> None:
    env = {**ENV, "other_USER": "u", "other_PASSWORD": "p"}
    with pytest.raises(job.SmokeFailure, match="found other, postgres"):
        job.target_from(env)


def test_the_host_resolves_or_the_failure_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert job.resolve("127.0.0.1", 5432) == "127.0.0.1"

    def no_such_name(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(job.SmokeFailure, match="'pg-data.ns.svc.cluster.local' does not resolve: .*not known"):
        job.resolve("pg-data.ns.svc.cluster.local", 5432)


def test_the_streams_row_is_found_by_its_store_and_dataset() -> None:
    rows = [
        row("Store1", store_name="Store1", datasets=["customers"]),
        row("Store2", store_name="Store2", dataset_name="payments"),
        row("Store2b", store_name="Store2", dataset_name="refunds"),
        ("Broken", "{not json", "active"),
        ("List", "[]", "active"),
    ]
    assert [key for key, _, _ in job.matching_rows(rows, "Store1", None)] == ["Store1"]
    assert [key for key, _, _ in job.matching_rows(rows, "Store2", "refunds")] == ["Store2b"]
    assert [key for key, _, _ in job.matching_rows(rows, "Store2", None)] == ["Store2", "Store2b"]
    assert job.matching_rows(rows, "Store9", None) == []


def test_credentials_a_row_names_must_be_in_the_env() -> None:
    assert job.missing_credentials({"credential_names": ["postgres"]}, ENV) == []
    assert job.missing_credentials({"credential_names": ["postgres", "kafka"]}, ENV) == ["kafka"]
    assert job.missing_credentials({}, ENV) == []


def test_a_failure_is_one_line_on_stderr_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    env = {k: v for k, v in ENV.items() if k != "DATASURFACE_POSTGRES_HOST"}
    code = job.main(["--platform-name", "yellowlive", "--store-name", "Store1", "--operation", "snapshot-merge"], env)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == "deployment smoke job FAILED: DATASURFACE_POSTGRES_HOST not set in the pod's environment\n"
    assert captured.out == ""
