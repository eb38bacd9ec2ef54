"""The pinned versions and the names of the images: one place for each."""

from __future__ import annotations

# Every file's mtime in every layer, and each image's creation time: 2025-01-01T00:00:00Z.
EPOCH = 1735689600
CREATED = "2025-01-01T00:00:00Z"

# Local names: no registry serves them, and they never shadow an official image of the same content.
REPOSITORY = "localhost/yellow"

KUBERNETES_MODULE = "k8s.io/kubernetes"
KUBERNETES_VERSION = "v1.34.3"  # the control plane's version
KUBERNETES_MODULE_SUM = "h1:0TfljWbhEF5DBks+WFMSrvKfxBLo4vnZuqORjLMiyT4="  # go.sum's hash of that module
PAUSE_SOURCE = "build/pause/linux/pause.c"
PAUSE_TAG = "3.10.1"  # TAG in the module's build/pause/Makefile
PAUSE_CFLAGS = ("-Os", "-Wall", "-Werror", "-static", "-s", f"-DVERSION=v{PAUSE_TAG}")
PAUSE_REF = f"{REPOSITORY}/pause:{PAUSE_TAG}"  # containerd's sandbox image (pinned_images.sandbox)

BUSYBOX_PACKAGE = "busybox-static"  # Debian's, from the machine's apt
BUSYBOX_REF = f"{REPOSITORY}/busybox:1.35"

DEBIAN_SUITE = "bookworm"  # Python 3.11, the project's version
DEBIAN_MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
HOST_PACKAGES = ("mmdebstrap", BUSYBOX_PACKAGE)  # installed with apt-get when missing

AIRFLOW_VERSION = "3.3.2"  # requirements/airflow.txt's apache-airflow
AIRFLOW_REF = f"{REPOSITORY}/airflow:{AIRFLOW_VERSION}"
AIRFLOW_REQUIREMENTS = "requirements/airflow.txt"
AIRFLOW_UID = 50000
AIRFLOW_USER_HOME = "/home/airflow"
AIRFLOW_HOME = "/opt/airflow"
# libstdc++6: greenlet's and others' extension modules link it.
AIRFLOW_DEBIAN_PACKAGES = ("python3", "dumb-init", "libstdc++6")

SMOKE_JOB_VERSION = "1"
SMOKE_JOB_REF = f"{REPOSITORY}/deployment-smoke-job:{SMOKE_JOB_VERSION}"
SMOKE_JOB_DEBIAN_PACKAGES = ("python3", "python-is-python3", "python3-psycopg")

IMAGE_NAMES = ("pause", "busybox", "airflow", "smoke-job")
REFS = {"pause": PAUSE_REF, "busybox": BUSYBOX_REF, "airflow": AIRFLOW_REF, "smoke-job": SMOKE_JOB_REF}
