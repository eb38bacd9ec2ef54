"""Fixtures of the image tests: the images' cache, a runner of an unpacked image, a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.fixture
def run_image(images_cache: Cache, tmp_path: Path) -> RunImage:
    """run(stamp, args=None, user=None, files=None, **env): the image's entrypoint with args (default: its
    command), unpacked once per test under tmp_path; `files` (path -> text) are written into it first, as a
    runtime writes /etc/hosts."""

    def run(
        stamp: ImageStamp,
        args: list[str] | None = None,
        user: str | None = None,
        files: dict[str, str] | None = None,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        root = tmp_path / stamp.name
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
