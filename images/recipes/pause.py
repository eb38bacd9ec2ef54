"""The pause image: the sandbox every pod's containers share, pause.c of the Kubernetes module built static."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

from images import pins
from images.build import Build, Outcome, finish, source_digest
from images.cache import key_of
from images.host import BuildError, Runner
from images.oci import Entry, ImageConfig, add_entries

USER = "65535:65535"  # as the upstream image runs it


def kubernetes_module_dir(runner: Runner, work: Path) -> Path:
    """The k8s.io/kubernetes module from the Go module proxy (or the module cache), its hash checked."""
    work.mkdir(parents=True, exist_ok=True)
    runner.need("go")
    out = runner.output(
        ["go", "mod", "download", "-json", f"{pins.KUBERNETES_MODULE}@{pins.KUBERNETES_VERSION}"],
        env={"GOFLAGS": "-mod=mod", "GOWORK": "off", "GO111MODULE": "on"},
    )
    info = json.loads(out)
    if info.get("Error"):
        raise BuildError(f"go mod download {pins.KUBERNETES_MODULE}@{pins.KUBERNETES_VERSION}: {info['Error']}")
    if info.get("Sum") != pins.KUBERNETES_MODULE_SUM:
        raise BuildError(f"{pins.KUBERNETES_MODULE} has hash {info.get('Sum')}, pinned {pins.KUBERNETES_MODULE_SUM}")
    return Path(info["Dir"])


def compiler_identity(runner: Runner) -> str:
    return (
        runner.output(["gcc", "-dumpfullversion"]).strip() + " " + runner.output(["ldd", "--version"]).splitlines()[0]
    )


def build(b: Build) -> Outcome:
    start = time.monotonic()
    runner = b.runner
    runner.need("gcc")
    key = key_of(
        "pause",
        pins.KUBERNETES_VERSION,
        pins.KUBERNETES_MODULE_SUM,
        pins.PAUSE_CFLAGS,
        compiler_identity(runner),
        source_digest("oci.py", "recipes/pause.py"),
    )

    def make(tar: tarfile.TarFile) -> None:
        source = kubernetes_module_dir(runner, b.work) / pins.PAUSE_SOURCE
        binary = b.work / "pause"
        runner.run(["gcc", *pins.PAUSE_CFLAGS, "-o", str(binary), str(source)])
        add_entries(tar, [Entry("pause", binary.read_bytes(), mode=0o755)], pins.EPOCH)

    layer = b.layer(key, make, "pause")
    config = ImageConfig(entrypoint=["/pause"], user=USER)
    return finish(
        b, pins.PAUSE_REF, config, [layer], [f"pause.c of {pins.KUBERNETES_MODULE} {pins.KUBERNETES_VERSION}"], start
    )
