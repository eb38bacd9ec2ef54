"""The built provider plugins reach a Pulumi home's plugin cache through `pulumi plugin install --file`, here
with a stand-in pulumi that does what that command does, and the environment Pulumi runs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from toolchain import pins, plugins, stamps

# Copies --file to where `pulumi plugin install resource <name> <version> --file <binary>` puts it, and
# writes each call's arguments to calls.log.
FAKE_PULUMI = """#!/bin/sh
echo "$PULUMI_HOME $*" >> "$(dirname "$0")/../calls.log"
[ -n "$FAIL" ] && { echo "error: $FAIL" >&2; exit 1; }
dir="$PULUMI_HOME/plugins/resource-$4-v$5"
mkdir -p "$dir" && cp "$7" "$dir/$(basename "$7")"
"""
VERSIONS = {
    "kubernetes": "4.25.0 (github.com/pulumi/pulumi-kubernetes/provider/v4@v4.0.0-2026)",
    "postgresql": "3.16.2",
}


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "tc"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "pulumi").write_text(FAKE_PULUMI)
    (home / "bin" / "pulumi").chmod(0o755)
    for name, version in VERSIONS.items():
        piece = next(p for p in pins.pieces("") if p.name == name)
        binary = home / "plugins" / f"pulumi-resource-{name}"
        binary.parent.mkdir(exist_ok=True)
        binary.write_text(f"#!/bin/sh\n# {name}\n")
        binary.chmod(0o755)
        stamps.write(home / "stamps", name, stamps.Stamp(piece.key, "ok", version, "1"))
    return home


def calls(home: Path) -> list[str]:
    log = home / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_built_plugins_are_installed_into_the_pulumi_home_once(home, tmp_path):
    pulumi_home = tmp_path / "pulumi-home"
    env = plugins.pulumi_env(home / "bin", {"PATH": "/usr/bin", "PULUMI_HOME": str(pulumi_home)})
    assert env["PATH"] == f"{home / 'bin'}{os.pathsep}/usr/bin"
    assert {name: env[name] for name in plugins.PULUMI_FLAGS} == {
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
    }
    assert calls(home) == [
        f"{pulumi_home} plugin install resource kubernetes 4.25.0 --file {home}/plugins/pulumi-resource-kubernetes "
        "--reinstall",
        f"{pulumi_home} plugin install resource postgresql 3.16.2 --file {home}/plugins/pulumi-resource-postgresql "
        "--reinstall",
    ]
    cached = pulumi_home / "plugins" / "resource-kubernetes-v4.25.0" / "pulumi-resource-kubernetes"
    assert cached.read_text() == "#!/bin/sh\n# kubernetes\n"

    plugins.pulumi_env(home / "bin", {"PULUMI_HOME": str(pulumi_home)})
    assert len(calls(home)) == 2


def test_a_rebuilt_plugin_is_installed_again(home, tmp_path):
    pulumi_home = tmp_path / "pulumi-home"
    plugins.install(home / "bin", {"PULUMI_HOME": str(pulumi_home)})
    rebuilt = home / "plugins" / "pulumi-resource-postgresql"
    rebuilt.write_text("#!/bin/sh\n# postgresql, rebuilt\n")
    installed = plugins.install(home / "bin", {"PULUMI_HOME": str(pulumi_home)})
    assert [p.name for p in installed] == ["postgresql"]
    cached = pulumi_home / "plugins" / "resource-postgresql-v3.16.2" / "pulumi-resource-postgresql"
    assert cached.read_text() == rebuilt.read_text()


def test_the_pulumi_home_defaults_to_the_users(home, tmp_path):
    plugins.install(home / "bin", {"HOME": str(tmp_path / "user")})
    assert (tmp_path / "user" / ".pulumi" / "plugins" / "resource-kubernetes-v4.25.0").is_dir()


def test_a_plugin_that_is_not_built_is_left_out(home, tmp_path):
    (home / "stamps" / "kubernetes").write_text("status=failed\n")
    installed = plugins.install(home / "bin", {"PULUMI_HOME": str(tmp_path / "p")})
    assert [p.name for p in installed] == ["postgresql"]


def test_an_official_pulumi_folder_gets_no_plugins(tmp_path):
    official = tmp_path / "official" / "bin"
    official.mkdir(parents=True)
    assert plugins.install(official, {"PULUMI_HOME": str(tmp_path / "p")}) == []
    assert not (tmp_path / "p").exists()


def test_a_failed_install_says_which_plugin_and_why(home, tmp_path):
    with pytest.raises(plugins.PluginInstallError) as raised:
        plugins.install(home / "bin", {"PULUMI_HOME": str(tmp_path / "p"), "FAIL": "disk full", "PATH": "/usr/bin"})
    assert str(raised.value) == "pulumi plugin install of kubernetes 4.25.0 failed: error: disk full"


def test_print_env_installs_the_plugins_into_the_callers_pulumi_home(home, tmp_path):
    for piece in pins.pieces(pins.DEFAULT_CLI_FALLBACKS):
        if piece.name not in VERSIONS:
            stamps.write(home / "stamps", piece.name, stamps.Stamp(piece.key, "ok", "v1", "1"))
            for name in piece.outputs:
                path = home / piece.folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    path.write_text("#!/bin/sh\n")
                path.chmod(0o755)
    pulumi_home = tmp_path / "pulumi-home"
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(REPO_ROOT / "toolchain" / "pulumi_toolchain.py"), "--print-env"],
        env={"PATH": "/usr/bin:/bin", "PULUMI_TOOLCHAIN_HOME": str(home), "PULUMI_HOME": str(pulumi_home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "export PULUMI_IGNORE_AMBIENT_PLUGINS=true" in result.stdout.splitlines()
    assert sorted(p.name for p in (pulumi_home / "plugins").iterdir()) == [
        "resource-kubernetes-v4.25.0",
        "resource-postgresql-v3.16.2",
    ]
