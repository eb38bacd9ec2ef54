"""The deployment smoke job: what an ingestion task's pod runs where DataSurface's own job image is not
available. It is not DataSurface and moves no data; it checks that the deployment gave the pod what a real
job needs, and says so in the task log:

  1. the command line the factory gives (`--platform-name P --store-name S --operation snapshot-merge
     [--dataset-name D]`; the image answers to `python -m datasurface.platforms.yellow.jobs`);
  2. DATASURFACE_POSTGRES_HOST resolves (the address is printed);
  3. the one `<credential>_USER` / `<credential>_PASSWORD` pair in the environment (the Secret's values, by
     secretKeyRef) logs in to DATASURFACE_POSTGRES_DATABASE on DATASURFACE_POSTGRES_PORT;
  4. that role reads its stream's row from `<platform>_airflow_dsg` (the rows whose config's store_name is S,
     and dataset_name D when given), and every credential the row names has its pair in the environment.

It prints what it found and exits 0; the first check that fails ends it with one line saying what failed
and exit code 1 (2 for a bad command line). Standard library and psycopg only (Debian's python3-psycopg).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

HOST_ENV = "DATASURFACE_POSTGRES_HOST"
PORT_ENV = "DATASURFACE_POSTGRES_PORT"
DATABASE_ENV = "DATASURFACE_POSTGRES_DATABASE"
OPERATION = "snapshot-merge"
CONNECT_TIMEOUT_SECONDS = 10
PROG = "python -m datasurface.platforms.yellow.jobs"


class SmokeFailure(Exception):
    """One check failed; the message says which and why, in one line."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    database: str
    credential: str  # the <credential> of the <credential>_USER / _PASSWORD pair
    user: str
    password: str


def dsg_table(platform: str) -> str:
    """The platform's stream table, named as the deployment names it."""
    return f"{platform}_airflow_dsg"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Deployment smoke job (not DataSurface): checks the database host, login and the stream's "
        "row that an ingestion pod is given, prints them, and exits 0, or 1 naming what failed.",
    )
    parser.add_argument("--platform-name", required=True)
    parser.add_argument("--store-name", required=True)
    parser.add_argument("--operation", required=True, choices=[OPERATION])
    parser.add_argument("--dataset-name", default=None)
    return parser.parse_args(argv)


def credential_names(environ: Mapping[str, str]) -> list[str]:
    """The <name>s with both <name>_USER and <name>_PASSWORD set, sorted."""
    return sorted(
        name[: -len("_USER")]
        for name, value in environ.items()
        if name.endswith("_USER") and value and environ.get(name[: -len("_USER")] + "_PASSWORD")
    )


def target_from(environ: Mapping[str, str]) -> Target:
    missing = [name for name in (HOST_ENV, PORT_ENV, DATABASE_ENV) if not environ.get(name)]
    if missing:
        raise SmokeFailure(f"{', '.join(missing)} not set in the pod's environment")
    port_text = environ[PORT_ENV]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SmokeFailure(f"{PORT_ENV}={port_text!r} is not a port number")
    names = credential_names(environ)
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise SmokeFailure(
            f"expected one <credential>_USER/<credential>_PASSWORD pair in the environment, found {found}"
        )
    [name] = names
    return Target(
        environ[HOST_ENV],
        int(port_text),
        environ[DATABASE_ENV],
        name,
        environ[f"{name}_USER"],
        environ[f"{name}_PASSWORD"],
    )


def resolve(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise SmokeFailure(f"{HOST_ENV} {host!r} does not resolve: {err}") from None
    return str(infos[0][4][0])


def matching_rows(
    rows: Sequence[tuple[str, Any, Any]], store: str, dataset: str | None
) -> list[tuple[str, dict[str, Any], str]]:
    """(stream_key, config, status) of the rows whose config names the store (and the dataset when given);
    rows whose config_json is not a JSON object are someone else's problem and are left out."""
    found = []
    for stream_key, config_json, status in rows:
        try:
            config = json.loads(config_json)
        except (TypeError, ValueError):
            continue
        if not isinstance(config, dict) or config.get("store_name") != store:
            continue
        if dataset and (config.get("dataset_name") or None) != dataset:
            continue
        found.append((str(stream_key), config, str(status)))
    return found


def missing_credentials(config: dict[str, Any], environ: Mapping[str, str]) -> list[str]:
    names = config.get("credential_names") or []
    present = set(credential_names(environ))
    return [str(name) for name in names if name not in present]


def read_rows(target: Target, address: str, table: str) -> list[tuple[str, Any, Any]]:
    try:
        conn = psycopg.connect(
            host=target.host,
            hostaddr=address,
            port=target.port,
            dbname=target.database,
            user=target.user,
            password=target.password,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="deployment-smoke-job",
        )
    except psycopg.Error as err:
        raise SmokeFailure(
            f"cannot log in to database {target.database!r} at {target.host}:{target.port} as {target.user!r} "
            f"({target.credential}_USER): {_one_line(err)}"
        ) from None
    with conn:
        try:
            query = sql.SQL("SELECT stream_key, config_json, status FROM {} ORDER BY stream_key")
            return list(conn.execute(query.format(sql.Identifier(table))).fetchall())
        except psycopg.Error as err:
            raise SmokeFailure(f"{target.user!r} cannot read {table}: {_one_line(err)}") from None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    """The checks, in order; returns the lines to print."""
    target = target_from(environ)
    address = resolve(target.host, target.port)
    lines = [f"{HOST_ENV} {target.host} resolves to {address}"]
    table = dsg_table(args.platform_name)
    rows = read_rows(target, address, table)
    lines.append(
        f"logged in to {target.database} at {target.host}:{target.port} as {target.user} "
        f"({target.credential}_USER); {table} has {len(rows)} row(s)"
    )
    found = matching_rows(rows, args.store_name, args.dataset_name)
    wanted = f"store_name {args.store_name!r}" + (
        f" and dataset_name {args.dataset_name!r}" if args.dataset_name else ""
    )
    if not found:
        raise SmokeFailure(f"no row of {table} has {wanted}")
    for stream_key, config, status in found:
        missing = missing_credentials(config, environ)
        if missing:
            raise SmokeFailure(f"row {stream_key!r} needs credentials {', '.join(missing)} that the pod was not given")
        lines.append(f"row {stream_key!r} ({status}): {json.dumps(config, sort_keys=True)}")
    lines.append(f"deployment smoke job: {args.operation} of {wanted} on {args.platform_name}: all checks passed")
    return lines


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    args = parse_args(argv)
    try:
        lines = run(args, environ)
    except SmokeFailure as failure:
        print(f"deployment smoke job FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
