"""Runs the whole Pulumi program under mocks for one stack and records what it registers, through the SDK's
public testing API (`pulumi.runtime.set_mocks`, `set_all_config`, `@pulumi.runtime.test`).

The Pulumi SDK never reads stack files under mocks, so the stack's config file is read here and
handed over with `set_all_config`; the secrets a user would set with `pulumi config set --secret`
are given test values, marked secret, so tests can check they never leak. The program asks the admin
endpoint through invokes of pulumi-postgresql's `getSchemas`, which `Mocks.call` answers as a server
would: a run says whether the merge database exists (by default exactly when the stack does not create
it) and, with `login_refused`, that the login fails. Nothing of the project is patched.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.stack import Stack

from components.admin_connection import MAINTENANCE_DATABASE
from components.admin_endpoint import GET_SCHEMAS
from components.project_file import OPTIONAL_SECRET_KEYS, PROJECT, SECRET_KEYS

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS = ("yellowlive", "yellowforensic", "local")


def secret_values_for(stack: str) -> dict[str, str]:
    return {key: f"{stack}-{key}-S3cr3t!" for key in SECRET_KEYS}


def load_stack_config(stack: str) -> dict[str, Any]:
    """The stack file's values for this project, without the project prefix."""
    document = yaml.safe_load((REPO_ROOT / "config" / f"Pulumi.{stack}.yaml").read_text())
    prefix = f"{PROJECT}:"
    return {k[len(prefix) :]: v for k, v in (document.get("config") or {}).items() if k.startswith(prefix)}


def _as_config_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


@dataclass
class RegisteredResource:
    typ: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    provider: str | None
    import_id: str | None = None


@dataclass
class ProgramRun:
    stack: str
    config: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    database_exists: bool = False
    login_refused: str | None = None  # the server's reason, when the admin login is to fail
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resources: list[RegisteredResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str) -> RegisteredResource:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun):
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.run.resources.append(
            RegisteredResource(
                args.typ, args.name, args.inputs, bool(args.custom), args.provider, args.resource_id or None
            )
        )
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.run.invokes.append((args.token, dict(args.args)))
        if args.token != GET_SCHEMAS:
            return {}
        database = args.args.get("database")
        if self.run.login_refused:
            return {}, [("", self.run.login_refused)]
        if database != MAINTENANCE_DATABASE and not self.run.database_exists:
            return {}, [("", f'pq: database "{database}" does not exist')]
        return {"database": database, "schemas": ["public"]}


def prepare_run(stack: str, overrides: dict[str, Any] | None = None, remove: tuple[str, ...] = ()) -> ProgramRun:
    """The config one run will see: the stack file, changed by `overrides` and `remove`."""
    config = load_stack_config(stack)
    secrets = secret_values_for(stack)
    for key, value in (overrides or {}).items():
        (secrets if key in (*SECRET_KEYS, *OPTIONAL_SECRET_KEYS) else config)[key] = value
    for key in remove:
        config.pop(key, None)
        secrets.pop(key, None)
    return ProgramRun(
        stack=stack, config=config, secrets=secrets, database_exists=config.get("createDatabase") is False
    )


def execute(run: ProgramRun) -> ProgramRun:
    """Run __main__.py under mocks; raises what the program raises, with `run` holding what got registered."""
    pulumi.runtime.reset_options(project=PROJECT, stack=run.stack, preview=False)
    pulumi.runtime.set_mocks(_Mocks(run), project=PROJECT, stack=run.stack, preview=False)
    all_config = {f"{PROJECT}:{k}": _as_config_text(v) for k, v in run.config.items() if v is not None}
    all_config.update({f"{PROJECT}:{k}": v for k, v in run.secrets.items()})
    pulumi.runtime.set_all_config(all_config, secret_keys=[f"{PROJECT}:{k}" for k in run.secrets])

    async def record_outputs() -> None:
        root = pulumi.runtime.get_root_resource()
        assert isinstance(root, Stack), "the mocks run the program under a root stack"
        for name, value in root.outputs.items():
            output = pulumi.Output.from_input(value)
            run.outputs[name] = await output.future()
            if await output.is_secret():
                run.secret_outputs.add(name)

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__")
        return asyncio.ensure_future(record_outputs())

    program()
    return run


def refused(run: ProgramRun) -> BaseException:
    """Run the program expecting a refusal: a pulumi.RunError, which the engine prints once as an `error:`
    line with no traceback. Returns the refusal behind it (a SettingsError, an AdminEndpointError)."""
    try:
        execute(run)
    except pulumi.RunError as err:
        assert err.__cause__ is not None, "the RunError names the refusal behind it"
        return err.__cause__
    raise AssertionError("the program was not refused")


def run_program(stack: str, overrides: dict[str, Any] | None = None, remove: tuple[str, ...] = ()) -> ProgramRun:
    return execute(prepare_run(stack, overrides, remove))


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def walk_strings(value: Any, inside_secret: bool = False):
    """Yield (text, inside_secret) for every string in a recorded value."""
    if rpc.is_rpc_secret(value):
        yield from walk_strings(rpc.unwrap_rpc_secret(value), True)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk_strings(k, inside_secret)
            yield from walk_strings(v, inside_secret)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from walk_strings(v, inside_secret)
    elif isinstance(value, str):
        yield value, inside_secret


def valid_raw(**changes):
    """A minimal valid raw stack config (yellowlive on its cluster), with `changes` applied."""
    raw = {
        "platform": "yellowlive",
        "namespace": "ns-kub-pg-test",
        "mergeDbHost": "pg-data.ns-kub-pg-test.svc.cluster.local",
        "mergeDbUser": "yellowlive_airflow",
        "mergeDbPassword": "pw",
        "adminHost": "localhost",
        "adminPort": "15432",
        "adminPassword": "admin-pw",
        "jobImage": "datasurface/datasurface:0.9.6",
        "seedStreams": [json.dumps({"stream_key": "Store1", "config": {"store_name": "Store1"}})],
    }
    raw.update(changes)
    return raw


# Resource types the program declares, as the engine names them.
SECRET = "kubernetes:core/v1:Secret"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
WORKLOAD_PATCH = "pulumi-python:dynamic/datasurface:WorkloadPatch"
RENDERED_PATCH_TYPES = ("kubernetes:apps/v1:DeploymentPatch", "kubernetes:apps/v1:StatefulSetPatch")
PATCH_TYPES = (WORKLOAD_PATCH, *RENDERED_PATCH_TYPES)
DSG_TABLE = "pulumi-python:dynamic/datasurface:DsgTable"
FACTORY_TABLES = "pulumi-python:dynamic/datasurface:FactoryTables"


def patches(run: ProgramRun) -> list:
    """The workload patches of a run, whichever resource type carries them."""
    return [r for r in run.resources if r.typ in PATCH_TYPES]


def unwrap(value):
    """The plain value inside a secret as the mocks record it."""
    from pulumi.runtime.rpc import unwrap_rpc_secret

    return unwrap_rpc_secret(value)
