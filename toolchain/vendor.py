"""The source archives the Go module proxy does not serve: checked against their pinned sha256, then unpacked."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

from toolchain.gomod import BuildError
from toolchain.pins import Archive


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArchiveUnusable(BuildError):
    """The archive is not in the vendor folder or does not have its pinned sha256: the piece can be built once
    it is there (the stamp remembers which archive was missing)."""

    def __init__(self, message: str, archive: Archive) -> None:
        super().__init__(message)
        self.archive = archive


def problem(vendor_dir: Path, archive: Archive) -> str:
    """Why the archive cannot be used ("" when it is in the vendor folder with its pinned sha256)."""
    path = vendor_dir / archive.name
    if not path.is_file():
        return (
            f"source archive {archive.name} not found in {vendor_dir} "
            "(set PULUMI_TOOLCHAIN_VENDOR_DIR to the folder that holds it)"
        )
    got = sha256_of(path)
    if got != archive.sha256:
        return f"sha256 mismatch for {path}: expected {archive.sha256}, got {got}; refusing to build from it"
    return ""


def unpack(vendor_dir: Path, archive: Archive, dest: Path) -> None:
    """Checks the archive, then unpacks it into an emptied dest."""
    message = problem(vendor_dir, archive)
    if message:
        raise ArchiveUnusable(message, archive)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    try:
        with tarfile.open(vendor_dir / archive.name) as tar:
            tar.extractall(dest, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise BuildError(f"could not unpack {archive.name}: {exc}") from exc
