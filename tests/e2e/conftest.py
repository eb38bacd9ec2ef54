"""The real Pulumi engine (built by scripts/pulumi_toolchain.sh) on a copy of the project.

The copy lets tests change stack files freely; state goes to a file backend in a temporary folder and
secrets use the passphrase provider, so nothing here needs a network or a Pulumi account.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from tests.conftest import REPO_ROOT

PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "components", "templates", "config", "policy")
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


@pytest.fixture(scope="session")
def pulumi_env(tmp_path_factory, toolchain_bin) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pulumi-home")
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{toolchain_bin}{os.pathsep}{env['PATH']}",
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": f"file://{tmp_path_factory.mktemp('pulumi-state')}",
            "PULUMI_CONFIG_PASSPHRASE": LOCAL_PASSPHRASE_FILE.read_text().strip(),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        }
    )
    env.pop("PULUMI_ACCESS_TOKEN", None)
    return env


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(REPO_ROOT / ".venv")
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory, pulumi_env) -> Project:
    root = copy_project(tmp_path_factory.mktemp("project"))
    manifests = root / "build" / "manifests" / "local"
    return Project(root=root, env=pulumi_env, manifests=manifests)


@pytest.fixture(scope="module")
def local_stack(project, tmp_path_factory) -> tuple[Project, EmbeddedPostgres]:
    """The local stack selected in the copy, pointed at a fresh embedded PostgreSQL."""
    project.pulumi("stack", "select", "--create", "local")
    admin_password = project.pulumi("config", "get", "adminPassword").stdout.strip()
    server = EmbeddedPostgres(tmp_path_factory.mktemp("local-pg"), free_port(), admin_password).start()
    for key in ("mergeDbPort", "adminPort"):
        project.pulumi("config", "set", "--type", "int", key, str(server.port))
    yield project, server
    server.stop()
