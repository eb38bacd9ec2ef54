"""The dsg table provider's diff and outputs, which need no database."""

from __future__ import annotations

import json

from components import dsg_sql
from components.dsg_table import DsgTableProvider, _outs, _resource_id, _state_outs

provider = DsgTableProvider()


def row(store: str, status: str = "active") -> dict[str, str]:
    return {"config_json": json.dumps({"store_name": store}), "status": status}


ROWS = {"Store1": row("Store1"), "Store2": row("Store2")}


def props(rows: dict, **changes) -> dict:
    base = {
        "host": "localhost",
        "port": 5432.0,
        "dbname": "datasurface_merge",
        "user": "postgres",
        "password": "pw",
        "sslmode": "disable",
        "table": "yellowlive_airflow_dsg",
        "grant_to": "yellowlive_airflow",
        "rows": rows,
        "row_count": None,
        "last_change": None,
    }
    return {**base, **changes}


def outputs(rows: dict) -> dict:
    """What create or update leaves in the state's outputs, as diff receives them (secrets unwrapped)."""
    return {**_outs(props(rows), dsg_sql.diff_rows({}, rows)), "password": "pw"}


def test_the_outputs_hold_a_digest_per_row_and_not_the_rows():
    outs = outputs(ROWS)
    assert "rows" not in outs
    assert outs["row_digests"] == dsg_sql.row_digests(ROWS)
    assert outs["row_count"] == 2
    assert outs["last_change"] == "added: Store1, Store2"


def test_the_same_rows_are_no_change():
    assert provider.diff("id", outputs(ROWS), props(ROWS)).changes is False


def test_a_changed_added_or_removed_row_is_an_update_not_a_replacement():
    for new in (
        {**ROWS, "Store2": row("Store2", "disabled")},
        {**ROWS, "Store3": row("Store3")},
        {"Store1": ROWS["Store1"]},
    ):
        diff = provider.diff("id", outputs(ROWS), props(new))
        assert (diff.changes, diff.replaces) == (True, [])


def test_outputs_written_before_row_digests_hold_the_rows_and_diff_the_same_way():
    legacy = {**props(ROWS), "row_count": 2, "last_change": "added: Store1, Store2"}
    assert "row_digests" not in legacy
    assert provider.diff("id", legacy, props(ROWS)).changes is False
    diff = provider.diff("id", legacy, props({"Store1": ROWS["Store1"]}))
    assert (diff.changes, diff.replaces) == (True, [])


def test_a_refreshed_state_missing_a_row_is_a_change():
    refreshed = _state_outs(outputs(ROWS), dsg_sql.row_digests({"Store2": ROWS["Store2"]}))
    assert provider.diff("id", refreshed, props(ROWS)).changes is True


def test_another_table_or_database_is_a_replacement_that_creates_the_new_table_first():
    for field, value in (("table", "yellowforensic_airflow_dsg"), ("dbname", "other_merge")):
        diff = provider.diff("id", outputs(ROWS), props(ROWS, **{field: value}))
        assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, [field], False)


ROUTE_CHANGES = {
    "host spelled otherwise": {"host": "127.0.0.1"},
    "another forwarded port": {"port": 15433.0},
    "another admin role": {"user": "admin2"},
    "a rotated admin password": {"password": "pw2"},
    "another ssl mode": {"sslmode": "require"},
}


def test_a_change_of_route_is_an_update_never_a_replacement():
    for name, change in ROUTE_CHANGES.items():
        diff = provider.diff("id", outputs(ROWS), props(ROWS, **change))
        assert (diff.changes, diff.replaces) == (True, []), name


def test_the_state_of_a_stack_applied_before_moves_to_a_new_route_with_an_update():
    """Outputs as today's stacks hold them: host and port included, the id `host:port/db/table`, no opt-in."""
    before = {k: v for k, v in outputs(ROWS).items() if k != "drop_rows_of_others"}
    assert before["host"] == "localhost"
    old_id = "localhost:5432/datasurface_merge/yellowlive_airflow_dsg"
    diff = provider.diff(old_id, before, props(ROWS, host="127.0.0.1"))
    assert (diff.changes, diff.replaces) == (True, [])


def test_a_port_given_as_a_float_or_an_int_is_the_same_route():
    assert provider.diff("id", outputs(ROWS), props(ROWS, port=5432)).changes is False


def test_the_opt_in_to_drop_rows_of_others_is_an_update_and_absent_means_false():
    before = {k: v for k, v in outputs(ROWS).items() if k != "drop_rows_of_others"}
    assert provider.diff("id", before, props(ROWS, drop_rows_of_others=False)).changes is False
    diff = provider.diff("id", before, props(ROWS, drop_rows_of_others=True))
    assert (diff.changes, diff.replaces) == (True, [])


def test_the_resource_id_names_the_table_not_the_route():
    assert _resource_id(props(ROWS)) == "datasurface_merge/yellowlive_airflow_dsg"


def test_rows_as_one_text_read_as_the_map_inputs_written_before():
    """The inputs carry the rows as `rows_text`; a state whose inputs and outputs hold the map shows no change."""
    as_text = props(dsg_sql.rows_text(ROWS))
    assert provider.diff("id", outputs(ROWS), as_text).changes is False
    assert _outs(as_text, dsg_sql.diff_rows({}, ROWS)) == _outs(props(ROWS), dsg_sql.diff_rows({}, ROWS))
    changed = props(dsg_sql.rows_text({**ROWS, "Store2": row("Store2", "disabled")}))
    diff = provider.diff("id", outputs(ROWS), changed)
    assert (diff.changes, diff.replaces) == (True, [])
