"""The merge database objects: database, login role, grants and the dsg table.

Pulumi reaches PostgreSQL through the admin endpoint (`adminHost`/`adminPort`), which may differ
from the in-cluster DNS name Airflow uses (for example a `kubectl port-forward` on localhost).
Database, role and grants come from pulumi-postgresql (`dbAdminVia: pulumi-postgresql`, the default)
or, where that provider plugin is not installed, from a psycopg dynamic resource (`dynamic`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_postgresql as postgresql

from components.database_access import DatabaseAccess, DatabaseAccessArgs
from components.dsg_table import DsgTable, DsgTableArgs
from components.settings import Settings

DATABASE_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")
# The factory DAG creates its ledger and audit tables, so the role needs CREATE on the schema.
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")


def seed_rows(settings: Settings) -> dict[str, dict[str, str]]:
    """The dsg rows as the dynamic resource takes them: stream_key -> {config_json, status}."""
    return {s.stream_key: {"config_json": s.config_json, "status": s.status} for s in settings.streams}


def admin_provider_args(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.admin_host,
        "port": settings.admin_port,
        "username": settings.admin_user,
        "sslmode": settings.admin_ssl_mode,
        "database": "postgres",
        "superuser": True,
        "connect_timeout": 15,
    }


@dataclass
class MergeDatabaseArgs:
    settings: Settings


class MergeDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, args: MergeDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("datasurface:yellow:MergeDatabase", name, None, opts)
        settings = args.settings
        self.admin_password = pulumi.Output.secret(settings.admin_password)
        self.database = None
        if settings.db_admin_via == "dynamic":
            access_objects = self._declare_with_psycopg(name, settings)
        else:
            access_objects = self._declare_with_pulumi_postgresql(name, settings)

        self.dsg_table = DsgTable(
            f"{name}-dsg-table",
            DsgTableArgs(
                host=settings.admin_host,
                port=settings.admin_port,
                dbname=settings.merge_db_name,
                user=settings.admin_user,
                password=self.admin_password,
                sslmode=settings.admin_ssl_mode,
                table=settings.names.dsg_table,
                rows=seed_rows(settings),
                grant_to=settings.merge_db_user,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=access_objects),
        )
        self.table_name = settings.names.dsg_table
        self.register_outputs({"dsgTable": self.table_name, "seedRowCount": self.dsg_table.row_count})

    def _declare_with_pulumi_postgresql(self, name: str, settings: Settings) -> list[pulumi.Resource]:
        self.provider = postgresql.Provider(
            f"{name}-admin", password=self.admin_password, **admin_provider_args(settings),
            opts=pulumi.ResourceOptions(parent=self),
        )
        with_provider = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.role = postgresql.Role(
            f"{name}-role",
            name=settings.merge_db_user,
            login=True,
            password=pulumi.Output.secret(settings.merge_db_password),
            opts=with_provider,
        )
        created: list[pulumi.Resource] = [self.role]
        if settings.create_database:
            # Retained on destroy: the database holds DataSurface's merge data, not just this stack's.
            self.database = postgresql.Database(
                f"{name}-database",
                name=settings.merge_db_name,
                opts=pulumi.ResourceOptions.merge(with_provider, pulumi.ResourceOptions(retain_on_delete=True)),
            )
            created.append(self.database)
        after = pulumi.ResourceOptions.merge(with_provider, pulumi.ResourceOptions(depends_on=list(created)))
        self.database_grant = postgresql.Grant(
            f"{name}-database-grant",
            database=settings.merge_db_name,
            role=self.role.name,
            object_type="database",
            privileges=list(DATABASE_PRIVILEGES),
            opts=after,
        )
        self.schema_grant = postgresql.Grant(
            f"{name}-schema-grant",
            database=settings.merge_db_name,
            role=self.role.name,
            schema="public",
            object_type="schema",
            privileges=list(SCHEMA_PRIVILEGES),
            opts=after,
        )
        return [*created, self.database_grant, self.schema_grant]

    def _declare_with_psycopg(self, name: str, settings: Settings) -> list[pulumi.Resource]:
        self.access = DatabaseAccess(
            f"{name}-access",
            DatabaseAccessArgs(
                host=settings.admin_host,
                port=settings.admin_port,
                admin_user=settings.admin_user,
                admin_password=self.admin_password,
                sslmode=settings.admin_ssl_mode,
                database=settings.merge_db_name,
                create_database=settings.create_database,
                role=settings.merge_db_user,
                role_password=settings.merge_db_password,
                database_privileges=DATABASE_PRIVILEGES,
                schema_privileges=SCHEMA_PRIVILEGES,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [self.access]
