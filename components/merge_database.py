"""The merge database objects: database, login role, grants (pulumi-postgresql) and the dsg table.

Pulumi reaches PostgreSQL through the admin endpoint (`adminHost`/`adminPort`), which may differ
from the in-cluster DNS name Airflow uses (for example a `kubectl port-forward` on localhost).

When this stack owns the database (`createDatabase: true`) it creates it, or adopts it with the
`import` option when it already exists (kept from an earlier destroy, or provided by the cluster).
Two admin providers share that endpoint: one on the `postgres` maintenance database creates the merge
database, the other works inside the merge database. The role and its grants use the second, because
deleting a role reassigns and drops what it owns only in the database its provider is connected to:
there, the factory's ledger and audit tables, which the role created, pass to the admin role and stay.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_postgresql as postgresql

from components.admin_connection import MAINTENANCE_DATABASE
from components.dsg_table import DsgTable, DsgTableArgs
from components.settings import Settings

DATABASE_PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")
# The factory DAG creates its ledger and audit tables, so the role needs CREATE on the schema.
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")


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
    def __init__(
        self, name: str, settings: Settings, database_exists: bool, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("datasurface:yellow:MergeDatabase", name, None, opts)
        admin_password = pulumi.Output.secret(settings.admin_password)

        def admin_provider(provider_name: str, database: str) -> postgresql.Provider:
            return postgresql.Provider(
                provider_name,
                password=admin_password,
                **admin_provider_args(settings, database),
                opts=pulumi.ResourceOptions(parent=self),
            )

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

        in_merge_db = admin_provider(f"{name}-merge-admin", settings.merge_db_name)
        self.role = postgresql.Role(
            f"{name}-role",
            name=settings.merge_db_user,
            login=True,
            password=pulumi.Output.secret(settings.merge_db_password),
            opts=pulumi.ResourceOptions(parent=self, provider=in_merge_db, depends_on=created),
        )
        after_role = pulumi.ResourceOptions(parent=self, provider=in_merge_db, depends_on=[*created, self.role])
        self.database_grant = postgresql.Grant(
            f"{name}-database-grant",
            database=settings.merge_db_name,
            role=self.role.name,
            object_type="database",
            privileges=list(DATABASE_PRIVILEGES),
            opts=after_role,
        )
        self.schema_grant = postgresql.Grant(
            f"{name}-schema-grant",
            database=settings.merge_db_name,
            role=self.role.name,
            schema="public",
            object_type="schema",
            privileges=list(SCHEMA_PRIVILEGES),
            opts=after_role,
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
                grant_to=settings.merge_db_user,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*created, self.role, self.database_grant, self.schema_grant]
            ),
        )
        self.table_name = settings.names.dsg_table
        self.register_outputs({"dsgTable": self.table_name, "seedRowCount": self.dsg_table.row_count})
