"""One stack's entries in an Airflow workload it does not own, applied server-side, as a Pulumi dynamic resource.

Why not pulumi-kubernetes' DeploymentPatch: its Diff cuts the live object to the shape of the old inputs
by list position (`pruneSlice` in the provider), so next to the chart's entries every preview shows the
patch replacing them and a second `up` is never a no-op; and a field taken over by a hand edit can only
be refused or forced over every manager, another stack included. This resource compares by merge key and
decides conflicts by who holds the field (components/server_side_apply.py).

The provider is stateless: it reaches the cluster through the kubeconfig the Kubernetes provider uses
(KUBECONFIG, else ~/.kube/config; context `kubeContext`) on every call, and holds no credential; the
kubeconfig's path is not an input, so the same cluster through another file is no change. Its `check`
runs in every preview and up: it reaches the API server (a failure names the kubeconfig tried) and, for a
new patch or a changed spec, dry-runs the apply, so what the `up` would refuse is refused in the preview,
as one `error:` line (a check failure) rather than a provider traceback.
Inputs have the shape of a Patch resource (apiVersion, kind, metadata, spec), plus the field manager and
the stack's `airflowWorkloads` entries (`stackWorkloads`), which decide whether the workload's executor
leaves tasks without the factory (components/executors.py); they are checked, never applied.

The Kubernetes Python client (and urllib3 under it) is imported by the calls that reach the cluster, not
with this module: the program's own process never uses it, and it takes longer to import than the rest of
the program.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

from components import server_side_apply as ssa
from components.executors import EXECUTOR_ENV, container_env_value, executor_problem
from components.naming import DATABASE_ENV, HOST_ENV, PORT_ENV

ROLLOUT_TIMEOUT_SECONDS = 600
# Changing any of these points the patch at another object or owner: create the new one, then release the old.
_IDENTITY_FIELDS = ("apiVersion", "kind", "metadata", "fieldManager", "kubeContext")
# The stack config key behind each shared env var, for conflict messages.
SHARED_ENV_CONFIG_KEYS = {HOST_ENV: "mergeDbHost", PORT_ENV: "mergeDbPort", DATABASE_ENV: "mergeDbName"}


class WorkloadPatchError(Exception):
    """A failure stated for the person running `pulumi up`."""


def _target(props: Mapping[str, Any]) -> str:
    return f"{props['kind']} {props['metadata']['namespace']}/{props['metadata']['name']}"


def kubeconfig_files() -> str:
    """The kubeconfig file(s) to load, as client-go and kubectl find them: KUBECONFIG, else ~/.kube/config."""
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def kubeconfig_tried() -> str:
    """The kubeconfig file(s) loaded, said for the user."""
    how = "KUBECONFIG" if os.environ.get("KUBECONFIG") else "KUBECONFIG is not set"
    return f"{kubeconfig_files()} ({how})"


def _where(props: Mapping[str, Any]) -> str:
    context = props.get("kubeContext") or ""
    return f"kubeconfig {kubeconfig_tried()}" + (f", context {context} (kubeContext)" if context else "")


class _Workload:
    """The one object a patch targets, through a client built for this call."""

    def __init__(self, props: Mapping[str, Any]):
        from kubernetes import config as kube_config
        from kubernetes import dynamic
        from kubernetes.dynamic.exceptions import DynamicApiError
        from urllib3.exceptions import HTTPError

        self.props = props
        self.name = props["metadata"]["name"]
        self.namespace = props["metadata"]["namespace"]
        try:
            api = kube_config.new_client_from_config(
                config_file=kubeconfig_files(), context=props.get("kubeContext") or None
            )
        except (kube_config.ConfigException, OSError) as error:
            raise WorkloadPatchError(
                f"{_target(props)}: no usable {_where(props)}: {error} (point KUBECONFIG at the cluster's "
                "kubeconfig, or set renderManifestsTo to render the manifests without a cluster)"
            ) from None
        self.server = api.configuration.host
        try:
            resources = dynamic.DynamicClient(api).resources
            self.resource = resources.get(api_version=props["apiVersion"], kind=props["kind"])
        except (HTTPError, DynamicApiError) as error:
            raise _failure(props, "cannot look its kind up", error, self.server) from None

    def get(self) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError
        from urllib3.exceptions import HTTPError

        try:
            return self.resource.get(name=self.name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None
        except (HTTPError, DynamicApiError) as error:
            raise _failure(self.props, "cannot read it", error, self.server) from None

    def apply(self, body: Mapping[str, Any], force: bool, dry_run: bool = False) -> dict[str, Any]:
        from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError
        from urllib3.exceptions import HTTPError

        try:
            return self.resource.server_side_apply(
                body=dict(body),
                name=self.name,
                namespace=self.namespace,
                field_manager=self.props["fieldManager"],
                force_conflicts=force,
                dry_run="All" if dry_run else None,
            ).to_dict()
        except ConflictError:
            raise
        except (HTTPError, DynamicApiError) as error:
            raise _failure(self.props, "the apply did not complete", error, self.server) from None


def _failure(props: Mapping[str, Any], what: str, error: Exception, server: str) -> WorkloadPatchError:
    """An error from the client, said for people: an unreachable server first, as that is what to fix."""
    from urllib3.exceptions import HTTPError

    if isinstance(error, HTTPError):
        return WorkloadPatchError(
            f"{_target(props)}: cannot reach the Kubernetes API server {server} ({_where(props)}): {error}"
        )
    return WorkloadPatchError(f"{_target(props)}: {what}: {_reason(error)}")


def _reason(error: Exception) -> str:
    """The API server's own message when it sent a Status, else the client's."""
    from kubernetes.dynamic.exceptions import DynamicApiError

    if isinstance(error, DynamicApiError):
        try:
            return str(json.loads(error.body)["message"])
        except (TypeError, ValueError, KeyError):
            return f"HTTP {error.status} {error.reason}"
    return str(error)


def _body(props: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    metadata = props["metadata"]
    return ssa.apply_body(props["apiVersion"], props["kind"], metadata["name"], metadata["namespace"], spec)


def _apply(workload: _Workload, dry_run: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Apply the stack's entries; take back fields a hand edit holds, refuse fields another configuration holds.

    Returns the object as applied and the managers whose hand edits were taken back.
    """
    from kubernetes.dynamic.exceptions import ConflictError

    props = workload.props
    target = _target(props)
    live = workload.get()
    if live is None:
        raise WorkloadPatchError(
            f"{target} does not exist: install Airflow there first, or correct airflowWorkloads/namespace"
        )
    body = _body(props, props["spec"])
    try:
        return workload.apply(body, force=False, dry_run=dry_run), []
    except ConflictError as error:
        found = ssa.conflicts(json.loads(error.body))
        if not ssa.only_hand_edits(found, live["metadata"].get("managedFields") or []):
            message = ssa.conflict_message(target, props["fieldManager"], found, SHARED_ENV_CONFIG_KEYS)
            raise WorkloadPatchError(message) from None
        return workload.apply(body, force=True, dry_run=dry_run), sorted({conflict.manager for conflict in found})


