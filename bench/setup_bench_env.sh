#!/usr/bin/env bash
# Creates .venv-bench holding exactly bench/requirements.txt (requirements/airflow.txt + dag-factory),
# byte-compiled, for bench/factory_parse_bench.py. Idempotent, like scripts/setup_airflow_env.sh.
#   bash bench/setup_bench_env.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$REPO_ROOT"

VENV="$REPO_ROOT/.venv-bench"
export UV_COMPILE_BYTECODE=1
ensure_venv "$VENV" bench/requirements.txt

sentinel="$("$VENV/bin/python" -c 'import importlib.util as u; print(u.cache_from_source(u.find_spec("dagfactory").origin))')"
if [ ! -f "$sentinel" ]; then
  log "byte-compiling $(basename "$VENV")"
  "$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null
fi
