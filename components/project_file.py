"""The config keys of this program as Pulumi.yaml declares them: the one source of keys, types and defaults.

The engine applies the declarations (types, required keys, secrets) before the program runs; the program
reads the same file for the defaults, so a run without the engine (the mock tests) sees the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"
# Where relative paths in config (streamsFile) start, whatever the working directory.
PROJECT_DIR = PROJECT_FILE.parent

_PROJECT = yaml.safe_load(PROJECT_FILE.read_text())
PROJECT: str = _PROJECT["name"]
DECLARED: dict[str, dict[str, Any]] = _PROJECT["config"]
KEYS = tuple(DECLARED)
DEFAULTS: dict[str, Any] = {key: d["default"] for key, d in DECLARED.items() if "default" in d}
SECRET_KEYS = tuple(key for key, d in DECLARED.items() if d.get("secret"))
# Secrets a stack may leave out. Pulumi requires a key declared `secret: true` in every stack and refuses a
# default for one, so these are declared plain with an empty default; a value given must still be a secret.
OPTIONAL_SECRET_KEYS = ("writerDbPassword",)


@dataclass(frozen=True)
class PlainText:
    """The value of an optional secret that the stack holds unencrypted: refused, and never printed."""

    value: str = field(repr=False)
