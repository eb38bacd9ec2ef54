"""SQL for the factory's tables in the merge database (pure): the ledger, the audit trail, the dsg table's
history and the trigger that fills it, who owns them and what each role may do there.

This is the one place their DDL is written: the stack runs it as the admin role (components/factory_tables.py),
the factory DAG file only reads and writes rows. Identifiers are composed with psycopg's `sql.Identifier`.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from components import dsg_sql
from components.naming import PlatformNames
from components.privileges import Grant, split_privilege

HISTORY_OPERATIONS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")


@dataclass(frozen=True)
class Tables:
    """The names the statements use: the dsg table and the factory's tables beside it."""

    dsg: str
    ledger: str
    audit: str
    audit_sequence: str
    history: str

    @classmethod
    def of(cls, names: PlatformNames) -> Tables:
        return cls(names.dsg_table, names.ledger_table, names.audit_table, names.audit_sequence, names.history_table)

    @property
    def history_function(self) -> str:
        return f"{self.history}_record"

    @property
    def history_trigger(self) -> str:
        return f"{self.history}_rows"

    @property
    def truncate_trigger(self) -> str:
        return f"{self.history}_truncate"

    @property
    def owned(self) -> tuple[str, ...]:
        """The tables this stack declares beside the dsg table, in the order they are created."""
        return (self.ledger, self.audit, self.history)


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def create_tables(t: Tables) -> list[sql.Composed]:
    """Every table, as it is or missing; the tables the factory created itself before have the same shape."""
    return [
        *dsg_sql.create_table(t.dsg),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            "stream_key VARCHAR(255) PRIMARY KEY, "
            "dag_id VARCHAR(250) NOT NULL, "
            "config_hash CHAR(64) NOT NULL, "
            "created_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ).format(_ident(t.ledger)),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            "id BIGSERIAL PRIMARY KEY, "
            "stream_key VARCHAR(255) NOT NULL, "
            "dag_id VARCHAR(250) NOT NULL, "
            "change VARCHAR(10) NOT NULL CHECK (change IN ('created', 'updated', 'removed')), "
            "changed_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "old_hash CHAR(64), "
            "new_hash CHAR(64), "
            "run_id VARCHAR(250))"
        ).format(_ident(t.audit)),
        # The history entry behind a change; audit tables made before the history existed gain the column.
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS history_id BIGINT").format(_ident(t.audit)),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (stream_key, changed_at)").format(
            _ident(f"{t.audit}_stream_idx"), _ident(t.audit)
        ),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "stream_key VARCHAR(255) NOT NULL, "
            "operation VARCHAR(8) NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')), "
            "changed_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "session_role TEXT NOT NULL, "
            "acting_role TEXT NOT NULL, "
            "application TEXT, "
            "transaction_id BIGINT NOT NULL, "
            "old_row JSONB, "
            "new_row JSONB)"
        ).format(_ident(t.history)),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (stream_key, id)").format(
            _ident(f"{t.history}_stream_idx"), _ident(t.history)
        ),
    ]


def take_ownership(t: Tables) -> list[sql.Composed]:
    """The factory's tables pass to the admin role (their indexes and the audit sequence go with them):
    before they were declared, the login role created the ledger and the audit table at its first sync."""
    return [sql.SQL("ALTER TABLE {} OWNER TO CURRENT_USER").format(_ident(name)) for name in t.owned]


# Who made a change: session_user is the role that logged in; the role in effect after a SET ROLE is
# the `role` setting, since current_user inside this SECURITY DEFINER function is its owner.
_ACTING_ROLE = "COALESCE(NULLIF(current_setting('role'), 'none'), session_user)"


def history_function(t: Tables) -> sql.Composed:
    """One history row per inserted, updated or deleted dsg row, and per row a TRUNCATE empties.

    SECURITY DEFINER, owned by the admin role: the roles that write the dsg table cannot write the
    history themselves, so an entry can neither be forged nor left out."""
    body = sql.SQL(
        "BEGIN "
        "IF TG_OP = 'TRUNCATE' THEN "
        "INSERT INTO public.{history} "
        "(stream_key, operation, session_role, acting_role, application, transaction_id, old_row) "
        "SELECT d.stream_key, TG_OP, session_user, " + _ACTING_ROLE + ", "
        "current_setting('application_name'), txid_current(), to_jsonb(d) FROM public.{dsg} AS d; "
        "RETURN NULL; "
        "END IF; "
        "INSERT INTO public.{history} "
        "(stream_key, operation, session_role, acting_role, application, transaction_id, old_row, new_row) "
        "VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.stream_key ELSE NEW.stream_key END, TG_OP, session_user, "
        + _ACTING_ROLE
        + ", current_setting('application_name'), txid_current(), "
        "CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END); "
        "RETURN NULL; "
        "END"
    ).format(history=_ident(t.history), dsg=_ident(t.dsg))
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION public.{}() RETURNS trigger LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $history$ {} $history$"
    ).format(_ident(t.history_function), body)


