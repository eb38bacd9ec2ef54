import re

import pytest

from components import dsg_sql
from components.dsg_sql import (
    RowDiff,
    diff_digests,
    diff_rows,
    row_digest,
    row_digests,
    rows_from_text,
    rows_text,
    rows_to_write,
    upsert_batches,
)


def row(config: str, status: str = "active") -> dict[str, str]:
    return {"config_json": config, "status": status}


def test_diff_rows_names_added_changed_and_removed_keys_sorted():
    old = {"B": row("{}"), "A": row("{}"), "C": row("{}")}
    new = {"A": row("{}"), "B": row('{"x":1}'), "D": row("{}"), "E": row("{}", "disabled")}
    assert diff_rows(old, new) == RowDiff(added=("D", "E"), changed=("B",), removed=("C",))


def test_a_status_change_alone_is_a_change():
    assert diff_rows({"A": row("{}")}, {"A": row("{}", "disabled")}).changed == ("A",)


def test_identical_rows_make_an_empty_diff():
    rows = {"A": row("{}"), "B": row("{}")}
    diff = diff_rows(rows, dict(rows))
    assert diff.empty
    assert diff.summary() == "no row changes"


def test_summary_lists_each_kind_of_change():
    assert RowDiff(added=("A",), removed=("B", "C")).summary() == "added: A; removed: B, C"


def test_a_long_summary_names_the_first_keys_and_counts_the_rest():
    keys = tuple(f"S{i:02d}" for i in range(25))
    assert RowDiff(added=keys).summary() == "added: " + ", ".join(keys[:10]) + " and 15 more"


def test_a_row_digest_is_16_hex_digits_and_depends_on_the_values_only():
    digest = row_digest(row('{"a":1}'))
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert row_digest(row('{"a":1}')) == digest
    assert row_digest(row('{"a":1}', "disabled")) != digest
    assert row_digest(row('{"a":2}')) != digest


def test_a_config_cannot_pass_for_a_status_in_the_digest():
    assert row_digest({"config_json": "a", "status": "b,c"}) != row_digest({"config_json": "a,b", "status": "c"})


def test_diff_digests_agrees_with_diff_rows():
    old = {"A": row("{}"), "B": row("{}"), "C": row("{}")}
    new = {"A": row("{}"), "B": row("{}", "disabled"), "D": row("{}")}
    assert diff_digests(row_digests(old), row_digests(new)) == diff_rows(old, new)


def test_rows_to_write_are_the_rows_the_table_lacks_or_holds_otherwise():
    desired = {"A": row("{}"), "B": row('{"x":1}'), "C": row("{}"), "D": row("{}")}
    current = {"A": row("{}"), "B": row("{}"), "D": row("{}", "disabled"), "Other": row("{}")}
    assert rows_to_write(desired, current) == ("B", "C", "D")


@pytest.mark.parametrize(("rows", "batches"), [(0, []), (1, [1]), (5000, [5000]), (10001, [5000, 5000, 1])])
def test_upsert_batches_hold_at_most_batch_rows_each(rows, batches):
    keys = [f"S{i:05d}" for i in range(rows)]
    assert dsg_sql.BATCH_ROWS == 5000
    assert [len(b[0]) for b in upsert_batches({k: row("{}") for k in keys}, keys)] == batches


def test_upsert_batches_keep_the_keys_order_and_carry_values_as_data():
    rows = {"b'; DROP TABLE x;--": row("{}"), "a": row('{"k":"v"}', "disabled")}
    assert upsert_batches(rows, ["a", "b'; DROP TABLE x;--"]) == [
        (["a", "b'; DROP TABLE x;--"], ['{"k":"v"}', "{}"], ["disabled", "active"])
    ]


TEXT_ROWS = {
    "Store2": {"config_json": '{"store_name":"Store2"}', "status": "disabled"},
    "Store1": {
        "config_json": '{"note":"a \\"quoted\\"\\nline, caf\u00e9 \u2028","store_name":"Store1"}',
        "status": "active",
    },
}


def test_rows_text_is_a_line_per_row_sorted_by_key_and_reads_back_the_same():
    text = rows_text(TEXT_ROWS)
    assert text.split("\n")[0].startswith('["Store1", "active", ')
    assert text.split("\n")[1] == '["Store2", "disabled", "{\\"store_name\\":\\"Store2\\"}"]'
    assert rows_from_text(text) == TEXT_ROWS
    assert (rows_text({}), rows_from_text("")) == ("", {})


def test_rows_text_changes_only_the_line_of_a_changed_row():
    changed = {**TEXT_ROWS, "Store2": {**TEXT_ROWS["Store2"], "status": "active"}}
    before, after = rows_text(TEXT_ROWS).split("\n"), rows_text(changed).split("\n")
    assert [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new] == [1]
