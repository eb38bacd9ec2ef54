"""Each image, built for real, runs what it should: its layers unpacked into a folder and its entrypoint run
there chrooted, as its own user (images/unpacked.py). The node's tests run them as pods."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from components.dsg_sql import create_table, grant_rows_access, upsert_rows
from components.naming import PlatformNames
from devtools.embedded_pg import EmbeddedPostgres
from factory.config import JOB_MODULE
from images import cli, pins
from images.cache import Cache, ImageStamp
from tests.conftest import REPO_ROOT
from tests.images.conftest import RunImage

pytestmark = pytest.mark.integration  # builds and unpacks images: needs root, as the builder does


def built(name: str) -> ImageStamp:
    completed = subprocess.run(
        ["python3", str(REPO_ROOT / "images" / "build_images.py"), "--json", name],
        stdout=subprocess.PIPE,
        text=True,
        timeout=3000,
    )
    assert completed.returncode == 0, f"building {name} failed (its progress is in the captured stderr)"
    assert json.loads(completed.stdout)[name]["ref"] == pins.REFS[name]
    stamp = Cache(cli.home_from(os.environ)).stamp(name)
    assert stamp is not None
    return stamp


def test_the_archive_names_the_image_and_holds_its_blobs() -> None:
    stamp = built("pause")
    with tarfile.open(stamp.archive) as tar:
        names = set(tar.getnames())
        index_file = tar.extractfile("index.json")
        assert index_file is not None
        index = json.loads(index_file.read())
    [manifest] = index["manifests"]
    assert manifest["annotations"]["org.opencontainers.image.ref.name"] == pins.PAUSE_REF
    assert f"blobs/sha256/{stamp.manifest.removeprefix('sha256:')}" in names
    assert all(f"blobs/sha256/{layer['digest'].removeprefix('sha256:')}" in names for layer in stamp.layers)


def test_the_pause_image_runs_pause_as_65535(run_image: RunImage) -> None:
    result = run_image(built("pause"), ["-v"])
    assert (result.returncode, result.stdout.strip()) == (0, f"pause.c v{pins.PAUSE_TAG}")


def test_the_busybox_image_runs_a_shell(run_image: RunImage) -> None:
    result = run_image(built("busybox"), ["sh", "-c", "echo $((6 * 7)); id -u; getent hosts localhost || true"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["42", "0"]


def test_a_second_build_makes_nothing_and_keeps_the_archive(images_cache: Cache) -> None:
    first = built("busybox")
    mtime = Path(first.archive).stat().st_mtime_ns
    again = built("busybox")
    assert again == first
    assert Path(again.archive).stat().st_mtime_ns == mtime


def test_airflow_version_runs_as_the_airflow_user_through_the_entrypoint(run_image: RunImage) -> None:
    result = run_image(built("airflow"), ["version"], CONNECTION_CHECK_MAX_COUNT="0")
    assert (result.returncode, result.stdout.strip()) == (0, pins.AIRFLOW_VERSION), result.stderr


def test_the_airflow_image_has_the_official_images_user_home_and_path(run_image: RunImage) -> None:
    script = "id -u; id -g; whoami; echo $HOME; pwd; command -v airflow python; umask"
    result = run_image(built("airflow"), ["bash", "-c", script], CONNECTION_CHECK_MAX_COUNT="0", HOME="/home/airflow")
    assert result.returncode == 0, result.stderr
    venv = f"{pins.AIRFLOW_USER_HOME}/.local"
    assert result.stdout.split() == [
        str(pins.AIRFLOW_UID),
        "0",
        "airflow",
        pins.AIRFLOW_USER_HOME,
        pins.AIRFLOW_HOME,
        f"{venv}/bin/airflow",
        f"{venv}/bin/python",
        "0002",
    ]


def test_the_airflow_image_holds_the_pinned_packages_already_compiled(run_image: RunImage) -> None:
    imports = (
        "import importlib.metadata as m, sys, airflow.providers.cncf.kubernetes.operators.pod, psycopg;"
        "print(m.version('apache-airflow-providers-cncf-kubernetes'), m.version('psycopg'), sys.version_info[:2])"
    )
    # Run as root, who may write anywhere: a module whose .pyc were missing or stale would get one written.
    script = f"touch /tmp/before; python -c {shlex.quote(imports)}; find / -xdev -name '*.pyc' -newer /tmp/before"
    result = run_image(built("airflow"), ["bash", "-c", script], user="0:0", CONNECTION_CHECK_MAX_COUNT="0")
    assert result.returncode == 0, result.stderr[-2000:]
    pinned = {}
    for line in (REPO_ROOT / pins.AIRFLOW_REQUIREMENTS).read_text().splitlines():
        name, _, version = line.partition("==")
        if name in ("apache-airflow-providers-cncf-kubernetes", "psycopg"):
            pinned[name] = version.split()[0]
    assert result.stdout.splitlines() == [
        f"{pinned['apache-airflow-providers-cncf-kubernetes']} {pinned['psycopg']} (3, 11)"
    ]


def test_an_arbitrary_uid_with_gid_0_gets_a_passwd_entry(run_image: RunImage) -> None:
    result = run_image(built("airflow"), ["bash", "-c", "whoami; echo $HOME"], user="12345:0",
                       CONNECTION_CHECK_MAX_COUNT="0")  # fmt: skip
    assert (result.returncode, result.stdout.split()) == (0, ["default", pins.AIRFLOW_USER_HOME]), result.stderr


def test_the_entrypoint_waits_for_the_database_and_names_it_when_it_never_answers(run_image: RunImage) -> None:
    result = run_image(
        built("airflow"),
        ["scheduler"],
        CONNECTION_CHECK_MAX_COUNT="2",
        CONNECTION_CHECK_SLEEP_TIME="0",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg://u:p@127.0.0.1:9/airflow",
    )
    assert result.returncode == 1
    assert "ERROR: the metadata database did not answer after 2 tries" in result.stderr


def test_a_gid_other_than_0_is_refused_for_other_uids(run_image: RunImage) -> None:
    result = run_image(built("airflow"), ["version"], user="12345:12345", CONNECTION_CHECK_MAX_COUNT="0")
    assert result.returncode == 1
    assert "run the image with gid 0" in result.stderr


@pytest.fixture
def stream_table(postgres_server: EmbeddedPostgres) -> Iterator[tuple[str, str, str]]:
    """A merge database with yellowlive's table, two rows and a login role that may read them:
    (database, role, password)."""
    database, role, password = "smoke_merge", "yellowlive_smoke", "smoke-pw"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    table = PlatformNames("yellowlive", "postgres").dsg_table
    with psycopg.connect(postgres_server.conninfo(database), autocommit=True) as conn:
        for statement in create_table(table):
            conn.execute(statement)
        conn.execute(upsert_rows(table), (
            ["Store1", "Store2"],
            ['{"store_name": "Store1", "credential_names": ["postgres"]}',
             '{"store_name": "Store2", "dataset_name": "payments"}'],
            ["active", "active"],
        ))  # fmt: skip
        conn.execute(grant_rows_access(table, role))
    yield database, role, password
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


FACTORY_ARGS = ["--platform-name", "yellowlive", "--operation", "snapshot-merge"]


def smoke_job(run_image: RunImage, server: EmbeddedPostgres, database: str, role: str, password: str,
              *args: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The image run as an ingestion pod runs it: the factory's command, the database by a name that the
    pod's /etc/hosts maps (as a cluster's DNS would), the credentials as <credential>_USER/_PASSWORD."""
    return run_image(
        built("smoke-job"),
        ["python", "-m", JOB_MODULE, *FACTORY_ARGS, *args],
        files={"/etc/hosts": "127.0.0.1 localhost\n127.0.0.1 pg-data.datasurface-local.svc.cluster.local\n"},
        DATASURFACE_POSTGRES_HOST="pg-data.datasurface-local.svc.cluster.local",
        DATASURFACE_POSTGRES_PORT=str(server.port),
        DATASURFACE_POSTGRES_DATABASE=database,
        postgres_USER=role,
        postgres_PASSWORD=password,
    )


