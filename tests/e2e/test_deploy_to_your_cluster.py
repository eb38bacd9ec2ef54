"""README's "Deploy to your cluster", run as a new user runs it: its bash commands, in order, as written, in
a copy of the project, against the local control plane holding the Airflow chart's Deployments and an
embedded PostgreSQL.

Three things differ from the README: the kubeconfig's path (`~/.kube/config` becomes the control
plane's), the admin port (15432 becomes the embedded PostgreSQL's, in the commands and in the copy's
stack file) and the backend: `pulumi login --local` becomes `pulumi login file://<a home of the test's
own>`, because the CLI resolves `~` to the account's home directory from the password database, not from
`HOME`, and the test must not create stacks in the real one. The port-forward line is not run: the control
plane runs no pods, so the PostgreSQL listens where the forward would. Secrets are given on stdin, as a
user types them at the prompt.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml

from devtools.airflow_chart import apply_chart
from devtools.control_plane import ControlPlane
from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from devtools.project_copy import copy_project
from tests.conftest import REPO_ROOT
from toolchain import plugins

pytestmark = pytest.mark.e2e

SECTION = "## Deploy to your cluster"
NAMESPACE = "ns-kub-pg-test"
STACK_FILE = Path("config") / "Pulumi.yellowlive.yaml"
COMMITTED_PORT = "15432"
LOGIN_PASSWORDS = ["first-login-pw", "rotated-login-pw"]


def section_commands(readme: str | None = None) -> list[str]:
    """Every command of the section's bash blocks, in order (comments and blank lines dropped)."""
    text = (REPO_ROOT / "README.md").read_text() if readme is None else readme
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end >= 0 else len(text)]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_section_covers_a_first_deploy_from_backend_to_stack_rm():
    commands = section_commands()
    expected_order = [
        "pulumi login",
        "pulumi stack init",
        "export KUBECONFIG=",
        "pulumi config set --secret mergeDbPassword",
        "pulumi config set --secret adminPassword",
        "kubectl port-forward",
        "pulumi preview",
        "pulumi up",
        "kubectl get secret/",
        "pulumi config set --path 'seedStreams",
        "pulumi destroy",
        "pulumi stack rm --preserve-config",
    ]
    positions = [next(i for i, c in enumerate(commands) if c.startswith(prefix)) for prefix in expected_order]
    assert positions == sorted(positions), commands


