"""The DataSurface Yellow guard rails, as plain functions over resource properties.

The Pulumi engine runs this pack from this folder, where the project's `components` package is not
importable, so the few rules it shares with the program (the hostname check) are re-implemented
here; tests/policy keeps the two in step. Every check takes plain values (a resource's inputs, as
dicts and lists) and returns violation messages; an empty list means the resource passes.
Messages never repeat a password: they end up in PR comments.

`__main__.py` adapts these functions to pulumi_policy; `review_resources` runs them the same way
over a list of resources, for tests.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PLATFORM_TYPE = "datasurface:yellow:Platform"
SECRET_TYPE = "kubernetes:core/v1:Secret"
CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap"
WORKLOAD_TYPES = (
    "pulumi-python:dynamic/datasurface:WorkloadPatch",
    "kubernetes:apps/v1:DeploymentPatch",
    "kubernetes:apps/v1:StatefulSetPatch",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
)
DYNAMIC_TYPE = "pulumi-python:dynamic/datasurface:DsgTable"

HOST_ENV = "DATASURFACE_POSTGRES_HOST"
PART_OF_LABEL = "app.kubernetes.io/part-of"
PLATFORM_LABEL = "datasurface.io/platform"
PART_OF = "datasurface-yellow"
FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager"
FACTORY_DAG_SUFFIX = "_factory_dag.py"
# Shorter Secret passwords are not searched for in plain text: they would match by chance.
MIN_SEARCHED_PASSWORD_LENGTH = 6

_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

# --- values ---------------------------------------------------------------------------------


def unwrap_secret(value: Any) -> Any:
    """The value inside a Pulumi secret envelope (as the mocks and the wire carry it), else `value`."""
    if isinstance(value, Mapping) and value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
        return unwrap_secret(value.get("value"))
    return value


def to_plain(value: Any, unknown: tuple[type[BaseException], ...] = ()) -> Any:
    """Plain dicts and lists from any mappings and sequences, secrets unwrapped.

    Entries whose access raises one of `unknown` (values not known during a preview) are left out.
    """
    value = unwrap_secret(value)
    if isinstance(value, Mapping):
        plain = {}
        for key in list(value):
            try:
                plain[key] = to_plain(value[key], unknown)
            except unknown:
                continue
        return plain
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(to_plain(value[index], unknown))
            except unknown:
                continue
        return items
    return value


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _name(props: Mapping[str, Any]) -> str:
    return str(_dig(props, "metadata", "name") or "<unnamed>")


# --- hostnames (the same rule as components/naming.py) -----------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_MANGLED_CLUSTER_DNS = re.compile(r"svc-?cluster-?local$", re.IGNORECASE)


def hostname_problem(host: Any) -> str | None:
    """Why `host` is not a usable hostname, or None when it is (RFC 1123, taken verbatim)."""
    if not isinstance(host, str):
        return "is not a string"
    if not host:
        return "is empty"
    if len(host) > 253:
        return "is longer than 253 characters"
    if host != host.strip():
        return "has surrounding whitespace"
    labels = host.rstrip(".").split(".")
    for label in labels:
        if not _DNS_LABEL.match(label):
            return f"has an invalid DNS label {label!r} (RFC 1123: letters, digits, '-', 1-63 chars)"
    if len(labels) == 1 and _MANGLED_CLUSTER_DNS.search(host):
        return (
            "looks like a cluster DNS name with its dots removed (a Kubernetes-name helper mangled it); "
            "use the real name, e.g. 'pg-data.<namespace>.svc.cluster.local'"
        )
    return None


def _alphanumerics(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def is_mangled_form_of(value: str, host: str) -> bool:
    """True when `value` is `host` with its dots dropped or replaced, as `to_k8s_name()` does."""
    return value != host and "." in host and "." not in value and _alphanumerics(value) == _alphanumerics(host)


# --- the platform a stack deploys -------------------------------------------------------------

IDENTITY_INPUTS = (
    "platform",
    "mergeDbHost",
    "dsgTable",
    "dagIdPrefix",
    "configMap",
    "credentialsSecret",
)
# Names that must start with the platform's name, and what they are.
_OWNED_NAMES = {
    "dsgTable": "dsg table",
    "dagIdPrefix": "DAG id prefix",
    "factoryDagId": "factory DAG id",
    "configMap": "factory DAG ConfigMap",
    "credentialsSecret": "credentials Secret",
}


@dataclass(frozen=True)
class PlatformIdentity:
    """What the `datasurface:yellow:Platform` component records about its platform."""

    platform: str
    merge_db_host: str
    dsg_table: str
    dag_id_prefix: str
    config_map: str
    credentials_secret: str
    factory_dag_id: str

    @property
    def dag_file_name(self) -> str:
        return f"{self.factory_dag_id}.py"

    @classmethod
    def from_inputs(cls, props: Mapping[str, Any]) -> PlatformIdentity | None:
        """The identity, or None when an input is missing or not a string."""
        if any(not isinstance(props.get(key), str) for key in IDENTITY_INPUTS):
            return None
        platform = props["platform"]
        return cls(
            platform=platform,
            merge_db_host=props["mergeDbHost"],
            dsg_table=props["dsgTable"],
            dag_id_prefix=props["dagIdPrefix"],
            config_map=props["configMap"],
            credentials_secret=props["credentialsSecret"],
            factory_dag_id=props.get("factoryDagId") or f"{platform}_factory_dag",
        )


def _starts_with_platform(name: str, platform: str) -> bool:
    return name.startswith(platform) and (len(name) == len(platform) or name[len(platform)] in "_-.")


def platform_identity_problems(props: Mapping[str, Any]) -> list[str]:
    """The Platform component: complete, a valid database host, and every name its own."""
    missing = [key for key in IDENTITY_INPUTS if not isinstance(props.get(key), str) or not props.get(key)]
    if missing:
        return [
            f"{PLATFORM_TYPE} lacks the input(s) {', '.join(missing)}; the policies cannot tell what this "
            "stack's platform is"
        ]
    platform = props["platform"]
    problems = []
    host_problem = hostname_problem(props["mergeDbHost"])
    if host_problem:
        problems.append(f"mergeDbHost {props['mergeDbHost']!r} is not a valid hostname: it {host_problem}")
    for key, what in _OWNED_NAMES.items():
        value = props.get(key)
        if isinstance(value, str) and not _starts_with_platform(value, platform):
            problems.append(
                f"{what} {value!r} ({key}) does not belong to platform {platform!r}: "
                f"its name must start with {platform!r}"
            )
    return problems


# --- Airflow workloads ------------------------------------------------------------------------


def _pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = _dig(props, "spec", "template", "spec")
    return spec if isinstance(spec, Mapping) else {}


def _containers(props: Mapping[str, Any], kinds: tuple[str, ...] = ("containers",)) -> Iterator[Mapping[str, Any]]:
    for kind in kinds:
        for container in _pod_spec(props).get(kind) or []:
            if isinstance(container, Mapping):
                yield container


def _workload(props: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    kind = str(props.get("kind") or "workload")
    return f"{kind} {_name(props)!r} container {container.get('name')!r}"


def _env(container: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in container.get("env") or [] if isinstance(e, Mapping)]


def _host_entry_problem(where: str, entry: Mapping[str, Any], expected: str) -> str | None:
    value = entry.get("value")
    if not isinstance(value, str) or "valueFrom" in entry:
        return f"{where}: {HOST_ENV} must be the literal DNS name {expected!r}, not a reference"
    if is_mangled_form_of(value, expected):
        return (
            f"{where}: {HOST_ENV} = {value!r} is the configured name {expected!r} with its dots removed "
            f"(a Kubernetes-name helper mangled it); use {expected!r} verbatim"
        )
    problem = hostname_problem(value)
    if problem:
        return f"{where}: {HOST_ENV} = {value!r} is not a valid hostname: it {problem}"
    if value != expected:
        return f"{where}: {HOST_ENV} = {value!r} differs from the platform's configured mergeDbHost {expected!r}"
    return None


def host_env_problems(props: Mapping[str, Any], identity: PlatformIdentity) -> list[str]:
    """Every container a workload patch touches gets the configured DNS name verbatim."""
    problems = []
    for container in _containers(props):
        where = _workload(props, container)
        entries = [e for e in _env(container) if e.get("name") == HOST_ENV]
        if not entries:
            problems.append(f"{where} does not set {HOST_ENV}; the factory DAG cannot find its database")
        for entry in entries:
            problem = _host_entry_problem(where, entry, identity.merge_db_host)
            if problem:
                problems.append(problem)
    return problems


def _is_password_name(name: Any) -> bool:
    return isinstance(name, str) and name.upper().endswith("PASSWORD")


def env_password_problems(props: Mapping[str, Any]) -> list[str]:
    """An env var named like a password must come from a Secret (valueFrom), never a literal value."""
    problems = []
    for container in _containers(props, ("initContainers", "containers")):
        for entry in _env(container):
            if _is_password_name(entry.get("name")) and ("value" in entry or "valueFrom" not in entry):
                problems.append(
                    f"{_workload(props, container)}: env {entry['name']} is a literal value; a password "
                    "must come from a Secret (valueFrom.secretKeyRef)"
                )
    return problems


def workload_name_problems(props: Mapping[str, Any], identity: PlatformIdentity) -> list[str]:
    """A patch of this stack names no field manager and mounts the platform's own DAG ConfigMap."""
    problems = []
    name = _name(props)
    manager = _dig(props, "metadata", "annotations", FIELD_MANAGER_ANNOTATION)
    if manager is not None:
        problems.append(
            f"{props.get('kind')} {name!r} names its field manager {manager!r} in the annotation "
            f"{FIELD_MANAGER_ANNOTATION}; the annotation is itself an applied field, so two stacks naming "
            "different managers conflict on it: leave it out and the provider generates one per patch"
        )
    for volume in _pod_spec(props).get("volumes") or []:
        config_map = _dig(volume, "configMap", "name")
        if isinstance(config_map, str) and config_map.endswith("-factory-dag") and config_map != identity.config_map:
            problems.append(
                f"{props.get('kind')} {name!r} mounts factory DAG ConfigMap {config_map!r}, not the "
                f"platform's {identity.config_map!r}"
            )
    return problems


