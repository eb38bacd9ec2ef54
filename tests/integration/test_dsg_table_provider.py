"""The dsg table's dynamic provider, called directly against a real PostgreSQL."""

from __future__ import annotations

import base64
import json

import psycopg
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.rpc import unwrap_rpc_secret

from components import dsg_sql
from components.dsg_table import DsgTableProvider
from tests.integration.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.integration

TABLE = "yellowlive_airflow_dsg"


def row(store: str, status: str = "active", **extra) -> dict[str, str]:
    return {"config_json": json.dumps({"store_name": store, **extra}, sort_keys=True), "status": status}


@pytest.fixture
def props(postgres_server, merge_database):
    def make(rows: dict, **changes) -> dict:
        base = {
            "host": postgres_server.host,
            "port": float(postgres_server.port),  # numbers arrive from the engine as floats
            "dbname": merge_database,
            "user": postgres_server.user,
            "password": ADMIN_PASSWORD,
            "sslmode": "disable",
            "table": TABLE,
            "grant_to": None,
            "rows": dsg_sql.rows_text(rows),  # as the program declares them
        }
        base.update(changes)
        return base

    return make


@pytest.fixture
def db(postgres_server, merge_database):
    with psycopg.connect(postgres_server.conninfo(merge_database), autocommit=True) as conn:
        yield conn


def table_rows(db) -> dict[str, tuple]:
    return {k: (c, s) for k, c, s in db.execute(f"SELECT stream_key, config_json, status FROM {TABLE}")}


def row_versions(db) -> dict[str, tuple]:
    """A new xmin is a rewritten row; a new xmax alone a row locked (as ON CONFLICT DO UPDATE locks it)."""
    return {
        k: (x, m, u) for k, x, m, u in db.execute(f"SELECT stream_key, xmin::text, xmax::text, updated_at FROM {TABLE}")
    }


def as_olds(outs: dict) -> dict:
    """Outputs as the engine hands them back to diff, update and read: secrets unwrapped."""
    return {k: unwrap_rpc_secret(v) for k, v in outs.items()}


provider = DsgTableProvider()


def test_create_makes_the_designed_table_with_its_index_and_rows(props, db):
    result = provider.create(props({"Store1": row("Store1"), "Store2": row("Store2", "disabled")}))
    columns = db.execute(
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
        "WHERE table_name = %s ORDER BY ordinal_position",
        (TABLE,),
    ).fetchall()
    assert columns == [
        ("stream_key", "character varying", 255),
        ("config_json", "text", None),
        ("status", "character varying", 50),
        ("created_at", "timestamp without time zone", None),
        ("updated_at", "timestamp without time zone", None),
    ]
    primary_key = db.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (TABLE,),
    ).fetchall()
    assert primary_key == [("stream_key",)]
    indexes = [r[0] for r in db.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (TABLE,))]
    assert any("(status)" in d for d in indexes)
    assert table_rows(db) == {
        "Store1": (row("Store1")["config_json"], "active"),
        "Store2": (row("Store2")["config_json"], "disabled"),
    }
    assert result.outs["row_count"] == 2
    assert result.outs["last_change"] == "added: Store1, Store2"


def test_applying_the_same_rows_twice_changes_nothing(props, db):
    rows = {"Store1": row("Store1"), "Store2": row("Store2")}
    provider.create(props(rows))
    before = row_versions(db)
    assert provider.diff("id", props(rows), props(rows)).changes is False
    result = provider.update("id", props(rows), props(rows))
    assert row_versions(db) == before, "an unchanged row was rewritten"
    assert result.outs["last_change"] == "no row changes"


def test_diff_names_added_changed_and_removed_rows_and_update_applies_them(props, db):
    old = {"Store1": row("Store1"), "Store2": row("Store2"), "Store3": row("Store3")}
    new = {"Store1": row("Store1"), "Store2": row("Store2", schedule_string="@daily"), "Store4": row("Store4")}
    provider.create(props(old))
    untouched = row_versions(db)["Store1"]
    diff = provider.diff("id", props(old), props(new))
    assert diff.changes is True and diff.replaces == []
    result = provider.update("id", props(old), props(new))
    assert result.outs["last_change"] == "added: Store4; changed: Store2; removed: Store3"
    assert set(table_rows(db)) == {"Store1", "Store2", "Store4"}
    assert table_rows(db)["Store2"][0] == new["Store2"]["config_json"]
    assert row_versions(db)["Store1"] == untouched


