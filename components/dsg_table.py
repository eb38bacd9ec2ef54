"""The `<platform>_airflow_dsg` table and its seed rows, as a Pulumi dynamic resource (psycopg 3).

The provider object is pickled into the state by reference and holds nothing: connection
parameters and the password arrive as inputs on every call (the password as a secret), and each
call opens and closes its own connection.

Row semantics: the resource manages the rows it declares. A row removed from config is deleted
from the table; rows written by anyone else are left alone. Destroying the resource drops the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import wrap_rpc_secret

from components import dsg_sql
from components.admin_connection import connect_admin

# Changing any of these points the resource at another table: a replacement, not an update.
_IDENTITY_FIELDS = ("host", "port", "dbname", "table")


def _connect(props: Mapping[str, Any]) -> psycopg.Connection:
    return connect_admin(
        host=props["host"],
        port=props["port"],
        dbname=props["dbname"],
        user=props["user"],
        password=props["password"],
        sslmode=props.get("sslmode"),
    )


def _resource_id(props: Mapping[str, Any]) -> str:
    return f"{props['host']}:{int(props['port'])}/{props['dbname']}/{props['table']}"


def _outs(props: Mapping[str, Any], change: dsg_sql.RowDiff) -> dict[str, Any]:
    outs = dict(props)
    outs["password"] = wrap_rpc_secret(props["password"])
    outs["row_count"] = len(props.get("rows") or {})
    outs["last_change"] = change.summary()
    return outs


def apply_rows(
    conn: psycopg.Connection, table: str, grant_to: str | None, old_rows: dsg_sql.Rows, new_rows: dsg_sql.Rows
) -> dsg_sql.RowDiff:
    """Bring the table's managed rows from `old_rows` to `new_rows` in one transaction."""
    change = dsg_sql.diff_rows(old_rows, new_rows)
    with conn.transaction():
        with conn.cursor() as cur:
            for statement in dsg_sql.create_table(table):
                cur.execute(statement)
            if grant_to:
                cur.execute(dsg_sql.grant_rows_access(table, grant_to))
            # Upsert every declared row, not only the diff: it heals rows edited out of band, and
            # the statement's WHERE clause leaves unchanged rows untouched.
            params = dsg_sql.upsert_params(new_rows)
            if params:
                cur.executemany(dsg_sql.upsert_rows(table), params)
            if change.removed:
                cur.execute(dsg_sql.delete_rows(table), (list(change.removed),))
    return change


class DsgTableProvider(ResourceProvider):
    """CRUD for the dsg table; stateless, so the pickled provider carries no secret."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _connect(props) as conn:
            change = apply_rows(conn, props["table"], props.get("grant_to"), {}, props.get("rows") or {})
        return CreateResult(id_=_resource_id(props), outs=_outs(props, change))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [f for f in _IDENTITY_FIELDS if olds.get(f) != news.get(f)]
        rows_changed = not dsg_sql.diff_rows(olds.get("rows") or {}, news.get("rows") or {}).empty
        others_changed = any(olds.get(f) != news.get(f) for f in ("user", "password", "sslmode", "grant_to"))
        return DiffResult(
            changes=bool(replaces) or rows_changed or others_changed,
            replaces=replaces,
            delete_before_replace=True,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with _connect(news) as conn:
            change = apply_rows(
                conn, news["table"], news.get("grant_to"), olds.get("rows") or {}, news.get("rows") or {}
            )
        return UpdateResult(outs=_outs(news, change))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with _connect(props) as conn:
            conn.execute(dsg_sql.drop_table(props["table"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: report the managed rows as they are in the table now."""
        with _connect(props) as conn:
            found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (props["table"],)).fetchone()
            if not (found and found[0]):
                return ReadResult(id_=None, outs={})
            current = {
                key: {"config_json": config_json, "status": status}
                for key, config_json, status in conn.execute(dsg_sql.select_rows(props["table"]))
            }
        managed = {k: v for k, v in current.items() if k in (props.get("rows") or {})}
        outs = dict(props)
        outs["rows"] = managed
        outs["password"] = wrap_rpc_secret(props["password"])
        return ReadResult(id_=id_, outs=outs)


@dataclass
class DsgTableArgs:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    dbname: pulumi.Input[str]
    user: pulumi.Input[str]
    password: pulumi.Input[str]
    table: str
    rows: Mapping[str, Mapping[str, str]]
    sslmode: str = "prefer"
    grant_to: pulumi.Input[str] | None = None


class DsgTable(Resource, module="datasurface", name="DsgTable"):
    """The dsg table with its seed rows. `rows` maps stream_key to {config_json, status}."""

    rows: pulumi.Output[dict]
    row_count: pulumi.Output[int]
    last_change: pulumi.Output[str]

    def __init__(self, name: str, args: DsgTableArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "host": args.host,
            "port": args.port,
            "dbname": args.dbname,
            "user": args.user,
            "password": pulumi.Output.secret(args.password),
            "sslmode": args.sslmode,
            "table": args.table,
            "grant_to": args.grant_to,
            "rows": {k: dict(v) for k, v in args.rows.items()},
            "row_count": None,
            "last_change": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"]))
        super().__init__(DsgTableProvider(), name, props, opts)
