"""The pull-request workflow: actionlint passes it (and would catch a broken one), and it previews the right stacks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PREVIEW = WORKFLOWS / "pulumi-preview.yml"
LINT = ["bash", str(REPO_ROOT / "scripts" / "actionlint.sh")]
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")

BROKEN = """\
name: broken
on:
  pull_request:
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with:
          no-such-input: true
      - run: echo $UNQUOTED
      - run: echo "${{ matrix.stack }}"
"""


def lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(LINT + list(args), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def actionlint() -> None:
    """Builds the pinned actionlint (once); a failure to build fails the tests, it never skips them."""
    built = lint("--print-path")
    if built.returncode != 0:
        pytest.fail(f"scripts/actionlint.sh could not install actionlint:\n{built.stderr}", pytrace=False)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def pulumi_step(workflow: dict) -> dict:
    steps = [s for s in workflow["jobs"]["preview"]["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert len(steps) == 1, "the preview job runs the Pulumi action once"
    return steps[0]


def test_the_workflows_lint_clean(actionlint):
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == ["pulumi-preview.yml"]
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_flags_a_broken_workflow(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    result = lint(str(broken))
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'input "no-such-input" is not defined in action "actions/checkout@v4"' in result.stdout
    assert "SC2086" in result.stdout, "ShellCheck must check the run: scripts"
    assert 'property "stack" is not defined' in result.stdout


def test_it_runs_on_pull_requests_with_the_test_suite():
    workflow = load(PREVIEW)
    assert "pull_request" in workflow["on"]
    runs = [s.get("run", "") for s in workflow["jobs"]["tests"]["steps"]]
    assert "bash scripts/test.sh" in runs


def test_it_previews_the_stacks_and_admin_endpoints_the_stack_files_name():
    workflow = load(PREVIEW)
    listing = "\n".join(step.get("run", "") for step in workflow["jobs"]["stacks"]["steps"])
    assert "python -m devtools.stack_files cluster-stacks" in listing
    preview = workflow["jobs"]["preview"]
    assert preview["strategy"]["matrix"] == {"stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"}
    steps = {step.get("id"): step for step in preview["steps"]}
    assert "python -m devtools.stack_files forward" in steps["forward"]["run"]
    forward_env = next(step["env"] for step in preview["steps"] if "port-forward" in step.get("run", ""))
    assert forward_env == {
        "NAMESPACE": "${{ steps.forward.outputs.namespace }}",
        "SERVICE": "${{ steps.forward.outputs.service }}",
        "ADMIN_PORT": "${{ steps.forward.outputs.admin-port }}",
    }


def test_the_preview_follows_the_pulumi_action_conventions():
    step = pulumi_step(load(PREVIEW))
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["diff"] is True
    assert inputs["comment-on-pr"] == "${{ github.event_name == 'pull_request' }}"
    assert inputs["policyPacks"] == "policy" and (REPO_ROOT / "policy" / "PulumiPolicy.yaml").exists()
    assert inputs["work-dir"] == "."
    assert set(step["env"]) == {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"}
    assert all(v.startswith("${{ secrets.") for v in step["env"].values())


def test_the_pulumi_cli_matches_the_programs_sdk_pin():
    pin = re.search(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert pulumi_step(load(PREVIEW))["with"]["pulumi-version"] == pin


def test_a_nightly_run_fails_on_drift_and_pull_requests_only_preview():
    workflow = load(PREVIEW)
    assert [entry["cron"] for entry in workflow["on"]["schedule"]] == ["17 5 * * *"]
    inputs = pulumi_step(workflow)["with"]
    nightly = "${{ github.event_name != 'pull_request' }}"
    assert (inputs["refresh"], inputs["expect-no-changes"]) == (nightly, nightly)
    # The stacks job skips pull requests from forks (no secrets), and the previews need it.
    assert workflow["jobs"]["stacks"]["if"].startswith("github.event_name != 'pull_request' ||")
    assert workflow["jobs"]["preview"]["needs"] == "stacks"


def test_every_action_is_pinned_to_a_commit_with_its_version_noted():
    text = PREVIEW.read_text()
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert PINNED_ACTION.match(action), f"{action} is not pinned to a commit"
        assert re.match(r"^ # v\d+\.\d+\.\d+$", comment), f"{action} lacks its version comment"


def test_only_the_preview_job_may_write_to_the_pull_request():
    workflow = load(PREVIEW)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["preview"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "permissions" not in workflow["jobs"]["tests"]
