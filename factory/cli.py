"""`python <platform>_factory_dag.py [--json]`: what the factory would create from the live table, without Airflow;
`--history <stream_key>` shows every change of one stream's row instead (factory/history.py)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from factory.config import INGESTION_TASK_ID, SYNC_TASK_ID, FactoryConfig
from factory.history import history_main
from factory.streams import pod_spec, secret_refs, stream_tags, valid_specs
from factory.table import ConfigUnavailable, Row, cache_path, query_active_rows, read_cache


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


def main(cfg: FactoryConfig, argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    if "--history" in argv:
        return history_main(cfg, argv)
    try:
        rows, source = query_active_rows(cfg, purpose="cli"), "database"
    except ConfigUnavailable as err:
        cfg.log.error("%s: cannot read %s (%s)", cfg.factory_dag_id, cfg.dsg_table, err)
        rows, source = read_cache(cfg) or [], "cache " + cache_path(cfg)
    plan = describe_plan(cfg, rows, source)
    if "--json" in argv:
        print(json.dumps(plan, indent=2))
    else:
        print_plan(plan)
    return 0 if source == "database" else 1


def run(cfg: FactoryConfig) -> None:
    sys.exit(main(cfg, sys.argv[1:]))