def _patched_container(props: Mapping[str, Any]) -> str | None:
    containers = (((props.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return containers[0].get("name") if containers else None


def _check_executor(workload: _Workload) -> None:
    """Refuse, before anything changes, a workload whose executor runs tasks where this stack puts nothing."""
    props = workload.props
    container = _patched_container(props)
    live = workload.get()
    if live is None or container is None:
        return  # a missing workload is refused by the apply, with its own message
    executor = container_env_value(live, container, EXECUTOR_ENV)
    problem = executor_problem(_target(props), executor, props.get("stackWorkloads") or [])
    if problem:
        raise WorkloadPatchError(problem)


def _apply_and_await(props: Mapping[str, Any]) -> dict[str, Any]:
    workload = _Workload(props)
    _check_executor(workload)
    applied, taken_back = _apply(workload)
    rolled_out = _await_rollout(workload, applied)
    return {**props, "drift": _drift(rolled_out, props), "tookBackFrom": taken_back}


def _drift(live: Mapping[str, Any], props: Mapping[str, Any]) -> list[str]:
    """Where the live object does not carry this patch's spec under this patch's field manager."""
    managed = (live.get("metadata") or {}).get("managedFields") or []
    owned = ssa.owned_fields(managed, props["fieldManager"])
    return ssa.drift(live.get("spec"), props["spec"], owned.get("f:spec", {}), ".spec")


def _await_rollout(workload: _Workload, applied: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + ROLLOUT_TIMEOUT_SECONDS
    current: dict[str, Any] | None = applied
    while current is not None and not ssa.rollout_complete(current):
        if time.monotonic() > deadline:
            raise WorkloadPatchError(
                f"{_target(workload.props)}: applied, but its rollout did not complete in "
                f"{ROLLOUT_TIMEOUT_SECONDS} s (kubectl rollout status shows why)"
            )
        time.sleep(1)
        current = workload.get()
    return current or applied


def _has_unknowns(value: Any) -> bool:
    if value == rpc.UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknowns(v) for v in value)
    return False


class WorkloadPatchProvider(ResourceProvider):
    """CRUD for one stack's entries in one workload; stateless, so the pickled provider carries nothing."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = _apply_and_await(props)
        meta = props["metadata"]
        return CreateResult(id_=f"{meta['namespace']}/{props['kind']}/{meta['name']}", outs=outs)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Reach the cluster and read the live executor (every preview and `up`, creates included); for a new
        patch or a changed spec, dry-run the apply. A refusal is a check failure: the engine prints it as one
        `error:` line and plans no step for the resource."""
        if _has_unknowns(news):
            return CheckResult(news, [])
        try:
            workload = _Workload(news)
            _check_executor(workload)  # reads the live object: the cluster is reached at every preview
            if not olds or olds.get("spec") != news.get("spec") or _target(olds) != _target(news):
                _apply(workload, dry_run=True)
        except WorkloadPatchError as error:
            return CheckResult(news, [CheckFailure("", str(error))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [field for field in _IDENTITY_FIELDS if olds.get(field) != news.get(field)]
        # `drift` is what the live object lacked at the last apply or refresh: a hand edit shows there.
        changes = bool(replaces) or bool(olds.get("drift")) or olds.get("spec") != news.get("spec")
        if olds.get("drift") and not replaces and olds.get("spec") == news.get("spec"):
            # Drift alone (check dry-ran spec changes): a dry run, so the preview refuses what `up` would.
            _apply(_Workload(news), dry_run=True)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_apply_and_await(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = _Workload(props).get()
        if live is None:
            return ReadResult(id_=None, outs={})
        return ReadResult(id_=id_, outs={**props, "drift": _drift(live, props)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Release every field this manager holds: entries only it holds go, shared ones stay with the others."""
        workload = _Workload(props)
        if workload.get() is None:
            return
        workload.apply(_body(props, {}), force=False)


class WorkloadPatch(Resource, module="datasurface", name="WorkloadPatch"):
    """This stack's entries in one workload: `spec` holds only them, as a server-side apply would send it."""

    drift: pulumi.Output[list]
    tookBackFrom: pulumi.Output[list]

    def __init__(
        self,
        name: str,
        manifest: Mapping[str, Any],
        field_manager: str,
        kube_context: str | None,
        stack_workloads: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            **manifest,
            "fieldManager": field_manager,
            "kubeContext": kube_context or "",
            "stackWorkloads": list(stack_workloads),
            "drift": None,
            "tookBackFrom": None,
        }
        super().__init__(WorkloadPatchProvider(), name, props, opts)
