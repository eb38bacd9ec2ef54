"""The factory tables' dynamic provider, called directly against a real PostgreSQL: ownership, the history
trigger, each role's exact privileges, what PUBLIC keeps, the move of tables the login role made, destroy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql

from components import dsg_sql
from components.factory_tables import FactoryTablesProvider, role_privileges
from components.factory_tables_sql import Tables
from components.naming import PlatformNames
from components.privileges import PUBLIC_REVOKED, grants_input, login_grants, writer_grants
from tests.integration.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.integration

NAMES = PlatformNames("yellowlive", "postgres")
TABLES = Tables.of(NAMES)
provider = FactoryTablesProvider()


@pytest.fixture
def roles(postgres_server) -> Iterator[dict[str, str]]:
    """A login and a writer role of their own (roles are per server), with CONNECT and USAGE as the stack
    grants them; dropped afterwards with what they own."""
    suffix = uuid.uuid4().hex[:8]
    made = {"login": f"login_{suffix}", "writer": f"writer_{suffix}"}
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        for role in made.values():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(role)))
    yield made
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        for role in made.values():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def db(postgres_server, merge_database, roles) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres_server.conninfo(merge_database), autocommit=True) as conn:
        for role in roles.values():
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(*map(sql.Identifier, (merge_database, role)))
            )
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        yield conn
        for role in roles.values():  # what a role still holds in this database would block DROP ROLE
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))


@pytest.fixture
def props(postgres_server, merge_database, roles):
    def make(**changes) -> dict:
        base = {
            "host": postgres_server.host,
            "port": float(postgres_server.port),
            "dbname": merge_database,
            "user": postgres_server.user,
            "password": ADMIN_PASSWORD,
            "sslmode": "disable",
            "tables": vars(TABLES),
            "grants": {roles["login"]: grants_input(login_grants(NAMES))},
            "public_revoked": {},
        }
        base.update(changes)
        return base

    return make


def state(outs: dict, props: dict) -> dict:
    """The outputs as the engine hands them back to delete, read and diff: secrets unwrapped."""
    return {**outs, "password": props["password"]}


def connect_as(postgres_server, merge_database, role: str) -> psycopg.Connection:
    return psycopg.connect(postgres_server.conninfo(merge_database, user=role, password="pw"), autocommit=True)


def owners(db) -> dict[str, str]:
    return dict(db.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall())


def history(db) -> list[tuple]:
    return db.execute(
        f"SELECT stream_key, operation, session_role, acting_role, old_row->>'config_json', new_row->>'config_json' "
        f"FROM {TABLES.history} ORDER BY id"
    ).fetchall()


def test_create_makes_every_table_owned_by_the_admin_role_with_the_history_trigger(props, db, postgres_server):
    outs = provider.create(props()).outs
    assert owners(db) == {name: postgres_server.user for name in (TABLES.dsg, *TABLES.owned)}
    triggers = {t for (t,) in db.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert triggers == {TABLES.history_trigger, TABLES.truncate_trigger}
    assert outs["drift"] == [] and outs["public_restore"] == []


def test_the_login_role_holds_exactly_its_grants(props, db, roles):
    provider.create(props())
    relations = [TABLES.dsg, *TABLES.owned, TABLES.audit_sequence]
    assert role_privileges(db.cursor(), roles["login"], relations) == {
        TABLES.dsg: {"SELECT"},
        TABLES.ledger: {"SELECT", "INSERT", "DELETE", "UPDATE (config_hash, updated_at)"},
        TABLES.audit: {"SELECT", "INSERT"},
        TABLES.audit_sequence: {"USAGE"},
        TABLES.history: {"SELECT"},
    }


def test_the_login_role_can_do_what_the_factory_does_and_nothing_more(
    props, db, roles, postgres_server, merge_database
):
    provider.create(props())
    db.execute(dsg_sql.upsert_rows(TABLES.dsg), (["Store1"], ['{"store_name": "Store1"}'], ["active"]))
    with connect_as(postgres_server, merge_database, roles["login"]) as login:
        assert login.execute(f"SELECT stream_key FROM {TABLES.dsg}").fetchall() == [("Store1",)]
        with login.transaction():
            login.execute("SELECT pg_advisory_xact_lock(1)")
            login.execute(
                f"INSERT INTO {TABLES.ledger} (stream_key, dag_id, config_hash) VALUES ('S', 'd', %s)", ("a" * 64,)
            )
            login.execute(
                f"UPDATE {TABLES.ledger} SET config_hash = %s, updated_at = now() WHERE stream_key = 'S'", ("b" * 64,)
            )
            login.execute(f"DELETE FROM {TABLES.ledger} WHERE stream_key = 'S'")
            login.execute(
                f"INSERT INTO {TABLES.audit} (stream_key, dag_id, change, new_hash, run_id, history_id) "
                "VALUES ('S', 'd', 'created', %s, 'r', 1)",
                ("b" * 64,),
            )
        assert login.execute(f"SELECT count(*) FROM {TABLES.history}").fetchone() == (1,)
        for statement in (
            f"INSERT INTO {TABLES.dsg} (stream_key, config_json) VALUES ('x', '{{}}')",
            f"UPDATE {TABLES.dsg} SET status = 'disabled'",
            f"DELETE FROM {TABLES.dsg}",
            f"TRUNCATE {TABLES.dsg}",
            f"UPDATE {TABLES.ledger} SET dag_id = 'other'",
            f"UPDATE {TABLES.audit} SET run_id = 'forged'",
            f"DELETE FROM {TABLES.audit}",
            f"INSERT INTO {TABLES.history} (stream_key, operation, session_role, acting_role, transaction_id) "
            "VALUES ('x', 'INSERT', 'x', 'x', 1)",
            f"DELETE FROM {TABLES.history}",
            "CREATE TABLE stolen (x int)",
            f"ALTER TABLE {TABLES.ledger} ADD COLUMN x int",
            f"DROP TABLE {TABLES.audit}",
            f"SELECT public.{TABLES.history_function}()",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                login.execute(statement)
        # TEMPORARY comes from PUBLIC unless the stack that owns the database takes it away (below).


def test_the_history_records_each_change_with_who_made_it_and_the_row_before_and_after(
    props, db, roles, postgres_server, merge_database
):
    provider.create(props(grants={**props()["grants"], roles["writer"]: grants_input(writer_grants(NAMES))}))
    db.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(roles["writer"] + "_group")))
    try:
        db.execute(
            sql.SQL("GRANT {} TO {}").format(*map(sql.Identifier, (roles["writer"] + "_group", roles["writer"])))
        )
        db.execute(
            sql.SQL("GRANT INSERT ON {} TO {}").format(
                sql.Identifier(TABLES.dsg), sql.Identifier(roles["writer"] + "_group")
            )
        )
        with connect_as(postgres_server, merge_database, roles["writer"]) as writer:
            writer.execute(f"INSERT INTO {TABLES.dsg} (stream_key, config_json) VALUES ('S', '{{\"v\": 1}}')")
            writer.execute(f"UPDATE {TABLES.dsg} SET config_json = '{{\"v\": 2}}' WHERE stream_key = 'S'")
            writer.execute(f"SET ROLE {roles['writer']}_group")
            writer.execute(f"INSERT INTO {TABLES.dsg} (stream_key, config_json) VALUES ('T', '{{}}')")
            writer.execute("RESET ROLE")
            writer.execute(f"DELETE FROM {TABLES.dsg} WHERE stream_key = 'S'")
            with pytest.raises(errors.InsufficientPrivilege):
                writer.execute(f"DELETE FROM {TABLES.history}")
        db.execute(f"TRUNCATE {TABLES.dsg}")
        w, admin = roles["writer"], postgres_server.user
        assert history(db) == [
            ("S", "INSERT", w, w, None, '{"v": 1}'),
            ("S", "UPDATE", w, w, '{"v": 1}', '{"v": 2}'),
            ("T", "INSERT", w, w + "_group", None, "{}"),
            ("S", "DELETE", w, w, '{"v": 2}', None),
            ("T", "TRUNCATE", admin, admin, "{}", None),
        ]
    finally:
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(roles["writer"] + "_group")))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(roles["writer"] + "_group")))


def test_the_writer_role_writes_rows_and_nothing_else(props, db, roles, postgres_server, merge_database):
    provider.create(props(grants={**props()["grants"], roles["writer"]: grants_input(writer_grants(NAMES))}))
    with connect_as(postgres_server, merge_database, roles["writer"]) as writer:
        writer.execute(f"INSERT INTO {TABLES.dsg} (stream_key, config_json) VALUES ('S', '{{}}')")
        writer.execute(f"UPDATE {TABLES.dsg} SET status = 'disabled'")
        writer.execute(f"DELETE FROM {TABLES.dsg}")
        for statement in (
            f"TRUNCATE {TABLES.dsg}",
            f"SELECT * FROM {TABLES.ledger}",
            f"ALTER TABLE {TABLES.dsg} DISABLE TRIGGER ALL",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                writer.execute(statement)


def test_tables_the_login_role_made_pass_to_the_admin_role_with_their_rows(
    props, db, roles, postgres_server, merge_database
):
    """As the factory left them before the stack declared them: the login role created the ledger and
    audit tables at its first sync (it had CREATE on the schema) and wrote the dsg table's rows."""
    login = roles["login"]
    db.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(login)))
    for statement in dsg_sql.create_table(TABLES.dsg):
        db.execute(statement)
    db.execute(dsg_sql.grant_rows_access(TABLES.dsg, login))
    with connect_as(postgres_server, merge_database, login) as conn:
        conn.execute(
            f"CREATE TABLE {TABLES.ledger} (stream_key VARCHAR(255) PRIMARY KEY, dag_id VARCHAR(250) NOT NULL, "
            "config_hash CHAR(64) NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.execute(
            f"CREATE TABLE {TABLES.audit} (id BIGSERIAL PRIMARY KEY, stream_key VARCHAR(255) NOT NULL, "
            "dag_id VARCHAR(250) NOT NULL, change VARCHAR(10) NOT NULL, changed_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "old_hash CHAR(64), new_hash CHAR(64), run_id VARCHAR(250))"
        )
        conn.execute(
            f"INSERT INTO {TABLES.ledger} (stream_key, dag_id, config_hash) VALUES ('S', 'd', %s)", ("a" * 64,)
        )
        conn.execute(f"INSERT INTO {TABLES.audit} (stream_key, dag_id, change) VALUES ('S', 'd', 'created')")
    db.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(sql.Identifier(login)))

    provider.create(props())
    assert owners(db) == {name: postgres_server.user for name in (TABLES.dsg, *TABLES.owned)}
    assert db.execute(f"SELECT stream_key, config_hash FROM {TABLES.ledger}").fetchall() == [("S", "a" * 64)]
    assert db.execute(f"SELECT id, stream_key, history_id FROM {TABLES.audit}").fetchall() == [(1, "S", None)]
    sequence_owner = db.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (TABLES.audit_sequence,)
    )
    assert sequence_owner.fetchone() == (postgres_server.user,)
    with connect_as(postgres_server, merge_database, login) as conn:
        conn.execute(f"INSERT INTO {TABLES.audit} (stream_key, dag_id, change) VALUES ('S', 'd', 'updated')")
        for statement in (f"DROP TABLE {TABLES.ledger}", f"DELETE FROM {TABLES.dsg}"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)


