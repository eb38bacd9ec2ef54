"""The README's test command: the unit layer runs where the toolchain was never built."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO_ROOT


def test_the_unit_layer_neither_needs_nor_builds_the_toolchain(tmp_path):
    toolchain_home = tmp_path / "toolchain"
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "test.sh"), "tests/unit", "-q", "-p", "no:cacheprovider"],
        env={**os.environ, "PULUMI_TOOLCHAIN_HOME": str(toolchain_home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]
    assert not toolchain_home.exists()
