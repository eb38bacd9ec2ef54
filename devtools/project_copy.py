"""A working copy of the Pulumi program, for runs that must not touch the repository's stacks or state."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# What `pulumi up` reads: the program, its code, its templates, schema and stack files, and the policy pack.
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "components", "factory", "schemas", "templates", "config", "policy")


def copy_project(target: Path) -> Path:
    """The project's files under `target`, running in the repository's .venv."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(REPO_ROOT / ".venv")
    return target
