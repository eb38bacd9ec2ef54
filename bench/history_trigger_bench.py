"""What the dsg table's history trigger costs the DsgTable provider: its first apply of N rows and an
apply that changes one row, on a table without the trigger and on one with it (FactoryTables installed).

Each case runs on a fresh database of one embedded PostgreSQL, called through the providers directly
(no engine), best of --repeat, and prints the seconds and the ratio with / without from one run.

    .venv/bin/python bench/history_trigger_bench.py [--sizes 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.dsg_table import DsgTableProvider  # noqa: E402
from components.factory_tables import FactoryTablesProvider  # noqa: E402
from components.factory_tables_sql import Tables  # noqa: E402
from components.naming import PlatformNames  # noqa: E402
from devtools.embedded_pg import EmbeddedPostgres  # noqa: E402
from devtools.net import free_port  # noqa: E402

NAMES = PlatformNames("yellowlive", "postgres")


def rows(n: int, changed: str | None = None) -> dict[str, dict[str, str]]:
    out = {}
    for i in range(n):
        key = f"Store{i:05d}"
        schedule = "@daily" if key == changed else "@hourly"
        config = {"store_name": key, "schedule_string": schedule, "ingestion_type": "sql_snapshot"}
        out[key] = {"config_json": json.dumps(config, sort_keys=True, separators=(",", ":")), "status": "active"}
    return out


def one_case(server: EmbeddedPostgres, n: int, with_history: bool) -> tuple[float, float]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = {"host": server.host, "port": server.port, "dbname": name, "user": server.user, "password": server.password}
    base["sslmode"] = "disable"
    try:
        if with_history:
            FactoryTablesProvider().create(
                {**base, "tables": vars(Tables.of(NAMES)), "grants": {}, "public_revoked": {}}
            )
        provider = DsgTableProvider()
        props = {**base, "table": NAMES.dsg_table, "grant_to": None, "rows": rows(n)}
        started = time.perf_counter()
        created = provider.create(props)
        first = time.perf_counter() - started
        changed = {**props, "rows": rows(n, changed="Store00000")}
        olds = {**created.outs, "password": server.password}
        started = time.perf_counter()
        provider.update("id", olds, changed)
        one = time.perf_counter() - started
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    return first, one


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, EmbeddedPostgres(Path(folder), free_port(), "bench-pw") as server:
        print(
            "| N | first apply, no trigger | with trigger | ratio | one row changed, no trigger | with trigger "
            "| ratio |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in args.sizes:
            plain = [one_case(server, n, False) for _ in range(args.repeat)]
            history = [one_case(server, n, True) for _ in range(args.repeat)]
            p_first, p_one = min(f for f, _ in plain), min(o for _, o in plain)
            h_first, h_one = min(f for f, _ in history), min(o for _, o in history)
            print(
                f"| {n} | {p_first:.3f} s | {h_first:.3f} s | {h_first / p_first:.2f} | "
                f"{p_one:.3f} s | {h_one:.3f} s | {h_one / p_one:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
