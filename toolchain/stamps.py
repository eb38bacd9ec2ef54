"""Stamp files: what each piece was built from, and how that went.

A stamp is a file stamps/<piece> of key=, status=ok|failed, version=, seconds=, message= lines (the format
the shell version of this tool wrote, so caches it built are reused as they are), and for a piece that failed
for want of source archives, a missing= line naming them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

FIELDS = ("key", "status", "version", "seconds", "message", "missing")
OPTIONAL = ("missing",)  # written only when set


@dataclass(frozen=True)
class Stamp:
    key: str = ""
    status: str = ""
    version: str = ""
    seconds: str = ""
    message: str = ""
    missing: str = ""  # the archives (space-separated names) whose absence made the build fail


def parse(text: str) -> Stamp:
    """Reads a stamp's text; the first line of each field counts, a missing field is empty."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name in FIELDS and name not in values:
            values[name] = value
    return Stamp(**values)


def render(stamp: Stamp) -> str:
    return "".join(
        f"{name}={' '.join(getattr(stamp, name).splitlines())}\n"
        for name in FIELDS
        if name not in OPTIONAL or getattr(stamp, name)
    )


def read(folder: Path, piece: str) -> Stamp:
    try:
        return parse((folder / piece).read_text())
    except FileNotFoundError:
        return Stamp()


def write(folder: Path, piece: str, stamp: Stamp) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{piece}.tmp"
    tmp.write_text(render(stamp))
    os.replace(tmp, folder / piece)


class Decision(Enum):
    BUILT = "built"  # nothing to do
    DEVIATES = "deviates"  # built, from a fallback version: reported, rebuilt only with --retry
    FAILED = "failed"  # failed before: reported, retried only with --retry (or once what it lacked is there)
    BUILD = "build"


def decide(
    stamp: Stamp, key: str, outputs_present: bool, retry: bool, rebuild: bool, missing_now: bool = True
) -> Decision:
    """missing_now: whether the archives a failed build lacked (stamp.missing) are still unusable; a failure
    for want of an archive that is there now is not a failure to remember."""
    if rebuild or stamp.key != key:
        return Decision.BUILD
    if stamp.status == "ok" and outputs_present:
        if not stamp.message:
            return Decision.BUILT
        if not retry:
            return Decision.DEVIATES
    if stamp.status == "failed" and not retry and not (stamp.missing and not missing_now):
        return Decision.FAILED
    return Decision.BUILD


def status_lines(piece: str, stamp: Stamp, size: int | None = None) -> list[str]:
    """The piece's lines of --status; size: of its outputs, in bytes, when they are there."""
    shown = f"{size / 1e6:7.1f} MB" if size is not None else " " * 10
    lines = [f"{piece:<14} {stamp.status:<7} {stamp.seconds:>6}s {shown}  {stamp.version}"]
    if stamp.message:
        lines.append(" " * 25 + stamp.message)
    return lines
