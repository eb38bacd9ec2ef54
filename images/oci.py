"""OCI images with the standard library: deterministic layers (gzipped tars) in a blob store, and an OCI image
layout archive per image, as `ctr -n k8s.io images import` reads it.

A layer's bytes depend only on the files it holds: entries sorted by path, every mtime the same fixed
epoch, numeric owners as the tree has them (no user or group names), no gzip name or time. So the same
inputs give the same digests, and a digest names a layer whatever machine built it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
# containerd's importer takes this one as the image's name as it stands; the OCI ref name above it passes
# through ctr's name prefixing, which drops a full reference that does not start with its prefix.
CONTAINERD_NAME = "io.containerd.image.name"
PLATFORM = {"architecture": "amd64", "os": "linux"}
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Blob:
    digest: str  # sha256:<hex>
    size: int


@dataclass(frozen=True)
class Layer:
    blob: Blob  # the gzipped tar
    diff_id: str  # sha256 of the tar itself, as the image config lists it
    unpacked: int  # the tar's size

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.blob.digest, "size": self.blob.size, "diff_id": self.diff_id, "unpacked": self.unpacked}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Layer:
        return Layer(Blob(str(data["digest"]), int(data["size"])), str(data["diff_id"]), int(data["unpacked"]))


@dataclass(frozen=True)
class Entry:
    """One member of a layer made from data rather than from a folder: a file, a folder or a symlink."""

    path: str  # inside the image, without a leading "/"
    data: bytes | None = None  # a file's content; None for a folder or a symlink
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    link: str = ""  # a symlink's target

    @staticmethod
    def folder(path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
        return Entry(path, None, mode, uid, gid)

    @staticmethod
    def symlink(path: str, target: str) -> Entry:
        return Entry(path, None, 0o777, link=target)


@dataclass
class BlobStore:
    """blobs/sha256/<hex> under a folder, written once: a blob's name is its content's digest."""

    root: Path

    def path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / "blobs" / algorithm / hexdigest

    def has(self, blob: Blob) -> bool:
        path = self.path(blob.digest)
        return path.is_file() and path.stat().st_size == blob.size

    def put_bytes(self, data: bytes) -> Blob:
        blob = Blob(digest_of(data), len(data))
        if not self.has(blob):
            self._commit(blob, lambda out: out.write(data))
        return blob

    def put_layer(self, write_tar: Callable[[tarfile.TarFile], None]) -> Layer:
        """A layer from a function that adds the members to a tar: gzipped into the store, hashed on the way."""
        tmp = self.root / "blobs" / "tmp" / f"layer-{os.getpid()}"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            with tmp.open("wb") as raw_out:
                gz_hash = _HashingWriter(raw_out)
                with gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, mtime=0, compresslevel=GZIP_LEVEL) as gz:
                    tar_hash = _HashingWriter(gz)
                    with tarfile.open(fileobj=tar_hash, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                        write_tar(tar)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        blob = Blob("sha256:" + gz_hash.sha.hexdigest(), gz_hash.size)
        final = self.path(blob.digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return Layer(blob, "sha256:" + tar_hash.sha.hexdigest(), tar_hash.size)

    def _commit(self, blob: Blob, write: Callable[[IO[bytes]], object]) -> None:
        final = self.path(blob.digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f"{final.name}.tmp{os.getpid()}")
        with tmp.open("wb") as out:
            write(out)
        os.replace(tmp, final)


class _Sink(Protocol):
    def write(self, data: memoryview, /) -> object: ...


class _HashingWriter(io.RawIOBase):
    """Passes writes through to `out`, counting and hashing them."""

    def __init__(self, out: _Sink) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sha.update(view)
        self.size += len(view)
        self.out.write(view)
        return len(view)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _normalized(info: tarfile.TarInfo, epoch: int) -> tarfile.TarInfo:
    info.mtime = epoch
    info.uname = info.gname = ""
    info.pax_headers = {}
    return info


def add_entries(tar: tarfile.TarFile, entries: Iterable[Entry], epoch: int) -> None:
    """Adds data entries in path order, each folder before what it holds."""
    for entry in sorted(entries, key=lambda e: _path_order(e.path.strip("/"))):
        info = tarfile.TarInfo(entry.path.strip("/"))
        info.mode, info.uid, info.gid = entry.mode, entry.uid, entry.gid
        if entry.link:
            info.type, info.linkname = tarfile.SYMTYPE, entry.link
        elif entry.data is None:
            info.type = tarfile.DIRTYPE
        else:
            info.size = len(entry.data)
        tar.addfile(_normalized(info, epoch), io.BytesIO(entry.data) if entry.data is not None else None)


def walk_sorted(root: Path, skip_contents_of: frozenset[str] = frozenset()) -> Iterator[str]:
    """Relative paths under root, sorted the same way everywhere; folders named in skip_contents_of (relative
    paths) are listed but not entered."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        if rel_dir in skip_contents_of:
            dirnames[:] = []
            continue
        dirnames.sort()
        names = sorted(dirnames + filenames)
        for name in names:
            yield os.path.join(rel_dir, name) if rel_dir else name


