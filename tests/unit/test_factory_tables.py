"""FactoryTables' diff decisions (pure): what replaces, what updates, what a refresh's drift does."""

from __future__ import annotations

import pytest

from components.factory_tables import FactoryTablesProvider
from components.factory_tables_sql import Tables
from components.naming import PlatformNames
from components.privileges import grants_input, login_grants

NAMES = PlatformNames("yellowlive", "postgres")
provider = FactoryTablesProvider()


def props(**changes):
    base = {
        "host": "localhost",
        "port": 15432.0,
        "dbname": "datasurface_merge",
        "user": "postgres",
        "password": "pw",
        "sslmode": "disable",
        "tables": vars(Tables.of(NAMES)),
        "grants": {"yellowlive_airflow": grants_input(login_grants(NAMES))},
        "public_revoked": {},
    }
    return {**base, **changes}


def state(**changes):
    return {**props(**changes), "public_restore": [], "drift": []}


def test_nothing_changed_is_no_change():
    assert not provider.diff("id", state(), props()).changes


@pytest.mark.parametrize("field", ["dbname", "tables"])
def test_another_database_or_other_tables_replace_deleting_first(field):
    news = props(**{field: "other" if field == "dbname" else {**vars(Tables.of(NAMES)), "history": "other"}})
    diff = provider.diff("id", state(), news)
    assert diff.changes and diff.replaces == [field] and diff.delete_before_replace


@pytest.mark.parametrize(
    "changes",
    [
        {"host": "127.0.0.1"},
        {"port": 25432.0},
        {"password": "new"},
        {"grants": {}},
        {"public_revoked": {"DATABASE": ["TEMPORARY"]}},
    ],
)
def test_a_new_route_password_or_grant_is_an_update_in_place(changes):
    diff = provider.diff("id", state(), props(**changes))
    assert diff.changes and not diff.replaces


def test_drift_found_by_a_refresh_is_a_change_the_next_up_repairs():
    drifted = {**state(), "drift": ["trigger yellowlive_airflow_dsg_history_rows on yellowlive_airflow_dsg is missing"]}
    diff = provider.diff("id", drifted, props())
    assert diff.changes and not diff.replaces
