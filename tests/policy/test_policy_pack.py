"""The policy pack's files, and the pack started as the engine starts it."""

from __future__ import annotations

import re
import select
import subprocess

import yaml
import yellow_policies as yp
from pulumi_policy import StackValidationPolicy

from tests.policy import POLICY_DIR

REPO_ROOT = POLICY_DIR.parent


def test_the_pack_needs_the_policy_sdk_the_programs_pulumi_and_the_project():
    requirements = [line for line in (POLICY_DIR / "requirements.txt").read_text().splitlines() if line[:1] not in "#"]
    assert requirements == ["pulumi-policy==1.21.0", "pulumi==3.272.0", ".."]
    program_pins = (REPO_ROOT / "requirements.txt").read_text()
    assert re.search(r"^pulumi==3\.272\.0$", program_pins, re.MULTILINE), "the pack must use the program's pulumi"
    assert "pulumi-policy==1.21.0" in (REPO_ROOT / "requirements" / "test.lock").read_text()


def test_the_pack_is_a_python_policy_pack_running_in_the_project_venv():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve() == REPO_ROOT / ".venv"


def test_every_policy_is_a_stack_policy_with_its_own_name():
    names = [p.name for p in yp.POLICIES]
    assert len(names) == len(set(names)) == 4
    assert all(isinstance(p, StackValidationPolicy) for p in yp.POLICIES)


def test_the_project_venv_imports_the_programs_naming_from_anywhere(tmp_path):
    """The pack imports `components.naming`: the project is installed in .venv, not found through the cwd."""
    imported = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "-c", "import components.naming as n; print(n.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(REPO_ROOT / "components" / "naming.py")


def test_the_pack_starts_as_the_engine_starts_it_and_announces_its_port():
    """`python -m pulumi.policy <engine> <pack>` in the pack's folder (what the CLI runs, here through run_pack.sh)."""
    process = subprocess.Popen(
        [str(POLICY_DIR / "run_pack.sh"), "127.0.0.1:1"],
        cwd=POLICY_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the policy pack did not announce a port within 60 s"
        line = process.stdout.readline().strip()
        assert line.isdigit() and int(line) > 0, f"expected a port, got {line!r}: {process.stderr.read()}"
    finally:
        process.kill()
        process.wait(timeout=10)
