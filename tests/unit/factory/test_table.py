import os

import pytest

from factory.config import DEFAULT_CACHE_DIR
from factory.table import (
    ConfigUnavailable,
    UnknownStatus,
    cache_dir,
    cache_path,
    connection_settings,
    load_rows,
    read_cache,
    write_cache,
)


@pytest.fixture
def database_a(no_database_env, monkeypatch):
    """The environment names a database (host, port, name) but gives no credentials."""
    monkeypatch.setenv("DATASURFACE_POSTGRES_HOST", "pg-a.example")
    monkeypatch.setenv("DATASURFACE_POSTGRES_PORT", "5432")
    monkeypatch.setenv("DATASURFACE_POSTGRES_DATABASE", "merge")


def test_missing_database_settings_are_named(cfg, no_database_env):
    with pytest.raises(ConfigUnavailable, match="DATASURFACE_POSTGRES_HOST, .*postgres_PASSWORD"):
        connection_settings(cfg)


def test_the_cache_round_trips_the_rows_of_a_good_read(cfg, database_a):
    write_cache(cfg, [("Store1", '{"store_name": "Store1"}')])
    assert read_cache(cfg) == [("Store1", '{"store_name": "Store1"}')]


def test_the_same_table_in_another_database_has_a_cache_of_its_own(cfg, database_a, monkeypatch):
    write_cache(cfg, [("A", '{"store_name": "A"}')])
    path_a = cache_path(cfg)
    monkeypatch.setenv("DATASURFACE_POSTGRES_HOST", "pg-b.example")
    assert read_cache(cfg) is None
    write_cache(cfg, [("B", '{"store_name": "B"}')])
    assert cache_path(cfg) != path_a and read_cache(cfg) == [("B", '{"store_name": "B"}')]
    monkeypatch.setenv("DATASURFACE_POSTGRES_HOST", "pg-a.example")
    assert read_cache(cfg) == [("A", '{"store_name": "A"}')]


def test_without_a_named_database_there_is_no_cache_to_read_or_write(cfg, no_database_env):
    write_cache(cfg, [("Store1", "{}")])
    assert cache_path(cfg) is None and read_cache(cfg) is None
    assert not os.path.exists(cache_dir())


def test_the_default_cache_folder_is_the_users_own(monkeypatch):
    monkeypatch.delenv("DATASURFACE_DAG_CACHE_DIR", raising=False)
    assert cache_dir() == f"{DEFAULT_CACHE_DIR}-{os.getuid()}"


def test_a_cache_folder_others_may_write_is_neither_written_nor_read(cfg, database_a, caplog):
    os.makedirs(cache_dir(), mode=0o700)
    write_cache(cfg, [("Store1", "{}")])
    os.chmod(cache_dir(), 0o777)
    os.chmod(str(cache_path(cfg)), 0o666)
    assert read_cache(cfg) is None
    os.remove(str(cache_path(cfg)))
    write_cache(cfg, [("Store1", "{}")])
    assert not os.path.exists(str(cache_path(cfg)))
    assert "is not a folder of this user's own" in caplog.text


def test_an_unreadable_table_falls_back_to_the_last_good_read_and_logs_why(cfg, database_a, caplog):
    write_cache(cfg, [("Store1", "{}"), ("Store2", "{}")])
    loaded = load_rows(cfg, "Store2")
    assert (loaded.rows, loaded.source) == ([("Store2", "{}")], "cache")
    assert loaded.cache_age_seconds is not None and 0 <= loaded.cache_age_seconds < 60
    assert "environment variable(s) not set" in caplog.text and "using the last good configuration" in caplog.text


def test_without_a_cache_an_unreadable_table_builds_nothing(cfg, no_database_env, caplog):
    loaded = load_rows(cfg)
    assert (loaded.rows, loaded.source, loaded.cache_age_seconds) == ([], "none", None)
    assert "no last good configuration" in caplog.text


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("Active", "status 'Active' is not one of active, disabled"),
        ("active ", "status 'active ' is not one of active, disabled"),
        ("actve", "status 'actve' is not one of active, disabled"),
        (None, "status NULL is not one of active, disabled"),
    ],
)
def test_an_unknown_status_is_a_reason_to_report(status, reason):
    assert UnknownStatus(status).reason == reason
