"""The merge database, the login role and its grants through psycopg: a plugin-free alternative to
pulumi-postgresql, for stacks whose Pulumi has no postgresql provider plugin (the `local` stack).

Same objects and privileges as the pulumi-postgresql path in `merge_database.py`. The provider holds
no state; the passwords arrive as secret inputs. The database is kept on delete, as with
`retain_on_delete` on the other path; the role gives its objects to the admin role and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import psycopg
import pulumi
from psycopg import sql
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import wrap_rpc_secret

from components.admin_connection import connect_admin

_IDENTITY_FIELDS = ("host", "port", "database", "role")
_SECRET_FIELDS = ("admin_password", "role_password")


def _connect(props: dict[str, Any], dbname: str) -> psycopg.Connection:
    return connect_admin(host=props["host"], port=props["port"], dbname=dbname, user=props["admin_user"],
                         password=props["admin_password"], sslmode=props.get("sslmode"), autocommit=True)


def _privileges(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(p) for p in names if p.isalpha())


def ensure_role(conn: psycopg.Connection, role: str, password: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    # Utility statements take no bind parameters; sql.Literal quotes the password safely.
    conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))


def ensure_database(conn: psycopg.Connection, database: str) -> None:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def grant(props: dict[str, Any]) -> None:
    role, database = sql.Identifier(props["role"]), sql.Identifier(props["database"])
    with _connect(props, props["database"]) as conn:
        conn.execute(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
            _privileges(props["database_privileges"]), database, role))
        conn.execute(sql.SQL("GRANT {} ON SCHEMA public TO {}").format(
            _privileges(props["schema_privileges"]), role))


def _apply(props: dict[str, Any]) -> None:
    with _connect(props, "postgres") as conn:
        ensure_role(conn, props["role"], props["role_password"])
        if props.get("create_database"):
            ensure_database(conn, props["database"])
    grant(props)


def _outs(props: dict[str, Any]) -> dict[str, Any]:
    outs = dict(props)
    for field in _SECRET_FIELDS:
        outs[field] = wrap_rpc_secret(props[field])
    return outs


class DatabaseAccessProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        _apply(props)
        return CreateResult(id_=f"{props['host']}:{int(props['port'])}/{props['database']}/{props['role']}",
                            outs=_outs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [f for f in _IDENTITY_FIELDS if olds.get(f) != news.get(f)]
        changed = [k for k in set(olds) | set(news) if not k.startswith("__") and olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _apply(news)
        return UpdateResult(outs=_outs(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        role = sql.Identifier(props["role"])
        admin = sql.Identifier(props["admin_user"])
        with _connect(props, "postgres") as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (props["role"],)).fetchone():
                return
            database_exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (props["database"],)).fetchone()
        if database_exists:
            with _connect(props, props["database"]) as conn:
                # Keep what the role created (the factory's ledger) by giving it to the admin role.
                conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, admin))
                conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        with _connect(props, "postgres") as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))


@dataclass
class DatabaseAccessArgs:
    host: str
    port: int
    admin_user: str
    admin_password: pulumi.Input[str]
    sslmode: str
    database: str
    create_database: bool
    role: str
    role_password: pulumi.Input[str]
    database_privileges: Sequence[str]
    schema_privileges: Sequence[str]


class DatabaseAccess(Resource, module="datasurface", name="DatabaseAccess"):
    """The merge database (created when asked, kept on delete), the login role and its grants."""

    def __init__(self, name: str, args: DatabaseAccessArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "host": args.host,
            "port": args.port,
            "admin_user": args.admin_user,
            "admin_password": pulumi.Output.secret(args.admin_password),
            "sslmode": args.sslmode,
            "database": args.database,
            "create_database": args.create_database,
            "role": args.role,
            "role_password": pulumi.Output.secret(args.role_password),
            "database_privileges": list(args.database_privileges),
            "schema_privileges": list(args.schema_privileges),
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=list(_SECRET_FIELDS)))
        super().__init__(DatabaseAccessProvider(), name, props, opts)
