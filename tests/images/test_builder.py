"""The builder's command, cache and helpers, on folders the tests lay out: no build, no network, no root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from images import cli, pins, unpacked
from images.build import Build, finish
from images.cache import Cache, key_of
from images.host import Runner, chroot_script
from images.oci import Entry, ImageConfig
from tests.conftest import REPO_ROOT

ENTRY = REPO_ROOT / "images" / "build_images.py"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The entry point as the system python3 runs it (-I -S: no site-packages)."""
    return subprocess.run(
        [sys.executable, "-I", "-S", str(ENTRY), *args],
        env={"YELLOW_IMAGES_HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_of_an_empty_cache_lists_every_image_missing(tmp_path: Path) -> None:
    result = run(tmp_path, "--status")
    assert result.returncode == 0, result.stderr
    assert [line.split()[:3] for line in result.stdout.splitlines()] == [
        [name, "missing", pins.REFS[name]] for name in pins.IMAGE_NAMES
    ]
    assert not (tmp_path / "archives").exists()


def test_an_unknown_image_is_a_usage_error_naming_the_images(tmp_path: Path) -> None:
    result = run(tmp_path, "nginx")
    assert result.returncode == 2
    assert "unknown image 'nginx' (images: pause, busybox, airflow, smoke-job)" in result.stderr


def test_every_image_has_a_recipe_and_a_ref() -> None:
    assert list(cli.RECIPES) == list(pins.IMAGE_NAMES) == list(pins.REFS)
    assert all(ref.startswith(f"{pins.REPOSITORY}/") for ref in pins.REFS.values())


def test_a_cache_key_depends_on_every_part_and_their_order() -> None:
    assert key_of("a", ["b"], 1) == key_of("a", ["b"], 1)
    assert len({key_of("a", "b"), key_of("b", "a"), key_of("ab"), key_of("a", "b", None)}) == 4


def built_image(home: Path, log: Path, text: bytes) -> tuple[Build, str]:
    """An image of one data layer, made through a Build as a recipe makes one: (build, manifest digest)."""
    with log.open("a") as out:
        build = Build(Cache(home), "test", Runner(out))
        layer = build.entries_layer([Entry("hello", text)], "hello")
        outcome = finish(build, "localhost/yellow/test:1", ImageConfig(cmd=["/hello"]), [layer], ["hello"], 0.0)
    return build, outcome.stamp.manifest


def test_a_layer_is_made_once_per_key_and_the_archive_written_once(tmp_path: Path) -> None:
    first, manifest = built_image(tmp_path, tmp_path / "log", b"hi")
    archive = tmp_path / "archives" / "test.tar"
    written = archive.stat().st_mtime_ns
    again, same_manifest = built_image(tmp_path, tmp_path / "log", b"hi")
    assert (first.made, again.made, same_manifest) == (1, 0, manifest)
    assert archive.stat().st_mtime_ns == written
    changed, other_manifest = built_image(tmp_path, tmp_path / "log", b"bye")
    assert changed.made == 1 and other_manifest != manifest
    stamp = Cache(tmp_path).stamp("test")
    assert stamp is not None and stamp.manifest == other_manifest


def test_a_layer_record_without_its_blob_is_made_again(tmp_path: Path) -> None:
    built_image(tmp_path, tmp_path / "log", b"hi")
    for blob in (tmp_path / "blobs" / "sha256").iterdir():
        blob.unlink()
    build, _ = built_image(tmp_path, tmp_path / "log", b"hi")
    assert build.made == 1


CONFIG = {
    "config": {
        "Entrypoint": ["/usr/bin/dumb-init", "--", "/entrypoint"],
        "Cmd": ["scheduler"],
        "Env": ["PATH=/home/airflow/.local/bin:/usr/bin:/bin", "AIRFLOW_HOME=/opt/airflow"],
        "User": "50000",
        "WorkingDir": "/opt/airflow",
    }
}


def script_of(argv: list[str]) -> str:
    assert argv[:6] == ["unshare", "--mount", "--propagation", "private", "--fork", "sh"]
    return argv[-1]


def test_an_unpacked_image_runs_its_entrypoint_as_its_user_in_its_workdir_with_only_its_env() -> None:
    script = script_of(unpacked.command(Path("/tmp/root"), CONFIG, ["version"], {"X": "1"}))
    last = script.splitlines()[-1]
    assert last.startswith("exec env -i PATH=/home/airflow/.local/bin:/usr/bin:/bin AIRFLOW_HOME=/opt/airflow X=1 ")
    assert "--userspec=50000:0 --groups=0" in last
    assert last.endswith(
        '"$r" /bin/sh -c \'cd /opt/airflow && exec "$@"\' sh /usr/bin/dumb-init -- /entrypoint version'
    )


def test_an_unpacked_image_runs_its_own_command_unless_given_one() -> None:
    script = script_of(unpacked.command(Path("/tmp/root"), CONFIG, user="12345:0"))
    assert script.splitlines()[-1].endswith("/entrypoint scheduler")
    assert "--userspec=12345:0" in script


def test_a_chroot_command_binds_what_it_needs_and_quotes_arguments() -> None:
    argv = chroot_script(Path("/w/root"), ["uv", "pip", "sync", "it's.txt"], {"/var/cache/uv": Path("/tmp")})
    script = script_of(argv)
    assert 'mount --bind /tmp "$r"/var/cache/uv' in script
    assert script.splitlines()[-1].endswith("sh uv pip sync 'it'\"'\"'s.txt'")
