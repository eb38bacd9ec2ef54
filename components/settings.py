"""Typed, validated settings for one stack, built from raw config values before any resource exists.

`parse_settings` takes the raw values (as read from Pulumi config) and either returns a `Settings` or
raises `SettingsError` listing every problem, each naming the config key and its value. Apart from the
stack's streams file (components/streams.py), it reads nothing else.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.naming import (
    PLATFORMS,
    PlatformNames,
    credential_name_problem,
    hostname_problem,
    image_reference_problem,
    sql_identifier_problem,
    to_k8s_name,
)
from components.project_file import DEFAULTS, PROJECT, PROJECT_DIR, SECRET_KEYS, PlainText
from components.streams import SeedStream, parse_streams, without_secrets
from factory.schedules import schedule_string_problem

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
SSL_MODES = ("disable", "require", "verify-ca", "verify-full")


class SettingsError(ValueError):
    """Raised with every problem found in a stack's config; nothing is declared when it is raised."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack config:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Workload:
    """An Airflow workload that parses or runs the factory DAG."""

    kind: str
    name: str
    container: str


@dataclass(frozen=True)
class Settings:
    platform: str
    namespace: str
    merge_db_host: str
    merge_db_port: int
    merge_db_name: str
    merge_db_user: str
    merge_db_password: Any = field(repr=False)
    writer_db_user: str | None
    writer_db_password: Any = field(repr=False)
    credential_name: str
    admin_host: str
    admin_port: int
    admin_user: str
    admin_password: Any = field(repr=False)
    admin_ssl_mode: str
    create_database: bool
    drop_rows_of_others: bool
    workloads: tuple[Workload, ...]
    dags_folder: str
    job_image: str
    factory_schedule: str
    streams: tuple[SeedStream, ...]
    render_manifests_to: str | None
    kube_context: str | None

    @property
    def names(self) -> PlatformNames:
        return PlatformNames(self.platform, self.credential_name)

    @property
    def dag_mount_path(self) -> str:
        """One folder per platform inside the dags folder."""
        return f"{self.dags_folder.rstrip('/')}/{self.platform}"


def _fmt(key: str, value: Any) -> str:
    return f"{PROJECT}:{key} = {value!r}"


class _Collector:
    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        self.problems: list[str] = []

    def fail(self, key: str, value: Any, why: str) -> None:
        self.problems.append(f"{_fmt(key, value)}: {why}")

    def value(self, key: str) -> Any:
        value = self.raw.get(key)
        return DEFAULTS.get(key) if value is None else value

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.value(key)
        if value is None or value == "":
            if required:
                self.problems.append(f"{PROJECT}:{key} is required but not set")
            return None
        if not isinstance(value, str):
            self.fail(key, value, "must be a string")
            return None
        return value

    def integer(self, key: str) -> int | None:
        value = self.value(key)
        if value is None:
            return None
        if isinstance(value, bool):
            self.fail(key, value, "must be an integer")
            return None
        try:
            return int(str(value).strip())
        except ValueError:
            self.fail(key, value, "must be an integer")
            return None

    def boolean(self, key: str) -> bool:
        value = self.value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.fail(key, value, "must be true or false")
        return bool(DEFAULTS.get(key))

    def string_list(self, key: str) -> list[str]:
        value = self.value(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                self.fail(key, value, "must be a list of strings")
                return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, value, "must be a list of strings")
            return []
        return value

    def port(self, key: str) -> int:
        port = self.integer(key)
        if port is None and self.value(key) is None:
            self.problems.append(f"{PROJECT}:{key} is required but not set")
        elif port is not None and not 1 <= port <= 65535:
            self.fail(key, self.value(key), "port must be between 1 and 65535")
        return port or 0

    def hostname(self, key: str) -> str:
        host = self.string(key, required=True)
        if host is not None:
            problem = hostname_problem(host)
            if problem:
                self.fail(key, host, f"not a valid hostname: it {problem}")
        return host or ""


