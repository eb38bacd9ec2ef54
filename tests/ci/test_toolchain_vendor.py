"""The toolchain builds only from source archives whose sha256 it pins (toolchain/pins.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = REPO_ROOT / "toolchain" / "pulumi_toolchain.py"
DEFAULT_VENDOR_DIR = REPO_ROOT.parent / "shared" / "vendor"
ARCHIVES = (
    "pulumi-language-python-3.259.0.tar.gz",
    "pulumi-postgresql-3.16.2.tar.gz",
    "terraform-provider-postgresql-450ce85.tar.gz",
)


def check_vendor(folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULUMI_TOOLCHAIN_VENDOR_DIR": str(folder)}
    return subprocess.run(
        ["python3", str(TOOLCHAIN), "--check-vendor"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def vendor_copy(tmp_path) -> Path:
    if not all((DEFAULT_VENDOR_DIR / name).is_file() for name in ARCHIVES):
        pytest.fail(f"the source archives are not in {DEFAULT_VENDOR_DIR}; the toolchain cannot be built without them")
    for name in ARCHIVES:
        shutil.copy(DEFAULT_VENDOR_DIR / name, tmp_path / name)
    return tmp_path


def test_the_pinned_archives_pass_the_check(vendor_copy):
    result = check_vendor(vendor_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == len(ARCHIVES)


def test_an_altered_archive_is_refused_with_both_checksums(vendor_copy):
    altered = vendor_copy / "pulumi-postgresql-3.16.2.tar.gz"
    altered.write_bytes(altered.read_bytes() + b"\0")
    result = check_vendor(vendor_copy)
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert (
        f"sha256 mismatch for {altered}: "
        "expected b7fbce232b0c2ce2a9db706e3115ed1e41cf39b026eb51598e4eac79326d6964, got " in line
    )
    assert "refusing to build from it" in line


def test_a_missing_archive_names_the_folder_and_the_setting(tmp_path):
    result = check_vendor(tmp_path)
    assert result.returncode == 1
    assert (
        f"source archive pulumi-language-python-3.259.0.tar.gz not found in {tmp_path} "
        "(set PULUMI_TOOLCHAIN_VENDOR_DIR to the folder that holds it)" in result.stdout
    )
