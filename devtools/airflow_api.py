"""A small client of Airflow 3's REST API (v2) as a user reaches it: a JWT from the simple auth manager's
`POST /auth/token`, then bearer requests. Standard library only, so the start command and the tests use it
from the project's environment, without Airflow.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class AirflowApiError(RuntimeError):
    def __init__(self, method: str, url: str, status: int, body: str):
        super().__init__(f"{method} {url}: HTTP {status}: {body[:500]}")
        self.status = status


@dataclass
class AirflowApi:
    base_url: str
    username: str
    password: str
    timeout: float = 30
    _token: str | None = field(default=None, repr=False)

    def _send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
        url = self.base_url.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            raise AirflowApiError(method, url, err.code, err.read().decode(errors="replace")) from None

    def token(self) -> str:
        if self._token is None:
            answer = self._send("POST", "/auth/token", {"username": self.username, "password": self.password})
            self._token = json.loads(answer)["access_token"]
        return self._token

    def request(self, method: str, path: str, body: Any = None, accept: str = "application/json") -> Any:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": accept}
        answer = self._send(method, path, body, headers)
        return json.loads(answer) if accept == "application/json" else answer.decode()

    def get(self, path: str, **params: Any) -> Any:
        query = ("?" + urllib.parse.urlencode(params, doseq=True)) if params else ""
        return self.request("GET", path + query)

    def health(self) -> dict[str, Any]:
        """`/api/v2/monitor/health`, which needs no login."""
        return json.loads(self._send("GET", "/api/v2/monitor/health"))

    def dags(self) -> dict[str, dict[str, Any]]:
        """The DAGs the UI lists (stale ones excluded, as the UI does), by id."""
        listed = self.get("/api/v2/dags", limit=1000)["dags"]
        return {dag["dag_id"]: dag for dag in listed}

    def import_errors(self) -> list[dict[str, Any]]:
        return self.get("/api/v2/importErrors", limit=1000)["import_errors"]

    def trigger(self, dag_id: str) -> dict[str, Any]:
        """A manual run now (Airflow 3 takes a null logical date for a run that is not tied to an interval)."""
        return self.request("POST", f"/api/v2/dags/{quote(dag_id)}/dagRuns", {"logical_date": None})

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.get(f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v2/dags/{quote(dag_id)}/dagRuns", limit=100, order_by="-start_date")["dag_runs"]

    def set_dag_run_state(self, dag_id: str, run_id: str, state: str) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}", {"state": state})

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> list[dict[str, Any]]:
        """The task's structured log records (each with its `event`, and `logger` for records a task logged)."""
        path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}/logs/{try_number}"
        return self.get(path)["content"]


def quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def poll(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """The first truthy result of `probe`, calling it every `interval` seconds; raises TimeoutError naming
    `what` and the last error when none comes within `timeout`. Connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            result = probe()
            if result:
                return result
        except (OSError, AirflowApiError) as err:
            last_error = f" (last error: {err})"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s{last_error}")
        time.sleep(interval)