def test_the_smoke_job_reads_its_streams_row_as_the_role(
    run_image: RunImage, postgres_server: EmbeddedPostgres, stream_table: tuple[str, str, str]
) -> None:
    result = smoke_job(
        run_image, postgres_server, *stream_table, "--store-name", "Store2", "--dataset-name", "payments"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "DATASURFACE_POSTGRES_HOST pg-data.datasurface-local.svc.cluster.local resolves to 127.0.0.1"
    assert lines[1].startswith("logged in to smoke_merge at pg-data.datasurface-local.svc.cluster.local:")
    assert "as yellowlive_smoke (postgres_USER); yellowlive_airflow_dsg has 2 row(s)" in lines[1]
    assert lines[2] == 'row \'Store2\' (active): {"dataset_name": "payments", "store_name": "Store2"}'
    assert lines[-1].endswith("all checks passed")


def test_the_smoke_job_fails_in_one_line_on_a_wrong_password(
    run_image: RunImage, postgres_server: EmbeddedPostgres, stream_table: tuple[str, str, str]
) -> None:
    database, role, _ = stream_table
    result = smoke_job(run_image, postgres_server, database, role, "wrong", "--store-name", "Store1")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("deployment smoke job FAILED: cannot log in to database 'smoke_merge' at ")
    assert "password authentication failed" in line and "wrong" not in line.replace("wrong", "", 0)


def test_the_smoke_job_fails_when_no_row_is_its_stores(
    run_image: RunImage, postgres_server: EmbeddedPostgres, stream_table: tuple[str, str, str]
) -> None:
    result = smoke_job(run_image, postgres_server, *stream_table, "--store-name", "Store9")
    assert result.returncode == 1
    assert result.stderr == "deployment smoke job FAILED: no row of yellowlive_airflow_dsg has store_name 'Store9'\n"


def test_the_smoke_job_image_answers_help_as_its_command(run_image: RunImage) -> None:
    result = run_image(built("smoke-job"))
    assert result.returncode == 0, result.stderr
    assert "Deployment smoke job (not DataSurface)" in result.stdout


def test_no_shared_library_of_the_airflow_image_is_missing(run_image: RunImage) -> None:
    script = "find /usr/lib /home/airflow/.local -name '*.so*' -type f -exec ldd {} + 2>/dev/null | grep 'not found'"
    script += " || true"
    result = run_image(built("airflow"), ["bash", "-c", script], CONNECTION_CHECK_MAX_COUNT="0")
    assert (result.returncode, result.stdout) == (0, "")
