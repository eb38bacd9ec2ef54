"""The admin endpoint, asked once before anything is declared: can Pulumi log in, and does the merge
database exist?

A wrong password or an unreachable endpoint then stops `pulumi preview` and `pulumi up` with one line
naming the endpoint, before any resource is registered. Whether the database exists decides how the
stack that owns it declares it: created, or adopted (imported) when it is already there, as it is after
that stack was destroyed (the database is kept) or when the cluster provides it.
"""

from __future__ import annotations

import psycopg

from components.admin_connection import MAINTENANCE_DATABASE, connect_admin
from components.project_file import PROJECT
from components.settings import Settings


class AdminEndpointError(Exception):
    """The admin endpoint cannot serve this stack; the message names the endpoint and the keys to fix."""


def endpoint(settings: Settings) -> str:
    return f"{settings.admin_host}:{settings.admin_port}"


def merge_database_exists(settings: Settings) -> bool:
    """Logs in as the admin user and looks the merge database up; AdminEndpointError when it cannot."""
    try:
        with connect_admin(
            host=settings.admin_host,
            port=settings.admin_port,
            dbname=MAINTENANCE_DATABASE,
            user=settings.admin_user,
            password=settings.admin_password,
            sslmode=settings.admin_ssl_mode,
        ) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (settings.merge_db_name,))
            return found.fetchone() is not None
    except psycopg.Error as err:
        reason = " ".join(str(err).split())
        raise AdminEndpointError(
            f"cannot log in to the PostgreSQL admin endpoint {endpoint(settings)} as {settings.admin_user} "
            f"(adminHost, adminPort, adminUser, adminPassword): {reason}"
        ) from None


def missing_database_problem(settings: Settings, database_exists: bool) -> str | None:
    """Why this stack cannot go on when it relies on another stack's database that is not there yet."""
    if settings.create_database or database_exists:
        return None
    return (
        f"{PROJECT}:createDatabase is false, and database {settings.merge_db_name!r} does not exist at "
        f"{endpoint(settings)}: apply the stack that creates it (createDatabase: true) first"
    )


def check_admin_endpoint(settings: Settings) -> bool:
    """Whether the merge database exists; AdminEndpointError when the stack cannot be applied."""
    exists = merge_database_exists(settings)
    problem = missing_database_problem(settings, exists)
    if problem:
        raise AdminEndpointError(problem)
    return exists
