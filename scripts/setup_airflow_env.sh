#!/usr/bin/env bash
# Creates .venv-airflow holding exactly requirements/airflow.txt (Apache Airflow 3, the Kubernetes
# provider, psycopg), for the Airflow integration tests. Idempotent: a no-op when the venv already
# holds that file's pins (a hash of the file is stamped in the venv). Airflow has its own venv
# because it and Pulumi need different versions of shared libraries.
#   bash scripts/setup_airflow_env.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

VENV="$REPO_ROOT/.venv-airflow"

# Byte-compiled at install: where PYTHONDONTWRITEBYTECODE is set, Python never caches bytecode, and
# every Airflow process would compile Airflow and the Kubernetes client again (seconds per process).
export UV_COMPILE_BYTECODE=1
ensure_venv "$VENV" requirements/airflow.txt

sentinel="$("$VENV/bin/python" -c 'import importlib.util as u; print(u.cache_from_source(u.find_spec("airflow").origin))')"
if [ ! -f "$sentinel" ]; then
  log "byte-compiling $(basename "$VENV")"
  "$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null
fi
"$VENV/bin/python" -c \
  'import importlib.metadata as m; print("Airflow environment ready: apache-airflow", m.version("apache-airflow"))'
