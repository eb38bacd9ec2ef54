"""Builds the images the local node runs (no registry is reachable): each one an OCI image layout archive
that `ctr -n k8s.io images import` takes, named by its ref, made from Debian's packages, PyPI wheels and
the Kubernetes module, reproducibly, and cached by the content of its inputs.

Usage (python3 is the system's, standard library only):
  python3 images/build_images.py [IMAGE...]          build what is missing; stdout: one line per image,
                                                      <name> <ref> <archive>
  python3 images/build_images.py --json [IMAGE...]   same, stdout a JSON object name -> {ref, archive, ...}
  python3 images/build_images.py --status            what is built (no build, no network)
  python3 images/build_images.py --rebuild [IMAGE...] make every layer again (the cache is bypassed)
IMAGE is one of: pause, busybox, airflow, smoke-job (default: all).

A second run with nothing changed makes no layer and writes no archive (well under a second, but for the
airflow image's hash of its requirements). Progress goes to stderr; each image's build log is
$YELLOW_IMAGES_HOME/logs/<image>.log. Concurrent builds of one image wait for each other.

Environment:
  YELLOW_IMAGES_HOME   cache folder (default: $HOME/.cache/yellow-images): blobs, layer records, stamps,
                       archives, logs
Needs (only when something must be built): root (mmdebstrap, chroot, owners in the layers), gcc and go (the
pause image), apt-get (mmdebstrap is installed when missing), the network to Debian's mirrors, PyPI and the Go
module proxy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from images import pins
from images.build import Build, Outcome
from images.cache import Cache, ImageStamp
from images.host import BuildError, Runner, locked
from images.oci import Layer
from images.recipes import airflow, busybox, pause, smoke_job
from toolchain.output import fmt_secs

RECIPES: dict[str, Callable[[Build], Outcome]] = {
    "pause": pause.build,
    "busybox": busybox.build,
    "airflow": airflow.build,
    "smoke-job": smoke_job.build,
}


def home_from(environ: Mapping[str, str]) -> Path:
    user_home = environ.get("HOME") or str(Path.home())
    return Path(environ.get("YELLOW_IMAGES_HOME") or f"{user_home}/.cache/yellow-images")


def log(message: str) -> None:
    print(f"[images {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class _Uncached(Cache):
    def layer(self, key: str) -> Layer | None:
        return None


def ensure(
    names: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ, rebuild: bool = False
) -> dict[str, ImageStamp]:
    """Builds the named images when their inputs changed; returns each one's stamp (ref, archive, manifest
    digest, sizes). Raises BuildError with one line naming the image; its log has the details."""
    home = home_from(environ)
    cache: Cache = _Uncached(home) if rebuild else Cache(home)
    cache.logs.mkdir(parents=True, exist_ok=True)
    stamps: dict[str, ImageStamp] = {}
    names = list(RECIPES) if names is None else names
    for name in names:
        log_path = cache.logs / f"{name}.log"
        # One lock per image: builds of one image wait for each other, other images go on.
        with locked(home / "locks" / f"{name}.lock", name), log_path.open("a") as out:
            start = time.monotonic()
            out.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {name}\n")
            build = Build(cache, name, Runner(out, environ))
            try:
                outcome = RECIPES[name](build)
            except BuildError as err:
                raise BuildError(f"image {name}: {err} (log: {log_path})") from None
        stamp = outcome.stamp
        if build.made or outcome.built:
            secs = int(time.monotonic() - start)
            log(
                f"{name}: {stamp.ref} built in {fmt_secs(secs)} ({_mib(stamp.size)} compressed, "
                f"{_mib(stamp.unpacked)} unpacked; {build.made} layer(s) made)"
            )
        stamps[name] = stamp
    return stamps


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def status_lines(cache: Cache) -> list[str]:
    lines = []
    for name in RECIPES:
        stamp = cache.stamp(name)
        if stamp is None or not Path(stamp.archive).is_file():
            lines.append(f"{name:<10} missing    {pins.REFS[name]}")
            continue
        lines.append(
            f"{name:<10} built      {stamp.ref}  {_mib(stamp.size)} ({_mib(stamp.unpacked)} unpacked), "
            f"last build {fmt_secs(stamp.seconds)}, {stamp.manifest[:19]}  {stamp.archive}"
        )
    return lines


def parse_args(argv: Sequence[str] | None, prog: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("images", nargs="*", metavar="IMAGE", help=argparse.SUPPRESS)
    parser.add_argument("--status", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rebuild", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = [name for name in args.images if name not in RECIPES]
    if unknown:
        parser.error(f"unknown image {unknown[0]!r} (images: {', '.join(RECIPES)})")
    return args


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    args = parse_args(argv, f"python3 {sys.argv[0]}")
    if args.status:
        print("\n".join(status_lines(Cache(home_from(environ)))))
        return 0
    names = args.images or list(RECIPES)
    try:
        stamps = ensure(names, environ, rebuild=args.rebuild)
    except BuildError as err:
        print(f"[images] ERROR: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "ref": s.ref,
                        "archive": s.archive,
                        "manifest": s.manifest,
                        "size": s.size,
                        "unpacked": s.unpacked,
                    }
                    for name, s in stamps.items()
                },
                indent=1,
            )
        )
    else:
        for name, stamp in stamps.items():
            print(f"{name} {stamp.ref} {stamp.archive}")
    return 0
