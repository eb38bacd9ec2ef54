"""Debian's packages for the images: a root file system by mmdebstrap, single packages by apt-get download."""

from __future__ import annotations

import inspect
import os
import shutil
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

from images import pins
from images.build import Build, source_digest
from images.cache import key_of
from images.host import BuildError, Runner, ensure_debian_packages
from images.oci import Layer, add_tree

# Documentation, manuals and translations stay out of the images; the copyright files stay in.
DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
)
# mmdebstrap's own hooks for a merged /usr with usr-is-merged: without them apt picks usrmerge, and perl with it.
MERGED_USR_HOOKS = "/usr/share/mmdebstrap/hooks/merged-usr"
# What a build leaves that no container needs, or that differs from one build to the next.
PRUNED = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
    "var/cache/debconf/templates.dat-old",
    "var/cache/debconf/config.dat-old",
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "etc/machine-id",
    "etc/hostname",
    "etc/resolv.conf",
)


def extract_package(runner: Runner, package: str, work: Path, target: Path) -> str:
    """The files of the package apt installs now, unpacked into target (no maintainer scripts run); returns its
    version. apt's lists are refreshed first when apt does not know the package."""
    download = work / "debs"
    if download.exists():
        shutil.rmtree(download)
    download.mkdir(parents=True)
    try:
        runner.run(["apt-get", "download", "-q", package], cwd=download)
    except BuildError:
        runner.run(["apt-get", "update", "-qq"])
        runner.run(["apt-get", "download", "-q", package], cwd=download)
    debs = sorted(download.glob("*.deb"))
    if len(debs) != 1:
        raise BuildError(f"apt-get download {package} gave {len(debs)} files")
    runner.run(["dpkg-deb", "-x", str(debs[0]), str(target)])
    return runner.output(["dpkg-deb", "-f", str(debs[0]), "Version"]).strip()


def mmdebstrap_identity(runner: Runner) -> str:
    ensure_debian_packages(runner, ("mmdebstrap",))
    return runner.output(["mmdebstrap", "--version"]).strip()


def bootstrap(runner: Runner, target: Path, packages: Sequence[str], hooks: Sequence[str] = ()) -> None:
    """A Debian root file system in target: the essential packages, `packages` and what they depend on,
    with the mtimes and generated files mmdebstrap makes reproducible from SOURCE_DATE_EPOCH."""
    ensure_debian_packages(runner, ("mmdebstrap",))
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        "nice", "-n", "10", "mmdebstrap", "--mode=root", "--variant=essential", "--format=directory",
        f"--include={','.join(packages)}", "--aptopt=Acquire::Languages \"none\"", f"--hook-dir={MERGED_USR_HOOKS}",
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
        *(f"--customize-hook={hook}" for hook in hooks),
        pins.DEBIAN_SUITE, str(target), *pins.DEBIAN_MIRRORS,
    ]  # fmt: skip
    runner.run(argv, env={"SOURCE_DATE_EPOCH": str(pins.EPOCH)})
    prune(target)


def prune(root: Path) -> None:
    for rel in PRUNED:
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        elif path.exists() or path.is_symlink():
            path.unlink()
    for folder in ("tmp", "var/tmp"):
        for child in (root / folder).iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    (root / "etc" / "machine-id").write_text("")  # systemd-less images: an empty one, as Debian's images have
    os.chmod(root / "etc" / "machine-id", 0o444)


def compile_python_hook(paths: Sequence[str]) -> str:
    """A customize hook that byte-compiles with the image's own Python, as unchecked-hash .pyc files: valid
    whatever the sources' mtimes are, so the layers' fixed mtimes do not make Python recompile at each start."""
    return (
        "find" + "".join(f' "$1{p}"' for p in paths) + " -name __pycache__ -type d -prune -exec rm -rf {} + ; "
        'chroot "$1" python3 -m compileall -q -j 1 --invalidation-mode unchecked-hash ' + " ".join(paths)
    )


NOT_IN_LAYERS = frozenset({"dev", "proc", "sys"})  # the runtime mounts its own
SYSTEM_PYTHON = ("/usr/lib/python3.11", "/usr/lib/python3/dist-packages")


def base_layer(b: Build, packages: Sequence[str], customize: Callable[[Path], None]) -> Layer:
    """A layer of a whole Debian root file system: `packages` installed, Python byte-compiled, then
    `customize` run on the folder. Keyed by the suite, mirrors, packages, mmdebstrap's version and the code
    that makes it (not by the mirror's state: `--rebuild` takes Debian's updates in)."""
    root = b.work / "debian"
    key = key_of(
        "debian", pins.DEBIAN_SUITE, pins.DEBIAN_MIRRORS, list(packages), mmdebstrap_identity(b.runner),
        inspect.getsource(customize), source_digest("oci.py", "debian.py"),
    )  # fmt: skip

    def make(tar: tarfile.TarFile) -> None:
        bootstrap(b.runner, root, packages, [compile_python_hook(SYSTEM_PYTHON)])
        customize(root)
        b.note(b.runner.output(["chroot", str(root), "dpkg-query", "-W", "-f=${Package}=${Version} "]).strip())
        add_tree(tar, root, pins.EPOCH, skip_contents_of=NOT_IN_LAYERS)

    return b.layer(key, make, f"Debian {pins.DEBIAN_SUITE} with {' '.join(packages)}")
