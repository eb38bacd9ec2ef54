"""The merge database objects: database, login role, grants (pulumi-postgresql) and the dsg table.

Pulumi reaches PostgreSQL through the admin endpoint (`adminHost`/`adminPort`), which may differ
from the in-cluster DNS name Airflow uses (for example a `kubectl port-forward` on localhost).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_postgresql as postgresql

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
        child = pulumi.ResourceOptions(parent=self)
        admin_password = pulumi.Output.secret(settings.admin_password)

        self.provider = postgresql.Provider(
            f"{name}-admin", password=admin_password, **admin_provider_args(settings), opts=child
        )
        with_provider = pulumi.ResourceOptions(parent=self, provider=self.provider)

        self.role = postgresql.Role(
            f"{name}-role",
            name=settings.merge_db_user,
            login=True,
            password=pulumi.Output.secret(settings.merge_db_password),
            opts=with_provider,
        )
        database_deps: list[pulumi.Resource] = [self.role]
        self.database = None
        if settings.create_database:
            # Retained on destroy: the database holds DataSurface's merge data, not just this stack's.
            self.database = postgresql.Database(
                f"{name}-database",
                name=settings.merge_db_name,
                opts=pulumi.ResourceOptions.merge(with_provider, pulumi.ResourceOptions(retain_on_delete=True)),
            )
            database_deps.append(self.database)
        after_database = pulumi.ResourceOptions.merge(with_provider, pulumi.ResourceOptions(depends_on=database_deps))

        self.database_grant = postgresql.Grant(
            f"{name}-database-grant",
            database=settings.merge_db_name,
            role=self.role.name,
            object_type="database",
            privileges=list(DATABASE_PRIVILEGES),
            opts=after_database,
        )
        self.schema_grant = postgresql.Grant(
            f"{name}-schema-grant",
            database=settings.merge_db_name,
            role=self.role.name,
            schema="public",
            object_type="schema",
            privileges=list(SCHEMA_PRIVILEGES),
            opts=after_database,
        )
        self.dsg_table = DsgTable(
            f"{name}-dsg-table",
            DsgTableArgs(
                host=settings.admin_host,
                port=settings.admin_port,
                dbname=settings.merge_db_name,
                user=settings.admin_user,
                password=admin_password,
                sslmode=settings.admin_ssl_mode,
                table=settings.names.dsg_table,
                rows=seed_rows(settings),
                grant_to=self.role.name,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*database_deps, self.schema_grant]),
        )
        self.table_name = settings.names.dsg_table
        self.register_outputs({"dsgTable": self.table_name, "seedRowCount": self.dsg_table.row_count})
