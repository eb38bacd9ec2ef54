"""The merge-database credentials Secret, with both key variants the workloads use.

`username`/`password` serve `secretKeyRef` in pods (the KubernetesPodOperator jobs);
`<credential>_USER`/`<credential>_PASSWORD` serve `envFrom` and the factory DAG's environment.

The writer role's Secret (when writerDbUser is set) is for DataSurface's own jobs that write the dsg
table's rows; no Airflow workload mounts it.
"""

from __future__ import annotations

from typing import Any

from components.naming import SECRET_PASSWORD_KEY, SECRET_USER_KEY, platform_labels
from components.settings import Settings


def credentials_secret_manifest(settings: Settings, username: Any, password: Any) -> dict[str, Any]:
    """The Secret body; `username` and `password` may be plain values or Pulumi Outputs."""
    names = settings.names
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": names.credentials_secret_name,
            "namespace": settings.namespace,
            "labels": platform_labels(settings.platform, "credentials"),
        },
        "stringData": {
            SECRET_USER_KEY: username,
            SECRET_PASSWORD_KEY: password,
            names.user_env: username,
            names.password_env: password,
        },
    }


def writer_secret_manifest(settings: Settings, password: Any) -> dict[str, Any]:
    """The writer role's Secret body: `username`/`password`, for a `secretKeyRef` of the jobs that write rows."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": settings.names.writer_secret_name,
            "namespace": settings.namespace,
            "labels": platform_labels(settings.platform, "writer-credentials"),
        },
        "stringData": {SECRET_USER_KEY: settings.writer_db_user, SECRET_PASSWORD_KEY: password},
    }
