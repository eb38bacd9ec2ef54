"""The DataSurface Yellow guard rails: what PR review must stop, as stack policies.

A stack policy sees every resource with its parent, so each part of a `datasurface:yellow:Platform`
component is judged against what that component records about its platform, whatever the order the
engine registered them in, and each violation names its resource. The rules themselves (hostnames,
the credentials Secret's keys, the platforms) are the program's, imported from `components.naming`.
Messages never repeat a password, nor quote a value or name a field that holds one: they end up in PR
comments (`hiding`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import Policy, PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from components.dsg_sql import rows_from_text
from components.naming import (
    HOST_ENV,
    PLATFORMS,
    SECRET_PASSWORD_KEY,
    SECRET_USER_KEY,
    hostname_problem,
    platform_words,
)

PLATFORM_TYPE = "datasurface:yellow:Platform"
SECRET_TYPE = "kubernetes:core/v1:Secret"
CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap"
DSG_TABLE_TYPE = "pulumi-python:dynamic/datasurface:DsgTable"
PATCH_TYPES = (
    "pulumi-python:dynamic/datasurface:WorkloadPatch",
    "kubernetes:apps/v1:DeploymentPatch",
    "kubernetes:apps/v1:StatefulSetPatch",
)
# Shorter passwords are not searched for in plain text: they would match by chance.
MIN_SEARCHED_PASSWORD_LENGTH = 6
NO_PLATFORM = (
    f"declared outside a {PLATFORM_TYPE} component, so the policies cannot tell its configured "
    "mergeDbHost; build it inside YellowPlatform"
)


# --- a stack's resources, as plain values --------------------------------------------------------


def known(value: Any) -> Any:
    """`value` as plain dicts and lists, without the entries a preview does not know yet."""
    if isinstance(value, Mapping):
        return dict(_known_items(value, list(value)))
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for _, item in _known_items(value, range(len(value)))]
    return value


def _known_items(value: Any, keys: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    for key in keys:
        try:
            yield key, known(value[key])
        except UnknownValueError:
            continue


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a plain value; paths read like `spec.template.spec.volumes[0].name`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def names_and_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a plain value and of every key of its mappings."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key)
            yield from names_and_strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from names_and_strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def platform_of(resource: PolicyResource | None) -> PolicyResource | None:
    """The Platform component that `resource` is, or lies under."""
    while resource is not None and resource.resource_type != PLATFORM_TYPE:
        resource = resource.parent
    return resource


def readable(resource_type: str, props: dict[str, Any]) -> dict[str, Any]:
    """`props` as the policies read them: the DsgTable's rows, one text in its inputs (`dsg_sql.rows_text`),
    as the map they are, so that a violation names the row and its field."""
    rows = props.get("rows")
    if resource_type != DSG_TABLE_TYPE or not isinstance(rows, str):
        return props
    try:
        return {**props, "rows": rows_from_text(rows)}
    except ValueError:  # not the program's text: checked as it is
        return props


def parts(
    args: StackValidationArgs, types: Collection[str] | None = None
) -> Iterator[tuple[PolicyResource, dict[str, Any], dict[str, Any] | None]]:
    """Each resource (of `types`), its properties and what its platform records (None outside a platform)."""
    for resource in args.resources:
        if types is None or resource.resource_type in types:
            platform = platform_of(resource)
            props = readable(resource.resource_type, known(resource.props))
            yield resource, props, known(platform.props) if platform else None


def _name(props: Mapping[str, Any]) -> str:
    return str((props.get("metadata") or {}).get("name"))


def containers(props: Mapping[str, Any], *kinds: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, container) for the containers of `kinds` in a workload patch's pod template."""
    pod = ((props.get("spec") or {}).get("template") or {}).get("spec") or {}
    for kind in kinds:
        for container in pod.get(kind) or []:
            yield f"{props.get('kind')} {_name(props)!r} container {container.get('name')!r}", container


# --- DATASURFACE_POSTGRES_HOST -----------------------------------------------------------------


def host_problem(container: Mapping[str, Any], expected: str | None) -> str | None:
    """Why the container's DATASURFACE_POSTGRES_HOST is not the configured DNS name verbatim, or None."""
    value = next((e.get("value") for e in container.get("env") or [] if e.get("name") == HOST_ENV), None)
    if value == expected:
        return None
    if not isinstance(value, str):
        return f"{HOST_ENV} is not set to the configured mergeDbHost {expected!r} as a literal value"
    why = hostname_problem(value)
    return f"{HOST_ENV} = {value!r} is not the configured mergeDbHost {expected!r}" + (f": it {why}" if why else "")