def dags_folder_problem(folder: str) -> str | None:
    """Why `folder` cannot be the dags folder the workloads mount the factory's ConfigMap under, or None."""
    if not folder.startswith("/"):
        return "must be an absolute path inside the Airflow containers"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in folder):
        return "must not hold control characters (a newline, a tab)"
    if "//" in folder or posixpath.normpath(folder) != (folder.rstrip("/") or "/"):
        return "must be a normalized absolute path (no '.' or '..' parts, no '//')"
    return None


def _parse_workload(text: str) -> Workload | None:
    kind, sep, rest = text.partition("/")
    name, _, container = rest.partition(":")
    if not sep or kind not in WORKLOAD_KINDS or not name:
        return None
    if to_k8s_name(name) != name or (container and to_k8s_name(container) != container):
        return None
    return Workload(kind=kind, name=name, container=container or name)


def _parse_workloads(c: _Collector) -> tuple[Workload, ...]:
    workloads: list[Workload] = []
    for text in c.string_list("airflowWorkloads"):
        workload = _parse_workload(text)
        if workload is None:
            c.fail(
                "airflowWorkloads",
                text,
                "each entry must be '<Deployment|StatefulSet>/<name>[:<container>]' with Kubernetes names",
            )
            continue
        if any((w.kind, w.name) == (workload.kind, workload.name) for w in workloads):
            c.fail("airflowWorkloads", text, "workload listed twice")
            continue
        workloads.append(workload)
    if not workloads and not c.problems:
        c.fail("airflowWorkloads", [], "at least one Airflow workload must run the factory DAG")
    return tuple(workloads)


def _parse_writer(c: _Collector, login_user: str, admin_user: str) -> tuple[str | None, str | None]:
    """The optional writer role: a role of its own, with a password that is a secret."""
    user = c.string("writerDbUser") or None
    password = c.raw.get("writerDbPassword")
    how = "(set it with: pulumi config set --secret writerDbPassword <value>)"
    if isinstance(password, PlainText):
        c.problems.append(f"{PROJECT}:writerDbPassword is set in plain text; it must be a secret {how}")
        password = None
    elif password is not None and not isinstance(password, str):
        c.problems.append(f"{PROJECT}:writerDbPassword must be a string {how}")
        password = None
    if user is None:
        if password:
            c.problems.append(f"{PROJECT}:writerDbPassword is set but writerDbUser is not; set both or neither")
        return None, None
    problem = sql_identifier_problem(user)
    if problem:
        c.fail("writerDbUser", user, problem)
    elif user in (login_user, admin_user):
        c.fail("writerDbUser", user, "must be a role of its own, not mergeDbUser or adminUser")
    if not (password or "").strip() and not any(p.startswith(f"{PROJECT}:writerDbPassword") for p in c.problems):
        c.problems.append(f"{PROJECT}:writerDbPassword is required when writerDbUser is set {how}")
    return user, password


def _factory_schedule(c: _Collector) -> str:
    """The factory DAG's schedule, checked as Airflow checks it. An empty value is refused, not replaced by
    the default: Airflow would refuse it and the factory DAG would be gone; leaving the key out gives the default."""
    key = "factorySchedule"
    value = c.value(key)
    if not isinstance(value, str):
        c.fail(key, value, "must be a string")
        return ""
    if not value.strip():
        c.fail(key, value, f"must be a cron expression or preset; remove the key for the default {DEFAULTS[key]!r}")
        return ""
    problem = schedule_string_problem(value)
    if problem:
        c.fail(key, value, problem)
    return value


