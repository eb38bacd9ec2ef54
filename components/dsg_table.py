"""The `<platform>_airflow_dsg` table and its seed rows, as a Pulumi dynamic resource (psycopg 3).

The provider object is pickled into the state by reference and holds nothing: connection
parameters and the password arrive as inputs on every call (the password as a secret), and each
call opens and closes its own connection.

Row semantics: the resource manages the rows it declares. A row removed from config is deleted
from the table; rows written by anyone else are left alone.

What the resource is: a table (`table`) in a database (`dbname`). How Pulumi reaches it (host, port, user,
password, sslmode) is a route: a change of route (another spelling of the same server, another local port
of a port-forward, a rotated admin password) is an update that only re-points the state. Another database
or table name is a replacement, done create-first: the new table gets the seed rows, then the old one is
deleted. Deleting drops the table only when it holds no row but the ones this resource wrote; a table that
also holds rows of others keeps them (only this resource's rows are deleted) unless the stack opts in with
`dropRowsOfOthers: true`, an input the preview shows. Every delete logs what it dropped or kept and why.

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

# What the resource is: changing these points it at another table, a replacement.
_IDENTITY_FIELDS = ("dbname", "table")
# How Pulumi reaches the table, and how it treats it: a change is an update (the state then holds the new
# route, which refresh and delete take). A connection detail is never identity.
_ROUTE_FIELDS = ("host", "port", "user", "password", "sslmode")
_FLAG_FIELDS = ("grant_to",)
# The opt-in to drop a table holding rows others wrote; absent in states written before it, read as False.
DROP_ROWS_OF_OTHERS = "drop_rows_of_others"


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
    """The table, not the route to it (a state written before this keeps its old id, which nothing reads)."""
    return f"{props['dbname']}/{props['table']}"


def _same_port(old: Any, new: Any) -> bool:
    return old is not None and new is not None and int(old) == int(new)


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


def _count(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def delete_table(conn: psycopg.Connection, table: str, managed: list[str], drop_rows_of_others: bool) -> str:
    """Drop the table when it holds only `managed` rows (or when `drop_rows_of_others`); else delete only
    the managed rows and keep the table with the others'. Returns what was done and why, in one line."""
    with conn.transaction(), conn.cursor() as cur:
        found = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not (found and found[0]):
            return f"{table}: already gone"
        counted = cur.execute(dsg_sql.count_rows_of_others(table), (managed,)).fetchone()
        others = int(counted[0]) if counted else 0
        if others == 0:
            cur.execute(dsg_sql.drop_table(table))
            return f"{table}: dropped; it held no row but the stack's own"
        if drop_rows_of_others:
            cur.execute(dsg_sql.drop_table(table))
            return f"{table}: dropped with {_count(others)} this stack did not write (dropRowsOfOthers is true)"
        cur.execute(dsg_sql.delete_rows(table), (managed,))
        return (
            f"{table}: kept with the {_count(others)} this stack did not write (dropRowsOfOthers is false); "
            "the stack's own rows were deleted"
        )


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
        route_changed = [
            f
            for f in (*_ROUTE_FIELDS, *_FLAG_FIELDS)
            if olds.get(f) != news.get(f) and not (f == "port" and _same_port(olds.get(f), news.get(f)))
        ]
        opt_in_changed = bool(olds.get(DROP_ROWS_OF_OTHERS)) != bool(news.get(DROP_ROWS_OF_OTHERS))
        return DiffResult(
            changes=bool(replaces) or rows_changed or bool(route_changed) or opt_in_changed,
            replaces=replaces,
            # Create the new table first; the old one is deleted after, and only as `delete` allows.
            delete_before_replace=False,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        change = dsg_sql.diff_digests(_old_digests(olds), dsg_sql.row_digests(_rows(news)))
        with _connect(news) as conn:
            apply_rows(conn, news["table"], news.get("grant_to"), _rows(news), change.removed)
        return UpdateResult(outs=_outs(news, change))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with _connect(props) as conn:
            managed = sorted(_old_digests(props))
            outcome = delete_table(conn, props["table"], managed, bool(props.get(DROP_ROWS_OF_OTHERS)))
        pulumi.log.info(outcome)

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
    drop_rows_of_others: bool = False


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
            DROP_ROWS_OF_OTHERS: args.drop_rows_of_others,
            "rows": dsg_sql.rows_text(args.rows),
            "row_count": None,
            "last_change": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"]))
        super().__init__(DsgTableProvider(), name, props, opts)
