"""The merge-database credentials Secret, with both key variants the workloads use.

`username`/`password` serve `secretKeyRef` in pods (the KubernetesPodOperator jobs);
`<credential>_USER`/`<credential>_PASSWORD` serve `envFrom` and the factory DAG's environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.naming import platform_labels
from components.settings import Settings


def credential_keys(credential_name: str) -> tuple[str, str, str, str]:
    return ("username", "password", f"{credential_name}_USER", f"{credential_name}_PASSWORD")


def credentials_secret_manifest(settings: Settings, username: Any, password: Any) -> dict[str, Any]:
    """The Secret body; `username` and `password` may be plain values or Pulumi Outputs."""
    user_key, password_key, cred_user_key, cred_password_key = credential_keys(settings.credential_name)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": settings.names.credentials_secret_name,
            "namespace": settings.namespace,
            "labels": platform_labels(settings.platform, "credentials"),
        },
        "stringData": {
            user_key: username,
            password_key: password,
            cred_user_key: username,
            cred_password_key: password,
        },
    }


@dataclass
class CredentialsSecretArgs:
    settings: Settings


class CredentialsSecret(pulumi.ComponentResource):
    def __init__(self, name: str, args: CredentialsSecretArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("datasurface:yellow:CredentialsSecret", name, None, opts)
        settings = args.settings
        body = credentials_secret_manifest(
            settings, settings.merge_db_user, pulumi.Output.secret(settings.merge_db_password)
        )
        self.secret = k8s.core.v1.Secret(
            name,
            metadata=body["metadata"],
            type=body["type"],
            string_data=body["stringData"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_name = settings.names.credentials_secret_name
        self.register_outputs({"secretName": self.secret_name})
