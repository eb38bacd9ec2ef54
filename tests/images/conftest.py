"""Fixtures of the image tests: the images' cache, a runner of an unpacked image, a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from devtools.embedded_pg import EmbeddedPostgres
from devtools.net import free_port
from images import cli, unpacked
from images.cache import Cache, ImageStamp

ADMIN_PASSWORD = "admin-pw"
RunImage = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def images_cache() -> Cache:
    return Cache(cli.home_from(os.environ))


@pytest.fixture(scope="session")
def run_image(images_cache: Cache, tmp_path_factory: pytest.TempPathFactory) -> RunImage:
    """run(stamp, args=None, user=None, files=None, **env): the image's entrypoint with args (default: its
    command), in its layers unpacked once per session (and again when the image changed); `files` (path ->
    text) are written into it first, as a runtime writes /etc/hosts."""
    tmp_path = tmp_path_factory.mktemp("unpacked")

    def run(
        stamp: ImageStamp,
        args: list[str] | None = None,
        user: str | None = None,
        files: dict[str, str] | None = None,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        root = tmp_path / stamp.manifest.removeprefix("sha256:")
        if not root.exists():
            unpacked.unpack(images_cache, stamp, root)
        for path, text in (files or {}).items():
            (root / path.lstrip("/")).write_text(text)
        argv = unpacked.command(root, unpacked.image_config(images_cache, stamp), args, env, user)
        return subprocess.run(argv, capture_output=True, text=True, timeout=600)

    return run


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("embedded-pg"), free_port(), ADMIN_PASSWORD) as server:
        yield server
