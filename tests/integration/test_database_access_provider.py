"""The plugin-free database/role/grants provider, called directly against a real PostgreSQL."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from components.database_access import DatabaseAccessProvider
from components.merge_database import DATABASE_PRIVILEGES, SCHEMA_PRIVILEGES
from tests.integration.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.integration

provider = DatabaseAccessProvider()


@pytest.fixture
def props(postgres_server):
    suffix = uuid.uuid4().hex[:8]
    base = {
        "host": postgres_server.host, "port": float(postgres_server.port), "admin_user": "postgres",
        "admin_password": ADMIN_PASSWORD, "sslmode": "disable", "database": f"merge_{suffix}",
        "create_database": True, "role": f"login_{suffix}", "role_password": "first 'pw'",
        "database_privileges": list(DATABASE_PRIVILEGES), "schema_privileges": list(SCHEMA_PRIVILEGES),
    }
    yield base
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{base["database"]}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{base["role"]}"')


def login(server, props, password=None):
    return psycopg.connect(server.conninfo(props["database"], user=props["role"],
                                           password=password or props["role_password"]), autocommit=True)


def test_create_makes_database_and_a_role_that_can_create_its_ledger(postgres_server, props):
    provider.create(props)
    with login(postgres_server, props) as conn:
        conn.execute("CREATE TABLE yellowlive_airflow_dsg_ledger (stream_key text)")  # CREATE on schema public
        conn.execute("CREATE TEMP TABLE scratch (x int)")  # TEMPORARY on the database


def test_update_with_a_new_password_changes_the_login(postgres_server, props):
    provider.create(props)
    news = {**props, "role_password": "second-pw"}
    assert provider.diff("id", props, news).changes is True
    assert provider.diff("id", props, news).replaces == []
    provider.update("id", props, news)
    with pytest.raises(psycopg.OperationalError):
        login(postgres_server, props)
    with login(postgres_server, news):
        pass


def test_create_is_idempotent_over_existing_objects(postgres_server, props):
    provider.create(props)
    provider.create(props)
    with login(postgres_server, props) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (props["database"],)


def test_delete_drops_the_role_keeps_the_database_and_the_roles_tables(postgres_server, props):
    provider.create(props)
    with login(postgres_server, props) as conn:
        conn.execute("CREATE TABLE ledger (x int)")
    provider.delete("id", props)
    with psycopg.connect(postgres_server.conninfo(props["database"])) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (props["role"],)).fetchone() is None
        assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'ledger'").fetchone() == ("postgres",)


def test_changing_the_role_is_a_replacement(props):
    assert provider.diff("id", props, {**props, "role": "other"}).replaces == ["role"]
