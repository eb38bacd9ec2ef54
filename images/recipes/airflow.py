"""The Airflow image, in place of the chart's apache/airflow:3.3.2: Debian bookworm and its Python 3.11,
exactly requirements/airflow.txt in a virtualenv at /home/airflow/.local (where the official image has it),
the `airflow` user (uid 50000, gid 0), AIRFLOW_HOME /opt/airflow, dumb-init as PID 1 and an entrypoint that
behaves as the official one.

Three layers, each cached by its own inputs: Debian (packages, user, folders), the Python packages
(requirements file, uv, the Debian layer), the entrypoint scripts.
"""

from __future__ import annotations

import inspect
import os
import tarfile
import time
from pathlib import Path

from images import pins
from images.build import IMAGES_DIR, Build, Outcome, finish, source_digest
from images.cache import key_of
from images.debian import base_layer
from images.host import REPO_ROOT, chroot_script, unpack_layers, uv_binary
from images.oci import Entry, ImageConfig, Layer, add_tree
from toolchain.vendor import sha256_of as file_digest

HOME = pins.AIRFLOW_USER_HOME
VENV = f"{HOME}/.local"
SITE_PACKAGES = f"{VENV}/lib/python3.11/site-packages"
ENV = [
    f"PATH=/root/bin:{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    f"VIRTUAL_ENV={VENV}",
    "LANG=C.UTF-8",
    "LC_ALL=C.UTF-8",
    "LANGUAGE=C.UTF-8",
    f"AIRFLOW_UID={pins.AIRFLOW_UID}",
    f"AIRFLOW_USER_HOME_DIR={HOME}",
    f"AIRFLOW_HOME={pins.AIRFLOW_HOME}",
    f"AIRFLOW_VERSION={pins.AIRFLOW_VERSION}",
    "AIRFLOW_PYTHON_VERSION=3.11",
    "AIRFLOW_IMAGE_TYPE=prod",
    "AIRFLOW_INSTALLATION_METHOD=apache-airflow",
    "AIRFLOW__CORE__LOAD_EXAMPLES=false",
    "DUMB_INIT_SETSID=1",
    "GUNICORN_CMD_ARGS=--worker-tmp-dir /dev/shm",
]
CONFIG = ImageConfig(
    entrypoint=["/usr/bin/dumb-init", "--", "/entrypoint"],
    env=ENV,
    user=str(pins.AIRFLOW_UID),
    working_dir=pins.AIRFLOW_HOME,
    exposed_ports=["8080/tcp"],
    labels={
        "org.opencontainers.image.title": "Airflow",
        "org.opencontainers.image.version": pins.AIRFLOW_VERSION,
        "org.opencontainers.image.description": "Apache Airflow on Debian bookworm, made from Debian packages and "
        "requirements/airflow.txt, in place of apache/airflow where no registry is reachable",
    },
)
NETWORK_ENV = tuple(
    name for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY") for name in (base, base.lower())
) + ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_NATIVE_TLS")
SCRIPTS = {"entrypoint": "airflow/entrypoint.sh", "clean-logs": "airflow/clean-logs.sh"}


def customize_debian(root: Path) -> None:
    """The airflow user (uid 50000, primary group root) and the folders it owns, as the official image has
    them; /etc/passwd group-writable, so the entrypoint can add a line for an arbitrary uid."""
    with (root / "etc" / "passwd").open("a") as passwd:
        passwd.write(f"airflow:x:{pins.AIRFLOW_UID}:0:airflow:{HOME}:/bin/bash\n")
    os.chmod(root / "etc" / "passwd", 0o664)
    for folder in (HOME, pins.AIRFLOW_HOME, f"{pins.AIRFLOW_HOME}/dags", f"{pins.AIRFLOW_HOME}/logs"):
        path = root / folder.lstrip("/")
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, pins.AIRFLOW_UID, 0)
        os.chmod(path, 0o775)


