"""The `<platform>_airflow_dsg` table and its seed rows, as a Pulumi dynamic resource (psycopg 3).

The provider object is pickled into the state by reference and holds nothing: connection
parameters and the password arrive as inputs on every call (the password as a secret), and each
call opens and closes its own connection.

Row semantics: the resource manages the rows it declares. A row removed from config is deleted
from the table; rows written by anyone else are left alone. Destroying the resource drops the table.

The rows are held once in the state. The engine keeps a dynamic resource's inputs (which must carry
the rows: create and update receive only them) and its outputs (the only old values diff, update and
refresh receive). So the outputs hold `row_digests`, stream_key -> a 16-hex digest of the row, instead
of a second copy of the rows; a state written before them holds `rows` in the outputs, read the same way.
In the inputs the rows are one text, a line per row (`dsg_sql.rows_text`): a map of 10,000 rows cost the
program, the engine and this provider's process per row on every preview; inputs written before hold the
map, read the same way.
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


def _rows(props: Mapping[str, Any]) -> dsg_sql.Rows:
    """The declared rows: `rows_text` in inputs; a map in inputs and outputs written before."""
    rows = props.get("rows") or {}
    return dsg_sql.rows_from_text(rows) if isinstance(rows, str) else rows


def _old_digests(olds: Mapping[str, Any]) -> dsg_sql.Digests:
    """The digests of the rows last applied (or refreshed), from old outputs of either shape."""
    digests = olds.get("row_digests")
    return digests if digests is not None else dsg_sql.row_digests(_rows(olds))


def _state_outs(props: Mapping[str, Any], digests: dsg_sql.Digests) -> dict[str, Any]:
    outs = {k: v for k, v in props.items() if k != "rows"}
    outs["password"] = wrap_rpc_secret(props["password"])
    outs["row_digests"] = dict(digests)
    return outs


def _outs(props: Mapping[str, Any], change: dsg_sql.RowDiff) -> dict[str, Any]:
    outs = _state_outs(props, dsg_sql.row_digests(_rows(props)))
    outs["row_count"] = len(_rows(props))
    outs["last_change"] = change.summary()
    return outs


def _table_rows(cur: psycopg.Cursor, table: str, keys: list[str]) -> dict[str, dict[str, str]]:
    cur.execute(dsg_sql.select_rows(table), (keys,))
    return {key: {"config_json": config_json, "status": status} for key, config_json, status in cur}


def apply_rows(
    conn: psycopg.Connection, table: str, grant_to: str | None, new_rows: dsg_sql.Rows, removed: tuple[str, ...]
) -> None:
    """Bring the table's managed rows to `new_rows` and delete the `removed` keys, in one transaction.

    Rows are compared with the table, not with the state, so a row edited or deleted out of band is
    written back, and a row the table already holds as declared is not touched (not even locked).
    """
    with conn.transaction(), conn.cursor() as cur:
        for statement in dsg_sql.create_table(table):
            cur.execute(statement)
        if grant_to:
            cur.execute(dsg_sql.grant_rows_access(table, grant_to))
        stale = dsg_sql.rows_to_write(new_rows, _table_rows(cur, table, sorted(new_rows)))
        if stale:
            cur.executemany(dsg_sql.upsert_rows(table), dsg_sql.upsert_batches(new_rows, stale))
        if removed:
            cur.execute(dsg_sql.delete_rows(table), (list(removed),))


class DsgTableProvider(ResourceProvider):
    """CRUD for the dsg table; stateless, so the pickled provider carries no secret."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _connect(props) as conn:
            apply_rows(conn, props["table"], props.get("grant_to"), _rows(props), ())
        change = dsg_sql.diff_digests({}, dsg_sql.row_digests(_rows(props)))
        return CreateResult(id_=_resource_id(props), outs=_outs(props, change))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [f for f in _IDENTITY_FIELDS if olds.get(f) != news.get(f)]
        rows_changed = dsg_sql.row_digests(_rows(news)) != _old_digests(olds)
        others_changed = any(olds.get(f) != news.get(f) for f in ("user", "password", "sslmode", "grant_to"))
        return DiffResult(
            changes=bool(replaces) or rows_changed or others_changed,
            replaces=replaces,
            delete_before_replace=True,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        change = dsg_sql.diff_digests(_old_digests(olds), dsg_sql.row_digests(_rows(news)))
        with _connect(news) as conn:
            apply_rows(conn, news["table"], news.get("grant_to"), _rows(news), change.removed)
        return UpdateResult(outs=_outs(news, change))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with _connect(props) as conn:
            conn.execute(dsg_sql.drop_table(props["table"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the digests of the managed rows as they are in the table now; a deleted row has none."""
        with _connect(props) as conn, conn.cursor() as cur:
            found = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (props["table"],)).fetchone()
            if not (found and found[0]):
                return ReadResult(id_=None, outs={})
            current = _table_rows(cur, props["table"], sorted(_old_digests(props)))
        return ReadResult(id_=id_, outs=_state_outs(props, dsg_sql.row_digests(current)))


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
            "rows": dsg_sql.rows_text(args.rows),
            "row_count": None,
            "last_change": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"]))
        super().__init__(DsgTableProvider(), name, props, opts)
