"""The lifecycle: the ledger of the previous sync and the audit trail, in the merge database.

The stack declares both tables (components/factory_tables_sql.py) and the history of the dsg table that
each change is traced to; the login role the file runs as may only read and write their rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from factory.config import FactoryConfig, quote_ident
from factory.table import connect, connection_settings

Hashes = dict[str, str]  # stream_key -> config hash
Plan = dict[str, list[str]]  # created / updated / removed / unchanged -> stream keys

CHANGES = ("created", "updated", "removed")


@dataclass(frozen=True)
class HistoryEntry:
    """One row of the dsg table's history: the change of a stream's row, and who made it."""

    id: int
    operation: str
    changed_at: Any
    session_role: str
    acting_role: str


History = dict[str, HistoryEntry]  # stream_key -> the history entry behind its change


def sync_lock_key(cfg: FactoryConfig) -> int:
    """One sync at a time per platform: a transaction-level advisory lock keyed on the ledger's name."""
    return int.from_bytes(hashlib.sha256(cfg.ledger_table.encode()).digest()[:8], "big") >> 1


def plan_changes(previous: Hashes, current: Hashes) -> Plan:
    """Compare {stream_key: hash} of the previous sync with now: created, updated, removed, unchanged."""
    return {
        "created": sorted(set(current) - set(previous)),
        "updated": sorted(k for k in set(current) & set(previous) if current[k] != previous[k]),
        "removed": sorted(set(previous) - set(current)),
        "unchanged": sorted(k for k in set(current) & set(previous) if current[k] == previous[k]),
    }


def total_changes(plan: Plan) -> int:
    return sum(len(plan[change]) for change in CHANGES)


def prepare_ledger(cfg: FactoryConfig, conn: Any) -> Hashes:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (sync_lock_key(cfg),))
    rows = conn.execute(f"SELECT stream_key, config_hash FROM {quote_ident(cfg.ledger_table)}").fetchall()
    return {key: value for key, value in rows}


def history_query(cfg: FactoryConfig) -> str:
    """Per stream, its latest history entry that changed the row's config or status into what the sync
    saw: for a created or updated stream, the config text read and active; for a removed one, any."""
    return (
        "SELECT DISTINCT ON (h.stream_key) h.stream_key, h.id, h.operation, h.changed_at, h.session_role, "
        f"h.acting_role FROM {quote_ident(cfg.history_table)} AS h "
        "JOIN unnest(%s::text[], %s::text[]) AS seen(stream_key, config_json) ON h.stream_key = seen.stream_key "
        "WHERE (seen.config_json IS NULL OR "
        "(h.new_row->>'config_json' = seen.config_json AND h.new_row->>'status' = 'active')) "
        "AND (h.old_row IS NULL OR h.new_row IS NULL OR (h.old_row->>'config_json', h.old_row->>'status') "
        "IS DISTINCT FROM (h.new_row->>'config_json', h.new_row->>'status')) "
        "ORDER BY h.stream_key, h.id DESC"
    )


def history_behind(cfg: FactoryConfig, conn: Any, plan: Plan, configs: dict[str, Any]) -> History:
    """The history entry behind each change of `plan`; `configs` holds the config_json text the sync read."""
    keys = [key for change in CHANGES for key in plan[change]]
    if not keys:
        return {}
    texts = [configs.get(key) if key not in plan["removed"] else None for key in keys]
    rows = conn.execute(history_query(cfg), (keys, [t if isinstance(t, str) else None for t in texts])).fetchall()
    return {key: HistoryEntry(*entry) for key, *entry in rows}


def apply_changes(
    cfg: FactoryConfig,
    conn: Any,
    plan: Plan,
    previous: Hashes,
    current: Hashes,
    run_id: Any,
    history: History | None = None,
) -> None:
    ledger, audit = quote_ident(cfg.ledger_table), quote_ident(cfg.audit_table)
    for key in plan["created"]:
        conn.execute(
            f"INSERT INTO {ledger} (stream_key, dag_id, config_hash) VALUES (%s, %s, %s)",
            (key, cfg.dag_id_for(key), current[key]),
        )
    for key in plan["updated"]:
        conn.execute(
            f"UPDATE {ledger} SET config_hash = %s, updated_at = now() WHERE stream_key = %s", (current[key], key)
        )
    for key in plan["removed"]:
        conn.execute(f"DELETE FROM {ledger} WHERE stream_key = %s", (key,))
    entries = history or {}
    audit_rows = [
        (key, cfg.dag_id_for(key), change, previous.get(key), current.get(key), run_id, _entry_id(entries, key))
        for change in CHANGES
        for key in plan[change]
    ]
    if audit_rows:
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {audit} (stream_key, dag_id, change, old_hash, new_hash, run_id, history_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                audit_rows,
            )


def _entry_id(history: History, key: str) -> int | None:
    entry = history.get(key)
    return entry.id if entry else None


def record_lifecycle(
    cfg: FactoryConfig, current: Hashes, run_id: Any = None, configs: dict[str, Any] | None = None
) -> tuple[Hashes, Plan, History]:
    """Diff the current {stream_key: hash} against the ledger, trace each change to its history entry,
    record it; returns (previous, plan, history). `configs`: stream_key -> the config_json text read."""
    conn = connect(cfg, connection_settings(cfg), "sync")
    try:
        with conn.transaction():
            previous = prepare_ledger(cfg, conn)
            plan = plan_changes(previous, current)
            history = history_behind(cfg, conn, plan, configs or {})
            apply_changes(cfg, conn, plan, previous, current, run_id, history)
    finally:
        conn.close()
    return previous, plan, history
