"""yellowlive and yellowforensic, as committed, applied by the real engine and the real pulumi-postgresql
provider against one PostgreSQL; and what a bad admin endpoint does to `pulumi up`.

The stacks keep their committed files except for the admin endpoint (the embedded PostgreSQL), their
secrets and a render folder for their manifests (no cluster here). The tests run in file order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.bad_input_matrix import code, promised_message, rows_of
from tests.e2e.conftest import Project, copy_project

pytestmark = pytest.mark.e2e

STACKS = ("yellowlive", "yellowforensic")
DATABASE = "datasurface_merge"


def login_password(stack: str) -> str:
    return f"{stack}-login-pw"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("shared-pg"), free_port(), "admin-pw") as server:
        yield server


@pytest.fixture(scope="module")
def stacks(tmp_path_factory, pulumi_env, server) -> Project:
    """One copy of the project, its own state backend, both cluster stacks pointed at `server`."""
    root = tmp_path_factory.mktemp("shared-project")
    env = {**pulumi_env, "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('shared-state')}"}
    project = Project(root=copy_project(root), env=env, manifests=root / "build")
    for stack in STACKS:
        project.pulumi("stack", "init", stack)
        set_config(project, stack, renderManifestsTo=str(root / "build" / stack), adminHost=server.host)
        set_config(project, stack, "--type", "int", adminPort=str(server.port))
        set_config(project, stack, "--secret", mergeDbPassword=login_password(stack), adminPassword=server.password)
    return project


def set_config(project: Project, stack: str, *flags: str, **values: str) -> None:
    for key, value in values.items():
        project.pulumi("config", "set", *flags, key, value, "--stack", stack)


def up(project: Project, stack: str) -> None:
    project.pulumi("up", "--yes", "--skip-preview", "--stack", stack)


def destroy(project: Project, stack: str) -> None:
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", stack)


def resource_types(project: Project, stack: str) -> list[str]:
    state = project.pulumi("stack", "export", "--stack", stack).stdout
    return [r["type"] for r in json.loads(state)["deployment"].get("resources") or []]


def roles(server: EmbeddedPostgres) -> set[str]:
    with psycopg.connect(server.conninfo()) as conn:
        return {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'yellow%'")}


def tables(server: EmbeddedPostgres) -> set[str]:
    with psycopg.connect(server.conninfo(DATABASE)) as conn:
        return {t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def database_exists(server: EmbeddedPostgres) -> bool:
    with psycopg.connect(server.conninfo()) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is not None


def reads_its_table(server: EmbeddedPostgres, stack: str) -> int:
    """Rows the stack's login role reads from its own dsg table (fails if it cannot connect or read)."""
    with psycopg.connect(server.conninfo(DATABASE, user=f"{stack}_airflow", password=login_password(stack))) as conn:
        row = conn.execute(f"SELECT count(*) FROM {stack}_airflow_dsg").fetchone()
        assert row is not None
        return row[0]


def test_live_creates_the_database_and_forensic_only_its_role_grants_and_table(stacks, server):
    up(stacks, "yellowlive")
    up(stacks, "yellowforensic")
    assert resource_types(stacks, "yellowlive").count("postgresql:index/database:Database") == 1
    forensic = resource_types(stacks, "yellowforensic")
    assert "postgresql:index/database:Database" not in forensic
    assert forensic.count("postgresql:index/role:Role") == 1 and forensic.count("postgresql:index/grant:Grant") == 2
    assert roles(server) == {"yellowlive_airflow", "yellowforensic_airflow"}
    assert {"yellowlive_airflow_dsg", "yellowforensic_airflow_dsg"} <= tables(server)
    assert reads_its_table(server, "yellowlive") == 3
    assert reads_its_table(server, "yellowforensic") == 2


def test_a_login_role_cannot_read_the_other_platforms_table(stacks, server):
    with psycopg.connect(
        server.conninfo(DATABASE, user="yellowforensic_airflow", password=login_password("yellowforensic"))
    ) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM yellowlive_airflow_dsg")


