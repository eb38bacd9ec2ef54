"""Reading the stream table, and the last good read each parsing process keeps as a fallback."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from factory.config import (
    CACHE_DIR_ENV,
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_CACHE_DIR,
    STATEMENT_TIMEOUT_MS,
    FactoryConfig,
    one_line,
    quote_ident,
)

Row = tuple[str, Any]  # (stream_key, config_json)


@dataclass(frozen=True)
class LoadedRows:
    rows: list[Row]
    source: str  # "database", "cache" (the last good read) or "none"
    query_seconds: float
    cache_age_seconds: float | None = None  # of the last good read, when it was served


class ConfigUnavailable(Exception):
    """The stream table could not be read; the message says why, in one line."""


def connection_settings(cfg: FactoryConfig) -> dict[str, str]:
    """The merge database's connection settings from the environment; raises naming what is missing."""
    values = {key: os.environ.get(env) for key, env in cfg.connection_env.items()}
    missing = [cfg.connection_env[key] for key, value in values.items() if not value]
    if missing:
        raise ConfigUnavailable("environment variable(s) not set: " + ", ".join(missing))
    return {key: value for key, value in values.items() if value}


def describe_database(settings: dict[str, str]) -> str:
    return f"{settings['host']}:{settings['port']}/{settings['dbname']}"


def connect(cfg: FactoryConfig, settings: dict[str, str], purpose: str) -> Any:
    """A psycopg connection with a short connect timeout and a statement timeout."""
    try:
        import psycopg
    except ImportError as err:
        raise ConfigUnavailable(f"the psycopg package is not installed ({one_line(err)})") from err
    try:
        return psycopg.connect(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=f"{cfg.factory_dag_id}:{purpose}",
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            autocommit=(purpose != "sync"),
            host=settings["host"],
            port=settings["port"],
            dbname=settings["dbname"],
            user=settings["user"],
            password=settings["password"],
        )
    except Exception as err:
        raise ConfigUnavailable(f"cannot connect to {describe_database(settings)}: {one_line(err)}") from err


def select_active_rows(cfg: FactoryConfig, conn: Any, stream_key: str | None) -> list[Row]:
    query = f"SELECT stream_key, config_json FROM {quote_ident(cfg.dsg_table)} WHERE status = 'active'"
    params: tuple[str, ...] = ()
    if stream_key is not None:
        query += " AND stream_key = %s"
        params = (stream_key,)
    return [(str(key), value) for key, value in conn.execute(query, params).fetchall()]


def query_active_rows(cfg: FactoryConfig, stream_key: str | None = None, purpose: str = "parse") -> list[Row]:
    """One query for the active rows (or one row), as [(stream_key, config_json)] in stream_key order."""
    settings = connection_settings(cfg)
    conn = connect(cfg, settings, purpose)
    try:
        rows = select_active_rows(cfg, conn, stream_key)
    except Exception as err:
        raise ConfigUnavailable(
            f"cannot query {cfg.dsg_table} at {describe_database(settings)}: {one_line(err)}"
        ) from err
    finally:
        conn.close()
    return sorted(rows, key=lambda row: row[0])


def cache_dir() -> str:
    return os.environ.get(CACHE_DIR_ENV, DEFAULT_CACHE_DIR)


def cache_path(cfg: FactoryConfig) -> str:
    return os.path.join(cache_dir(), cfg.dsg_table + ".json")


def cache_payload(cfg: FactoryConfig, rows: list[Row]) -> str:
    return json.dumps({"table": cfg.dsg_table, "rows": [list(row) for row in rows]}, sort_keys=True)


def write_cache(cfg: FactoryConfig, rows: list[Row]) -> None:
    """Atomically replace the cache with the rows of a good read (only when they changed)."""
    payload = cache_payload(cfg, rows)
    path = cache_path(cfg)
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == payload:
                os.utime(path)  # the cache's age is the time since the last good read
                return
    except OSError:
        pass
    try:
        os.makedirs(cache_dir(), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir(), prefix=cfg.dsg_table + ".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(payload)
        os.replace(tmp, path)
    except OSError as err:
        cfg.log.warning(
            "%s: cannot write the last good configuration to %s: %s", cfg.factory_dag_id, path, one_line(err)
        )


def cache_age_seconds(cfg: FactoryConfig) -> float | None:
    try:
        return max(0.0, time.time() - os.path.getmtime(cache_path(cfg)))
    except OSError:
        return None


def read_cache(cfg: FactoryConfig) -> list[Row] | None:
    """The rows of the last good read, or None when there is no usable cache."""
    try:
        with open(cache_path(cfg), encoding="utf-8") as cached:
            payload = json.load(cached)
        return [(str(key), value) for key, value in payload["rows"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_rows(cfg: FactoryConfig, stream_key: str | None = None) -> LoadedRows:
    """Active rows from the table, or from the cache when the table cannot be read.

    A good full read refreshes the cache. A failed read logs exactly one error saying why and what
    is used instead; it never raises, so no data or outage makes the DAG file fail to import.
    """
    started = time.perf_counter()
    try:
        rows = query_active_rows(cfg, stream_key)
    except ConfigUnavailable as err:
        return rows_from_cache(cfg, str(err), stream_key, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if stream_key is None:
        write_cache(cfg, rows)
    return LoadedRows(rows, "database", seconds)


def rows_from_cache(cfg: FactoryConfig, problem: str, stream_key: str | None, query_seconds: float) -> LoadedRows:
    cached = read_cache(cfg)
    if cached is None:
        cfg.log.error(
            "%s: cannot read %s (%s); no last good configuration at %s, so no ingestion DAGs are built",
            cfg.factory_dag_id,
            cfg.dsg_table,
            problem,
            cache_path(cfg),
        )
        return LoadedRows([], "none", query_seconds)
    if stream_key is not None:
        cached = [row for row in cached if row[0] == stream_key]
    cfg.log.error(
        "%s: cannot read %s (%s); using the last good configuration from %s (%d active streams)",
        cfg.factory_dag_id,
        cfg.dsg_table,
        problem,
        cache_path(cfg),
        len(cached),
    )
    return LoadedRows(cached, "cache", query_seconds, cache_age_seconds(cfg))
