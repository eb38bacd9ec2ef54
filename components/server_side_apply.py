"""Server-side apply into objects that other managers own, as pure functions over Kubernetes JSON.

A stack applies only its own entries into the Airflow chart's workloads. What it owns is compared with
the live object by merge key (env by name, volumes by name, mounts by path), never by position: the
chart's entries come first in every list, and another stack's entries sit between them and ours.
When an apply conflicts, who holds the field decides: a hand edit (an `Update` such as `kubectl set
env`) is taken back, because the stack's configuration is the source of truth for what it owns; a
declarative owner (another stack, another apply) is refused, because two configurations disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Merge keys of the keyed lists a workload patch touches (from the Kubernetes API's list-map keys).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
}

FIELD_MANAGER_PREFIX = "datasurface-"


def field_manager(stack: str) -> str:
    """The field manager a stack applies under; it names the stack, so a conflict says who holds a field."""
    return f"{FIELD_MANAGER_PREFIX}{stack}"


def stack_of(manager: str) -> str | None:
    return manager.removeprefix(FIELD_MANAGER_PREFIX) if manager.startswith(FIELD_MANAGER_PREFIX) else None


def apply_body(api_version: str, kind: str, name: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """What an apply sends; with an empty `spec` it claims nothing, which releases every field the manager held."""
    body: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}
    if spec:
        body["spec"] = dict(spec)
    return body


def owned_fields(managed_fields: Iterable[Mapping[str, Any]], manager: str) -> dict[str, Any]:
    """The FieldsV1 tree of what `manager` holds through its applies (one entry per API version, merged)."""
    tree: dict[str, Any] = {}
    for entry in managed_fields:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            _merge_tree(tree, entry.get("fieldsV1") or {})
    return tree


def _merge_tree(into: dict[str, Any], tree: Mapping[str, Any]) -> None:
    for key, value in tree.items():
        _merge_tree(into.setdefault(key, {}), value)


_ABSENT = object()


def drift(live: Any, desired: Any, owned: Mapping[str, Any] | None, path: str = "") -> list[str]:
    """Where the live object does not carry what this manager applies, one line per field, for people.

    `desired` is walked; keyed lists are matched by merge key, never by position. With `owned` (the
    manager's FieldsV1 tree; None below a field held whole) a field whose value is right but which another
    manager took over (a hand edit of the same value) is drift too: the next apply must claim it back.
    An empty list means the live object carries exactly this manager's entries.
    """
    if live is _ABSENT and isinstance(desired, Mapping):
        return [f"{path}: absent"]
    if isinstance(desired, Mapping) and desired:
        found: list[str] = []
        for key, wanted in desired.items():
            actual = live.get(key, _ABSENT) if isinstance(live, Mapping) else _ABSENT
            found += drift(actual, wanted, _below(owned, f"f:{key}"), f"{path}.{key}")
        return found
    merge_key = MERGE_KEYS.get(path.rsplit(".", 1)[-1])
    if isinstance(desired, list) and merge_key:
        by_key = {e.get(merge_key): e for e in live if isinstance(e, Mapping)} if isinstance(live, list) else {}
        found = []
        for entry in desired:
            value = entry[merge_key]
            entry_path = f"{path}[{merge_key}={json.dumps(value)}]"
            found += drift(by_key.get(value, _ABSENT), entry, _below(owned, _list_key(merge_key, value)), entry_path)
        return found
    if live is _ABSENT:
        return [f"{path}: absent, configured {json.dumps(desired)}"]
    if live != desired:
        return [f"{path}: live {json.dumps(live)}, configured {json.dumps(desired)}"]
    if owned is _NOT_HELD:
        return [f"{path}: right value, but held by another field manager"]
    return []


_NOT_HELD: Mapping[str, Any] = {"not held": {}}


def _below(owned: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    """The manager's tree under `key`: None once a field is held whole, _NOT_HELD where it holds nothing."""
    if owned is None:
        return None
    if owned is _NOT_HELD or key not in owned:
        return _NOT_HELD
    # An empty subtree is a field held whole (a scalar, or an atomic struct such as secretKeyRef).
    return owned[key] or None


def _list_key(merge_key: str, value: Any) -> str:
    return "k:" + json.dumps({merge_key: value}, separators=(",", ":"))


@dataclass(frozen=True)
class Conflict:
    manager: str
    field: str


_CONFLICT_WITH = re.compile(r'conflict with "(?P<manager>[^"]+)"')


def conflicts(status: Mapping[str, Any]) -> list[Conflict]:
    """The conflicts of a 409 from an apply, from its Status details."""
    found = []
    for cause in (status.get("details") or {}).get("causes") or []:
        match = _CONFLICT_WITH.search(cause.get("message", ""))
        if match:
            found.append(Conflict(match["manager"], cause.get("field", "")))
    return found


def declarative_managers(managed_fields: Iterable[Mapping[str, Any]]) -> set[str]:
    """Managers that hold fields through an apply: another configuration, not a hand edit."""
    return {entry["manager"] for entry in managed_fields if entry.get("operation") == "Apply"}


def only_hand_edits(found: Sequence[Conflict], managed_fields: Iterable[Mapping[str, Any]]) -> bool:
    declarative = declarative_managers(managed_fields)
    return bool(found) and all(conflict.manager not in declarative for conflict in found)


_ENV_FIELD = re.compile(r'\.env\[name="(?P<name>[^"]+)"\]')


def conflict_message(target: str, manager: str, found: Sequence[Conflict], config_keys: Mapping[str, str]) -> str:
    """Why an apply was refused and what to do, naming the stack (or tool) that holds each field.

    `config_keys` maps an env var name to the stack config key that sets it.
    """
    lines = [f"{target}: this stack ({manager}) and another configuration apply different values:"]
    for conflict in found:
        holder_stack = stack_of(conflict.manager)
        holder = f'stack "{holder_stack}"' if holder_stack else f'field manager "{conflict.manager}"'
        env = _ENV_FIELD.search(conflict.field)
        key = config_keys.get(env["name"]) if env else None
        hint = f" (config key {key})" if key else ""
        lines.append(f"  {conflict.field}{hint} is held by {holder}")
    lines.append(
        "Nothing was changed. A shared entry must have the same value in every stack on the workload: make this "
        "stack's config agree with the holder's, or destroy the holder's stack first."
    )
    return "\n".join(lines)


def rollout_complete(obj: Mapping[str, Any]) -> bool:
    """Whether the workload's controller has observed and rolled out its current spec (as kubectl rollout status)."""
    metadata, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if status.get("observedGeneration", 0) < metadata.get("generation", 0):
        return False
    wanted = spec.get("replicas", 1)
    if obj.get("kind") == "StatefulSet":
        if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
            return True
        return status.get("readyReplicas", 0) >= wanted and status.get("updateRevision") == status.get(
            "currentRevision"
        )
    updated = status.get("updatedReplicas", 0)
    return updated >= wanted and status.get("replicas", 0) <= updated and status.get("availableReplicas", 0) >= updated