def add_tree(
    tar: tarfile.TarFile,
    root: Path,
    epoch: int,
    under: Iterable[str] = ("",),
    skip_contents_of: frozenset[str] = frozenset(),
) -> None:
    """Adds the folder tree at root (or only the subtrees `under`, with the folders leading to them), keeping
    modes, numeric owners, symlinks and hard links; sockets and pipes are left out."""
    paths: list[str] = []
    for prefix in under:
        prefix = prefix.strip("/")
        parts = prefix.split("/") if prefix else []
        paths.extend("/".join(parts[: i + 1]) for i in range(len(parts)))
        base = root / prefix if prefix else root
        paths.extend(
            f"{prefix}/{p}" if prefix else p for p in walk_sorted(base, _relative_to(prefix, skip_contents_of))
        )
    seen: set[str] = set()
    for rel in sorted(paths, key=_path_order):
        if rel in seen:
            continue
        seen.add(rel)
        full = root / rel
        mode = full.lstat().st_mode
        if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode):
            continue
        info = tar.gettarinfo(str(full), arcname=rel)
        if info.isreg():
            with full.open("rb") as f:
                tar.addfile(_normalized(info, epoch), f)
        else:
            tar.addfile(_normalized(info, epoch))


def _path_order(rel: str) -> list[str]:
    # Component-wise order: a folder's members come right after it, before any sibling that sorts after it.
    return rel.split("/")


def _relative_to(prefix: str, paths: frozenset[str]) -> frozenset[str]:
    if not prefix:
        return paths
    return frozenset(p[len(prefix) + 1 :] for p in paths if p.startswith(prefix + "/"))


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config (what `docker inspect` shows as Config)."""

    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    user: str = ""
    working_dir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {"Env": self.env}
        if self.entrypoint:
            config["Entrypoint"] = self.entrypoint
        if self.cmd:
            config["Cmd"] = self.cmd
        if self.user:
            config["User"] = self.user
        if self.working_dir:
            config["WorkingDir"] = self.working_dir
        if self.labels:
            config["Labels"] = self.labels
        if self.exposed_ports:
            config["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        return config


def config_json(config: ImageConfig, layers: list[Layer], created: str, history: list[str]) -> bytes:
    body = {
        **PLATFORM,
        "created": created,
        "config": config.to_json(),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": step} for step in history],
    }
    return canonical_json(body)


def descriptor(media_type: str, blob: Blob, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": blob.digest, "size": blob.size, **extra}


def manifest_json(config_blob: Blob, layers: list[Layer]) -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(CONFIG_TYPE, config_blob),
        "layers": [descriptor(LAYER_TYPE, layer.blob) for layer in layers],
    }
    return canonical_json(body)


def index_json(manifest_blob: Blob, ref: str) -> bytes:
    annotations = {REF_NAME: ref, CONTAINERD_NAME: ref}
    body = {
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [descriptor(MANIFEST_TYPE, manifest_blob, annotations=annotations, platform=PLATFORM)],
    }
    return canonical_json(body)


@dataclass(frozen=True)
class Image:
    ref: str
    manifest: Blob
    config: Blob
    layers: tuple[Layer, ...]
    index: bytes

    @property
    def blobs(self) -> list[Blob]:
        return [self.config, self.manifest, *(layer.blob for layer in self.layers)]


def assemble(
    store: BlobStore, ref: str, config: ImageConfig, layers: list[Layer], created: str, history: list[str]
) -> Image:
    """Writes the config and manifest blobs of an image made of `layers` (already in the store)."""
    config_blob = store.put_bytes(config_json(config, layers, created, history))
    manifest_blob = store.put_bytes(manifest_json(config_blob, layers))
    return Image(ref, manifest_blob, config_blob, tuple(layers), index_json(manifest_blob, ref))


def write_archive(store: BlobStore, image: Image, out: Path) -> None:
    """The image as an OCI image layout in one tar (oci-layout, index.json, blobs/sha256/...), replaced whole."""
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        add_entries(
            tar,
            [
                Entry.folder("blobs"),
                Entry.folder("blobs/sha256"),
                Entry("oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"})),
                Entry("index.json", image.index),
            ],
            epoch=0,
        )
        for blob in sorted(set(image.blobs), key=lambda b: b.digest):
            info = tarfile.TarInfo("blobs/sha256/" + blob.digest.partition(":")[2])
            info.size, info.mode = blob.size, 0o644
            with store.path(blob.digest).open("rb") as f:
                tar.addfile(_normalized(info, 0), f)
    os.replace(tmp, out)