def host_env_problems(props: Mapping[str, Any], merge_db_host: str | None) -> list[str]:
    found = ((where, host_problem(container, merge_db_host)) for where, container in containers(props, "containers"))
    return [f"{where}: {problem}" for where, problem in found if problem]


def check_host_env(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource, props, platform in parts(args, PATCH_TYPES):
        for message in host_env_problems(props, platform.get("mergeDbHost")) if platform else [NO_PLATFORM]:
            report(message, resource.urn)


# --- the credentials Secret --------------------------------------------------------------------


def secret_entries(props: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret's keys and values: `data` decoded (the engine reports a Secret so), `stringData` as declared."""
    decoded = {key: _base64_decoded(value) for key, value in (props.get("data") or {}).items()}
    return {**decoded, **(props.get("stringData") or {})}


def _base64_decoded(value: Any) -> Any:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, TypeError):
        return value


def credential_problems(props: Mapping[str, Any]) -> list[str]:
    """Both key variants, with the same values: username/password (secretKeyRef in pods) and
    <credential>_USER/<credential>_PASSWORD (the Airflow environment)."""
    name, entries = _name(props), secret_entries(props)
    missing = [key for key in (SECRET_USER_KEY, SECRET_PASSWORD_KEY) if key not in entries]
    problems = [f"Secret {name!r} lacks {', '.join(missing)}: pods read them through secretKeyRef"] if missing else []
    credentials = [key.removesuffix("_PASSWORD") for key in entries if key.endswith("_PASSWORD")]
    if not credentials:
        problems.append(
            f"Secret {name!r} lacks a <credential>_USER/<credential>_PASSWORD pair: the Airflow environment "
            "reads them by those names"
        )
    for credential in credentials:
        for key, variant in ((SECRET_USER_KEY, f"{credential}_USER"), (SECRET_PASSWORD_KEY, f"{credential}_PASSWORD")):
            if key in entries and entries.get(variant) != entries[key]:
                problems.append(f"Secret {name!r}: {key} and {variant} differ; both variants must carry the same value")
    return problems


def check_credentials(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource, props, platform in parts(args, [SECRET_TYPE]):
        if platform and _name(props) == platform.get("credentialsSecret"):
            for message in credential_problems(props):
                report(message, resource.urn)


# --- passwords in plain sight ------------------------------------------------------------------


def _is_password_name(name: Any) -> bool:
    return isinstance(name, str) and name.upper().endswith("PASSWORD")


def _last_key(path: str) -> str:
    return re.split(r"[.\[]", path)[-1]


def secret_fields(props: Mapping[str, Any], resource_type: str) -> Iterator[tuple[str, str]]:
    """(path, value) of the fields that carry a secret config value: every field named like a password (the
    admin providers', the roles', the dynamic resources' `password`), and a Secret's password entries."""
    for path, text in strings(props):
        if _is_password_name(_last_key(path)):
            yield path, text
    if resource_type == SECRET_TYPE:
        for key, value in secret_entries(props).items():
            if _is_password_name(key) and isinstance(value, str):
                yield f"data.{key}", value


def secret_values(args: StackValidationArgs) -> set[str]:
    """Every secret value the stack declares (the passwords of mergeDbPassword, adminPassword and
    writerDbPassword, wherever they are passed), however short."""
    return {
        value
        for resource, props, _ in parts(args)
        for _, value in secret_fields(props, resource.resource_type)
        if value
    }


def literal_env_passwords(props: Mapping[str, Any]) -> list[str]:
    """Env vars of a workload patch named like a password that do not come from a Secret."""
    return [
        f"{where}: env {entry['name']} is a literal value; a password must come from a Secret (valueFrom.secretKeyRef)"
        for where, container in containers(props, "initContainers", "containers")
        for entry in container.get("env") or []
        if _is_password_name(entry.get("name")) and "valueFrom" not in entry
    ]


def leaked_passwords(props: Mapping[str, Any], passwords: Collection[str]) -> list[str]:
    """Where a plain (not secret) input holds one of `passwords`: a field named like a password is where a
    secret belongs; anywhere else (a seed row's config, the DAG file, an env value, a name) it is in clear text."""
    searched = [password for password in passwords if len(password) >= MIN_SEARCHED_PASSWORD_LENGTH]
    return [
        f"{path} holds a password of this stack (the value of a secret config key); a secret may only be passed "
        "as a secret input"
        for path, text in names_and_strings(props)
        if not _is_password_name(_last_key(path)) and any(password in text for password in searched)
    ]


def check_passwords(args: StackValidationArgs, report: ReportViolation) -> None:
    passwords = secret_values(args)
    for resource, props, platform in parts(args):
        workload_part = resource.resource_type in (CONFIGMAP_TYPE, *PATCH_TYPES)
        if platform is None and not workload_part:
            continue
        # A Secret's data is where passwords belong (its username is the credentials policy's); every other
        # field of every resource of a platform, seed rows and providers included, must not hold one.
        if resource.resource_type == SECRET_TYPE:
            props = {key: value for key, value in props.items() if key not in ("data", "stringData")}
        found = literal_env_passwords(props) if workload_part else []
        for message in found + leaked_passwords(props, passwords):
            report(message, resource.urn)


# --- never a secret in a message ---------------------------------------------------------------

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
HIDDEN_VALUE = "<a value holding a secret, not shown>"
HIDDEN_MESSAGE = (
    "a violation whose message would show a field holding a password of this stack; it is not shown (choose a "
    "password that appears nowhere else in the stack)"
)


def _holds_secret(text: str, secrets: Collection[str]) -> bool:
    """Whether `text` holds a secret: one long enough to search for, or a short one making up half of it
    (a short password inside a long name is chance, and showing the name tells nothing of it)."""
    return any(
        secret in text and (len(secret) >= MIN_SEARCHED_PASSWORD_LENGTH or 2 * len(secret) >= len(text))
        for secret in secrets
        if secret
    )


def hidden(message: str, secrets: Collection[str]) -> str:
    """`message` with every quoted value that holds a secret replaced; when a secret still shows (in a
    field's name), the message is not shown at all."""
    message = _QUOTED.sub(lambda m: HIDDEN_VALUE if _holds_secret(m.group()[1:-1], secrets) else m.group(), message)
    searched = [secret for secret in secrets if len(secret) >= MIN_SEARCHED_PASSWORD_LENGTH]
    return HIDDEN_MESSAGE if any(secret in message for secret in searched) else message


def hiding(check: Any) -> Any:
    """A stack policy's `validate`, its violations passed through `hidden` with the stack's secrets."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        secrets = secret_values(args)
        check(args, lambda message, urn=None: report(hidden(message, secrets), urn))

    validate.__name__ = validate.__qualname__ = check.__name__
    return validate


# --- one platform's names ----------------------------------------------------------------------


_WORD = re.compile(r"[a-z0-9]+")
_COMPOUND = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)+")


def foreign_platform(text: str, platform: str) -> str | None:
    """The other platform `text` names, or None. Whole words only, in any case (words are runs of letters and
    digits): its name anywhere (`yellowforensic_replay`, `YELLOWFORENSIC`; not `yellowforensics`), its short name
    as a part of a compound name (`postgres_forensic`, `forensic-db`; not 'the live table')."""
    lowered = text.lower()
    words = set(_WORD.findall(lowered))
    parts = {part for compound in _COMPOUND.findall(lowered) for part in re.split(r"[_-]", compound)}
    for other in PLATFORMS:
        full, short = platform_words(other)
        if other != platform and (full in words or short in parts):
            return other
    return None


def foreign_names(props: Mapping[str, Any], platform: str) -> list[str]:
    """Where a resource of `platform` names another platform: its table, DAG ids, ConfigMap, Secret, and a
    stream key, store name or credential name (a key of the seed rows, of a Secret, an env var's name)."""
    found = ((path, foreign_platform(text, platform)) for path, text in names_and_strings(props))
    return [
        f"{path} names platform {other!r}; platform {platform!r} may only use its own tables, DAG ids, stream "
        "keys, credential names and Kubernetes objects"
        for path, other in found
        if other
    ]


def check_names(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource, props, platform in parts(args):
        # A provider's settings (kubeconfig, context, admin endpoint) are the operator's, not the platform's.
        if platform and not resource.resource_type.startswith("pulumi:providers:"):
            for message in foreign_names(props, platform.get("platform", "")):
                report(message, resource.urn)


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="yellow-host-env-is-configured-dns-name",
        description=f"{HOST_ENV} in every Airflow workload patch is its platform's mergeDbHost, verbatim.",
        validate=hiding(check_host_env),
    ),
    StackValidationPolicy(
        name="yellow-credentials-secret-has-both-key-variants",
        description="The credentials Secret carries username/password and <credential>_USER/<credential>_PASSWORD, "
        "with the same values.",
        validate=hiding(check_credentials),
    ),
    StackValidationPolicy(
        name="yellow-no-password-in-plain-sight",
        description="No workload env var named like a password is a literal, and no plain input of any resource "
        "(seed rows, the DAG file, env values, names) holds a password of the stack.",
        validate=hiding(check_passwords),
    ),
    StackValidationPolicy(
        name="yellow-names-belong-to-platform",
        description="No resource of a platform names another platform (whole words, in any case).",
        validate=hiding(check_names),
    ),
]
