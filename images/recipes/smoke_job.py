"""The deployment smoke job's image (not DataSurface): Debian bookworm's python3 and python3-psycopg, and
images/deployment_smoke_job.py, which answers to the command the factory gives an ingestion pod,
`python -m datasurface.platforms.yellow.jobs ...`."""

from __future__ import annotations

import time
from pathlib import Path

from factory.config import JOB_MODULE
from images import pins
from images.build import IMAGES_DIR, Build, Outcome, finish
from images.debian import base_layer
from images.oci import Entry, ImageConfig

CODE_DIR = "opt/deployment-smoke-job"
SHIM = b'''"""The command the factory gives an ingestion pod, answered by the deployment smoke job (not DataSurface)."""

import sys

from deployment_smoke_job import main

sys.exit(main())
'''
CONFIG = ImageConfig(
    cmd=["python", "-m", JOB_MODULE, "--help"],
    env=[
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"PYTHONPATH=/{CODE_DIR}",
        "PYTHONUNBUFFERED=1",
        "LANG=C.UTF-8",
    ],
    user="65534:65534",
    working_dir=f"/{CODE_DIR}",
    labels={
        "org.opencontainers.image.title": "Deployment smoke job",
        "org.opencontainers.image.description": "Checks what an ingestion pod is given (database host, login, its "
        "stream's row) and exits 0, or 1 naming what failed. Not DataSurface: it moves no data.",
    },
)


def no_customization(root: Path) -> None:
    """Debian's packages as they are."""


def code_entries() -> list[Entry]:
    module_path = f"{CODE_DIR}/{JOB_MODULE.replace('.', '/')}.py"
    return [
        Entry(f"{CODE_DIR}/deployment_smoke_job.py", (IMAGES_DIR / "deployment_smoke_job.py").read_bytes()),
        Entry(module_path, SHIM),
        *(Entry.folder(folder) for folder in _parents(module_path)),
    ]


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def build(b: Build) -> Outcome:
    start = time.monotonic()
    layers = [base_layer(b, pins.SMOKE_JOB_DEBIAN_PACKAGES, no_customization), b.entries_layer(code_entries(), "code")]
    history = [
        f"Debian {pins.DEBIAN_SUITE}: {' '.join(pins.SMOKE_JOB_DEBIAN_PACKAGES)}",
        f"/{CODE_DIR}: the deployment smoke job, as {JOB_MODULE}",
    ]
    return finish(b, pins.SMOKE_JOB_REF, CONFIG, layers, history, start)
