"""Reading the stream table, and the last good read each parsing process keeps as a fallback."""

from __future__ import annotations

import hashlib
import json
import os
import stat
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

Row = tuple[str, Any]  # (stream_key, config_json), or (stream_key, UnknownStatus) for a row to report
STREAM_STATUSES = ("active", "disabled")


@dataclass(frozen=True)
class UnknownStatus:
    """Stands in for the config of a row whose status is neither active nor disabled (`Active`, `active `,
    NULL): such a row builds no DAG and is reported as skipped like any other bad row, never dropped silently."""

    status: str | None

    @property
    def reason(self) -> str:
        shown = "NULL" if self.status is None else repr(self.status)
        return f"status {shown} is not one of {', '.join(STREAM_STATUSES)}"


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
    """The active rows, and the rows of an unknown status (to report them); disabled rows are left out."""
    table = quote_ident(cfg.dsg_table)
    query = f"SELECT stream_key, config_json, status FROM {table} WHERE status IS DISTINCT FROM 'disabled'"
    params: tuple[str, ...] = ()
    if stream_key is not None:
        query += " AND stream_key = %s"
        params = (stream_key,)
    return [
        (str(key), value if status == "active" else UnknownStatus(status))
        for key, value, status in conn.execute(query, params).fetchall()
    ]


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
    """$DATASURFACE_DAG_CACHE_DIR, else a folder of this user's own: no process serves another user's rows."""
    return os.environ.get(CACHE_DIR_ENV) or f"{DEFAULT_CACHE_DIR}-{os.getuid()}"


def cache_path(cfg: FactoryConfig, source: str | None = None) -> str | None:
    """One file per database and table: `<table>-<digest of host/dbname/table>.json`."""
    source = source or cache_source_of(cfg)
    if source is None:
        return None
    digest = hashlib.sha256(f"{source}/{cfg.dsg_table}".encode()).hexdigest()[:16]
    return os.path.join(cache_dir(), f"{cfg.dsg_table}-{digest}.json")


def cache_source_of(cfg: FactoryConfig) -> str | None:
    """The database the cache belongs to, `host/dbname` from the environment (not the port, which an outage
    or a port-forward may change; no credentials), or None when the environment does not name one."""
    values = [os.environ.get(env) for env in (cfg.host_env, cfg.database_env)]
    return None if not all(values) else f"{values[0]}/{values[1]}"


def private_cache_dir() -> str | None:
    """The cache folder, made if missing (mode 700); None when it is not this user's alone."""
    folder = cache_dir()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return folder


def cache_payload(cfg: FactoryConfig, rows: list[Row], source: str) -> str:
    return json.dumps({"table": cfg.dsg_table, "database": source, "rows": [list(row) for row in rows]}, sort_keys=True)


def write_cache(cfg: FactoryConfig, rows: list[Row]) -> None:
    """Atomically replace the cache with the rows of a good read that passed every check (only when changed)."""
    source = cache_source_of(cfg)
    path = cache_path(cfg, source)
    if source is None or path is None:
        return
    payload = cache_payload(cfg, rows, source)
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == payload:
                os.utime(path)  # the cache's age is the time since the last good read
                return
    except OSError:
        pass
    folder = private_cache_dir()
    if folder is None:
        cfg.log.warning("%s: %s is not a folder of this user's own; no cache written", cfg.factory_dag_id, cache_dir())
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=cfg.dsg_table + ".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(payload)
        os.replace(tmp, path)
    except OSError as err:
        cfg.log.warning(
            "%s: cannot write the last good configuration to %s: %s", cfg.factory_dag_id, path, one_line(err)
        )


def cache_age_seconds(cfg: FactoryConfig) -> float | None:
    path = cache_path(cfg)
    try:
        return None if path is None else max(0.0, time.time() - os.path.getmtime(path))
    except OSError:
        return None


def read_cache(cfg: FactoryConfig) -> list[Row] | None:
    """The rows of the last good read of this table in this database, or None when there is no usable cache:
    none yet, the environment names no database, or the file is not this user's own."""
    source = cache_source_of(cfg)
    path = cache_path(cfg, source)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as cached:
            info = os.fstat(cached.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
            payload = json.load(cached)
        if payload["table"] != cfg.dsg_table or payload["database"] != source:
            return None
        return [(str(key), value) for key, value in payload["rows"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_rows(cfg: FactoryConfig, stream_key: str | None = None) -> LoadedRows:
    """Active rows from the table, or from the cache when the table cannot be read.

    The cache is written by the caller, with the rows that passed every check (`write_cache`). A failed read
    logs exactly one error saying why and what is used instead; it never raises, so no data or outage makes
    the DAG file fail to import.
    """
    started = time.perf_counter()
    try:
        rows = query_active_rows(cfg, stream_key)
    except ConfigUnavailable as err:
        return rows_from_cache(cfg, str(err), stream_key, time.perf_counter() - started)
    return LoadedRows(rows, "database", time.perf_counter() - started)


def rows_from_cache(cfg: FactoryConfig, problem: str, stream_key: str | None, query_seconds: float) -> LoadedRows:
    cached = read_cache(cfg)
    if cached is None:
        where = cache_path(cfg) or "(none: the environment names no database)"
        cfg.log.error(
            "%s: cannot read %s (%s); no last good configuration at %s, so no ingestion DAGs are built",
            cfg.factory_dag_id,
            cfg.dsg_table,
            problem,
            where,
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


def cached_configurations(cfg: FactoryConfig) -> list[tuple[str, str, list[Row]]]:
    """(database, path, rows) of each last good configuration of this table this user's cache holds: the
    environment's database only when it names one, else every database's."""
    if cache_source_of(cfg) is not None:
        rows = read_cache(cfg)
        return [] if rows is None else [(cache_source_of(cfg) or "", cache_path(cfg) or "", rows)]
    found = []
    try:
        names = sorted(os.listdir(cache_dir()))
    except OSError:
        return []
    for name in names:
        if not (name.startswith(cfg.dsg_table + "-") and name.endswith(".json")):
            continue
        path = os.path.join(cache_dir(), name)
        try:
            with open(path, encoding="utf-8") as cached:
                info = os.fstat(cached.fileno())
                payload = json.load(cached)
            source = payload["database"]
            if info.st_uid == os.getuid() and payload["table"] == cfg.dsg_table and cache_path(cfg, source) == path:
                found.append((str(source), path, [(str(key), value) for key, value in payload["rows"]]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found
