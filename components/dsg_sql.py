"""SQL for the `<platform>_airflow_dsg` table and row-level diffs of its seed rows (pure).

Identifiers are composed with psycopg's `sql.Identifier` and values are always bound parameters,
so a stream key or config containing quotes or SQL stays data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from psycopg import sql

Row = Mapping[str, str]  # {"config_json": ..., "status": ...}
Rows = Mapping[str, Row]  # stream_key -> row
Digests = Mapping[str, str]  # stream_key -> row_digest(row)

# Rows per INSERT statement: one statement carries a batch as three arrays, so the first apply of
# 10,000 rows is two statements, sent in one pipeline.
BATCH_ROWS = 5000
# Keys named per kind of change in a summary; beyond that only the count, so it stays small.
SUMMARY_KEYS = 10


def create_table(table: str) -> list[sql.Composed]:
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            "stream_key VARCHAR(255) PRIMARY KEY, "
            "config_json TEXT, "
            "status VARCHAR(50) DEFAULT 'active', "
            "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
            "updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
        ).format(sql.Identifier(table)),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (status)").format(
            sql.Identifier(f"{table}_status_idx"), sql.Identifier(table)
        ),
    ]


def drop_table(table: str) -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table))


def upsert_rows(table: str) -> sql.Composed:
    """One statement per batch of rows, given as three arrays (keys, configs, statuses); a row whose
    values are unchanged is not rewritten."""
    return sql.SQL(
        "INSERT INTO {t} AS t (stream_key, config_json, status) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) "
        "ON CONFLICT (stream_key) DO UPDATE SET "
        "config_json = EXCLUDED.config_json, status = EXCLUDED.status, updated_at = CURRENT_TIMESTAMP "
        "WHERE (t.config_json, t.status) IS DISTINCT FROM (EXCLUDED.config_json, EXCLUDED.status)"
    ).format(t=sql.Identifier(table))


def delete_rows(table: str) -> sql.Composed:
    return sql.SQL("DELETE FROM {} WHERE stream_key = ANY(%s)").format(sql.Identifier(table))


def count_rows_of_others(table: str) -> sql.Composed:
    """How many rows have a stream key outside the one array parameter (the keys this stack wrote)."""
    return sql.SQL("SELECT count(*) FROM {} WHERE NOT (stream_key = ANY(%s))").format(sql.Identifier(table))


def select_rows(table: str) -> sql.Composed:
    """The rows of the stream keys given as one array parameter."""
    return sql.SQL("SELECT stream_key, config_json, status FROM {} WHERE stream_key = ANY(%s)").format(
        sql.Identifier(table)
    )


def grant_rows_access(table: str, role: str) -> sql.Composed:
    return sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
        sql.Identifier(table), sql.Identifier(role)
    )


@dataclass(frozen=True)
class RowDiff:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def summary(self) -> str:
        parts = [
            f"{label}: {key_list(keys)}"
            for label, keys in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            if keys
        ]
        return "; ".join(parts) if parts else "no row changes"


def key_list(keys: tuple[str, ...]) -> str:
    shown = ", ".join(keys[:SUMMARY_KEYS])
    return shown if len(keys) <= SUMMARY_KEYS else f"{shown} and {len(keys) - SUMMARY_KEYS} more"


def _values(row: Row) -> tuple[str | None, str | None]:
    return (row.get("config_json"), row.get("status"))


def row_digest(row: Row) -> str:
    """64 bits of a hash of the row's values: what the state keeps to tell a changed row from an equal one."""
    text = json.dumps(_values(row), separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def rows_text(rows: Rows) -> str:
    """The rows as the DsgTable resource's input: one line per row, sorted by stream key, each the JSON array
    [stream_key, status, config_json].

    One string crosses the program, the engine and the provider process as one value, where a map of rows
    costs per row in each (serialized, checked and diffed on every preview); `pulumi preview --diff` shows a
    changed row as a changed line that starts with its key.
    """
    return "\n".join(
        json.dumps([key, row.get("status"), row.get("config_json")], ensure_ascii=False)
        for key, row in sorted(rows.items())
    )


def rows_from_text(text: str) -> dict[str, dict[str, str]]:
    """The rows of `rows_text`. JSON escapes every line break inside a value, so each line is one row."""
    rows = {}
    for line in text.split("\n") if text else ():
        key, status, config_json = json.loads(line)
        rows[key] = {"config_json": config_json, "status": status}
    return rows


def row_digests(rows: Rows) -> dict[str, str]:
    return {key: row_digest(row) for key, row in rows.items()}


def diff_digests(old: Digests, new: Digests) -> RowDiff:
    """Which stream keys a change adds, changes and removes (each sorted)."""
    return RowDiff(
        added=tuple(sorted(set(new) - set(old))),
        changed=tuple(sorted(k for k in set(new) & set(old) if new[k] != old[k])),
        removed=tuple(sorted(set(old) - set(new))),
    )


def diff_rows(old: Rows, new: Rows) -> RowDiff:
    return diff_digests(row_digests(old), row_digests(new))


def rows_to_write(desired: Rows, current: Rows) -> tuple[str, ...]:
    """The desired rows that the table lacks or holds with other values (sorted)."""
    return tuple(sorted(k for k, row in desired.items() if k not in current or _values(current[k]) != _values(row)))


def upsert_batches(rows: Rows, keys: Iterable[str]) -> list[tuple[list[str], list[str], list[str]]]:
    """The parameters of `upsert_rows`: (keys, configs, statuses) per batch of at most BATCH_ROWS rows."""
    selected = list(keys)
    batches = [selected[i : i + BATCH_ROWS] for i in range(0, len(selected), BATCH_ROWS)]
    return [
        (list(batch), [rows[k]["config_json"] for k in batch], [rows[k]["status"] for k in batch]) for batch in batches
    ]
