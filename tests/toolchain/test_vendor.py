from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from toolchain import vendor
from toolchain.gomod import BuildError
from toolchain.pins import Archive


def make_archive(folder, name="src-1.0.tar.gz"):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"package main\n"
        info = tarfile.TarInfo("src-1.0/main.go")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (folder / name).write_bytes(buffer.getvalue())
    return Archive(name, hashlib.sha256(buffer.getvalue()).hexdigest())


def test_an_archive_with_its_pinned_sha256_is_unpacked(tmp_path):
    archive = make_archive(tmp_path)
    dest = tmp_path / "out"
    (dest / "stale").mkdir(parents=True)
    assert vendor.problem(tmp_path, archive) == ""
    vendor.unpack(tmp_path, archive, dest)
    assert [str(p.relative_to(dest)) for p in sorted(dest.rglob("*"))] == ["src-1.0", "src-1.0/main.go"]


def test_an_archive_with_another_sha256_is_refused(tmp_path):
    archive = make_archive(tmp_path)
    pinned = Archive(archive.name, "0" * 64)
    message = vendor.problem(tmp_path, pinned)
    assert message == (
        f"sha256 mismatch for {tmp_path / archive.name}: expected {'0' * 64}, got {archive.sha256}; "
        "refusing to build from it"
    )
    with pytest.raises(BuildError, match="sha256 mismatch"):
        vendor.unpack(tmp_path, pinned, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_archive_names_the_folder_and_the_setting(tmp_path):
    assert vendor.problem(tmp_path, Archive("a.tar.gz", "0" * 64)) == (
        f"source archive a.tar.gz not found in {tmp_path} (set PULUMI_TOOLCHAIN_VENDOR_DIR to the folder that holds it)"
    )
