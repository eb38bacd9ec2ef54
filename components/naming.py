"""Names: Kubernetes object names on one side, data identifiers on the other.

`to_k8s_name()` is for Kubernetes object names only. Hostnames, database names and table names are
never passed through it: they are validated and either accepted verbatim or rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLATFORMS = ("yellowlive", "yellowforensic")
# The words that name a platform: its name and that name without the family's prefix.
_PLATFORM_FAMILY = "yellow"


def platform_words(platform: str) -> tuple[str, str]:
    """The words that name `platform` in another platform's names: its name, and its short name as a part of
    a compound name ('postgres_forensic' is forensic's credential name)."""
    return platform, platform.removeprefix(_PLATFORM_FAMILY)


_K8S_NAME_MAX = 63
# Every pattern is used with fullmatch: `$` would accept a final newline ("postgres\n").
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE | re.ASCII)
# A cluster DNS name whose dots were stripped, e.g. "pg-datans-kub-pg-testsvcclusterlocal".
_MANGLED_CLUSTER_DNS = re.compile(r"svc-?cluster-?local\Z", re.IGNORECASE)
_DAG_ID = re.compile(r"[A-Za-z0-9_.-]+")
_DAG_ID_MAX = 250
_SQL_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What a credential name may hold: it forms env var names (<name>_USER) and Secret keys, both ASCII only
# (str.isalnum would take 'pöstgres' and 'ⅷ', which the API server refuses). The stream schema's
# credential_names say the same.
_CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9_]+")
_CREDENTIAL_NAME_MAX = 200  # a Secret key is at most 253 characters; <name>_PASSWORD must fit
# An image reference as the distribution spec's reference grammar writes it (docker/distribution
# reference/regexp.go): [domain[:port]/]path-component(/path-component)*[:tag][@digest].
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_IMAGE_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_IMAGE_REFERENCE = re.compile(
    rf"(?P<name>{_IMAGE_NAME})(?::[\w][\w.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}})?",
    re.ASCII,
)
_IMAGE_NAME_MAX = 255


def to_k8s_name(name: str) -> str:
    """Turn any string into a valid Kubernetes object name (RFC 1123 label, at most 63 chars).

    Only for Kubernetes object names: it drops dots, so it must never see a hostname.
    """
    lowered = name.lower().replace("_", "-")
    cleaned = re.sub(r"[^a-z0-9-]", "", lowered)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-")
    cleaned = cleaned[:_K8S_NAME_MAX].rstrip("-")
    if not cleaned:
        raise ValueError(f"cannot form a Kubernetes name from {name!r}")
    return cleaned


def hostname_problem(host: str) -> str | None:
    """Why `host` is not a usable hostname, or None when it is (RFC 1123, taken verbatim)."""
    if not host:
        return "is empty"
    if len(host) > 253:
        return "is longer than 253 characters"
    if host != host.strip():
        return "has surrounding whitespace"
    labels = host.rstrip(".").split(".")
    for label in labels:
        if not _DNS_LABEL.fullmatch(label):
            return f"has an invalid DNS label {label!r} (RFC 1123: letters, digits, '-', 1-63 chars)"
    if len(labels) == 1 and _MANGLED_CLUSTER_DNS.search(host):
        return (
            "looks like a cluster DNS name with its dots removed (a Kubernetes-name helper mangled it); "
            "use the real name, e.g. 'pg-data.<namespace>.svc.cluster.local'"
        )
    return None


def dag_id_problem(dag_id: str) -> str | None:
    """Why `dag_id` is not a valid Airflow DAG id, or None."""
    if not _DAG_ID.fullmatch(dag_id):
        return "may only contain letters, digits, '_', '.' and '-'"
    if len(dag_id) > _DAG_ID_MAX:
        return f"is longer than {_DAG_ID_MAX} characters"
    return None


def sql_identifier_problem(name: str) -> str | None:
    """Why `name` is not a plain lower-case SQL identifier (at most 63 bytes), or None."""
    if not _SQL_IDENTIFIER.fullmatch(name):
        return "must be a lower-case SQL identifier: [a-z_][a-z0-9_]*, at most 63 characters"
    return None


