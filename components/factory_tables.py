"""The factory's tables in the merge database, as a Pulumi dynamic resource (psycopg 3): the ledger, the
audit trail and the dsg table's history with its trigger, owned by the admin role, and what each role may
do on them and on the dsg table.

It comes before the DsgTable (it creates that table's shape when missing), so the history records the
seed rows too. Every create and update runs as one transaction and leaves each declared role with exactly
its declared privileges. Destroy drops the trigger and its function, revokes what it granted, gives PUBLIC
back what it took, and drops a table only when it is empty: rows the factory or anyone else wrote stay.
Like DsgTable, the provider holds nothing: connection parameters and the password arrive as inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import wrap_rpc_secret

from components import factory_tables_sql as q
from components.admin_connection import connect_admin
from components.privileges import parse_grants, split_privilege

# Another database or other table names are other objects: a replacement. The route there is not identity.
_IDENTITY_FIELDS = ("dbname", "tables")
# An update, so the state keeps the route later calls (refresh, delete) take.
_OTHER_FIELDS = ("host", "port", "user", "password", "sslmode", "grants", "public_revoked")

Restore = list[list[str]]  # [kind, object, privilege] that PUBLIC had before this resource took it


def _connect(props: Mapping[str, Any]) -> psycopg.Connection:
    return connect_admin(
        host=props["host"],
        port=props["port"],
        dbname=props["dbname"],
        user=props["user"],
        password=props["password"],
        sslmode=props.get("sslmode"),
    )


def _tables(props: Mapping[str, Any]) -> q.Tables:
    return q.Tables(**props["tables"])


def _role_exists(cur: psycopg.Cursor, role: str) -> bool:
    return cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def _exists(cur: psycopg.Cursor, relation: str) -> bool:
    found = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{relation}",)).fetchone()
    return bool(found and found[0])


def role_privileges(cur: psycopg.Cursor, role: str, relations: list[str]) -> dict[str, set[str]]:
    """What `role` holds on each relation, in the form the grants take (`UPDATE (a, b)`, columns sorted)."""
    held: dict[str, set[str]] = {name: set() for name in relations}
    for relation, privilege in cur.execute(
        "SELECT c.relname, a.privilege_type FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(%s) AND a.grantee = %s::regrole",
        (relations, role),
    ):
        held[relation].add(privilege)
    columns: dict[tuple[str, str], list[str]] = {}
    for relation, privilege, column in cur.execute(
        "SELECT c.relname, a.privilege_type, att.attname FROM pg_attribute att "
        "JOIN pg_class c ON c.oid = att.attrelid CROSS JOIN LATERAL aclexplode(att.attacl) a "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(%s) AND a.grantee = %s::regrole "
        "ORDER BY att.attname",
        (relations, role),
    ):
        columns.setdefault((relation, privilege), []).append(column)
    for (relation, privilege), names in columns.items():
        held[relation].add(f"{privilege} ({', '.join(names)})")
    return held


def declared_privileges(grants: Mapping[str, list[str]], tables: q.Tables) -> dict[str, set[str]]:
    """The declared grants of one role on every relation the stack manages (empty where none)."""
    wanted: dict[str, set[str]] = {name: set() for _, name in q.relations_of(tables)}
    for g in parse_grants(grants):
        wanted[g.name] = {_normal(p) for p in g.privileges}
    return wanted


def _normal(privilege: str) -> str:
    keyword, columns = split_privilege(privilege)
    return f"{keyword} ({', '.join(sorted(columns))})" if columns else keyword


def _grant_roles(cur: psycopg.Cursor, tables: q.Tables, grants: Mapping[str, Mapping[str, list[str]]]) -> None:
    for role, role_grants in grants.items():
        if not _role_exists(cur, role):
            raise RuntimeError(f"role {role!r} does not exist in the merge database; it is declared before this")
        for statement in q.revoke_all(q.relations_of(tables), role):
            cur.execute(statement)
        for g in parse_grants(role_grants):
            cur.execute(q.grant(role, g))


def _revoke_roles(cur: psycopg.Cursor, tables: q.Tables, roles: list[str]) -> None:
    """What the stack granted `roles`, on whichever of its relations still exist."""
    present = [(kind, name) for kind, name in q.relations_of(tables) if _exists(cur, name)]
    for role in roles:
        if _role_exists(cur, role):
            for statement in q.revoke_all(present, role):
                cur.execute(statement)


def _restrict_public(cur: psycopg.Cursor, dbname: str, revoked: Mapping[str, list[str]], restore: Restore) -> Restore:
    """Take from PUBLIC what `revoked` names; returns what PUBLIC had before (kept from earlier runs)."""
    restore = [list(entry) for entry in restore]
    for kind, name, privilege in q.public_privilege_checks(dbname, {k: tuple(v) for k, v in revoked.items()}):
        had = cur.execute(q.has_public_privilege(kind), (name, privilege)).fetchone()
        if had and had[0]:
            if [kind, name, privilege] not in restore:
                restore.append([kind, name, privilege])
            cur.execute(q.public_statement("REVOKE", kind, name, privilege))
    return restore


def _give_back_to_public(cur: psycopg.Cursor, restore: Restore, still_revoked: Mapping[str, list[str]]) -> Restore:
    """Grant PUBLIC back what it had, except what is still to be revoked; returns the rest."""
    kept = []
    for kind, name, privilege in restore:
        if privilege in still_revoked.get(kind, []):
            kept.append([kind, name, privilege])
        else:
            cur.execute(q.public_statement("GRANT", kind, name, privilege))
    return kept


def apply(conn: psycopg.Connection, props: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> Restore:
    """Create what is missing, take ownership, install the history trigger and set every role's privileges,
    in one transaction. Returns what PUBLIC had before, to give back on delete."""
    tables = _tables(props)
    old_roles = list((olds or {}).get("grants") or {})
    with conn.transaction(), conn.cursor() as cur:
        for statement in [*q.create_tables(tables), *q.take_ownership(tables), *q.install_history(tables)]:
            cur.execute(statement)
        _revoke_roles(cur, tables, [r for r in old_roles if r not in props["grants"]])
        _grant_roles(cur, tables, props["grants"])
        revoked = props.get("public_revoked") or {}
        restore = _give_back_to_public(cur, list((olds or {}).get("public_restore") or []), revoked)
        return _restrict_public(cur, props["dbname"], revoked, restore)


def _outs(props: Mapping[str, Any], restore: Restore) -> dict[str, Any]:
    outs = dict(props)
    outs["password"] = wrap_rpc_secret(props["password"])
    outs["public_restore"] = restore
    outs["drift"] = []
    return outs


def _resource_id(props: Mapping[str, Any]) -> str:
    return f"{props['dbname']}/{props['tables']['history']}"


def drift(cur: psycopg.Cursor, props: Mapping[str, Any]) -> list[str]:
    """Where the database differs from what the resource declares, one line each (empty: no drift)."""
    tables = _tables(props)
    problems = [f"table {name} is missing" for name in (tables.dsg, *tables.owned) if not _exists(cur, name)]
    if problems:
        return problems
    triggers = {
        name
        for (name,) in cur.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
            (f"public.{tables.dsg}",),
        )
    }
    problems += [
        f"trigger {name} on {tables.dsg} is missing"
        for name in (tables.history_trigger, tables.truncate_trigger)
        if name not in triggers
    ]
    relations = [name for _, name in q.relations_of(tables)]
    for role, role_grants in (props.get("grants") or {}).items():
        if not _role_exists(cur, role):
            problems.append(f"role {role} is missing")
            continue
        held, wanted = role_privileges(cur, role, relations), declared_privileges(role_grants, tables)
        problems += [
            f"{role} holds {sorted(held[name])} on {name}, declared {sorted(wanted[name])}"
            for name in relations
            if held[name] != wanted[name]
        ]
    return problems


class FactoryTablesProvider(ResourceProvider):
    """CRUD for the factory's tables; stateless, so the pickled provider carries no secret."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _connect(props) as conn:
            restore = apply(conn, props)
        return CreateResult(id_=_resource_id(props), outs=_outs(props, restore))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [f for f in _IDENTITY_FIELDS if olds.get(f) != news.get(f)]
        changed = [f for f in _OTHER_FIELDS if olds.get(f) != news.get(f)]
        return DiffResult(
            changes=bool(replaces or changed or olds.get("drift")),
            replaces=replaces,
            delete_before_replace=True,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with _connect(news) as conn:
            restore = apply(conn, news, olds)
        return UpdateResult(outs=_outs(news, restore))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        tables = _tables(props)
        with _connect(props) as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(q.drop_history_function(tables))
            _revoke_roles(cur, tables, list(props.get("grants") or {}))
            _give_back_to_public(cur, list(props.get("public_restore") or []), {})
            for name in reversed(tables.owned):
                if _exists(cur, name):
                    count = cur.execute(q.count_rows(name)).fetchone()
                    if count and count[0] == 0:
                        cur.execute(q.drop_table(name))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: what differs from the declaration is listed in `drift`, which the next diff acts on."""
        with _connect(props) as conn, conn.cursor() as cur:
            found = drift(cur, props)
        outs = dict(props)
        outs["password"] = wrap_rpc_secret(props["password"])
        outs["drift"] = found
        return ReadResult(id_=id_, outs=outs)


@dataclass
class FactoryTablesArgs:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    dbname: pulumi.Input[str]
    user: pulumi.Input[str]
    password: pulumi.Input[str]
    tables: q.Tables
    grants: Mapping[str, Mapping[str, list[str]]]
    sslmode: str = "prefer"
    public_revoked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class FactoryTables(Resource, module="datasurface", name="FactoryTables"):
    """The ledger, audit and history tables, the history trigger, and each role's privileges on them."""

    drift: pulumi.Output[list]

    def __init__(self, name: str, args: FactoryTablesArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "host": args.host,
            "port": args.port,
            "dbname": args.dbname,
            "user": args.user,
            "password": pulumi.Output.secret(args.password),
            "sslmode": args.sslmode,
            "tables": {
                "dsg": args.tables.dsg,
                "ledger": args.tables.ledger,
                "audit": args.tables.audit,
                "audit_sequence": args.tables.audit_sequence,
                "history": args.tables.history,
            },
            "grants": {role: dict(g) for role, g in args.grants.items()},
            "public_revoked": {kind: list(p) for kind, p in args.public_revoked.items()},
            "public_restore": None,
            "drift": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"]))
        super().__init__(FactoryTablesProvider(), name, props, opts)
