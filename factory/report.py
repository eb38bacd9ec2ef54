"""The lifecycle report, in the shape operators know from the factory's logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factory.config import FactoryConfig
from factory.lifecycle import Hashes, History, HistoryEntry, Plan, total_changes


def history_line(cfg: FactoryConfig, entry: HistoryEntry | None) -> str:
    """Who made the change a report line is about: its entry in the dsg table's history."""
    if entry is None:
        return f"📜 no entry in {cfg.history_table} (the change predates it)"
    who = entry.acting_role
    if entry.session_role != entry.acting_role:
        who += f" (logged in as {entry.session_role})"
    return f"📜 {cfg.history_table} #{entry.id}: {entry.operation} by {who} at {entry.changed_at}"


def report_section(
    cfg: FactoryConfig,
    title: str,
    keys: list[str],
    line: str,
    reason: Callable[[str], str],
    history: History | None = None,
) -> list[str]:
    if not keys:
        return []
    lines = [title]
    for key in keys:
        lines += [f"   {line}: {cfg.dag_id_for(key)}", f"      → {reason(key)}"]
        if history is not None:
            lines.append(f"      {history_line(cfg, history.get(key))}")
    return lines


def report_scan(cfg: FactoryConfig, previous: Hashes, current: Hashes, skipped: dict[str, str]) -> list[str]:
    lines = [
        "=" * 80,
        "🏭 FACTORY DAG EXECUTION - Dynamic DAG Lifecycle Management",
        f"📍 Platform: {cfg.platform}",
        "=" * 80,
        "🔍 Scanning for existing factory-managed DAGs...",
        f"   Found {len(previous)} existing DAGs from previous factory runs (ledger {cfg.ledger_table})",
        "📊 Loading current configurations from database...",
        f"   Found {len(current)} active configurations in database ({cfg.dsg_table})",
    ]
    if skipped:
        lines.append(f"   ⚠️  Skipped {len(skipped)} invalid rows:")
        lines += [f"      ⚠️  {key}: {why}" for key, why in sorted(skipped.items())]
    return lines + ["", "📋 LIFECYCLE ANALYSIS:"]


def report_analysis(plan: Plan) -> list[str]:
    return [
        f"   🆕 To Create: {len(plan['created'])} DAGs",
        f"   🗑️  To Remove: {len(plan['removed'])} DAGs",
        f"   🔄 To Update: {len(plan['updated'])} DAGs",
        f"   ✔️  Unchanged: {len(plan['unchanged'])} DAGs",
        "",
    ]


def report_changes(
    cfg: FactoryConfig, previous: Hashes, current: Hashes, plan: Plan, history: History | None = None
) -> list[str]:
    lines = ["=" * 60, "🔄 EXECUTING DAG LIFECYCLE CHANGES", "=" * 60]
    lines += report_section(
        cfg,
        "🗑️  REMOVING OBSOLETE DAGs:",
        plan["removed"],
        "🗑️  REMOVED",
        lambda k: f"No longer active in {cfg.dsg_table}; the DAG file stops producing it",
        history,
    )
    lines += report_section(
        cfg,
        "🆕 CREATING NEW DAGs:",
        plan["created"],
        "✅ CREATED",
        lambda k: "New configuration found in database",
        history,
    )
    lines += report_section(
        cfg,
        "🔄 UPDATING EXISTING DAGs:",
        plan["updated"],
        "🔄 UPDATED",
        lambda k: f"Configuration changed (hash {previous[k][:12]} → {current[k][:12]})",
        history,
    )
    if not total_changes(plan):
        lines.append("   No changes since the previous sync")
    return lines


def report_summary(cfg: FactoryConfig, current: Hashes, plan: Plan) -> list[str]:
    lines = ["", "=" * 60, "📋 FACTORY DAG LIFECYCLE SUMMARY", "=" * 60]
    for title, change in (
        ("🗑️  REMOVED DAGS:", "removed"),
        ("✅ CREATED DAGS:", "created"),
        ("🔄 UPDATED DAGS:", "updated"),
    ):
        if plan[change]:
            lines += [title] + [f"   → {cfg.dag_id_for(key)}" for key in plan[change]]
    return lines + [
        "",
        f"📊 TOTAL CHANGES: {total_changes(plan)}",
        f"📊 ACTIVE DAGS: {len(current)} (after lifecycle management)",
        "",
        f"💡 Changes recorded in {cfg.ledger_table} and {cfg.audit_table}",
        "💡 Removed DAGs are no longer produced by this file; the dag-processor marks them stale",
        "💡 Dynamic DAGs are available in the Airflow UI",
        "=" * 80,
    ]


def report_lines(
    cfg: FactoryConfig,
    previous: Hashes,
    current: Hashes,
    plan: Plan,
    skipped: dict[str, str],
    history: History | None = None,
) -> list[str]:
    """The lifecycle report: what was there, what is there now, and each change, one line per DAG, with the
    history entry behind it when `history` is given."""
    return (
        report_scan(cfg, previous, current, skipped)
        + report_analysis(plan)
        + report_changes(cfg, previous, current, plan, history)
        + report_summary(cfg, current, plan)
    )


def lifecycle_summary(
    cfg: FactoryConfig,
    previous: Hashes,
    current: Hashes,
    plan: Plan,
    skipped: dict[str, str],
    history: History | None = None,
) -> dict[str, Any]:
    return {
        "platform": cfg.platform,
        "previous": len(previous),
        "active": len(current),
        "created": [cfg.dag_id_for(k) for k in plan["created"]],
        "updated": [cfg.dag_id_for(k) for k in plan["updated"]],
        "removed": [cfg.dag_id_for(k) for k in plan["removed"]],
        "unchanged": len(plan["unchanged"]),
        "skipped": dict(sorted(skipped.items())),
        "total_changes": total_changes(plan),
        "history": {cfg.dag_id_for(k): entry.id for k, entry in sorted((history or {}).items())},
    }