def credential_name_problem(name: str) -> str | None:
    """Why `name` cannot form the env var names <name>_USER/<name>_PASSWORD and Secret keys, or None."""
    if not _CREDENTIAL_NAME.fullmatch(name):
        return "must be ASCII letters, digits and '_' (it forms env var names and Secret keys)"
    if len(name) > _CREDENTIAL_NAME_MAX:
        return f"must be at most {_CREDENTIAL_NAME_MAX} characters (it forms Secret keys)"
    return None


def image_reference_problem(image: str) -> str | None:
    """Why `image` is not an image reference a container runtime pulls (the distribution spec's grammar), or None."""
    if image != image.strip():
        return "has surrounding whitespace"
    found = _IMAGE_REFERENCE.fullmatch(image)
    if not found:
        return (
            "is not an image reference: [<registry>[:<port>]/]<lower-case path>[:<tag>][@<algorithm>:<hex digest>], "
            "e.g. 'datasurface/datasurface:0.9.6'"
        )
    first, slash, _ = found["name"].partition("/")
    # As a runtime reads a reference: the first part is a registry only with a '.' or ':' in it, or 'localhost'.
    is_registry = slash and ("." in first or ":" in first or first == "localhost")
    if not is_registry and not re.fullmatch(_PATH_COMPONENT, first):
        return "has a repository name that is not lower-case (a registry needs a '.' or ':' in it)"
    if len(found["name"]) > _IMAGE_NAME_MAX:
        return f"has a name longer than {_IMAGE_NAME_MAX} characters"
    return None


def platform_labels(platform: str, component: str) -> dict[str, str]:
    """Labels on every Kubernetes object a platform's stack creates."""
    return {
        "app.kubernetes.io/part-of": "datasurface-yellow",
        "app.kubernetes.io/component": component,
        "datasurface.io/platform": platform,
    }


# The env vars every Airflow workload and ingestion pod gets (the same in every platform), and the keys of
# the credentials Secret that pods reference (beside <credential>_USER/_PASSWORD, PlatformNames.user_env).
HOST_ENV = "DATASURFACE_POSTGRES_HOST"
PORT_ENV = "DATASURFACE_POSTGRES_PORT"
DATABASE_ENV = "DATASURFACE_POSTGRES_DATABASE"
SECRET_USER_KEY = "username"
SECRET_PASSWORD_KEY = "password"


@dataclass(frozen=True)
class PlatformNames:
    """Every name derived from a platform, computed once so all components agree."""

    platform: str
    credential_name: str

    @property
    def factory_dag_id(self) -> str:
        return f"{self.platform}_factory_dag"

    @property
    def dag_prefix(self) -> str:
        return f"{self.platform}__"

    dag_suffix = "_ingestion"

    def stream_dag_id(self, stream_key: str) -> str:
        return f"{self.dag_prefix}{stream_key}{self.dag_suffix}"

    @property
    def dsg_table(self) -> str:
        return f"{self.platform}_airflow_dsg"

    @property
    def ledger_table(self) -> str:
        return f"{self.platform}_airflow_dsg_ledger"

    @property
    def audit_table(self) -> str:
        return f"{self.platform}_airflow_dsg_audit"

    @property
    def audit_sequence(self) -> str:
        """The sequence of the audit table's `id` (BIGSERIAL), as PostgreSQL names it."""
        return f"{self.audit_table}_id_seq"

    @property
    def history_table(self) -> str:
        return f"{self.platform}_airflow_dsg_history"

    @property
    def dag_file_name(self) -> str:
        return f"{self.factory_dag_id}.py"

    @property
    def configmap_name(self) -> str:
        return to_k8s_name(f"{self.platform}-factory-dag")

    @property
    def dag_volume_name(self) -> str:
        return to_k8s_name(f"{self.platform}-factory-dag")

    @property
    def credentials_secret_name(self) -> str:
        return to_k8s_name(f"{self.platform}-{self.credential_name}-credentials")

    @property
    def writer_secret_name(self) -> str:
        """The Secret of the writer role (writerDbUser), which no Airflow workload mounts."""
        return to_k8s_name(f"{self.platform}-writer-credentials")

    @property
    def user_env(self) -> str:
        return f"{self.credential_name}_USER"

    @property
    def password_env(self) -> str:
        return f"{self.credential_name}_PASSWORD"