# --- the credentials Secret -------------------------------------------------------------------


def _secret_entries(props: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret's keys and values: `stringData` as is, `data` base64-decoded where it decodes."""
    entries: dict[str, Any] = {}
    for key, value in (unwrap_secret(props.get("data")) or {}).items():
        entries[key] = _decode_base64(unwrap_secret(value))
    entries.update({k: unwrap_secret(v) for k, v in (unwrap_secret(props.get("stringData")) or {}).items()})
    return entries


def _decode_base64(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value


def _is_ours(props: Mapping[str, Any], own_name: str) -> bool:
    return _name(props) == own_name or _dig(props, "metadata", "labels", PART_OF_LABEL) == PART_OF


def credentials_secret_problems(props: Mapping[str, Any], identity: PlatformIdentity) -> list[str]:
    """The credentials Secret carries username/password and <credential>_USER/<credential>_PASSWORD."""
    if _name(props) != identity.credentials_secret:
        return []
    name = _name(props)
    entries = _secret_entries(props)
    problems = []
    missing = [key for key in ("username", "password") if key not in entries]
    if missing:
        problems.append(f"Secret {name!r} lacks {', '.join(missing)}: pods read them through secretKeyRef")
    users = {k[: -len("_USER")] for k in entries if k.endswith("_USER")}
    passwords = {k[: -len("_PASSWORD")] for k in entries if k.endswith("_PASSWORD")}
    if not users & passwords:
        problems.append(
            f"Secret {name!r} lacks a <credential>_USER/<credential>_PASSWORD pair: the Airflow "
            "environment reads them by those names"
        )
    for credential in sorted(users ^ passwords):
        have, lack = ("_USER", "_PASSWORD") if credential in users else ("_PASSWORD", "_USER")
        problems.append(f"Secret {name!r} has {credential}{have} but not {credential}{lack}")
    for credential in sorted(users & passwords):
        problems += _variant_mismatches(name, entries, credential)
    problems += [
        f"Secret {name!r}: {key} is empty; the login needs a password "
        "(pulumi config set --secret mergeDbPassword <value>)"
        for key in sorted(entries)
        if _is_password_name(key) and entries[key] == ""
    ]
    return problems


def _variant_mismatches(name: str, entries: Mapping[str, Any], credential: str) -> list[str]:
    pairs = (("username", f"{credential}_USER"), ("password", f"{credential}_PASSWORD"))
    return [
        f"Secret {name!r}: {a} and {b} hold different values; both variants must carry the same credential"
        for a, b in pairs
        if isinstance(entries.get(a), str) and isinstance(entries.get(b), str) and entries[a] != entries[b]
    ]


def secret_passwords(props: Mapping[str, Any]) -> set[str]:
    """The visible password values of a Secret (keys named like a password), long enough to search for."""
    return {
        value
        for key, value in _secret_entries(props).items()
        if _is_password_name(key) and isinstance(value, str) and len(value) >= MIN_SEARCHED_PASSWORD_LENGTH
    }


# --- ConfigMaps -------------------------------------------------------------------------------

_PASSWORD_KEY = r"[\w.-]*(?:password|passwd|pwd)[\w.-]*"
# `key = value` or `key: value` with a password-like key, maybe quoted; not a `==` comparison.
_ASSIGNMENT = re.compile(
    rf"""
    (?P<key>["']?{_PASSWORD_KEY}["']?) [ \t]* (?: : | =(?!=) ) [ \t]*
    (?P<value>
        "[^"\n]*" | '[^'\n]*'              # a quoted value
      | \$\{{[^}}\n]*\}} | \{{\{{[^}}\n]*\}}\}}   # a ${{...}} or {{{{...}}}} placeholder
      | [^\s,;#)\]}}]+                     # a bare value
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
# A value naming where the password comes from, rather than being one: an env var or Secret key
# name (`postgres_PASSWORD`), or a placeholder (`${DB_PASSWORD}`, `$PGPASSWORD`, `{{ password }}`,
# `%(password)s`).
_REFERENCE = re.compile(r"^(|[A-Za-z_]\w*_(?:PASSWORD|PASSWD|PWD)|\$\{[^}]*\}|\$[A-Za-z_]\w*|\{\{.*\}\}|%\(\w+\)s)$")
_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:(?P<password>[^\s/@'\"]+)@", re.IGNORECASE)


def _quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""


def literal_password_assignments(text: str, python_source: bool) -> list[tuple[int, str]]:
    """(line number, password key) of each literal value assigned to a password-like key.

    In Python source only quoted values count (a bare value is a variable or an expression);
    in other files (properties, YAML, env files) bare values count too.
    """
    found = []
    for match in _ASSIGNMENT.finditer(text):
        value = match.group("value")
        if python_source and not _quoted(value):
            continue
        if _REFERENCE.match(value[1:-1] if _quoted(value) else value):
            continue
        found.append((text.count("\n", 0, match.start()) + 1, match.group("key").strip("'\"")))
    return found


def _url_password_lines(text: str) -> list[int]:
    return [
        text.count("\n", 0, m.start()) + 1
        for m in _URL_CREDENTIALS.finditer(text)
        if not _REFERENCE.match(m.group("password"))
    ]


def _configmap_data(props: Mapping[str, Any]) -> dict[str, str]:
    data = props.get("data") or {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, Mapping) else {}


def configmap_password_problems(props: Mapping[str, Any], known_passwords: Iterable[str] = ()) -> list[str]:
    """No password in a ConfigMap: no password-like key, no literal password assignment, no Secret's password."""
    name = _name(props)
    problems = []
    for key, text in _configmap_data(props).items():
        where = f"ConfigMap {name!r} key {key!r}"
        if _is_password_name(key) and text.strip():
            problems.append(f"{where} is named like a password and holds a value; passwords belong in a Secret")
        for line, assigned in literal_password_assignments(text, python_source=key.endswith(".py")):
            problems.append(
                f"{where} line {line}: {assigned} is assigned a literal value; passwords belong in a "
                "Secret, read through the environment"
            )
        for line in _url_password_lines(text):
            problems.append(f"{where} line {line}: a URL carries a password; passwords belong in a Secret")
    return problems + configmap_known_password_problems(props, known_passwords)


def configmap_known_password_problems(props: Mapping[str, Any], known_passwords: Iterable[str]) -> list[str]:
    """No ConfigMap value contains one of `known_passwords` (a Secret's, when visible)."""
    searched = [p for p in known_passwords if len(p) >= MIN_SEARCHED_PASSWORD_LENGTH]
    return [
        f"ConfigMap {_name(props)!r} key {key!r} contains the password of a Secret of this stack"
        for key, text in _configmap_data(props).items()
        if any(p in text for p in searched)
    ]


def configmap_compile_problems(props: Mapping[str, Any]) -> list[str]:
    """Every Python file a ConfigMap delivers (the factory DAG) compiles."""
    problems = []
    for key, source in _configmap_data(props).items():
        if not key.endswith(".py"):
            continue
        try:
            compile(source, key, "exec")
        except SyntaxError as err:
            problems.append(f"ConfigMap {_name(props)!r} file {key!r} does not compile: {err.msg} (line {err.lineno})")
        except ValueError as err:
            problems.append(f"ConfigMap {_name(props)!r} file {key!r} does not compile: {err}")
    return problems


def _quoted_literal_present(source: str, value: str) -> bool:
    return f"'{value}'" in source or f'"{value}"' in source


# A quoted name of some platform's table, DAG prefix or factory DAG: `'<platform>_airflow_dsg...'`,
# `'<platform>__'`, `'<platform>_factory_dag'`.
_PLATFORM_NAME_LITERAL = re.compile(r"""["'](?P<platform>[A-Za-z0-9]+)(?P<rest>_airflow_dsg\w*|__|_factory_dag)["']""")


def _dag_source_problems(where: str, source: str, identity: PlatformIdentity) -> list[str]:
    problems = [
        f"{where} does not name its platform's {what} {value!r}"
        for what, value in (
            ("dsg table", identity.dsg_table),
            ("DAG id prefix", identity.dag_id_prefix),
            ("factory DAG id", identity.factory_dag_id),
        )
        if not _quoted_literal_present(source, value)
    ]
    foreign = sorted(
        {m.group(0)[1:-1] for m in _PLATFORM_NAME_LITERAL.finditer(source) if m.group("platform") != identity.platform}
    )
    if foreign:
        problems.append(
            f"{where} refers to {', '.join(foreign)} of another platform; platform "
            f"{identity.platform!r} may only use its own tables and DAG ids"
        )
    return problems


def configmap_name_problems(props: Mapping[str, Any], identity: PlatformIdentity) -> list[str]:
    """A factory-DAG ConfigMap of this stack is the platform's own: its name, its file, its table and prefix."""
    data = _configmap_data(props)
    dag_files = [key for key in data if key.endswith(FACTORY_DAG_SUFFIX)]
    if not dag_files and not _is_ours(props, identity.config_map):
        return []
    name = _name(props)
    problems = []
    if name != identity.config_map:
        problems.append(
            f"ConfigMap {name!r} holds a factory DAG, but platform {identity.platform!r} delivers its "
            f"DAG in ConfigMap {identity.config_map!r}"
        )
    label = _dig(props, "metadata", "labels", PLATFORM_LABEL)
    if label is not None and label != identity.platform:
        problems.append(f"ConfigMap {name!r} is labelled for platform {label!r}, not {identity.platform!r}")
    for key in dag_files:
        if key != identity.dag_file_name:
            problems.append(f"ConfigMap {name!r} holds {key!r}, not the platform's DAG file {identity.dag_file_name!r}")
    if identity.dag_file_name not in data:
        problems.append(f"ConfigMap {name!r} lacks the platform's DAG file {identity.dag_file_name!r}")
    else:
        problems += _dag_source_problems(
            f"ConfigMap {name!r} file {identity.dag_file_name!r}", data[identity.dag_file_name], identity
        )
    return problems


# --- the dsg table ----------------------------------------------------------------------------


def is_dsg_table(props: Mapping[str, Any]) -> bool:
    return isinstance(props.get("table"), str) and "rows" in props


def dsg_table_problems(props: Mapping[str, Any], identity: PlatformIdentity) -> list[str]:
    """The dsg table a stack manages is its platform's `<platform>_airflow_dsg`."""
    if not is_dsg_table(props):
        return []
    table = props["table"]
    if table != identity.dsg_table:
        return [f"dsg table {table!r} is not {identity.dsg_table!r}, the table of platform {identity.platform!r}"]
    return []


# --- one stack's review -----------------------------------------------------------------------

NO_PLATFORM = (
    f"no {PLATFORM_TYPE} component was registered before this resource, so the policies cannot tell "
    "which platform it belongs to; build resources inside YellowPlatform"
)


@dataclass
class StackReview:
    """What the policies have seen so far in one stack's run: its platform.

    The engine analyzes a component before its children (a child cannot register before its
    parent has a URN), so the Platform component is seen before every resource it owns.
    """

    identity: PlatformIdentity | None = None
    platforms_seen: set[PlatformIdentity] = field(default_factory=set)

    def observe(self, resource_type: str, props: Mapping[str, Any]) -> None:
        if resource_type != PLATFORM_TYPE:
            return
        identity = PlatformIdentity.from_inputs(props)
        if identity is not None:
            self.platforms_seen.add(identity)
            self.identity = self.identity or identity


def platform_problems(review: StackReview, props: Mapping[str, Any]) -> list[str]:
    problems = platform_identity_problems(props)
    if len(review.platforms_seen) > 1:
        names = sorted(i.platform for i in review.platforms_seen)
        problems.append(f"this stack declares more than one platform ({', '.join(names)}); one stack deploys one")
    return problems


Check = Callable[["StackReview", str, Mapping[str, Any]], list[str]]


def _with_identity(check: Callable[[Mapping[str, Any], PlatformIdentity], list[str]]) -> Check:
    def run(review: StackReview, resource_type: str, props: Mapping[str, Any]) -> list[str]:
        if review.identity is None:
            return [NO_PLATFORM]
        return check(props, review.identity)

    return run


def _without_identity(check: Callable[[Mapping[str, Any]], list[str]]) -> Check:
    return lambda review, resource_type, props: check(props)


def _platform_check(review: StackReview, resource_type: str, props: Mapping[str, Any]) -> list[str]:
    return platform_problems(review, props)


def secret_name_problems(props: Mapping[str, Any], identity: PlatformIdentity) -> list[str]:
    """A Secret labelled for a platform is labelled for this stack's platform."""
    label = _dig(props, "metadata", "labels", PLATFORM_LABEL)
    if label is not None and label != identity.platform:
        return [f"Secret {_name(props)!r} is labelled for platform {label!r}, not {identity.platform!r}"]
    return []


_NAME_CHECKS = {
    CONFIGMAP_TYPE: configmap_name_problems,
    SECRET_TYPE: secret_name_problems,
    DYNAMIC_TYPE: dsg_table_problems,
    **{t: workload_name_problems for t in WORKLOAD_TYPES},
}


def _names_check(review: StackReview, resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type == DYNAMIC_TYPE and not is_dsg_table(props):
        return []  # another dynamic resource: not ours to judge
    return _with_identity(_NAME_CHECKS[resource_type])(review, resource_type, props)


@dataclass(frozen=True)
class ResourcePolicy:
    """One mandatory policy: which resource types it looks at and how it checks one of them."""

    name: str
    description: str
    types: tuple[str, ...]
    check: Check

    def run(self, review: StackReview, resource_type: str, props: Mapping[str, Any]) -> list[str]:
        review.observe(resource_type, props)
        if resource_type not in self.types:
            return []
        return self.check(review, resource_type, props)


RESOURCE_POLICIES = (
    ResourcePolicy(
        "yellow-platform-identity",
        "The Platform component records a valid database host and names that start with its platform.",
        (PLATFORM_TYPE,),
        _platform_check,
    ),
    ResourcePolicy(
        "yellow-host-env-is-configured-dns-name",
        f"{HOST_ENV} in every Airflow workload equals the platform's configured DNS name, never a mangled one.",
        WORKLOAD_TYPES,
        _with_identity(host_env_problems),
    ),
    ResourcePolicy(
        "yellow-credentials-secret-has-both-key-variants",
        "The credentials Secret carries username/password and <credential>_USER/<credential>_PASSWORD.",
        (SECRET_TYPE,),
        _with_identity(credentials_secret_problems),
    ),
    ResourcePolicy(
        "yellow-no-literal-password-in-env",
        "Env vars named like a password come from a Secret (valueFrom), never a literal value.",
        WORKLOAD_TYPES,
        _without_identity(env_password_problems),
    ),
    ResourcePolicy(
        "yellow-no-password-in-configmap",
        "No ConfigMap holds a password: no password-like key, literal password assignment or URL password.",
        (CONFIGMAP_TYPE,),
        _without_identity(configmap_password_problems),
    ),
    ResourcePolicy(
        "yellow-factory-dag-compiles",
        "Every Python file a ConfigMap delivers (the factory DAG) compiles.",
        (CONFIGMAP_TYPE,),
        _without_identity(configmap_compile_problems),
    ),
    ResourcePolicy(
        "yellow-names-belong-to-platform",
        "The dsg table, factory DAG ConfigMap, its DAG ids and Secret labels are the platform's own; "
        "no patch names its field manager in an annotation.",
        tuple(_NAME_CHECKS),
        _names_check,
    ),
)


# --- the whole stack --------------------------------------------------------------------------

STACK_POLICY_NAME = "yellow-no-secret-password-in-plain-sight"
STACK_POLICY_DESCRIPTION = "No Secret's password appears in a ConfigMap or a literal env value of the same stack."


def stack_password_problems(resources: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[int, str]]:
    """(index of the resource, message) for each ConfigMap or env value holding a Secret's password."""
    passwords: set[str] = set()
    for resource_type, props in resources:
        if resource_type == SECRET_TYPE:
            passwords |= secret_passwords(props)
    if not passwords:
        return []
    found = []
    for index, (resource_type, props) in enumerate(resources):
        if resource_type == CONFIGMAP_TYPE:
            found += [(index, m) for m in configmap_known_password_problems(props, passwords)]
        elif resource_type in WORKLOAD_TYPES:
            found += [(index, m) for m in _env_values_with_password(props, passwords)]
    return found


def _env_values_with_password(props: Mapping[str, Any], passwords: set[str]) -> list[str]:
    return [
        f"{_workload(props, container)}: env {entry.get('name')} contains the password of a Secret of this stack"
        for container in _containers(props, ("initContainers", "containers"))
        for entry in _env(container)
        if isinstance(entry.get("value"), str) and any(p in entry["value"] for p in passwords)
    ]


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str


def review_resources(resources: Sequence[tuple[str, str, Mapping[str, Any]]]) -> list[Violation]:
    """Run every policy over (type, name, inputs) in registration order, as the engine would."""
    review = StackReview()
    violations = []
    for resource_type, name, props in resources:
        plain = to_plain(props)
        for policy in RESOURCE_POLICIES:
            violations += [Violation(policy.name, name, m) for m in policy.run(review, resource_type, plain)]
    typed = [(t, to_plain(p)) for t, _, p in resources]
    violations += [Violation(STACK_POLICY_NAME, resources[i][1], m) for i, m in stack_password_problems(typed)]
    return violations
