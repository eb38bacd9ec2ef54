"""What goes to stdout (the bin folder, for callers) and the progress lines of stderr and the logs."""

from __future__ import annotations

import time
from pathlib import Path

from toolchain.plugins import PULUMI_FLAGS


def log_line(message: str) -> str:
    return f"[pulumi-toolchain {time.strftime('%H:%M:%S')}] {message}"


def warn_line(message: str) -> str:
    return f"[pulumi-toolchain] WARNING: {message}"


def fmt_secs(seconds: int) -> str:
    return f"{seconds // 60}m{seconds % 60:02d}s"


def emit(mode: str, bin_dir: Path | str, home: Path) -> str:
    """stdout for a ready toolchain: the bin folder (--print-bin), shell exports (--print-env), or by
    default a last line PULUMI_BIN=<folder>."""
    if mode == "print-bin":
        return f"{bin_dir}\n"
    if mode == "print-env":
        return (
            f'export PATH="{bin_dir}:$PATH"\n'
            + "".join(f"export {name}={value}\n" for name, value in PULUMI_FLAGS.items())
            + f'export PULUMI_BACKEND_URL="${{PULUMI_BACKEND_URL:-file://{home}/state}}"\n'
            'export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"\n'
        )
    return f"PULUMI_BIN={bin_dir}\n"


def summary(deviations: list[str], failed: list[str], command: str) -> str:
    """The one warning of a usable toolchain that is not exactly the pinned one ("" when it is)."""
    if not deviations and not failed:
        return ""
    text = "toolchain ready"
    if deviations:
        text += f"; differs from the pinned versions: {' '.join(deviations)}"
    if failed:
        text += f"; not built: {' '.join(failed)}"
    text += f" (details: {command} --status" + ("; retry: --retry)" if failed else ")")
    return text