def test_public_loses_temporary_and_create_and_gets_them_back_on_delete(
    props, db, roles, postgres_server, merge_database
):
    # PostgreSQL before 15 gives PUBLIC CREATE on schema public; the embedded server is newer, so grant it.
    db.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    revoked = {kind: list(p) for kind, p in PUBLIC_REVOKED.items()}
    declared = props(public_revoked=revoked)
    outs = state(provider.create(declared).outs, declared)
    assert sorted(outs["public_restore"]) == [["DATABASE", merge_database, "TEMPORARY"], ["SCHEMA", "public", "CREATE"]]
    with connect_as(postgres_server, merge_database, roles["login"]) as login:
        for statement in ("CREATE TEMP TABLE stolen (x int)", "CREATE TABLE stolen (x int)"):
            with pytest.raises(errors.InsufficientPrivilege):
                login.execute(statement)
    provider.delete("id", outs)
    assert db.execute(
        "SELECT has_database_privilege('public', %s, 'TEMPORARY'), has_schema_privilege('public', 'public', 'CREATE')",
        (merge_database,),
    ).fetchone() == (True, True)
    db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def test_delete_drops_the_trigger_and_the_empty_tables_and_keeps_rows_others_wrote(props, db, roles, postgres_server):
    outs = state(provider.create(props()).outs, props())
    db.execute(dsg_sql.upsert_rows(TABLES.dsg), (["Store1"], ["{}"], ["active"]))
    provider.delete("id", outs)
    assert set(owners(db)) == {
        TABLES.dsg,
        TABLES.history,
    }  # the history holds the insert above; ledger and audit were empty
    assert db.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", (TABLES.history_function,)).fetchone() == (0,)
    assert role_privileges(db.cursor(), roles["login"], [TABLES.dsg, TABLES.history]) == {
        TABLES.dsg: set(),
        TABLES.history: set(),
    }


