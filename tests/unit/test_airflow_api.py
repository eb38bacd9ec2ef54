"""The REST client: a token once, bearer requests, errors with their status; and its polling helper."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools.airflow_api import AirflowApi, AirflowApiError, poll

TOKEN = "t0ken"


class FakeAirflow(BaseHTTPRequestHandler):
    tokens_issued = 0

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/auth/token" and body == {"username": "admin", "password": "admin"}:
            FakeAirflow.tokens_issued += 1
            self.reply(201, {"access_token": TOKEN})
        else:
            self.reply(401, {"detail": "Invalid credentials"})

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.reply(401, {"detail": "Not authenticated"})
        elif self.path.startswith("/api/v2/dags?"):
            self.reply(200, {"dags": [{"dag_id": "a"}, {"dag_id": "b"}], "total_entries": 2})
        else:
            self.reply(404, {"detail": "Not Found"})


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeAirflow)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeAirflow.tokens_issued = 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_requests_carry_the_token_which_is_asked_for_once(server):
    api = AirflowApi(server, "admin", "admin")
    assert set(api.dags()) == {"a", "b"}
    assert set(api.dags()) == {"a", "b"}
    assert FakeAirflow.tokens_issued == 1


def test_a_wrong_login_and_a_missing_resource_raise_with_their_status(server):
    with pytest.raises(AirflowApiError, match="HTTP 401") as refused:
        AirflowApi(server, "admin", "wrong").dags()
    assert refused.value.status == 401
    with pytest.raises(AirflowApiError, match="GET .*/api/v2/nowhere: HTTP 404"):
        AirflowApi(server, "admin", "admin").get("/api/v2/nowhere")


def test_poll_returns_the_first_truthy_answer_and_treats_connection_errors_as_not_yet():
    answers = iter([ConnectionRefusedError("down"), None, {"ready": True}])

    def probe():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert poll(probe, timeout=5, what="ready", interval=0) == {"ready": True}


def test_poll_names_what_it_waited_for_and_the_last_error():
    def probe():
        raise ConnectionRefusedError("nothing listens")

    with pytest.raises(TimeoutError, match=r"the UI: not within 0 s \(last error: nothing listens\)"):
        poll(probe, timeout=0.2, what="the UI", interval=0.05)
