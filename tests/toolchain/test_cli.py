"""The command as callers use it, on toolchain homes laid out by the tests: no go, no network, no build."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from toolchain import cli, pins, stamps

ENTRY = REPO_ROOT / "toolchain" / "pulumi_toolchain.py"


def piece(name: str) -> pins.Piece:
    (found,) = [p for p in pins.pieces(pins.DEFAULT_CLI_FALLBACKS) if p.name == name]
    return found


def built_home(home: Path, **messages: str) -> Path:
    """A home where every piece is built, as a previous run leaves it."""
    for piece in pins.pieces(pins.DEFAULT_CLI_FALLBACKS):
        for name in piece.outputs:
            output = home / piece.folder / name
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text("#!/bin/sh\n")
            output.chmod(0o755)
        message = messages.get(piece.name.replace("-", "_"), "")
        stamps.write(home / "stamps", piece.name, stamps.Stamp(piece.key, "ok", "v1", "3", message))
    return home


def fake_pulumi(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pulumi").write_text(f"#!/bin/sh\necho {version}\n")
    (folder / "pulumi").chmod(0o755)
    return folder


def run(home: Path, *args: str, path: Path, **env: str) -> subprocess.CompletedProcess:
    """The entry point in isolated mode (-I -S: no site-packages, as the system python3 runs it), with only
    `path` on PATH: no go, no pulumi unless the test puts them there."""
    return subprocess.run(
        [sys.executable, "-I", "-S", str(ENTRY), *args],
        env={"HOME": str(home.parent), "PATH": str(path), "PULUMI_TOOLCHAIN_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def empty_path(tmp_path) -> Path:
    folder = tmp_path / "path"
    folder.mkdir()
    return folder


def test_a_built_home_prints_its_bin_folder_without_building(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    bin_dir = home / "bin"
    assert run(home, "--print-bin", path=empty_path).stdout == f"{bin_dir}\n"
    result = run(home, path=empty_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1] == f"PULUMI_BIN={bin_dir}"
    env = run(home, "--print-env", path=empty_path).stdout
    assert f'export PATH="{bin_dir}:$PATH"\n' in env
    assert f"file://{home}/state" in env
    assert (home / "state").is_dir()


def test_a_piece_built_from_a_fallback_is_reported_in_one_warning(tmp_path, empty_path):
    home = built_home(tmp_path / "tc", cli="pkg/v3@v3.272.0 not served by the proxy; built v3.274.1")
    result = run(home, "--print-bin", path=empty_path)
    assert result.stdout == f"{home / 'bin'}\n"
    assert result.stderr == (
        "[pulumi-toolchain] WARNING: toolchain ready; differs from the pinned versions: cli "
        f"(details: python3 {ENTRY} --status)\n"
    )


def test_a_home_that_kept_the_provider_plugins_in_bin_has_them_linked_into_plugins(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    for name in ("pulumi-resource-kubernetes", "pulumi-resource-postgresql"):
        (home / "plugins" / name).rename(home / "bin" / name)
    result = run(home, "--print-bin", path=empty_path)
    assert (result.returncode, result.stdout) == (0, f"{home / 'bin'}\n")
    assert "kubernetes: linked pulumi-resource-kubernetes from" in result.stderr
    for name in ("pulumi-resource-kubernetes", "pulumi-resource-postgresql"):
        assert (home / "plugins" / name).samefile(home / "bin" / name)
    assert run(home, "--print-bin", path=empty_path).stderr == ""


def test_a_missing_output_is_rebuilt_which_needs_go(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    (home / "bin" / "etcd").unlink()
    result = run(home, "--print-bin", path=empty_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert "[pulumi-toolchain] WARNING: etcd needs building but 'go' is not on PATH" in result.stderr


def test_failed_pieces_are_remembered_and_an_essential_one_stops_the_run(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    etcd = piece("etcd")
    stamps.write(home / "stamps", "etcd", stamps.Stamp(etcd.key, "failed", "", "5", "go build of etcd failed"))
    result = run(home, "--print-bin", path=empty_path)
    assert result.returncode == 0
    assert "not built: etcd (details: " in result.stderr
    assert "retry: --retry)" in result.stderr

    python = piece("python")
    stamps.write(home / "stamps", "python", stamps.Stamp(python.key, "failed", "", "2", "go build failed"))
    result = run(home, "--print-bin", path=empty_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert (
        "the python piece is missing (go build failed); the toolchain is not usable. "
        f"Fix that, then run: python3 {ENTRY} --retry"
    ) in result.stderr


def test_a_piece_that_failed_for_a_missing_archive_is_built_once_the_archive_is_there(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    postgresql = piece("postgresql")
    failed = stamps.Stamp(
        postgresql.key, "failed", "", "0", "source archive ... not found", "pulumi-postgresql-3.16.2.tar.gz"
    )
    stamps.write(home / "stamps", "postgresql", failed)
    (home / "plugins" / "pulumi-resource-postgresql").unlink()

    still_missing = run(home, "--print-bin", path=empty_path, PULUMI_TOOLCHAIN_VENDOR_DIR=str(vendor))
    assert "the postgresql piece is missing (source archive ... not found)" in still_missing.stderr
    assert "needs building" not in still_missing.stderr

    (vendor / "pulumi-postgresql-3.16.2.tar.gz").write_bytes(b"not the pinned archive")
    wrong = run(home, "--print-bin", path=empty_path, PULUMI_TOOLCHAIN_VENDOR_DIR=str(vendor))
    assert "needs building" not in wrong.stderr

    link_archives(vendor)
    there = run(home, "--print-bin", path=empty_path, PULUMI_TOOLCHAIN_VENDOR_DIR=str(vendor))
    assert (there.returncode, there.stdout) == (1, "")
    assert "[pulumi-toolchain] WARNING: postgresql needs building but 'go' is not on PATH" in there.stderr


def test_a_piece_that_failed_otherwise_waits_for_retry(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    stamps.write(home / "stamps", "etcd", stamps.Stamp(piece("etcd").key, "failed", "", "5", "go build failed"))
    (home / "bin" / "etcd").unlink()
    assert "needs building" not in run(home, "--print-bin", path=empty_path).stderr
    assert "etcd needs building" in run(home, "--print-bin", "--retry", path=empty_path).stderr


def link_archives(vendor: Path) -> None:
    """The pinned archives, from the vendor folder the toolchain uses by default."""
    source = cli.settings_from({}).vendor_dir
    for archive in pins.ARCHIVES:
        assert (source / archive.name).is_file(), f"{archive.name} is not in {source}"
        (vendor / archive.name).unlink(missing_ok=True)
        (vendor / archive.name).symlink_to(source / archive.name)


def test_status_shows_each_piece_and_builds_nothing(tmp_path, empty_path):
    home = built_home(tmp_path / "tc", kubernetes="built from a fallback")
    (home / "stamps" / "etcd").unlink()
    (home / "bin" / "kubelet").write_bytes(b"k" * 2_500_000)
    (home / "bin" / "cni" / "bridge").unlink()
    lines = run(home, "--status", path=empty_path).stdout.splitlines()
    assert lines == [
        "cli            ok           3s     0.0 MB  v1",
        "python         ok           3s     0.0 MB  v1",
        "kubernetes     ok           3s     0.0 MB  v1",
        "                         built from a fallback",
        "postgresql     ok           3s     0.0 MB  v1",
        "control-plane  ok           3s     0.0 MB  v1",
        "etcd" + " " * 25 + "s     0.0 MB  ",
        "kubelet        ok           3s     2.5 MB  v1",
        "containerd     ok           3s     0.0 MB  v1",
        "runc           ok           3s     0.0 MB  v1",
        "cni            ok           3s             v1",
        "coredns        ok           3s     0.0 MB  v1",
        f"bin: {home / 'bin'}",
    ]
    assert not run(tmp_path / "none", "--status", path=empty_path).stdout.startswith("cli            ok")
    assert not (tmp_path / "none").exists()


def test_an_official_pulumi_of_the_pinned_version_is_used_as_it_is(tmp_path):
    official = fake_pulumi(tmp_path / "official", "v3.272.0")
    home = tmp_path / "tc"
    result = run(home, "--print-bin", path=official)
    assert (result.returncode, result.stdout) == (0, f"{official}\n")
    assert "using the pulumi v3.272.0 already on PATH" in result.stderr
    assert not home.exists()
    built_home(home)
    assert run(home, "--print-bin", "--build", path=official).stdout == f"{home / 'bin'}\n"


def test_official_pulumi_detection(tmp_path):
    home = tmp_path / "tc"
    assert cli.official_pulumi_dir(home, {"PATH": str(tmp_path)}) is None
    other = fake_pulumi(tmp_path / "other", "v3.274.1")
    assert cli.official_pulumi_dir(home, {"PATH": str(other)}) is None
    own = fake_pulumi(home / "bin", "v3.272.0")
    assert cli.official_pulumi_dir(home, {"PATH": str(own)}) is None
    official = fake_pulumi(tmp_path / "official", "v3.272.0")
    assert cli.official_pulumi_dir(home, {"PATH": f"{other}:{official}"}) is None
    assert cli.official_pulumi_dir(home, {"PATH": f"{official}:{other}"}) == str(official)


def test_settings_from_the_environment(tmp_path):
    toolchain_dir = tmp_path / "repo" / "toolchain"
    settings = cli.settings_from({"HOME": "/home/u", "PULUMI_TOOLCHAIN_HOME": ""}, toolchain_dir)
    assert settings == cli.Settings(
        home=Path("/home/u/.cache/yellow-pulumi-toolchain"),
        jobs="2",
        vendor_dir=tmp_path / "shared" / "vendor",
        cli_fallbacks="v3.274.1 v3.274.0 v3.270.0",
    )
    assert settings.bin_dir == Path("/home/u/.cache/yellow-pulumi-toolchain/bin")
    (tmp_path / "real" / "shared" / "vendor").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    linked = tmp_path / "link" / "repo" / "toolchain"
    assert cli.settings_from({}, linked).vendor_dir == tmp_path / "real" / "shared" / "vendor"
    environ = {
        "PULUMI_TOOLCHAIN_HOME": "/tc",
        "PULUMI_TOOLCHAIN_JOBS": "4",
        "PULUMI_TOOLCHAIN_VENDOR_DIR": "/v",
        "PULUMI_CLI_FALLBACK_VERSIONS": "v3.280.0",
    }
    assert cli.settings_from(environ, toolchain_dir) == cli.Settings(Path("/tc"), "4", Path("/v"), "v3.280.0")


def test_a_second_run_waits_for_the_one_holding_the_home(tmp_path, empty_path):
    home = built_home(tmp_path / "tc")
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiting = subprocess.Popen(
            [sys.executable, "-I", "-S", str(ENTRY), "--print-bin"],
            env={"PATH": str(empty_path), "PULUMI_TOOLCHAIN_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiting.stderr is not None
        assert f"waiting for another run to finish with {home}" in waiting.stderr.readline()
        assert waiting.poll() is None
    stdout, _ = waiting.communicate(timeout=30)
    assert (waiting.returncode, stdout) == (0, f"{home / 'bin'}\n")
