"""`python <platform>_factory_dag.py --history <stream_key> [--json]`: every change of one stream's row,
who made it and the row before and after, from the history table the stack's trigger fills."""

from __future__ import annotations

import json
from typing import Any

from factory.config import FactoryConfig, quote_ident
from factory.table import ConfigUnavailable, connect, connection_settings, describe_database

FIELDS = ("id", "operation", "changed_at", "session_role", "acting_role", "application", "old_row", "new_row")
SHOWN_COLUMNS = ("status", "config_json")  # what a change is about; the timestamps follow from the entry


def read_history(cfg: FactoryConfig, stream_key: str) -> list[dict[str, Any]]:
    """The stream's history entries, oldest first; ConfigUnavailable (one line) when they cannot be read."""
    settings = connection_settings(cfg)
    conn = connect(cfg, settings, "history")
    try:
        rows = conn.execute(
            f"SELECT {', '.join(FIELDS)} FROM {quote_ident(cfg.history_table)} WHERE stream_key = %s ORDER BY id",
            (stream_key,),
        ).fetchall()
    except Exception as err:
        raise ConfigUnavailable(f"cannot query {cfg.history_table} at {describe_database(settings)}: {err}") from err
    finally:
        conn.close()
    return [dict(zip(FIELDS, row, strict=True)) for row in rows]


def change_lines(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """What an entry changed in the row: each shown column's value before → after."""
    if old is None or new is None:
        row = new if old is None else old
        return [f"{column}: {(row or {}).get(column)}" for column in SHOWN_COLUMNS]
    changed = [c for c in SHOWN_COLUMNS if old.get(c) != new.get(c)]
    return [f"{c}: {old.get(c)} → {new.get(c)}" for c in changed] or ["(no change to status or config_json)"]


def who(entry: dict[str, Any]) -> str:
    text = f"by {entry['acting_role']}"
    if entry["session_role"] != entry["acting_role"]:
        text += f" (logged in as {entry['session_role']})"
    return text + (f", application {entry['application']!r}" if entry["application"] else "")


def history_lines(cfg: FactoryConfig, stream_key: str, entries: list[dict[str, Any]]) -> list[str]:
    lines = [f"History of stream {stream_key!r} in {cfg.dsg_table} ({cfg.history_table}): {len(entries)} entries"]
    for entry in entries:
        lines.append(f"  #{entry['id']}  {entry['changed_at']}  {entry['operation']}  {who(entry)}")
        lines += [f"      {line}" for line in change_lines(entry["old_row"], entry["new_row"])]
    return lines


def history_document(cfg: FactoryConfig, stream_key: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "platform": cfg.platform,
        "table": cfg.dsg_table,
        "history_table": cfg.history_table,
        "stream_key": stream_key,
        "entries": [{**entry, "changed_at": entry["changed_at"].isoformat()} for entry in entries],
    }


def history_main(cfg: FactoryConfig, argv: list[str]) -> int:
    """The history view of the stream named after `--history`; exit 1 when it cannot be read, 2 without a key."""
    position = argv.index("--history")
    if position + 1 >= len(argv) or argv[position + 1].startswith("--"):
        print("usage: python <dag file> --history <stream_key> [--json]")
        return 2
    stream_key = argv[position + 1]
    try:
        entries = read_history(cfg, stream_key)
    except ConfigUnavailable as err:
        cfg.log.error("%s: %s", cfg.factory_dag_id, err)
        return 1
    if "--json" in argv:
        print(json.dumps(history_document(cfg, stream_key, entries), indent=2, default=str))
    else:
        print("\n".join(history_lines(cfg, stream_key, entries)))
    return 0
