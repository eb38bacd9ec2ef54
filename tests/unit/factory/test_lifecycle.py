import dataclasses

from factory.lifecycle import ledger_ddl, plan_changes, sync_lock_key, total_changes


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


def test_the_ledger_and_audit_tables_are_the_platforms_own(cfg):
    ddl = "\n".join(ledger_ddl(cfg))
    assert '"yellowlive_airflow_dsg_ledger"' in ddl and '"yellowlive_airflow_dsg_audit"' in ddl
