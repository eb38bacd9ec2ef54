"""What each role may do in the merge database (pure): the one source for the grants the stack declares,
the tests that check them and the README's table of database objects.

The login role (mergeDbUser) is the credential every Airflow pod holds, so it gets exactly what the
factory DAG file does and nothing else: it reads its platform's dsg table, keeps the ledger (insert,
update of the hash, delete), appends to the audit table (whose `id` draws from a sequence) and reads the
history. The writer role (writerDbUser, optional) writes the dsg table's rows for DataSurface's own jobs.
Tables are owned by the admin role, so neither can create, alter or drop one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from components.naming import PlatformNames

# On the merge database and on schema public, for the login and the writer role.
DATABASE_PRIVILEGES = ("CONNECT",)
SCHEMA = "public"
SCHEMA_PRIVILEGES = ("USAGE",)

# What PUBLIC (every role) may not do in the merge database, set by the stack that owns the database:
# PostgreSQL gives PUBLIC TEMPORARY on every database, and CREATE on schema public before version 15.
PUBLIC_REVOKED = {"DATABASE": ("TEMPORARY",), "SCHEMA": ("CREATE",)}

KINDS = ("TABLE", "SEQUENCE")
PRIVILEGE = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE|USAGE)(?: \(([a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*)\))?$")


@dataclass(frozen=True)
class Grant:
    """Privileges of one role on one table or sequence; a privilege may name columns: `UPDATE (a, b)`."""

    kind: str
    name: str
    privileges: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"


def login_grants(names: PlatformNames) -> tuple[Grant, ...]:
    """Exactly what the factory DAG file runs (factory/table.py, lifecycle.py, history.py)."""
    return (
        Grant("TABLE", names.dsg_table, ("SELECT",)),
        Grant("TABLE", names.ledger_table, ("SELECT", "INSERT", "DELETE", "UPDATE (config_hash, updated_at)")),
        Grant("TABLE", names.audit_table, ("SELECT", "INSERT")),
        Grant("SEQUENCE", names.audit_sequence, ("USAGE",)),
        Grant("TABLE", names.history_table, ("SELECT",)),
    )


def writer_grants(names: PlatformNames) -> tuple[Grant, ...]:
    """Row writes to the dsg table, each recorded in the history by its trigger (no TRUNCATE)."""
    return (Grant("TABLE", names.dsg_table, ("SELECT", "INSERT", "UPDATE", "DELETE")),)


def grants_input(grants: tuple[Grant, ...]) -> dict[str, list[str]]:
    """The grants of one role as a resource input: `TABLE <name>` -> privileges, readable in a preview."""
    return {grant.key: list(grant.privileges) for grant in grants}


def parse_grants(value: Mapping[str, list[str]]) -> tuple[Grant, ...]:
    """The inverse of `grants_input`; refuses anything but the kinds and privileges above."""
    grants = []
    for key, privileges in value.items():
        kind, _, name = key.partition(" ")
        if kind not in KINDS or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a grant target: {key!r}")
        for privilege in privileges:
            if not PRIVILEGE.match(privilege):
                raise ValueError(f"not a privilege: {privilege!r}")
        grants.append(Grant(kind, name, tuple(privileges)))
    return tuple(grants)


def split_privilege(privilege: str) -> tuple[str, tuple[str, ...]]:
    """`UPDATE (a, b)` -> ("UPDATE", ("a", "b")); `SELECT` -> ("SELECT", ())."""
    found = PRIVILEGE.match(privilege)
    if not found:
        raise ValueError(f"not a privilege: {privilege!r}")
    columns = tuple(c.strip() for c in found.group(2).split(",")) if found.group(2) else ()
    return found.group(1), columns