@dataclass
class Ran:
    command: str
    returncode: int
    output: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, toolchain_bin) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path_factory.mktemp("deploy-kube"), toolchain_bin) as cluster:
        apply_chart(cluster.kubeconfig, NAMESPACE)
        yield cluster


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("deploy-pg"), free_port(), "the-admin-pw") as server:
        yield server


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory, toolchain_bin, cluster, server) -> dict:
    """The section's commands run one after the other in a fresh copy; what each printed, and the copy."""
    root = copy_project(tmp_path_factory.mktemp("deploy-project"))
    stack_file = root / STACK_FILE
    committed = stack_file.read_text()
    stack_file.write_text(committed.replace(f"adminPort: {COMMITTED_PORT}", f"adminPort: {server.port}"))
    home = tmp_path_factory.mktemp("deploy-home")
    environ = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "PULUMI_HOME": str(home / ".pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    }
    env = plugins.pulumi_env(toolchain_bin, environ)
    exports: list[str] = []
    login_passwords = iter(LOGIN_PASSWORDS)
    ran: list[Ran] = []
    seen_after_up: list[dict] = []
    after_init = None
    for command in section_commands():
        if command.startswith("kubectl port-forward"):
            continue  # the embedded PostgreSQL listens where the forward would
        line = (
            command.replace("~/.kube/config", str(cluster.kubeconfig))
            .replace(COMMITTED_PORT, str(server.port))
            .replace("pulumi login --local", f"pulumi login file://{home}")
        )
        stdin = ""
        if "--secret mergeDbPassword" in line:
            stdin = next(login_passwords)
        elif "--secret adminPassword" in line:
            stdin = server.password
        script = "; ".join([*exports, line])
        completed = subprocess.run(
            ["bash", "-c", script], cwd=root, env=env, input=stdin, capture_output=True, text=True, timeout=900
        )
        ran.append(Ran(command, completed.returncode, completed.stdout + completed.stderr))
        assert completed.returncode == 0, f"{command}\n{completed.stdout}{completed.stderr}"
        if line.startswith("export "):
            exports.append(line)
        if command.startswith("pulumi stack init"):
            after_init = stack_file.read_text()
        if command.startswith("pulumi up"):
            seen_after_up.append(observe(server))
    return {
        "root": root,
        "ran": ran,
        "committed": committed,
        "after_init": after_init,
        "env": env,
        "exports": exports,
        "after_up": seen_after_up,
    }


def observe(server: EmbeddedPostgres) -> dict:
    """The dsg table's keys, and which login password the role accepts, right after an `up`."""
    with psycopg.connect(server.conninfo("datasurface_merge")) as conn:
        keys = {k for (k,) in conn.execute("SELECT stream_key FROM yellowlive_airflow_dsg")}
    accepted = []
    for password in LOGIN_PASSWORDS:
        try:
            psycopg.connect(server.conninfo("datasurface_merge", "yellowlive_airflow", password)).close()
            accepted.append(password)
        except psycopg.OperationalError:
            pass
    return {"keys": keys, "accepted": accepted}


def outputs_of(walkthrough: dict, prefix: str) -> list[str]:
    return [r.output for r in walkthrough["ran"] if r.command.startswith(prefix)]


def test_every_command_of_the_section_succeeds_as_written(walkthrough):
    assert all(r.returncode == 0 for r in walkthrough["ran"])
    assert len(walkthrough["ran"]) == len(section_commands()) - 1  # all but the port-forward


def as_text(value):
    """A config value as Pulumi writes it back: scalars quoted as strings, booleans lower case."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    return value


def test_stack_init_changes_the_committed_files_format_and_salt_but_no_value(walkthrough, server):
    committed = yaml.safe_load(walkthrough["committed"])
    after = yaml.safe_load(walkthrough["after_init"])
    assert set(after) - set(committed) == {"encryptionsalt"}
    committed["config"]["datasurface-yellow:adminPort"] = server.port
    assert {k: as_text(v) for k, v in after["config"].items()} == {
        k: as_text(v) for k, v in committed["config"].items()
    }


def test_the_first_up_deploys_the_rows_and_the_workloads_entries(walkthrough, server, cluster):
    first_preview = outputs_of(walkthrough, "pulumi preview")[0]
    assert "Store1" in first_preview and "to create" in first_preview
    checks = outputs_of(walkthrough, "kubectl get deployment airflow-scheduler -n")
    assert checks and "DATASURFACE_POSTGRES_HOST" in checks[-1]


def test_each_up_of_the_section_did_what_it_says(walkthrough):
    first, rotated, seeded = walkthrough["after_up"]
    assert first == {"keys": {"Store1", "Store2", "Store3"}, "accepted": ["first-login-pw"]}
    assert rotated == {"keys": {"Store1", "Store2", "Store3"}, "accepted": ["rotated-login-pw"]}
    assert seeded == {"keys": {"Store1", "Store2", "Store3", "Store4"}, "accepted": ["rotated-login-pw"]}
    seed_preview = outputs_of(walkthrough, "pulumi preview")[1]
    assert "Store4" in seed_preview


def test_destroy_keeps_the_database_and_stack_rm_keeps_the_stack_file(walkthrough, server):
    with psycopg.connect(server.conninfo()) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'datasurface_merge'").fetchone()
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'yellowlive_airflow'").fetchone()
    stack_file = walkthrough["root"] / STACK_FILE
    assert stack_file.exists()
    assert yaml.safe_load(stack_file.read_text())["config"]["datasurface-yellow:platform"] == "yellowlive"
    listed = subprocess.run(
        ["bash", "-c", "; ".join([*walkthrough["exports"], "pulumi stack ls --json"])],
        cwd=walkthrough["root"],
        env=walkthrough["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "yellowlive" not in listed.stdout


def test_the_section_is_read_block_by_block_without_comments():
    readme = "## Deploy to your cluster\n```bash\n# a comment\nexport KUBECONFIG=~/.kube/config\n```\ntext\n## Next\n"
    assert section_commands(readme) == ["export KUBECONFIG=~/.kube/config"]