def parse_settings(raw: Mapping[str, Any], project_dir: Path = PROJECT_DIR) -> Settings:
    """Validate raw config values (keys without the project prefix) into `Settings`.

    `streamsFile` is read relative to `project_dir`; that file is the only thing read besides `raw`.

    Secret values (mergeDbPassword, adminPassword, writerDbPassword) are only checked to be set, non-empty and
    (writerDbPassword, which a stack may leave out) encrypted; they are
    never printed, and components pass them on wrapped with `pulumi.Output.secret`.
    """
    c = _Collector(raw)

    platform = c.string("platform", required=True)
    names = None
    if platform is not None and platform not in PLATFORMS:
        c.fail("platform", platform, f"unknown platform; expected one of {', '.join(PLATFORMS)}")
        platform = None

    namespace = c.string("namespace", required=True)
    if namespace is not None and to_k8s_name(namespace) != namespace:
        c.fail("namespace", namespace, "not a valid Kubernetes namespace name (RFC 1123 label)")

    merge_host = c.hostname("mergeDbHost")
    merge_port = c.port("mergeDbPort")
    admin_host = c.hostname("adminHost")
    admin_port = c.port("adminPort")

    merge_db_name = c.string("mergeDbName") or ""
    merge_db_user = c.string("mergeDbUser", required=True) or ""
    admin_user = c.string("adminUser") or ""
    for key, value in (("mergeDbName", merge_db_name), ("mergeDbUser", merge_db_user), ("adminUser", admin_user)):
        if value:
            problem = sql_identifier_problem(value)
            if problem:
                c.fail(key, value, problem)

    if merge_db_user and merge_db_user == admin_user:
        why = "must be a role of its own, not adminUser (the stack creates, alters and drops it)"
        c.fail("mergeDbUser", merge_db_user, why)

    credential_name = c.string("credentialName") or ""
    credential_problem = credential_name_problem(credential_name) if credential_name else None
    if credential_problem:
        c.fail("credentialName", credential_name, credential_problem)
    if platform and credential_name:
        names = PlatformNames(platform, credential_name)

    ssl_mode = c.string("adminSslMode") or ""
    if ssl_mode not in SSL_MODES:
        c.fail("adminSslMode", ssl_mode, f"must be one of {', '.join(SSL_MODES)}")

    secrets = {}
    for key in SECRET_KEYS:
        secret = secrets[key] = raw.get(key)
        how = f"(set it with: pulumi config set --secret {key} <value>)"
        if secret is None:
            c.problems.append(f"{PROJECT}:{key} is a required secret but not set {how}")
        elif not isinstance(secret, str) or not secret.strip():
            c.problems.append(f"{PROJECT}:{key} is set but empty {how}")

    writer_user, writer_password = _parse_writer(c, merge_db_user, admin_user)

    dags_folder = c.string("dagsFolder") or ""
    folder_problem = dags_folder_problem(dags_folder) if dags_folder else None
    if folder_problem:
        c.fail("dagsFolder", dags_folder, folder_problem)

    job_image = c.string("jobImage", required=True) or ""
    image_problem = image_reference_problem(job_image) if job_image else None
    if image_problem:
        c.fail("jobImage", job_image, image_problem)
    factory_schedule = _factory_schedule(c)
    create_database = c.boolean("createDatabase")
    drop_rows_of_others = c.boolean("dropRowsOfOthers")
    workloads = _parse_workloads(c)
    known_secrets = {key: value for key, value in secrets.items() if isinstance(value, str)}
    if isinstance(writer_password, str):
        known_secrets["writerDbPassword"] = writer_password
    streams, stream_problems = parse_streams(
        c.string_list("seedStreams"), c.string("streamsFile"), names, project_dir, known_secrets
    )
    c.problems += stream_problems
    render_to = c.string("renderManifestsTo") or None
    kube_context = c.string("kubeContext") or None

    # platform and namespace are required, so neither is None once no problem was found.
    if c.problems or platform is None or namespace is None:
        raise SettingsError(without_secrets(c.problems, known_secrets))

    return Settings(
        platform=platform,
        namespace=namespace,
        merge_db_host=merge_host,
        merge_db_port=merge_port,
        merge_db_name=merge_db_name,
        merge_db_user=merge_db_user,
        merge_db_password=secrets["mergeDbPassword"],
        writer_db_user=writer_user,
        writer_db_password=writer_password,
        credential_name=credential_name,
        admin_host=admin_host,
        admin_port=admin_port,
        admin_user=admin_user,
        admin_password=secrets["adminPassword"],
        admin_ssl_mode=ssl_mode,
        create_database=create_database,
        drop_rows_of_others=drop_rows_of_others,
        workloads=workloads,
        dags_folder=dags_folder,
        job_image=job_image,
        factory_schedule=factory_schedule,
        streams=streams,
        render_manifests_to=render_to,
        kube_context=kube_context,
    )
