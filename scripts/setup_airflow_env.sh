#!/usr/bin/env bash
# Creates .venv-airflow holding exactly requirements/airflow.txt (Apache Airflow 3, the Kubernetes
# provider, psycopg), byte-compiled, for the Airflow integration tests. Idempotent: a no-op when the
# venv already holds that file's pins (a hash of the file is stamped in the venv). Airflow has its own
# venv because it and Pulumi need different versions of shared libraries.
#   bash scripts/setup_airflow_env.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

VENV="$REPO_ROOT/.venv-airflow"
ensure_compiled_venv "$VENV" airflow requirements/airflow.txt
"$VENV/bin/python" -c \
  'import importlib.metadata as m; print("Airflow environment ready: apache-airflow", m.version("apache-airflow"))'