def test_update_is_one_transaction_so_a_failing_row_changes_nothing(props, db):
    old = {"Store1": row("Store1"), "Store2": row("Store2")}
    provider.create(props(old))
    before = table_rows(db)
    bad = {"Store1": row("Store1", note="changed"), "Store3": {"config_json": "{}", "status": "x" * 51}}
    with pytest.raises(psycopg.errors.StringDataRightTruncation):
        provider.update("id", props(old), props(bad))
    assert table_rows(db) == before


def test_rows_written_by_others_are_left_alone(props, db):
    provider.create(props({"Store1": row("Store1")}))
    db.execute(f"INSERT INTO {TABLE} (stream_key, config_json, status) VALUES ('External', '{{}}', 'active')")
    provider.update("id", props({"Store1": row("Store1")}), props({}))
    assert set(table_rows(db)) == {"External"}


@pytest.mark.parametrize(
    "stream_key",
    ["Robert'); DROP TABLE yellowlive_airflow_dsg;--", 'quote"d', "semi;colon", "back\\slash", "ünïcode"],
)
def test_quotes_and_sql_in_keys_and_values_stay_data(props, db, stream_key):
    hostile = {"config_json": json.dumps({"store_name": "x'; DELETE FROM pg_class; --"}), "status": "active"}
    provider.create(props({stream_key: hostile}))
    assert table_rows(db) == {stream_key: (hostile["config_json"], "active")}
    provider.update("id", props({stream_key: hostile}), props({}))
    assert table_rows(db) == {}


def test_changing_the_table_name_is_a_replacement(props):
    rows = {"Store1": row("Store1")}
    diff = provider.diff("id", props(rows), props(rows, table="yellowforensic_airflow_dsg"))
    assert diff.replaces == ["table"]


def test_delete_drops_a_table_holding_only_the_rows_it_wrote(props, db):
    created = props({"Store1": row("Store1")})
    provider.create(created)
    provider.delete("id", created)
    assert db.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is None


def insert_by_hand(db, table: str = TABLE) -> None:
    db.execute(f"INSERT INTO {table} (stream_key, config_json, status) VALUES ('External', '{{}}', 'active')")


def created_at(db, table: str = TABLE) -> dict[str, object]:
    return dict(db.execute(f"SELECT stream_key, created_at FROM {table}").fetchall())


def test_delete_keeps_a_table_holding_rows_of_others_and_deletes_only_its_own(props, db, capsys):
    created = as_olds(provider.create(props({"Store1": row("Store1")})).outs)
    insert_by_hand(db)
    before = created_at(db)
    provider.delete("id", created)
    assert created_at(db) == {"External": before["External"]}
    said = capsys.readouterr().err
    assert f"{TABLE}: kept with the 1 row this stack did not write (dropRowsOfOthers is false)" in said


def test_delete_with_the_opt_in_drops_a_table_holding_rows_of_others(props, db):
    created = as_olds(provider.create(props({"Store1": row("Store1")}, drop_rows_of_others=True)).outs)
    insert_by_hand(db)
    provider.delete("id", created)
    assert db.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is None


def test_a_new_route_to_the_same_server_updates_in_place_keeping_every_row_and_created_at(props, db, postgres_server):
    rows = {"Store1": row("Store1"), "Store2": row("Store2")}
    created = as_olds(provider.create(props(rows, host="127.0.0.1")).outs)
    insert_by_hand(db)
    before = created_at(db)
    moved = props(rows, host="localhost", port=postgres_server.port)
    diff = provider.diff("id", created, moved)
    assert (diff.changes, diff.replaces) == (True, [])
    outs = as_olds(provider.update("id", created, moved).outs)
    assert created_at(db) == before and set(before) == {"Store1", "Store2", "External"}
    assert (outs["host"], int(outs["port"])) == ("localhost", postgres_server.port)
    assert provider.diff("id", outs, moved).changes is False


def test_a_new_table_name_is_created_first_and_the_old_table_keeps_the_rows_of_others(props, db):
    rows = {"Store1": row("Store1")}
    old = as_olds(provider.create(props(rows)).outs)
    insert_by_hand(db)
    new_table = "yellowlive_airflow_dsg_v2"
    provider.create(props(rows, table=new_table))  # the replacement's create comes first
    provider.delete("id", old)
    assert set(created_at(db, new_table)) == {"Store1"}
    assert set(created_at(db)) == {"External"}


