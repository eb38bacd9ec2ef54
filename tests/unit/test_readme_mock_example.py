"""The README's example mock test, copied out as a user would copy it and run with pytest in the project
directory: every committed stack runs under Pulumi's mocks with no PostgreSQL and no cluster reachable."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

MARKER = "<!-- mock-test-example -->"


def readme_example() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, re.S)
    assert found, f"README.md has no python block after {MARKER}"
    return found.group(1) + "\n"


def test_the_readme_example_mock_test_passes_for_every_committed_stack_with_nothing_running(tmp_path: Path):
    example = tmp_path / "test_stacks_example.py"
    example.write_text(readme_example())
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "KUBECONFIG": str(tmp_path / "no-such-kubeconfig"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", str(example), "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    committed = list((REPO_ROOT / "config").glob("Pulumi.*.yaml"))
    assert len(committed) >= 3
    assert f"{len(committed)} passed" in completed.stdout, completed.stdout
