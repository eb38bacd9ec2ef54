import pytest

from factory.table import ConfigUnavailable, connection_settings, load_rows, read_cache, write_cache


def test_missing_database_settings_are_named(cfg, no_database_env):
    with pytest.raises(ConfigUnavailable, match="DATASURFACE_POSTGRES_HOST, .*postgres_PASSWORD"):
        connection_settings(cfg)


def test_the_cache_round_trips_the_rows_of_a_good_read(cfg, no_database_env):
    write_cache(cfg, [("Store1", '{"store_name": "Store1"}')])
    assert read_cache(cfg) == [("Store1", '{"store_name": "Store1"}')]


def test_an_unreadable_table_falls_back_to_the_last_good_read_and_logs_why(cfg, no_database_env, caplog):
    write_cache(cfg, [("Store1", "{}"), ("Store2", "{}")])
    loaded = load_rows(cfg, "Store2")
    assert (loaded.rows, loaded.source) == ([("Store2", "{}")], "cache")
    assert loaded.cache_age_seconds is not None and 0 <= loaded.cache_age_seconds < 60
    assert "environment variable(s) not set" in caplog.text and "using the last good configuration" in caplog.text


def test_without_a_cache_an_unreadable_table_builds_nothing(cfg, no_database_env, caplog):
    loaded = load_rows(cfg)
    assert (loaded.rows, loaded.source, loaded.cache_age_seconds) == ([], "none", None)
    assert "no last good configuration" in caplog.text
