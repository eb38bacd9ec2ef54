"""The one way Pulumi's own code reaches PostgreSQL: the admin endpoint, fresh per call, never stored."""

from __future__ import annotations

import psycopg

CONNECT_TIMEOUT_SECONDS = 10
# The database every PostgreSQL server has; used where the merge database may not exist yet.
MAINTENANCE_DATABASE = "postgres"


def connect_admin(
    *,
    host: str,
    port: float | int,
    dbname: str,
    user: str,
    password: str,
    sslmode: str | None,
    autocommit: bool = False,
) -> psycopg.Connection:
    # Numbers arrive from the engine as floats, hence int(port).
    return psycopg.connect(
        host=host,
        port=int(port),
        dbname=dbname,
        user=user,
        password=password,
        sslmode=sslmode or "prefer",
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        autocommit=autocommit,
        application_name="datasurface-yellow-pulumi",
    )
