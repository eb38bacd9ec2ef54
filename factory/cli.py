"""`python <platform>_factory_dag.py [--json] [--cache]`: what the factory would create from the live table (or,
with --cache, from this user's last good configuration), without Airflow; `--history <stream_key>` shows every
change of one stream's row instead (factory/history.py)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from factory.config import INGESTION_TASK_ID, SYNC_TASK_ID, FactoryConfig
from factory.history import history_main
from factory.streams import pod_spec, secret_refs, stream_tags, valid_specs
from factory.table import (
    ConfigUnavailable,
    Row,
    cache_dir,
    cached_configurations,
    connection_settings,
    query_active_rows,
)


def describe_plan(cfg: FactoryConfig, rows: list[Row], source: str) -> dict[str, Any]:
    specs, skipped = valid_specs(cfg, rows)
    dags: list[dict[str, Any]] = [
        {"dag_id": cfg.factory_dag_id, "schedule": cfg.factory_schedule, "tags": cfg.factory_tags, "task": SYNC_TASK_ID}
    ]
    for spec in specs:
        pod = pod_spec(cfg, spec)
        dags.append(
            {
                "dag_id": spec["dag_id"],
                "schedule": spec["schedule"],
                "tags": stream_tags(cfg, spec["stream_key"]),
                "task": INGESTION_TASK_ID,
                "namespace": pod["namespace"],
                "image": pod["image"],
                "command": pod["cmds"] + pod["arguments"],
                "secrets": [{"env": env, "secret": name, "key": key} for env, name, key in secret_refs(cfg)],
            }
        )
    return {"platform": cfg.platform, "table": cfg.dsg_table, "source": source, "dags": dags, "skipped": skipped}


def print_plan(plan: dict[str, Any]) -> None:
    print(
        f"Factory DAG file for platform {plan['platform']}: {len(plan['dags'])} DAGs from {plan['table']} "
        f"(source: {plan['source']})"
    )
    for dag in plan["dags"]:
        print(f"  {dag['dag_id']}  schedule={dag['schedule']!r}  tags={dag['tags']}")
        if "command" in dag:
            print(f"      pod in namespace {dag['namespace']}, image {dag['image']}")
            print(f"      command: {' '.join(dag['command'])}")
            for ref in dag["secrets"]:
                print(f"      env {ref['env']} <- Secret {ref['secret']} key {ref['key']}")
    for key, why in plan["skipped"].items():
        print(f"  SKIPPED {key}: {why}")


USAGE = "usage: python <dag file> [--json] [--cache] | --history <stream_key> [--json]"
# Exit codes of the plan command: 0 every row builds its DAG; 1 the table cannot be read (no database
# settings, database down) or no cache was found; 2 a row would be skipped by Airflow's parse.
EXIT_UNREADABLE = 1
EXIT_ROWS_SKIPPED = 2


def show(plan: dict[str, Any], argv: list[str]) -> int:
    if "--json" in argv:
        print(json.dumps(plan, indent=2))
    else:
        print_plan(plan)
    return EXIT_ROWS_SKIPPED if plan["skipped"] else 0


def show_cache(cfg: FactoryConfig, argv: list[str]) -> int:
    """--cache: what the last good configuration of this user's cache holds, asked for explicitly."""
    found = cached_configurations(cfg)
    if not found:
        print(f"{cfg.factory_dag_id}: no last good configuration of {cfg.dsg_table} in {cache_dir()}", file=sys.stderr)
        return EXIT_UNREADABLE
    worst = 0
    for database, path, rows in found:
        worst = max(worst, show(describe_plan(cfg, rows, f"cache {path}, last good read of {database}"), argv))
    return worst


def main(cfg: FactoryConfig, argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    if "--history" in argv:
        return history_main(cfg, argv)
    unknown = [arg for arg in argv if arg not in ("--json", "--cache")]
    if unknown:
        print(USAGE, file=sys.stderr)
        return EXIT_UNREADABLE
    if "--cache" in argv:
        return show_cache(cfg, argv)
    try:
        connection_settings(cfg)
    except ConfigUnavailable as err:
        print(
            f"{cfg.factory_dag_id}: no database settings ({err}): run this where the Airflow workloads have "
            "them (e.g. kubectl exec into the scheduler), or pass --cache for the last good configuration",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    try:
        rows = query_active_rows(cfg, purpose="cli")
    except ConfigUnavailable as err:
        print(
            f"{cfg.factory_dag_id}: cannot read {cfg.dsg_table} ({err}); pass --cache for the last good configuration",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    return show(describe_plan(cfg, rows, "database"), argv)


def run(cfg: FactoryConfig) -> None:
    sys.exit(main(cfg, sys.argv[1:]))