def install_history(t: Tables) -> list[sql.Composed]:
    """The function and its two triggers on the dsg table (replaced in one transaction, on any server version)."""
    function = _ident(t.history_function)
    return [
        history_function(t),
        sql.SQL("REVOKE ALL ON FUNCTION public.{}() FROM PUBLIC").format(function),
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(_ident(t.history_trigger), _ident(t.dsg)),
        sql.SQL(
            "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION public.{}()"
        ).format(_ident(t.history_trigger), _ident(t.dsg), function),
        sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(_ident(t.truncate_trigger), _ident(t.dsg)),
        sql.SQL("CREATE TRIGGER {} BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION public.{}()").format(
            _ident(t.truncate_trigger), _ident(t.dsg), function
        ),
    ]


def drop_history_function(t: Tables) -> sql.Composed:
    """The function and, with it, its triggers on the dsg table (if the table is still there)."""
    return sql.SQL("DROP FUNCTION IF EXISTS public.{}() CASCADE").format(_ident(t.history_function))


def relations_of(t: Tables) -> list[tuple[str, str]]:
    """(kind, name) of every table and sequence a role may be granted something on."""
    return [("TABLE", t.dsg), *(("TABLE", name) for name in t.owned), ("SEQUENCE", t.audit_sequence)]


def revoke_all(relations: list[tuple[str, str]], role: str) -> list[sql.Composed]:
    """Nothing left to `role` on these (kind, name) relations: what it had before (as owner, or granted) goes."""
    for kind, _ in relations:
        if kind not in ("TABLE", "SEQUENCE"):
            raise ValueError(f"cannot revoke on {kind}")
    return [
        sql.SQL("REVOKE ALL ON " + kind + " {} FROM {}").format(_ident(name), _ident(role)) for kind, name in relations
    ]


def grant(role: str, g: Grant) -> sql.Composed:
    """GRANT of one Grant's privileges; a privilege's keyword is one PRIVILEGE (components.privileges) allows."""
    parts: list[sql.Composable] = []
    for privilege in g.privileges:
        keyword, columns = split_privilege(privilege)
        if columns:
            parts.append(sql.SQL(keyword + " ({})").format(sql.SQL(", ").join(_ident(c) for c in columns)))
        else:
            parts.append(sql.SQL(keyword))
    if g.kind not in ("TABLE", "SEQUENCE"):
        raise ValueError(f"cannot grant on {g.kind}")
    return sql.SQL("GRANT {} ON " + g.kind + " {} TO {}").format(
        sql.SQL(", ").join(parts), _ident(g.name), _ident(role)
    )


def count_rows(table: str) -> sql.Composed:
    return sql.SQL("SELECT count(*) FROM {}").format(_ident(table))


def drop_table(table: str) -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS {}").format(_ident(table))


def public_privilege_checks(database: str, revoked: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(kind, object, privilege) for each privilege PUBLIC is to lose."""
    objects = {"DATABASE": database, "SCHEMA": "public"}
    return [(kind, objects[kind], privilege) for kind, privileges in revoked.items() for privilege in privileges]


def has_public_privilege(kind: str) -> str:
    return {
        "DATABASE": "SELECT has_database_privilege('public', %s, %s)",
        "SCHEMA": "SELECT has_schema_privilege('public', %s, %s)",
    }[kind]


def public_statement(verb: str, kind: str, name: str, privilege: str) -> sql.Composed:
    """GRANT or REVOKE one privilege of PUBLIC on the database or a schema."""
    if (
        verb not in ("GRANT", "REVOKE")
        or kind not in ("DATABASE", "SCHEMA")
        or privilege not in ("TEMPORARY", "CREATE")
    ):
        raise ValueError(f"not a PUBLIC privilege statement: {verb} {privilege} ON {kind}")
    direction = "TO" if verb == "GRANT" else "FROM"
    return sql.SQL(f"{verb} {privilege} ON {kind} {{}} {direction} PUBLIC").format(_ident(name))
