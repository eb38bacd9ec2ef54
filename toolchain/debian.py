"""Debian packages a build needs (C headers for cgo), installed with apt-get when missing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from toolchain.gomod import BuildError


def missing(packages: Mapping[str, str]) -> list[str]:
    """The packages whose telltale file (package name -> path) is absent."""
    return [name for name, path in packages.items() if not Path(path).exists()]


def install_commands(names: list[str]) -> list[list[str]]:
    """apt-get's commands for the names: the package lists first (a fresh machine may have none)."""
    quiet = ["-qq", "-o", "Dpkg::Use-Pty=0", "-o", "DPkg::Lock::Timeout=300"]  # waits for another apt
    return [["apt-get", "update", *quiet], ["apt-get", "install", "-y", "--no-install-recommends", *quiet, *names]]


def ensure_packages(log: Callable[[str], None], packages: Mapping[str, str]) -> None:
    names = missing(packages)
    if not names:
        return
    if os.geteuid() != 0:
        raise BuildError(f"needs the Debian packages {' '.join(names)}: run apt-get install {' '.join(names)} as root")
    log(f"installing the Debian packages {' '.join(names)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in install_commands(names):
        completed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if completed.returncode != 0:
            raise BuildError(f"{' '.join(command[:3])} failed: {' '.join(completed.stderr.split())[-300:]}")
    still = missing(packages)
    if still:
        raise BuildError(f"apt-get installed {' '.join(names)}, but {', '.join(packages[n] for n in still)} is absent")
