"""A small client of the Kubernetes API (the standard library's HTTPS, the admin's client certificate): what
the node's set-up needs before anything else can talk to the cluster."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

FIELD_MANAGER = "yellow-node"


class KubeApiError(RuntimeError):
    pass


def object_path(obj: dict[str, Any]) -> str:
    """The REST path of an object of the core group or of a named group (no plurals beyond `-s`)."""
    group_version = obj["apiVersion"]
    prefix = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{prefix}{scope}/{obj['kind'].lower()}s/{obj['metadata']['name']}"


class KubeApi:
    def __init__(self, server: str, context: ssl.SSLContext) -> None:
        self.server = server
        self.context = context

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> Any:
        request = urllib.request.Request(f"{self.server}{path}", data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise KubeApiError(f"{method} {path}: {err.code} {err.read().decode(errors='replace')[:300]}") from None

    def get(self, path: str) -> Any:
        """The object at `path`, or None when there is none (404)."""
        try:
            return self._request("GET", path)
        except KubeApiError as err:
            if ": 404 " in str(err):
                return None
            raise

    def apply(self, obj: dict[str, Any]) -> Any:
        """Server-side apply under FIELD_MANAGER, taking over fields another manager set."""
        path = f"{object_path(obj)}?fieldManager={FIELD_MANAGER}&force=true"
        return self._request("PATCH", path, json.dumps(obj).encode(), "application/apply-patch+yaml")
