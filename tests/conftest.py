"""Fixtures shared by every test layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def toolchain_bin() -> Path:
    """The folder of the Pulumi CLI, its plugins and the control plane's binaries, built when missing (the
    build's progress goes to stderr)."""
    completed = subprocess.run(
        ["python3", str(REPO_ROOT / "toolchain" / "pulumi_toolchain.py"), "--print-bin"],
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
    )
    if completed.returncode != 0:
        pytest.fail(f"the toolchain could not be built (its progress is in the captured stderr):\n{completed.stdout}")
    return Path(completed.stdout.strip().splitlines()[-1])
