"""Stamp files: what each piece was built from, and how that went.

A stamp is a file stamps/<piece> of key=, status=ok|failed, version=, seconds=, message= lines (the format
the shell version of this tool wrote, so caches it built are reused as they are).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

FIELDS = ("key", "status", "version", "seconds", "message")


@dataclass(frozen=True)
class Stamp:
    key: str = ""
    status: str = ""
    version: str = ""
    seconds: str = ""
    message: str = ""


def parse(text: str) -> Stamp:
    """Reads a stamp's text; the first line of each field counts, a missing field is empty."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name in FIELDS and name not in values:
            values[name] = value
    return Stamp(**values)


def render(stamp: Stamp) -> str:
    return "".join(f"{name}={' '.join(getattr(stamp, name).splitlines())}\n" for name in FIELDS)


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
    FAILED = "failed"  # failed before: reported, retried only with --retry
    BUILD = "build"


def decide(stamp: Stamp, key: str, outputs_present: bool, retry: bool, rebuild: bool) -> Decision:
    if rebuild or stamp.key != key:
        return Decision.BUILD
    if stamp.status == "ok" and outputs_present:
        if not stamp.message:
            return Decision.BUILT
        if not retry:
            return Decision.DEVIATES
    if stamp.status == "failed" and not retry:
        return Decision.FAILED
    return Decision.BUILD


def status_lines(piece: str, stamp: Stamp) -> list[str]:
    """The piece's lines of --status."""
    lines = [f"{piece:<14} {stamp.status:<7} {stamp.seconds:>6}s  {stamp.version}"]
    if stamp.message:
        lines.append(" " * 25 + stamp.message)
    return lines