def test_read_reports_rows_changed_outside_pulumi(props, db):
    rows = {"Store1": row("Store1"), "Store2": row("Store2")}
    created = as_olds(provider.create(props(rows)).outs)
    db.execute(f"UPDATE {TABLE} SET status = 'disabled' WHERE stream_key = 'Store2'")
    db.execute(f"DELETE FROM {TABLE} WHERE stream_key = 'Store1'")
    db.execute(f"INSERT INTO {TABLE} (stream_key, config_json, status) VALUES ('External', '{{}}', 'active')")
    refreshed = as_olds(provider.read("id", created).outs)
    disabled = {"config_json": rows["Store2"]["config_json"], "status": "disabled"}
    assert refreshed["row_digests"] == {"Store2": dsg_sql.row_digest(disabled)}
    assert "rows" not in refreshed
    diff = provider.diff("id", refreshed, props(rows))
    assert (diff.changes, diff.replaces) == (True, [])
    provider.update("id", refreshed, props(rows))
    assert table_rows(db) == {
        "Store1": (rows["Store1"]["config_json"], "active"),
        "Store2": (rows["Store2"]["config_json"], "active"),
        "External": ("{}", "active"),
    }


def test_read_of_outputs_written_before_row_digests_reports_digests(props, db):
    rows = {"Store1": row("Store1"), "Store2": row("Store2")}
    provider.create(props(rows))
    db.execute(f"DELETE FROM {TABLE} WHERE stream_key = 'Store1'")
    refreshed = provider.read("id", {**props(rows), "rows": rows}).outs  # the old outputs held the rows themselves
    assert "rows" not in refreshed
    assert refreshed["row_digests"] == dsg_sql.row_digests({"Store2": rows["Store2"]})


def test_the_outputs_hold_digests_not_the_rows(props):
    rows = {"Store1": row("Store1"), "Store2": row("Store2", "disabled")}
    outs = provider.create(props(rows)).outs
    assert "rows" not in outs
    assert outs["row_digests"] == dsg_sql.row_digests(rows)
    assert as_olds(outs)["password"] == ADMIN_PASSWORD
    assert provider.diff("id", as_olds(outs), props(rows)).changes is False


def test_an_update_of_one_row_rewrites_and_locks_no_other(props, db):
    old = {f"Store{i}": row(f"Store{i}") for i in range(20)}
    created = as_olds(provider.create(props(old)).outs)
    before = row_versions(db)
    new = {**old, "Store7": row("Store7", schedule_string="@daily")}
    result = provider.update("id", created, props(new))
    after = row_versions(db)
    assert [k for k in after if after[k] != before[k]] == ["Store7"]
    assert result.outs["last_change"] == "changed: Store7"


def test_an_update_writes_back_a_row_edited_out_of_band(props, db):
    rows = {"Store1": row("Store1"), "Store2": row("Store2")}
    created = as_olds(provider.create(props(rows)).outs)
    db.execute(f"UPDATE {TABLE} SET config_json = 'hand edit' WHERE stream_key = 'Store1'")
    provider.update("id", created, props(rows))
    assert table_rows(db)["Store1"] == (rows["Store1"]["config_json"], "active")


def test_rows_beyond_one_batch_are_all_written(props, db, monkeypatch):
    monkeypatch.setattr(dsg_sql, "BATCH_ROWS", 2)
    rows = {f"Store{i}": row(f"Store{i}") for i in range(5)}
    provider.create(props(rows))
    assert set(table_rows(db)) == set(rows)


def test_grant_lets_the_login_role_use_the_rows(props, db, postgres_server, merge_database):
    db.execute("CREATE ROLE dsg_reader LOGIN PASSWORD 'reader-pw'")
    try:
        provider.create(props({"Store1": row("Store1")}, grant_to="dsg_reader"))
        with psycopg.connect(postgres_server.conninfo(merge_database, user="dsg_reader", password="reader-pw")) as conn:
            assert conn.execute(f"SELECT stream_key FROM {TABLE}").fetchall() == [("Store1",)]
    finally:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute("DROP ROLE dsg_reader")


def test_wrong_password_is_refused_by_the_real_server(props):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        provider.create(props({"Store1": row("Store1")}, password="wrong"))


def test_pickled_provider_holds_no_connection_or_password(props):
    provider.create(props({"Store1": row("Store1")}))
    pickled = base64.b64decode(serialize_provider(DsgTableProvider()))
    assert ADMIN_PASSWORD.encode() not in pickled
    assert b"psycopg.Connection" not in pickled
    assert vars(DsgTableProvider()) == {}
