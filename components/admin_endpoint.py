"""The admin endpoint, asked through the stack's own admin provider before any PostgreSQL object is declared:
can Pulumi log in, and does the merge database exist?

Both questions are invokes of pulumi-postgresql's `getSchemas` through the provider that works inside the
merge database (the invoke's `database` argument picks the database it connects to): first `postgres`,
which every server has, then the merge database. The engine runs them in a real `preview` and `up`; under
Pulumi's mocks the test's `Mocks.call` answers them, so a unit test needs no server and patches nothing.

A wrong password or an unreachable endpoint stops the run with one line naming the endpoint, before any
database object or Kubernetes object is registered. Whether the database exists decides how the stack
that owns it declares it: created, or adopted (imported) when it is already there, as it is after that
stack was destroyed (the database is kept) or when the cluster provides it.
"""

from __future__ import annotations

import pulumi
import pulumi_postgresql as postgresql

from components.admin_connection import MAINTENANCE_DATABASE
from components.project_file import PROJECT
from components.settings import Settings

GET_SCHEMAS = "postgresql:index/getSchemas:getSchemas"


class AdminEndpointError(Exception):
    """The admin endpoint cannot serve this stack; the message names the endpoint and the keys to fix."""


def endpoint(settings: Settings) -> str:
    return f"{settings.admin_host}:{settings.admin_port}"


# Where the provider's (terraform-provider-postgresql's) own message starts when it cannot connect.
CONNECT_ERROR = "error connecting to PostgreSQL server "


def invoke_reason(error: Exception) -> str:
    """The provider's own words from a failed invoke, on one line, without the SDK's, engine's and
    bridge's prefixes."""
    text = " ".join(str(error).split())
    for prefix in (f"invoke of {GET_SCHEMAS} failed: ", f"invocation of {GET_SCHEMAS} returned an error: "):
        text = text.removeprefix(prefix)
    if CONNECT_ERROR in text:
        text = text[text.index(CONNECT_ERROR) :]
    return text.removesuffix(" ()")  # a check failure of no property


def login_problem(settings: Settings, reason: str) -> str:
    return (
        f"cannot log in to the PostgreSQL admin endpoint {endpoint(settings)} as {settings.admin_user} "
        f"(adminHost, adminPort, adminUser, adminPassword): {reason}"
    )


def is_missing_database(settings: Settings, reason: str) -> bool:
    return f'database "{settings.merge_db_name}" does not exist' in reason


def _list_schemas(database: str, provider: pulumi.ProviderResource) -> None:
    postgresql.get_schemas(database=database, opts=pulumi.InvokeOptions(provider=provider))


def merge_database_exists(settings: Settings, provider: pulumi.ProviderResource) -> bool:
    """Logs in through `provider` and looks the merge database up; AdminEndpointError when it cannot."""
    try:
        _list_schemas(MAINTENANCE_DATABASE, provider)
    except Exception as err:  # an invoke's failure is a plain Exception carrying the provider's message
        reason = invoke_reason(err)
        # The provider first connects to its own database, the merge database: PostgreSQL says it is
        # missing only after the login succeeded.
        if is_missing_database(settings, reason):
            return False
        raise AdminEndpointError(login_problem(settings, reason)) from None
    try:
        _list_schemas(settings.merge_db_name, provider)
    except Exception as err:
        reason = invoke_reason(err)
        if is_missing_database(settings, reason):
            return False
        raise AdminEndpointError(login_problem(settings, reason)) from None
    return True


def missing_database_problem(settings: Settings, database_exists: bool) -> str | None:
    """Why this stack cannot go on when it relies on another stack's database that is not there yet."""
    if settings.create_database or database_exists:
        return None
    return (
        f"{PROJECT}:createDatabase is false, and database {settings.merge_db_name!r} does not exist at "
        f"{endpoint(settings)}: apply the stack that creates it (createDatabase: true) first"
    )


def check_admin_endpoint(settings: Settings, provider: pulumi.ProviderResource) -> bool:
    """Whether the merge database exists; AdminEndpointError when the stack cannot be applied."""
    exists = merge_database_exists(settings, provider)
    problem = missing_database_problem(settings, exists)
    if problem:
        raise AdminEndpointError(problem)
    return exists
