"""The real Pulumi engine (built by toolchain/pulumi_toolchain.py) on a copy of the project.

The copy lets tests change stack files freely; state goes to a file backend in a temporary folder and
secrets use the passphrase provider, so nothing here needs a network or a Pulumi account.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from devtools.airflow_chart import apply_chart
from devtools.control_plane import ControlPlane
from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from devtools.project_copy import copy_project
from tests.conftest import REPO_ROOT
from toolchain import plugins

LOCAL_PASSPHRASE_FILE = REPO_ROOT / "config" / "local.passphrase"


@dataclass
class PulumiResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Project:
    """A working copy of the project and the environment the CLI runs in."""

    root: Path
    env: dict[str, str]
    manifests: Path

    def pulumi(self, *args: str, check: bool = True, timeout: float = 600) -> PulumiResult:
        completed = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = PulumiResult(args, completed.returncode, completed.stdout, completed.stderr)
        if check and completed.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({completed.returncode}):\n{result.output}")
        return result

    def stack_file(self, stack: str) -> Path:
        return self.root / "config" / f"Pulumi.{stack}.yaml"


def planned_steps(preview_json: str) -> dict[tuple[str, str], str]:
    """(type, name) -> the step's op, from the output of `pulumi preview --json`."""
    steps = json.loads(preview_json)["steps"]
    out = {}
    for step in steps:
        urn = step["urn"]
        typ, name = urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]
        out[(typ, name)] = step["op"]
    return out


def edit_seed_streams(project: Project, stack: str, edit) -> None:
    """Rewrite the stack's seed rows through `edit(rows)`, rows as plain objects: in the streams file the
    stack names (streamsFile), else in the stack file's seedStreams."""
    path = project.stack_file(stack)
    document = yaml.safe_load(path.read_text())
    streams_file = document["config"].get("datasurface-yellow:streamsFile")
    if streams_file:
        _edit_streams_file(project.root / streams_file, edit)
        return
    key = "datasurface-yellow:seedStreams"
    rows = [json.loads(r) for r in document["config"][key]]
    document["config"][key] = [json.dumps(r) for r in edit(rows)]
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))


def _edit_streams_file(path: Path, edit) -> None:
    path.write_text(yaml.safe_dump(edit(yaml.safe_load(path.read_text())), sort_keys=False, width=1000))


@pytest.fixture(scope="session")
def pulumi_env(tmp_path_factory, toolchain_bin) -> dict[str, str]:
    """The CLI's environment: a Pulumi home of the session's own, with the toolchain's provider plugins in its
    plugin cache."""
    env = dict(os.environ)
    env.update(
        {
            "PULUMI_HOME": str(tmp_path_factory.mktemp("pulumi-home")),
            "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('pulumi-state')}",
            "PULUMI_CONFIG_PASSPHRASE": LOCAL_PASSPHRASE_FILE.read_text().strip(),
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        }
    )
    env.pop("PULUMI_ACCESS_TOKEN", None)
    return plugins.pulumi_env(toolchain_bin, env)


@pytest.fixture(scope="module")
def project(tmp_path_factory, pulumi_env) -> Project:
    root = copy_project(tmp_path_factory.mktemp("project"))
    manifests = root / "build" / "manifests" / "local"
    return Project(root=root, env=pulumi_env, manifests=manifests)


@pytest.fixture(scope="module")
def local_stack(project, tmp_path_factory, toolchain_bin) -> Iterator[tuple[Project, EmbeddedPostgres]]:
    """The local stack selected in the copy, as scripts/run_local.sh runs it: a local control plane with
    the Airflow chart's Deployments in the stack's namespace, and a fresh embedded PostgreSQL."""
    project.pulumi("stack", "select", "--create", "local")
    namespace = project.pulumi("config", "get", "namespace").stdout.strip()
    admin_password = project.pulumi("config", "get", "adminPassword").stdout.strip()
    with ControlPlane(tmp_path_factory.mktemp("local-kube"), toolchain_bin) as cluster:
        apply_chart(cluster.kubeconfig, namespace)
        with EmbeddedPostgres(tmp_path_factory.mktemp("local-pg"), free_port(), admin_password) as server:
            on_cluster = replace(project, env={**project.env, "KUBECONFIG": str(cluster.kubeconfig)})
            for key in ("mergeDbPort", "adminPort"):
                on_cluster.pulumi("config", "set", "--type", "int", key, str(server.port))
            yield on_cluster, server