def test_a_second_create_over_kept_tables_adopts_them(props, db, postgres_server):
    outs = state(provider.create(props()).outs, props())
    db.execute(dsg_sql.upsert_rows(TABLES.dsg), (["Store1"], ["{}"], ["active"]))
    provider.delete("id", outs)
    provider.create(props())
    db.execute(dsg_sql.upsert_rows(TABLES.dsg), (["Store1"], ['{"v": 1}'], ["active"]))
    assert [op for _, op, *_ in history(db)] == ["INSERT", "UPDATE"]


def test_refresh_lists_drift_and_the_next_update_repairs_it(props, db, roles):
    created = state(provider.create(props()).outs, props())
    assert provider.read("id", created).outs["drift"] == []
    db.execute(f"DROP TRIGGER {TABLES.history_trigger} ON {TABLES.dsg}")
    db.execute(sql.SQL("GRANT DELETE ON {} TO {}").format(sql.Identifier(TABLES.dsg), sql.Identifier(roles["login"])))
    refreshed = state(provider.read("id", created).outs, props())
    assert refreshed["drift"] == [
        f"trigger {TABLES.history_trigger} on {TABLES.dsg} is missing",
        f"{roles['login']} holds ['DELETE', 'SELECT'] on {TABLES.dsg}, declared ['SELECT']",
    ]
    assert provider.diff("id", refreshed, props()).changes
    repaired = state(provider.update("id", refreshed, props()).outs, props())
    assert provider.read("id", repaired).outs["drift"] == []
    assert not provider.diff("id", repaired, props()).changes
