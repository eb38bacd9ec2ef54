"""The lifecycle: the ledger of the previous sync and the audit trail, in the merge database."""

from __future__ import annotations

import hashlib
from typing import Any

from factory.config import FactoryConfig, quote_ident
from factory.table import connect, connection_settings

Hashes = dict[str, str]  # stream_key -> config hash
Plan = dict[str, list[str]]  # created / updated / removed / unchanged -> stream keys

CHANGES = ("created", "updated", "removed")


def ledger_ddl(cfg: FactoryConfig) -> list[str]:
    ledger, audit = quote_ident(cfg.ledger_table), quote_ident(cfg.audit_table)
    return [
        f"""
CREATE TABLE IF NOT EXISTS {ledger} (
    stream_key VARCHAR(255) PRIMARY KEY,
    dag_id VARCHAR(250) NOT NULL,
    config_hash CHAR(64) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
        f"""
CREATE TABLE IF NOT EXISTS {audit} (
    id BIGSERIAL PRIMARY KEY,
    stream_key VARCHAR(255) NOT NULL,
    dag_id VARCHAR(250) NOT NULL,
    change VARCHAR(10) NOT NULL CHECK (change IN ('created', 'updated', 'removed')),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    old_hash CHAR(64),
    new_hash CHAR(64),
    run_id VARCHAR(250)
)""",
        f"CREATE INDEX IF NOT EXISTS {quote_ident(cfg.audit_table + '_stream_idx')} "
        f"ON {audit} (stream_key, changed_at)",
    ]


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
    for ddl in ledger_ddl(cfg):
        conn.execute(ddl)
    rows = conn.execute(f"SELECT stream_key, config_hash FROM {quote_ident(cfg.ledger_table)}").fetchall()
    return {key: value for key, value in rows}


def apply_changes(cfg: FactoryConfig, conn: Any, plan: Plan, previous: Hashes, current: Hashes, run_id: Any) -> None:
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
    audit_rows = [
        (key, cfg.dag_id_for(key), change, previous.get(key), current.get(key), run_id)
        for change in CHANGES
        for key in plan[change]
    ]
    if audit_rows:
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {audit} (stream_key, dag_id, change, old_hash, new_hash, run_id) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                audit_rows,
            )


def record_lifecycle(cfg: FactoryConfig, current: Hashes, run_id: Any = None) -> tuple[Hashes, Plan]:
    """Diff the current {stream_key: hash} against the ledger, record it, return (previous, plan)."""
    conn = connect(cfg, connection_settings(cfg), "sync")
    try:
        with conn.transaction():
            previous = prepare_ledger(cfg, conn)
            plan = plan_changes(previous, current)
            apply_changes(cfg, conn, plan, previous, current, run_id)
    finally:
        conn.close()
    return previous, plan
