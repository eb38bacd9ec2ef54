"""SQL for the `<platform>_airflow_dsg` table and row-level diffs of its seed rows (pure).

Identifiers are composed with psycopg's `sql.Identifier` and values are always bound parameters,
so a stream key or config containing quotes or SQL stays data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from psycopg import sql

Row = Mapping[str, str]  # {"config_json": ..., "status": ...}
Rows = Mapping[str, Row]  # stream_key -> row


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
    """One statement per row, run as a batch; a row whose values are unchanged is not touched."""
    return sql.SQL(
        "INSERT INTO {t} AS t (stream_key, config_json, status) VALUES (%s, %s, %s) "
        "ON CONFLICT (stream_key) DO UPDATE SET "
        "config_json = EXCLUDED.config_json, status = EXCLUDED.status, updated_at = CURRENT_TIMESTAMP "
        "WHERE (t.config_json, t.status) IS DISTINCT FROM (EXCLUDED.config_json, EXCLUDED.status)"
    ).format(t=sql.Identifier(table))


def delete_rows(table: str) -> sql.Composed:
    return sql.SQL("DELETE FROM {} WHERE stream_key = ANY(%s)").format(sql.Identifier(table))


def select_rows(table: str) -> sql.Composed:
    return sql.SQL("SELECT stream_key, config_json, status FROM {} ORDER BY stream_key").format(sql.Identifier(table))


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
            f"{label}: {', '.join(keys)}"
            for label, keys in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            if keys
        ]
        return "; ".join(parts) if parts else "no row changes"


def _comparable(row: Row) -> tuple[str | None, str | None]:
    return (row.get("config_json"), row.get("status"))


def diff_rows(old: Rows, new: Rows) -> RowDiff:
    """Which stream keys a change adds, changes and removes (each sorted)."""
    return RowDiff(
        added=tuple(sorted(set(new) - set(old))),
        changed=tuple(sorted(k for k in set(new) & set(old) if _comparable(new[k]) != _comparable(old[k]))),
        removed=tuple(sorted(set(old) - set(new))),
    )


def upsert_params(rows: Rows, keys: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    selected = sorted(rows) if keys is None else keys
    return [(k, rows[k]["config_json"], rows[k]["status"]) for k in selected]
