"""What was built, keyed by the content of its inputs: a layer record per layer key, a stamp per image.

<home>/blobs/sha256/<hex>     the blobs (layers, configs, manifests), named by their digest
<home>/layers/<key>.json      a layer's digest, diff id and size, for the key of the inputs it was made from
<home>/stamps/<image>.json    an image's ref, manifest digest, archive and how long its build took
<home>/archives/<image>.tar   the OCI image layout archive containerd imports
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from images.oci import BlobStore, Layer, canonical_json


def key_of(*parts: Any) -> str:
    """A cache key: the sha256 of the parts as canonical JSON."""
    return hashlib.sha256(canonical_json(list(parts))).hexdigest()


@dataclass(frozen=True)
class ImageStamp:
    name: str
    ref: str
    manifest: str  # the manifest's digest: the image's identity
    archive: str
    size: int  # the layers' compressed bytes
    unpacked: int  # the layers' uncompressed bytes
    seconds: int  # the last build's wall time (layers made and the archive written)
    layers: list[dict[str, Any]]


@dataclass(frozen=True)
class Cache:
    home: Path

    @property
    def store(self) -> BlobStore:
        return BlobStore(self.home)

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def work(self) -> Path:
        return self.home / "work"

    def archive_path(self, name: str) -> Path:
        return self.home / "archives" / f"{name}.tar"

    def layer(self, key: str) -> Layer | None:
        """The layer made from this key's inputs, when its record and its blob are both there."""
        try:
            layer = Layer.from_json(json.loads((self.home / "layers" / f"{key}.json").read_text()))
        except (FileNotFoundError, ValueError, KeyError):
            return None
        return layer if self.store.has(layer.blob) else None

    def record_layer(self, key: str, layer: Layer, what: str, notes: list[str]) -> None:
        _write_json(self.home / "layers" / f"{key}.json", {**layer.to_json(), "what": what, "notes": notes})

    def stamp(self, name: str) -> ImageStamp | None:
        try:
            return ImageStamp(**json.loads((self.home / "stamps" / f"{name}.json").read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def write_stamp(self, stamp: ImageStamp) -> None:
        _write_json(self.home / "stamps" / f"{stamp.name}.json", asdict(stamp))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
