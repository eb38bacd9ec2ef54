"""One image's build: its layers made or taken from the cache by the key of their inputs, then the config,
manifest and archive, rewritten only when the image's manifest changed."""

from __future__ import annotations

import hashlib
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from images import pins
from images.cache import Cache, ImageStamp, key_of
from images.host import Runner
from images.oci import Entry, ImageConfig, Layer, add_entries, assemble, write_archive
from toolchain.vendor import sha256_of as file_digest

IMAGES_DIR = Path(__file__).resolve().parent


def source_digest(*modules: str) -> list[str]:
    """The digests of the builder's own modules a layer depends on (names relative to images/), so a change
    of a recipe rebuilds what it makes."""
    return [f"{name}:{file_digest(IMAGES_DIR / name)}" for name in modules]


@dataclass
class Build:
    cache: Cache
    name: str
    runner: Runner
    made: int = 0  # layers made (not taken from the cache) in this run
    notes: list[str] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.cache.work / self.name

    def layer(self, key: str, make: Callable[[tarfile.TarFile], None], what: str) -> Layer:
        """The cached layer for key, or a new one from `make` (which adds the members to the tar)."""
        cached = self.cache.layer(key)
        if cached is not None:
            return cached
        self.runner.log.write(f"--- layer {what} (key {key[:16]})\n")
        self.notes.clear()
        layer = self.cache.store.put_layer(make)
        self.cache.record_layer(key, layer, what, self.notes)
        self.made += 1
        return layer

    def note(self, text: str) -> None:
        """Something the layer being made was made from that its key does not name (a package's version):
        kept in the layer's record and the log."""
        self.runner.log.write(f"note: {text}\n")
        self.notes.append(text)

    def entries_layer(self, entries: Iterable[Entry], what: str, *key_parts: object) -> Layer:
        items = list(entries)
        key = key_of(
            "entries",
            [
                (
                    e.path,
                    hashlib.sha256(e.data).hexdigest() if e.data is not None else None,
                    e.mode,
                    e.uid,
                    e.gid,
                    e.link,
                )
                for e in items
            ],
            source_digest("oci.py"),
            *key_parts,
        )
        return self.layer(key, lambda tar: add_entries(tar, items, pins.EPOCH), what)


@dataclass(frozen=True)
class Outcome:
    stamp: ImageStamp
    built: bool  # the archive was (re)written in this run


def finish(
    build: Build, ref: str, config: ImageConfig, layers: list[Layer], history: list[str], start: float
) -> Outcome:
    image = assemble(build.cache.store, ref, config, layers, pins.CREATED, history)
    archive = build.cache.archive_path(build.name)
    previous = build.cache.stamp(build.name)
    if previous and previous.manifest == image.manifest.digest and previous.ref == ref and archive.is_file():
        return Outcome(previous, built=False)
    write_archive(build.cache.store, image, archive)
    stamp = ImageStamp(
        name=build.name,
        ref=ref,
        manifest=image.manifest.digest,
        archive=str(archive),
        size=sum(layer.blob.size for layer in layers),
        unpacked=sum(layer.unpacked for layer in layers),
        seconds=int(time.monotonic() - start),
        layers=[layer.to_json() for layer in layers],
    )
    build.cache.write_stamp(stamp)
    return Outcome(stamp, built=True)