def install_python_packages(b: Build, root: Path, uv: Path, requirements: Path) -> None:
    """uv, in the image's root file system, makes the virtualenv with Debian's python3.11 and installs exactly
    the requirements (hash-checked) from uv's cache of this machine; then everything is byte-compiled."""
    uv_cache = Path(b.runner.output([str(uv), "cache", "dir"]).strip())
    uv_cache.mkdir(parents=True, exist_ok=True)
    binds = {"/usr/local/bin/uv": uv, "/var/cache/uv": uv_cache, "/tmp/requirements.txt": requirements}
    env = ["env", "HOME=/root", "UV_CACHE_DIR=/var/cache/uv", "UV_PYTHON_DOWNLOADS=never", "UV_NO_CONFIG=1"]
    for file in ("/etc/resolv.conf", "/etc/hosts"):
        if Path(file).exists():
            binds[file] = Path(file).resolve()
    # The machine's way to PyPI: its index, proxy and CA bundle, as uv outside the image would use them.
    for name in NETWORK_ENV:
        if b.runner.env.get(name):
            env.append(f"{name}={b.runner.env[name]}")
    cert_file = b.runner.env.get("SSL_CERT_FILE")
    if cert_file and Path(cert_file).is_file():
        binds[cert_file] = Path(cert_file).resolve()
        env.append(f"SSL_CERT_FILE={cert_file}")
    for argv in (
        ["uv", "venv", "--quiet", "--python", "/usr/bin/python3.11", VENV],
        ["uv", "pip", "sync", "--quiet", "--python", f"{VENV}/bin/python", "--link-mode", "copy",
         "/tmp/requirements.txt"],
        [f"{VENV}/bin/python", "-m", "compileall", "-q", "-j", "2", "--invalidation-mode", "unchecked-hash",
         SITE_PACKAGES],
    ):  # fmt: skip
        b.runner.run(["nice", "-n", "10", *chroot_script(root, [*env, *argv], binds)])
    for dirpath, dirnames, filenames in os.walk(root / VENV.lstrip("/")):
        for name in [*dirnames, *filenames, ""]:
            path = Path(dirpath, name)
            os.chown(path, pins.AIRFLOW_UID, 0, follow_symlinks=False)
            if not path.is_symlink():
                mode = path.stat().st_mode
                os.chmod(path, mode | 0o060 | (0o010 if mode & 0o100 else 0))


def python_layer(b: Build, base: Layer) -> Layer:
    requirements = REPO_ROOT / pins.AIRFLOW_REQUIREMENTS
    uv = uv_binary(b.runner)
    uv_version = b.runner.output([str(uv), "--version"]).strip()
    key = key_of(
        "airflow-python", base.diff_id, file_digest(requirements), uv_version,
        inspect.getsource(install_python_packages), source_digest("oci.py"),
    )  # fmt: skip
    root = b.work / "rootfs"

    def make(tar: tarfile.TarFile) -> None:
        unpack_layers(b.cache.store, [base], root)
        install_python_packages(b, root, uv, requirements)
        add_tree(tar, root, pins.EPOCH, under=[VENV])

    return b.layer(key, make, "Python packages")


def scripts_layer(b: Build) -> Layer:
    entries = [Entry(name, (IMAGES_DIR / path).read_bytes(), mode=0o755) for name, path in SCRIPTS.items()]
    return b.entries_layer(entries, "entrypoint")


def build(b: Build) -> Outcome:
    start = time.monotonic()
    base = base_layer(b, pins.AIRFLOW_DEBIAN_PACKAGES, customize_debian)
    layers = [base, python_layer(b, base), scripts_layer(b)]
    history = [
        f"Debian {pins.DEBIAN_SUITE}: {' '.join(pins.AIRFLOW_DEBIAN_PACKAGES)}, the airflow user",
        f"{pins.AIRFLOW_REQUIREMENTS} into {VENV}",
        "/entrypoint, /clean-logs",
    ]
    return finish(b, pins.AIRFLOW_REF, CONFIG, layers, history, start)
