"""The admin endpoint is a route, not identity: the committed yellowlive stack, applied by the real engine
against a PostgreSQL, then reached through another spelling of its host and through another forwarded
port. Rows inserted by hand before stay, with their `created_at`; the DsgTable previews `update` at most.

Manifests go to a render folder (no cluster here); the tests run in file order.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.e2e.conftest import Project, copy_project, planned_steps

pytestmark = pytest.mark.e2e

STACK = "yellowlive"
DATABASE = "datasurface_merge"
TABLE = "yellowlive_airflow_dsg"
DSG_TABLE = "pulumi-python:dynamic/datasurface:DsgTable"


class PortForward:
    """A TCP forward from a free port on 127.0.0.1 to the server, as `kubectl port-forward` gives one."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("route-pg"), free_port(), "admin-pw") as server:
        yield server


@pytest.fixture(scope="module")
def forward(server) -> Iterator[PortForward]:
    forward = PortForward(server.port)
    yield forward
    forward.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pulumi_env, server) -> Project:
    root = tmp_path_factory.mktemp("route-project")
    env = {**pulumi_env, "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('route-state')}"}
    project = Project(root=copy_project(root), env=env, manifests=root / "build")
    project.pulumi("stack", "init", STACK)
    config(project, renderManifestsTo=str(root / "build"), adminHost="localhost")
    config(project, "--type", "int", adminPort=str(server.port))
    config(project, "--secret", mergeDbPassword="login-pw", adminPassword=server.password)
    return project


def config(project: Project, *flags: str, **values: str) -> None:
    for key, value in values.items():
        project.pulumi("config", "set", *flags, key, value, "--stack", STACK)


def rows(server: EmbeddedPostgres) -> dict[str, tuple]:
    with psycopg.connect(server.conninfo(DATABASE)) as conn:
        return {
            k: (c, s, t)
            for k, c, s, t in conn.execute(f"SELECT stream_key, config_json, status, created_at FROM {TABLE}")
        }


REPLACING = {"replace", "create-replacement", "delete-replaced"}


def dsg_table_step(project: Project) -> str:
    """The DsgTable's planned step; no resource of the stack (roles and grants included) is replaced."""
    preview = project.pulumi("preview", "--json", "--stack", STACK)
    steps = planned_steps(preview.stdout)
    assert not REPLACING & set(steps.values()), steps
    # `preview --json` lists no step for a resource that stays the same.
    return next((op for (typ, _), op in steps.items() if typ == DSG_TABLE), "same")


def test_the_stack_is_applied_and_a_row_is_inserted_by_hand(stack, server):
    stack.pulumi("up", "--yes", "--skip-preview", "--stack", STACK)
    with psycopg.connect(server.conninfo(DATABASE)) as conn:
        conn.execute(
            f"INSERT INTO {TABLE} (stream_key, config_json, status) VALUES (%s, %s, 'active')",
            ("ByHand", json.dumps({"store_name": "ByHand"})),
        )
    assert {"ByHand", "Store1"} <= set(rows(server))


@pytest.mark.parametrize("route", ["127.0.0.1", "forwarded-port"])
def test_another_route_to_the_same_server_is_an_update_that_keeps_every_row(stack, server, forward, route):
    before = rows(server)
    if route == "forwarded-port":
        config(stack, "--type", "int", adminPort=str(forward.port))
    else:
        config(stack, adminHost=route)
    assert dsg_table_step(stack) in ("same", "update")
    stack.pulumi("up", "--yes", "--skip-preview", "--stack", STACK)
    assert rows(server) == before  # every row, the one by hand included, with its created_at
    assert dsg_table_step(stack) == "same"


def test_destroy_keeps_the_table_with_the_row_inserted_by_hand_and_says_so(stack, server):
    result = stack.pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK)
    assert f"{TABLE}: kept with the 1 row this stack did not write (dropRowsOfOthers is false)" in result.output
    assert set(rows(server)) == {"ByHand"}
