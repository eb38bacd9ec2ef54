"""The configuration history on a real PostgreSQL: a writer role's changes to the dsg table, each traced
by the next sync in Airflow, shown by the DAG file's `--history`, and put back by README's statement."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from components.factory_tables_sql import grant
from components.naming import PlatformNames
from components.privileges import DATABASE_PRIVILEGES, SCHEMA, SCHEMA_PRIVILEGES, writer_grants
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

HISTORY = "yellowlive_airflow_dsg_history"
V1 = json.dumps({"store_name": "S1", "schedule_string": "@daily"})
V2 = json.dumps({"store_name": "S1", "schedule_string": "@hourly"})


@pytest.fixture
def writer(factory_db) -> Iterator[psycopg.Connection]:
    """A writer role as the stack declares one (writerDbUser), connected to the factory's database."""
    role = f"writer_{uuid.uuid4().hex[:8]}"
    ident = sql.Identifier(role)
    factory_db.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'writer-pw'").format(ident))
    for privilege in DATABASE_PRIVILEGES:
        factory_db.execute(
            sql.SQL(f"GRANT {privilege} ON DATABASE {{}} TO {{}}").format(sql.Identifier(factory_db.name), ident)
        )
    for privilege in SCHEMA_PRIVILEGES:
        factory_db.execute(sql.SQL(f"GRANT {privilege} ON SCHEMA {{}} TO {{}}").format(sql.Identifier(SCHEMA), ident))
    for g in writer_grants(PlatformNames("yellowlive", "postgres")):
        factory_db.execute(grant(role, g))
    conninfo = factory_db.server.conninfo(factory_db.name, user=role, password="writer-pw")
    with psycopg.connect(conninfo + " application_name=datasurface-ops", autocommit=True) as conn:
        yield conn
    factory_db.execute(sql.SQL("DROP OWNED BY {}").format(ident))
    factory_db.execute(sql.SQL("DROP ROLE {}").format(ident))


def readme_restore_statement() -> str:
    """The statement README shows for putting back a row written by others, as written there."""
    text = (REPO_ROOT / "README.md").read_text()
    (statement,) = re.findall(r"```sql\n(INSERT INTO yellowlive_airflow_dsg\n.*?)```", text, re.DOTALL)
    return statement


def restore_before(db, entry_id: int) -> None:
    statement = readme_restore_statement()
    assert "WHERE id = 5 " in statement
    db.execute(statement.replace("WHERE id = 5 ", f"WHERE id = {int(entry_id)} "))


def entries(db) -> list[tuple]:
    return db.execute(f"SELECT id, stream_key, operation, session_role FROM {HISTORY} ORDER BY id")


def dsg_row(db, key: str):
    return db.execute("SELECT config_json, status FROM yellowlive_airflow_dsg WHERE stream_key = %s", (key,))


def report(result) -> list[str]:
    return [r["message"] for r in result["logs"] if r["level"] == "INFO"]


def test_each_change_a_writer_makes_is_traced_by_the_next_sync_and_shown_by_the_history_view(airflow_run, writer):
    db, role = airflow_run.db, writer.info.user
    table = "yellowlive_airflow_dsg"
    writer.execute(f"INSERT INTO {table} (stream_key, config_json) VALUES ('S1', %s)", (V1,))
    created = airflow_run.sync(run_id="run-1")
    (inserted,) = [i for i, key, op, _ in entries(db) if (key, op) == ("S1", "INSERT")]
    assert created["summary"]["history"] == {"yellowlive__S1_ingestion": inserted}

    writer.execute(f"UPDATE {table} SET config_json = %s, updated_at = now() WHERE stream_key = 'S1'", (V2,))
    updated = airflow_run.sync(run_id="run-2")
    update_id = entries(db)[-1][0]
    assert updated["summary"]["updated"] == ["yellowlive__S1_ingestion"]
    assert updated["summary"]["history"] == {"yellowlive__S1_ingestion": update_id}
    lines = report(updated)
    at = lines.index("   🔄 UPDATED: yellowlive__S1_ingestion")
    assert lines[at + 2].startswith(f"      📜 {HISTORY} #{update_id}: UPDATE by {role} at ")
    audit = db.execute("SELECT change, history_id FROM yellowlive_airflow_dsg_audit ORDER BY id")
    assert audit == [("created", inserted), ("updated", update_id)]

    writer.execute(f"DELETE FROM {table} WHERE stream_key = 'S1'")
    removed = airflow_run.sync(run_id="run-3")
    delete_id = entries(db)[-1][0]
    assert removed["summary"]["history"] == {"yellowlive__S1_ingestion": delete_id}

    shown = airflow_run.run([str(airflow_run.dag_file), "--history", "S1", "--json"])
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert [(e["id"], e["operation"], e["acting_role"], e["application"]) for e in document["entries"]] == [
        (inserted, "INSERT", role, "datasurface-ops"),
        (update_id, "UPDATE", role, "datasurface-ops"),
        (delete_id, "DELETE", role, "datasurface-ops"),
    ]
    assert document["entries"][1]["old_row"]["config_json"] == V1
    assert document["entries"][1]["new_row"]["config_json"] == V2
    text = airflow_run.run([str(airflow_run.dag_file), "--history", "S1"]).stdout
    assert f"#{update_id}" in text and f"config_json: {V1} → {V2}" in text


def test_the_readme_statement_puts_back_a_row_others_deleted_or_changed(airflow_run, writer):
    db = airflow_run.db
    table = "yellowlive_airflow_dsg"
    writer.execute(f"INSERT INTO {table} (stream_key, config_json, status) VALUES ('S1', %s, 'active')", (V1,))
    writer.execute(f"UPDATE {table} SET config_json = %s WHERE stream_key = 'S1'", (V2,))
    writer.execute(f"DELETE FROM {table} WHERE stream_key = 'S1'")
    _, update, delete = (i for i, *_ in entries(db))

    restore_before(db, delete)
    assert dsg_row(db, "S1") == [(V2, "active")]
    restore_before(db, update)
    assert dsg_row(db, "S1") == [(V1, "active")]
    # The admin role's statements are history too.
    assert [op for _, _, op, who in entries(db)][-2:] == ["INSERT", "UPDATE"]
    assert entries(db)[-1][3] == db.server.user
    # The factory sees the row again, as it was.
    assert airflow_run.sync()["summary"]["created"] == ["yellowlive__S1_ingestion"]
