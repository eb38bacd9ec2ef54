from components.dsg_sql import RowDiff, diff_rows, upsert_params


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


def test_upsert_params_are_ordered_by_stream_key_and_carry_values_as_data():
    rows = {"b'; DROP TABLE x;--": row("{}"), "a": row('{"k":"v"}', "disabled")}
    assert upsert_params(rows) == [
        ("a", '{"k":"v"}', "disabled"),
        ("b'; DROP TABLE x;--", "{}", "active"),
    ]
