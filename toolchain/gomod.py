"""Go modules: the JSON of `go mod download -json` and `go mod edit -json`, and the go commands that
make it (run with the build's environment, their output in the piece's log)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO


class BuildError(Exception):
    """A step of a piece failed; the message is what the stamp and the warning say."""


def download_result(stdout: str, stderr: str) -> tuple[str, str]:
    """(module folder, "") when `go mod download -json` fetched the module, else ("", why not)."""
    raw = stdout.strip() or stderr
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and not data.get("Error") and data.get("Dir"):
        return data["Dir"], ""
    error = data.get("Error", "") if isinstance(data, dict) else raw
    match = re.search(r"(\d{3} [A-Za-z ]+?)\s+server response: (.*)", error, re.S)
    if match:
        return "", f"not served by the Go module proxy ({match.group(1)}: {match.group(2).strip()})"
    return "", " ".join(error.split())[:400]


def replaces(gomod: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(gomod.get("Replace") or [])


def nonlocal_replaces(gomod: Mapping[str, Any]) -> list[str]:
    """The replaces by module versions, as `go mod edit -replace` values."""
    out = []
    for r in replaces(gomod):
        old, new = r["Old"], r["New"]
        if new.get("Version"):
            left = old["Path"] + (f"@{old['Version']}" if old.get("Version") else "")
            out.append(f"{left}={new['Path']}@{new['Version']}")
    return out


def local_replaces(gomod: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The replaces by local folders, as (module, folder) pairs."""
    return [(r["Old"]["Path"], r["New"]["Path"]) for r in replaces(gomod) if not r["New"].get("Version")]


def required_version(gomod: Mapping[str, Any], module: str) -> str:
    for r in gomod.get("Require") or []:
        if r["Path"] == module:
            return str(r["Version"])
    return ""


# Builds yield to the rest of the machine (tests, other people's work): every command of a build runs niced.
NICE = ("nice", "-n", "10")


def build_args(jobs: str, target: str, output: Path, ldflags: str, tags: str = "") -> list[str]:
    args = ["go", "build", "-p", jobs, "-trimpath", "-ldflags", ldflags, "-o", str(output)]
    if tags:
        args += ["-tags", tags]
    return [*args, target]


class Go:
    """Runs go for one piece: output to its log, in a scratch folder when no module is involved."""

    def __init__(self, env: Mapping[str, str], jobs: str, probe_dir: Path, log: TextIO) -> None:
        self.env = dict(env)
        self.jobs = jobs
        self.probe_dir = probe_dir
        self.log = log

    def run(self, args: list[str], cwd: Path, failure: str = "", extra_env: Mapping[str, str] | None = None) -> None:
        self.log.flush()
        env = {**self.env, **(extra_env or {})}
        completed = subprocess.run(
            [*NICE, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log
        )
        if completed.returncode != 0:
            raise BuildError(failure or f"{' '.join(args[:3])} failed")

    def download(self, module: str, version: str) -> tuple[str, str]:
        """(module folder, "") or ("", why not), as download_result."""
        completed = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            cwd=self.probe_dir,
            env={**self.env, "GOFLAGS": "-buildvcs=false"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        return download_result(completed.stdout, completed.stderr)

    def read_gomod(self, path: Path) -> dict[str, Any]:
        completed = subprocess.run(
            ["go", "mod", "edit", "-json", str(path)],
            cwd=self.probe_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise BuildError(f"could not read {path}: {completed.stderr.strip()}")
        data: dict[str, Any] = json.loads(completed.stdout)
        return data

    def edit(self, folder: Path, *flags: str) -> None:
        if flags:
            self.run(["go", "mod", "edit", *flags], cwd=folder)

    def build(
        self,
        folder: Path,
        target: str,
        output: Path,
        ldflags: str,
        failure: str = "go build failed",
        tags: str = "",
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.run(build_args(self.jobs, target, output, ldflags, tags), cwd=folder, failure=failure, extra_env=extra_env)

    def new_wrapper(self, folder: Path, module: str, version: str, copy_replaces_from: Path) -> None:
        """A module in `folder` that requires module@version, with the module's own non-local replaces: its
        go.mod's replaces do not apply once it is a dependency."""
        reps = nonlocal_replaces(self.read_gomod(copy_replaces_from))
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.run(["go", "mod", "init", "pulumi-toolchain.invalid/wrapper"], cwd=folder)
        self.edit(folder, f"-require={module}@{version}", *(f"-replace={rep}" for rep in reps))
