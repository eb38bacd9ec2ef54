"""What the builds run on the machine: commands (their output into the image's log), Debian packages the
builds need, and commands inside an unpacked root file system."""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from images.oci import BlobStore, Layer

REPO_ROOT = Path(__file__).resolve().parent.parent


class BuildError(Exception):
    """A build step failed; the message is one line, the details are in the image's log."""


@dataclass
class Runner:
    log: IO[str]
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def run(self, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.log.write(f"[{time.strftime('%H:%M:%S')}] $ {shlex.join(argv)}\n")
        self.log.flush()
        completed = subprocess.run(
            list(argv),
            cwd=cwd,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if completed.returncode != 0:
            raise BuildError(f"{Path(argv[0]).name} exited with {completed.returncode}")

    def output(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
        self.log.write(f"$ {shlex.join(argv)}\n")
        completed = subprocess.run(
            list(argv),
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        self.log.write(completed.stderr)
        if completed.returncode != 0:
            raise BuildError(
                f"{Path(argv[0]).name} exited with {completed.returncode}: {completed.stderr.strip()[-300:]}"
            )
        return completed.stdout

    def need(self, program: str) -> str:
        found = shutil.which(program, path=self.env.get("PATH"))
        if not found:
            raise BuildError(f"'{program}' is not on PATH")
        return found


@contextmanager
def locked(lock_file: Path, what: str) -> Iterator[None]:
    """Holds an exclusive lock on lock_file; says so on stderr when it has to wait for it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[images] waiting for another build of {what}", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def debian_version(runner: Runner, package: str) -> str:
    """The installed version of a Debian package of the machine, or "" when it is not installed."""
    try:
        status = runner.output(["dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", package])
    except BuildError:
        return ""
    state, _, version = status.partition("|")
    return version if state.startswith("ii") else ""


def ensure_debian_packages(runner: Runner, packages: Sequence[str]) -> None:
    """apt-get installs the packages that are missing (a no-op when all are there)."""
    missing = [p for p in packages if not debian_version(runner, p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise BuildError(f"Debian packages {' '.join(missing)} are missing and installing them needs root")
    runner.run(["apt-get", "update", "-qq"])
    runner.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


def uv_binary(runner: Runner) -> Path:
    """The uv that scripts/lib.sh pins, installed by its ensure_uv when missing."""
    lib = REPO_ROOT / "scripts" / "lib.sh"
    out = runner.output(["bash", "-c", f"source {shlex.quote(str(lib))} && ensure_uv && command -v uv"])
    return Path(out.strip().splitlines()[-1])


def unpack_layers(store: BlobStore, layers: Sequence[Layer], target: Path) -> None:
    """The layers extracted in order into an empty folder, owners and modes as they are (needs root)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for layer in layers:
        with tarfile.open(store.path(layer.blob.digest), "r:gz") as tar:
            tar.extractall(target, numeric_owner=True, filter="fully_trusted")


def chroot_script(root: Path, argv: Sequence[str], binds: Mapping[str, Path], workdir: str = "/") -> list[str]:
    """A command that runs argv chrooted in root, in a mount namespace of its own with /dev, /proc and the
    given bind mounts (path inside -> path on the machine): the mounts end with the namespace, so nothing
    stays mounted whatever happens to the command."""
    lines = ["set -e", f"r={shlex.quote(str(root))}", 'mount --rbind /dev "$r/dev"', 'mount -t proc proc "$r/proc"']
    for inside, outside in sorted(binds.items()):
        target = '"$r"' + shlex.quote(inside)
        kind = "-d" if outside.is_dir() else "-f"
        make = f"mkdir -p {target}" if outside.is_dir() else f'mkdir -p "$(dirname {target})" && touch {target}'
        lines.append(f"[ {kind} {target} ] || {{ {make}; }}")
        lines.append(f"mount --bind {shlex.quote(str(outside))} {target}")
    inner = f'cd {shlex.quote(workdir)} && exec "$@"'
    lines.append(f'cd "$r" && exec chroot "$r" sh -c {shlex.quote(inner)} sh {shlex.join(argv)}')
    return ["unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c", "\n".join(lines)]
