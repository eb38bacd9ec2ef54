"""The built provider plugins in a Pulumi home's plugin cache, installed as Pulumi takes a locally built plugin
(`pulumi plugin install resource <name> <version> --file <binary>`), and the environment Pulumi runs in with
this toolchain. A plugin Pulumi finds on PATH is used with a warning on every run (`using
pulumi-resource-X from $PATH`); from the cache it is used silently, as a downloaded one is.

    env = pulumi_env(bin_dir, {**os.environ, "PULUMI_HOME": "..."})   # installs what is missing, returns env

`python3 toolchain/pulumi_toolchain.py --print-env` does the same for a shell (the plugins go to the
caller's PULUMI_HOME, by default ~/.pulumi).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from toolchain import pins, stamps

# What every Pulumi command run with this toolchain gets. Nothing is downloaded (the plugins come from the
# cache), and a plugin on PATH is not taken (older toolchains kept the providers in bin/).
PULUMI_FLAGS = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
}


class PluginInstallError(RuntimeError):
    pass


@dataclass(frozen=True)
class Plugin:
    name: str  # as Pulumi names it: kubernetes
    version: str  # the version the binary reports, without v
    binary: Path

    def cached(self, pulumi_home: Path) -> Path:
        """Where `pulumi plugin install` puts the binary in the plugin cache."""
        return pulumi_home / "plugins" / f"resource-{self.name}-v{self.version}" / self.binary.name


def toolchain_home(bin_dir: Path) -> Path | None:
    """The toolchain home whose bin/ this is; None for another folder (an official Pulumi's, which
    downloads its plugins itself)."""
    home = bin_dir.parent
    return home if bin_dir.name == pins.BIN and (home / "stamps").is_dir() else None


def built_plugins(home: Path) -> list[Plugin]:
    """The provider plugins built in the toolchain home, with the version each stamp records."""
    found = []
    for piece in pins.PROVIDER_PIECES:
        stamp = stamps.read(home / "stamps", piece)
        binary = home / pins.PLUGINS / f"pulumi-resource-{piece}"
        if stamp.status == "ok" and stamp.version and binary.is_file():
            found.append(Plugin(piece, stamp.version.split()[0], binary))
    return found


def up_to_date(plugin: Plugin, pulumi_home: Path) -> bool:
    """Installed from this build: the same size, and not older than the built binary (a rebuild is newer)."""
    cached = plugin.cached(pulumi_home)
    try:
        have, built = cached.stat(), plugin.binary.stat()
    except FileNotFoundError:
        return False
    partial = cached.parent.with_name(cached.parent.name + ".partial")
    return have.st_size == built.st_size and have.st_mtime >= built.st_mtime and not partial.exists()


def install_command(cli: Path, plugin: Plugin) -> list[str]:
    return [
        str(cli),
        "plugin",
        "install",
        "resource",
        plugin.name,
        plugin.version,
        "--file",
        str(plugin.binary),
        "--reinstall",
    ]


def pulumi_home_of(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("PULUMI_HOME") or Path(environ.get("HOME") or Path.home()) / ".pulumi")


def install(bin_dir: Path, environ: Mapping[str, str]) -> list[Plugin]:
    """Installs into environ's Pulumi home the built plugins it lacks; returns those it installed."""
    home = toolchain_home(bin_dir)
    if home is None:
        return []
    pulumi_home = pulumi_home_of(environ)
    env = {**environ, **PULUMI_FLAGS, "PULUMI_HOME": str(pulumi_home)}
    installed = []
    for plugin in built_plugins(home):
        if up_to_date(plugin, pulumi_home):
            continue
        completed = subprocess.run(
            install_command(bin_dir / "pulumi", plugin),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if completed.returncode != 0:
            output = " ".join((completed.stdout + completed.stderr).split())
            raise PluginInstallError(f"pulumi plugin install of {plugin.name} {plugin.version} failed: {output}")
        installed.append(plugin)
    return installed


def pulumi_env(bin_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """environ with this toolchain's bin folder first on PATH and PULUMI_FLAGS, its plugins installed into
    environ's Pulumi home."""
    install(bin_dir, environ)
    return {**environ, **PULUMI_FLAGS, "PATH": f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}"}
