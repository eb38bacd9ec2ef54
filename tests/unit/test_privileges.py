"""The grants as data (components/privileges.py) and the SQL they become (components/factory_tables_sql.py)."""

from __future__ import annotations

import pytest
from psycopg import sql

from components import factory_tables_sql as q
from components.naming import PlatformNames
from components.privileges import Grant, grants_input, login_grants, parse_grants, writer_grants

NAMES = PlatformNames("yellowlive", "postgres")
TABLES = q.Tables.of(NAMES)


def text(composed: sql.Composable) -> str:
    return composed.as_string(None)


def test_grants_survive_the_round_trip_through_a_resource_input():
    for grants in (login_grants(NAMES), writer_grants(NAMES)):
        assert parse_grants(grants_input(grants)) == grants


@pytest.mark.parametrize(
    "value",
    [
        {"TABLE yellowlive_airflow_dsg": ["SELECT; DROP TABLE x"]},
        {"TABLE yellowlive_airflow_dsg": ["ALL"]},
        {"TABLE yellowlive_airflow_dsg": ["TRUNCATE"]},
        {"FUNCTION f": ["EXECUTE"]},
        {'TABLE "x"; --': ["SELECT"]},
    ],
)
def test_anything_but_the_known_privileges_on_tables_and_sequences_is_refused(value):
    with pytest.raises(ValueError):
        parse_grants(value)


def test_a_column_privilege_becomes_a_column_grant():
    ledger = Grant("TABLE", NAMES.ledger_table, ("SELECT", "UPDATE (config_hash, updated_at)"))
    assert text(q.grant("yellowlive_airflow", ledger)) == (
        'GRANT SELECT, UPDATE ("config_hash", "updated_at") ON TABLE "yellowlive_airflow_dsg_ledger" '
        'TO "yellowlive_airflow"'
    )


def test_the_login_role_may_write_no_table_but_the_factorys_own():
    writable = {
        g.name for g in login_grants(NAMES) for p in g.privileges if p.split()[0] in ("INSERT", "UPDATE", "DELETE")
    }
    assert writable == {NAMES.ledger_table, NAMES.audit_table}


def test_the_history_is_filled_by_a_security_definer_function_with_a_fixed_search_path():
    function = text(q.history_function(TABLES))
    assert "SECURITY DEFINER SET search_path = pg_catalog, pg_temp" in function
    assert 'INSERT INTO public."yellowlive_airflow_dsg_history"' in function
    statements = [text(s) for s in q.install_history(TABLES)]
    assert 'REVOKE ALL ON FUNCTION public."yellowlive_airflow_dsg_history_record"() FROM PUBLIC' in statements
    assert any("BEFORE TRUNCATE" in s for s in statements)


def test_revoking_covers_every_table_and_the_audit_sequence():
    revoked = [text(s) for s in q.revoke_all(q.relations_of(TABLES), "r")]
    assert revoked == [
        'REVOKE ALL ON TABLE "yellowlive_airflow_dsg" FROM "r"',
        'REVOKE ALL ON TABLE "yellowlive_airflow_dsg_ledger" FROM "r"',
        'REVOKE ALL ON TABLE "yellowlive_airflow_dsg_audit" FROM "r"',
        'REVOKE ALL ON TABLE "yellowlive_airflow_dsg_history" FROM "r"',
        'REVOKE ALL ON SEQUENCE "yellowlive_airflow_dsg_audit_id_seq" FROM "r"',
    ]
