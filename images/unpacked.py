"""An image run without a container runtime: its layers unpacked into a folder, its entrypoint and command
run chrooted there with the image's env, user and working folder, in a mount namespace of its own (so no
mount outlives the command). For tests and debugging; the node runs the images as pods.

    python3 -m images.unpacked IMAGE [ARG...]     (root; ARGs replace the image's command)
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from images.cache import Cache, ImageStamp
from images.host import unpack_layers
from images.oci import Layer


def image_config(cache: Cache, stamp: ImageStamp) -> dict[str, Any]:
    manifest = json.loads(cache.store.path(stamp.manifest).read_bytes())
    config: dict[str, Any] = json.loads(cache.store.path(manifest["config"]["digest"]).read_bytes())
    return config


def unpack(cache: Cache, stamp: ImageStamp, target: Path) -> None:
    unpack_layers(cache.store, [Layer.from_json(layer) for layer in stamp.layers], target)


def command(
    root: Path,
    config: Mapping[str, Any],
    args: Sequence[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    user: str | None = None,
) -> list[str]:
    """The argv that runs the image's entrypoint with `args` (default: its command) chrooted in root, as
    `user` or the image's (uid[:gid]; gid 0 when only a uid is given), with only the image's env and
    extra_env."""
    runtime = config.get("config", {})
    argv = [*runtime.get("Entrypoint", []), *(runtime.get("Cmd", []) if args is None else args)]
    env = [*runtime.get("Env", []), *(f"{k}={v}" for k, v in (extra_env or {}).items())]
    user = user or runtime.get("User") or "0"
    uid, _, gid = user.partition(":")
    workdir = runtime.get("WorkingDir") or "/"
    inner = argv
    if workdir != "/":
        inner = ["/bin/sh", "-c", f'cd {shlex.quote(workdir)} && exec "$@"', "sh", *argv]
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    script = "\n".join(
        [
            "set -e",
            f"r={shlex.quote(str(root))}",
            'if [ -d "$r/dev" ]; then mount --rbind /dev "$r/dev"; fi',
            'if [ -d "$r/proc" ]; then mount -t proc proc "$r/proc"; fi',
            f"exec env -i {shlex.join(env)} {chroot} --userspec={uid}:{gid or 0} --groups={gid or 0} "
            f'"$r" {shlex.join(inner)}',
        ]
    )
    return ["unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c", script]


def main(argv: Sequence[str] | None = None) -> int:
    import os
    import tempfile

    from images.cli import home_from

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    cache = Cache(home_from(os.environ))
    stamp = cache.stamp(args[0])
    if stamp is None:
        print(f"image {args[0]!r} is not built (python3 images/build_images.py {args[0]})", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix=f"{args[0]}-") as folder:
        root = Path(folder) / "root"
        unpack(cache, stamp, root)
        return subprocess.run(command(root, image_config(cache, stamp), args[1:] or None)).returncode


if __name__ == "__main__":
    sys.exit(main())
