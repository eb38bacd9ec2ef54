"""Server-side-apply patches that give each Airflow workload the factory DAG and its database.

Each stack applies under its own field manager, `datasurface-<stack>`. Entries are keyed lists in Kubernetes
(env by name, volumes by name, volumeMounts by mountPath), so:
- per-platform entries (the DAG volume, its mount, the credential env vars) have distinct keys and
  each stack owns only its own;
- the shared DATASURFACE_POSTGRES_* entries carry identical values in both stacks, so both managers
  co-own them; deleting one stack's patch releases only that manager's claim and the fields stay.
The entries are components/factory_pod.py's, the same the DAG file's tasks carry as their pod_override. Each
pod template also gets the platform's credentials annotation (components/rollout.py), so a rotated Secret
rolls the workload out.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import server_side_apply as ssa
from components.credentials import credentials_secret_manifest
from components.factory_pod import pod_spec_entries
from components.rollout import credentials_annotation, credentials_digest
from components.settings import Settings, Workload
from components.workload_patch import WorkloadPatch


def workload_entry(workload: Workload) -> str:
    """The workload as an `airflowWorkloads` entry, container included."""
    return f"{workload.kind}/{workload.name}:{workload.container}"


def credentials_rollout_digest(settings: Settings) -> str:
    """What the credentials Secret holds, as a keyed digest: changes with it, and reveals nothing of it."""
    secret = credentials_secret_manifest(settings, settings.merge_db_user, settings.merge_db_password)
    return credentials_digest(
        secret["metadata"]["name"], secret["stringData"], settings.admin_password, settings.platform
    )


def pod_template_patch(settings: Settings, workload: Workload, rollout_digest: str) -> dict[str, Any]:
    """The `spec.template` part of one workload's patch (camelCase, as Kubernetes has it).

    The credentials annotation changes whenever the Secret does, so the workload rolls out and its new pods
    read the new values; the DAG file is not in it (the ConfigMap volume follows a change in place).
    """
    annotations = {
        f"datasurface.io/{settings.platform}-factory-dag": settings.names.configmap_name,
        credentials_annotation(settings.platform): rollout_digest,
    }
    return {"metadata": {"annotations": annotations}, "spec": pod_spec_entries(settings, workload.container)}


def patch_manifest(settings: Settings, workload: Workload, rollout_digest: str) -> dict[str, Any]:
    """The apply configuration of one workload: only this stack's entries, under no annotation of its own."""
    spec = {"template": pod_template_patch(settings, workload, rollout_digest)}
    return ssa.apply_body("apps/v1", workload.kind, workload.name, settings.namespace, spec)


# Render mode writes manifests for a person to apply; pulumi-kubernetes' Patch resources render them.
_RENDERED_PATCH_TYPES = {
    "Deployment": k8s.apps.v1.DeploymentPatch,
    "StatefulSet": k8s.apps.v1.StatefulSetPatch,
}


class AirflowWorkloads(pulumi.ComponentResource):
    """One patch per configured workload that parses or runs the factory DAG, applied under the stack's manager."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("datasurface:yellow:AirflowWorkloads", name, None, opts)
        self.patches: list[pulumi.Resource] = []
        rollout_digest = credentials_rollout_digest(settings)
        listed = [workload_entry(w) for w in settings.workloads]
        for workload in settings.workloads:
            manifest = patch_manifest(settings, workload, rollout_digest)
            patch_name = f"{name}-{workload.kind.lower()}-{workload.name}"
            child = pulumi.ResourceOptions(parent=self)
            if settings.render_manifests_to:
                patch_type = _RENDERED_PATCH_TYPES[workload.kind]
                patch: pulumi.Resource = patch_type(
                    patch_name, metadata=manifest["metadata"], spec=manifest["spec"], opts=child
                )
            else:
                patch = WorkloadPatch(
                    patch_name, manifest, ssa.field_manager(pulumi.get_stack()), settings.kube_context, listed, child
                )
            self.patches.append(patch)
        self.workload_names = [f"{w.kind}/{w.name}" for w in settings.workloads]
        self.register_outputs({"patchedWorkloads": self.workload_names})
