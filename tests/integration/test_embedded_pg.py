"""The embedded PostgreSQL the local stack and the tests run on: TCP, password auth, idempotent start."""

from __future__ import annotations

import psycopg
import pytest

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port

pytestmark = pytest.mark.integration


def test_server_listens_on_loopback_with_password_auth_and_restarts_idempotently(tmp_path):
    server = EmbeddedPostgres(tmp_path, free_port(), "first-pw").start()
    try:
        with psycopg.connect(server.conninfo()) as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(server.conninfo(password="wrong"))
        assert server.start() is server and server.is_running()

        server.set_password("second 'pw'")
        with psycopg.connect(EmbeddedPostgres(tmp_path, server.port, "second 'pw'").conninfo()) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    finally:
        server.stop()
    assert not server.is_running()


def test_a_with_block_stops_its_server_even_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError, match="inside the block"):
        with EmbeddedPostgres(tmp_path, free_port(), "pw") as server:
            assert server.is_running()
            raise RuntimeError("inside the block")
    assert not server.is_running()
