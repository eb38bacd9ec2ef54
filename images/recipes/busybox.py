"""A tiny image for node tests: Debian's static busybox with a link per applet, and a shell as its command."""

from __future__ import annotations

import subprocess
import tarfile
import time

from images import pins
from images.build import Build, Outcome, finish, source_digest
from images.cache import key_of
from images.debian import extract_package
from images.oci import Entry, ImageConfig, add_entries

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FILES = [
    Entry("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
    Entry("etc/group", b"root:x:0:\nnogroup:x:65534:\n"),
    Entry("etc/nsswitch.conf", b"hosts: files dns\n"),
    *(Entry.folder(path) for path in ("bin", "etc", "dev", "proc", "sys", "root", "usr", "usr/bin", "var")),
    Entry.folder("tmp", 0o1777),
]


def build(b: Build) -> Outcome:
    start = time.monotonic()
    key = key_of("busybox", pins.DEBIAN_SUITE, pins.BUSYBOX_PACKAGE, source_digest("oci.py", "recipes/busybox.py"))

    def make(tar: tarfile.TarFile) -> None:
        unpacked = b.work / "deb"
        version = extract_package(b.runner, pins.BUSYBOX_PACKAGE, b.work, unpacked)
        b.note(f"Debian {pins.BUSYBOX_PACKAGE} {version}")
        binary = (unpacked / "bin" / "busybox").read_bytes()
        applets = subprocess.run(
            [str(unpacked / "bin" / "busybox"), "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        links = [Entry.symlink(f"bin/{applet}", "busybox") for applet in applets if applet != "busybox"]
        add_entries(tar, [*FILES, Entry("bin/busybox", binary, mode=0o755), *links], pins.EPOCH)

    layer = b.layer(key, make, "busybox")
    config = ImageConfig(cmd=["sh"], env=[PATH])
    return finish(b, pins.BUSYBOX_REF, config, [layer], [f"Debian {pins.DEBIAN_SUITE} {pins.BUSYBOX_PACKAGE}"], start)
