import dataclasses
import re

from components.factory_dag import render_factory_dag
from factory.lifecycle import HistoryEntry, history_behind, plan_changes, sync_lock_key, total_changes


def test_plan_sorts_each_stream_into_exactly_one_change():
    plan = plan_changes({"kept": "h1", "changed": "h2", "gone": "h3"}, {"kept": "h1", "changed": "h9", "new": "h4"})
    assert plan == {"created": ["new"], "updated": ["changed"], "removed": ["gone"], "unchanged": ["kept"]}
    assert total_changes(plan) == 3


def test_a_second_sync_with_nothing_changed_plans_no_change():
    assert total_changes(plan_changes({"a": "h"}, {"a": "h"})) == 0


def test_each_platform_syncs_under_its_own_lock(cfg):
    forensic = dataclasses.replace(cfg, ledger_table="yellowforensic_airflow_dsg_ledger")
    assert sync_lock_key(cfg) != sync_lock_key(forensic)
    assert 0 <= sync_lock_key(cfg) < 2**63  # a Postgres bigint


def test_the_dag_file_runs_no_ddl_the_stack_declares_its_tables(cfg):
    source = render_factory_dag(cfg)
    assert not re.search(r"\b(CREATE|ALTER|DROP|TRUNCATE|GRANT|REVOKE)\b", source)


class FakeConnection:
    def __init__(self, rows):
        self.rows, self.calls = rows, []

    def execute(self, query, params):
        self.calls.append((query, params))
        return self

    def fetchall(self):
        return self.rows


def test_each_change_is_traced_to_the_history_entry_that_made_the_row_what_the_sync_read(cfg):
    plan = plan_changes({"kept": "h", "changed": "h1", "gone": "h"}, {"kept": "h", "changed": "h2", "new": "h"})
    conn = FakeConnection([("changed", 7, "UPDATE", "t7", "admin", "admin"), ("new", 9, "INSERT", "t9", "w", "w")])
    history = history_behind(cfg, conn, plan, {"kept": "{}", "changed": '{"v": 2}', "new": '{"v": 1}'})
    assert history == {
        "changed": HistoryEntry(7, "UPDATE", "t7", "admin", "admin"),
        "new": HistoryEntry(9, "INSERT", "t9", "w", "w"),
    }
    ((query, params),) = conn.calls
    assert '"yellowlive_airflow_dsg_history"' in query
    # A removed stream has no config to match: its latest change is the one behind it.
    assert params == (["new", "changed", "gone"], ['{"v": 1}', '{"v": 2}', None])


def test_nothing_changed_asks_the_history_nothing(cfg):
    conn = FakeConnection([])
    assert history_behind(cfg, conn, plan_changes({"a": "h"}, {"a": "h"}), {"a": "{}"}) == {}
    assert conn.calls == []