@pytest.mark.parametrize("row", rows_of("database privileges"), ids=lambda row: row.id)
def test_the_login_role_is_refused_what_the_factory_does_not_do(stacks, server, row):
    with psycopg.connect(
        server.conninfo(DATABASE, user="yellowlive_airflow", password=login_password("yellowlive")), autocommit=True
    ) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            conn.execute(code(row.bad_input))
    assert refused.value.diag.message_primary == code(row.message)


def stack_objects(server: EmbeddedPostgres, platform: str) -> dict[str, set[str]]:
    """The platform's tables, functions and the roles holding privileges on its tables."""
    with psycopg.connect(server.conninfo(DATABASE)) as conn:
        found = {
            "tables": {
                t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s", (f"{platform}%",))
            },
            "functions": {
                f for (f,) in conn.execute("SELECT proname FROM pg_proc WHERE proname LIKE %s", (f"{platform}%",))
            },
            "grantees": {
                g
                for (g,) in conn.execute(
                    "SELECT DISTINCT grantee FROM information_schema.role_table_grants WHERE table_name LIKE %s "
                    "AND grantee <> current_user",
                    (f"{platform}%",),
                )
            },
        }
    return found


def test_destroying_live_leaves_forensic_and_the_database(stacks, server):
    destroy(stacks, "yellowlive")
    assert database_exists(server)
    assert roles(server) == {"yellowforensic_airflow"}
    assert "yellowlive_airflow_dsg" not in tables(server)
    # Nothing of the stack is left but the history of the rows it wrote (ledger and audit were empty).
    assert stack_objects(server, "yellowlive") == {
        "tables": {"yellowlive_airflow_dsg_history"},
        "functions": set(),
        "grantees": set(),
    }
    assert reads_its_table(server, "yellowforensic") == 2


def test_destroying_forensic_leaves_live_and_the_database(stacks, server):
    up(stacks, "yellowlive")
    assert reads_its_table(server, "yellowlive") == 3
    destroy(stacks, "yellowforensic")
    assert database_exists(server)
    assert roles(server) == {"yellowlive_airflow"}
    assert "yellowforensic_airflow_dsg" not in tables(server)
    assert reads_its_table(server, "yellowlive") == 3
    destroy(stacks, "yellowlive")
    assert roles(server) == set() and database_exists(server)


@pytest.fixture
def fresh_server(tmp_path) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path / "pg", free_port(), "admin-pw") as server:
        yield server


@pytest.mark.parametrize("fault", ["wrong-admin-password", "unreachable-admin-endpoint", "forensic-before-live"])
def test_a_bad_admin_endpoint_stops_up_before_anything_is_created(stacks, fresh_server, fault):
    stack = "yellowforensic" if fault == "forensic-before-live" else "yellowlive"
    port = free_port() if fault == "unreachable-admin-endpoint" else fresh_server.port
    if fault == "wrong-admin-password":
        set_config(stacks, stack, "--secret", adminPassword="not-the-admin-password")
    set_config(stacks, stack, "--type", "int", adminPort=str(port))
    try:
        result = stacks.pulumi("up", "--yes", "--skip-preview", "--stack", stack, check=False)
    finally:
        set_config(stacks, stack, "--secret", adminPassword=fresh_server.password)
    assert result.returncode != 0
    test_id = f"test_a_bad_admin_endpoint_stops_up_before_anything_is_created[{fault}]"
    message = promised_message("admin endpoint", test_id).replace("<port>", str(port))
    assert f"error: {message}" in result.output, result.output
    assert "Traceback" not in result.output
    assert roles(fresh_server) == set()
    assert not database_exists(fresh_server)
    # The state holds the stack, its components and the admin provider's configuration: no object.
    objects = [t for t in resource_types(stacks, stack) if not t.startswith(("pulumi:", "datasurface:yellow:"))]
    assert objects == []
