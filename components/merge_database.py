"""The merge database objects: database, login role, writer role, grants (pulumi-postgresql), the factory's
tables with each role's privileges on them, and the dsg table.

Pulumi reaches PostgreSQL through the admin endpoint (`adminHost`/`adminPort`), which may differ
from the in-cluster DNS name Airflow uses (for example a `kubectl port-forward` on localhost).

When this stack owns the database (`createDatabase: true`) it creates it, or adopts it with the
`import` option when it already exists (kept from an earlier destroy, or provided by the cluster).
Two admin providers share that endpoint: one on the `postgres` maintenance database creates the merge
database, the other works inside the merge database. The role and its grants use the second, because
deleting a role reassigns and drops what it owns only in the database its provider is connected to.

The login role (mergeDbUser, held by every Airflow pod) gets CONNECT and USAGE, and on the tables exactly
what the factory DAG file does (components/privileges.py): it creates nothing. The factory's tables are the
stack's, owned by the admin role, and exist before the dsg table's rows are written and before Airflow is
pointed at them.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_postgresql as postgresql

from components.admin_connection import MAINTENANCE_DATABASE
from components.admin_endpoint import check_admin_endpoint
from components.dsg_table import DsgTable, DsgTableArgs
from components.factory_tables import FactoryTables, FactoryTablesArgs
from components.factory_tables_sql import Tables
from components.privileges import (
    DATABASE_PRIVILEGES,
    PUBLIC_REVOKED,
    SCHEMA,
    SCHEMA_PRIVILEGES,
    grants_input,
    login_grants,
    writer_grants,
)
from components.settings import Settings


def seed_rows(settings: Settings) -> dict[str, dict[str, str]]:
    """The dsg rows as the dynamic resource takes them: stream_key -> {config_json, status}."""
    return {s.stream_key: {"config_json": s.config_json, "status": s.status} for s in settings.streams}


def admin_provider_args(settings: Settings, database: str) -> dict[str, Any]:
    return {
        "host": settings.admin_host,
        "port": settings.admin_port,
        "username": settings.admin_user,
        "sslmode": settings.admin_ssl_mode,
        "database": database,
        "superuser": True,
        "connect_timeout": 15,
    }


class MergeDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("datasurface:yellow:MergeDatabase", name, None, opts)
        admin_password = pulumi.Output.secret(settings.admin_password)

        def admin_provider(provider_name: str, database: str) -> postgresql.Provider:
            return postgresql.Provider(
                provider_name,
                password=admin_password,
                **admin_provider_args(settings, database),
                opts=pulumi.ResourceOptions(parent=self),
            )

        in_merge_db = admin_provider(f"{name}-merge-admin", settings.merge_db_name)
        # Before any object: AdminEndpointError when the endpoint cannot serve this stack.
        database_exists = check_admin_endpoint(settings, in_merge_db)

        self.database = None
        created: list[pulumi.Resource] = []
        if settings.create_database:
            maintenance = admin_provider(f"{name}-admin", MAINTENANCE_DATABASE)
            # Retained on destroy: the database holds DataSurface's merge data, not just this stack's.
            # Adopted when it exists; once in the state, the import option is a no-op.
            self.database = postgresql.Database(
                f"{name}-database",
                name=settings.merge_db_name,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=maintenance,
                    retain_on_delete=True,
                    import_=settings.merge_db_name if database_exists else None,
                ),
            )
            created.append(self.database)

        def login_role(prefix: str, role_name: str, password: Any) -> list[pulumi.Resource]:
            """A login role with CONNECT on the merge database and USAGE on its schema, nothing more."""
            role = postgresql.Role(
                f"{prefix}role",
                name=role_name,
                login=True,
                password=pulumi.Output.secret(password),
                opts=pulumi.ResourceOptions(parent=self, provider=in_merge_db, depends_on=created),
            )
            after_role = pulumi.ResourceOptions(parent=self, provider=in_merge_db, depends_on=[*created, role])
            database_grant = postgresql.Grant(
                f"{prefix}database-grant",
                database=settings.merge_db_name,
                role=role.name,
                object_type="database",
                privileges=list(DATABASE_PRIVILEGES),
                opts=after_role,
            )
            schema_grant = postgresql.Grant(
                f"{prefix}schema-grant",
                database=settings.merge_db_name,
                role=role.name,
                schema=SCHEMA,
                object_type="schema",
                privileges=list(SCHEMA_PRIVILEGES),
                opts=after_role,
            )
            return [role, database_grant, schema_grant]

        names = settings.names
        access = login_role(f"{name}-", settings.merge_db_user, settings.merge_db_password)
        grants = {settings.merge_db_user: grants_input(login_grants(names))}
        if settings.writer_db_user:
            access += login_role(f"{name}-writer-", settings.writer_db_user, settings.writer_db_password)
            grants[settings.writer_db_user] = grants_input(writer_grants(names))

        # How the dynamic resources reach the merge database: the admin endpoint, as the admin role.
        as_admin: dict[str, Any] = {
            "host": settings.admin_host,
            "port": settings.admin_port,
            "dbname": settings.merge_db_name,
            "user": settings.admin_user,
            "password": admin_password,
            "sslmode": settings.admin_ssl_mode,
        }
        # Only the stack that owns the database says what every role (PUBLIC) may do there.
        self.factory_tables = FactoryTables(
            f"{name}-factory-tables",
            FactoryTablesArgs(
                **as_admin,
                tables=Tables.of(names),
                grants=grants,
                public_revoked=PUBLIC_REVOKED if settings.create_database else {},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*created, *access]),
        )

        self.dsg_table = DsgTable(
            f"{name}-dsg-table",
            DsgTableArgs(
                **as_admin,
                table=names.dsg_table,
                rows=seed_rows(settings),
                drop_rows_of_others=settings.drop_rows_of_others,
            ),
            # After the history trigger, so the seed rows are in the history too.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*created, self.factory_tables]),
        )
        self.table_name = settings.names.dsg_table
        self.register_outputs({"dsgTable": self.table_name, "seedRowCount": self.dsg_table.row_count})
