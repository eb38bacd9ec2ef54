#!/usr/bin/env bash
# Creates .venv-bench holding exactly requirements/airflow.txt and bench/requirements.txt (dag-factory),
# byte-compiled, for bench/factory_parse_bench.py. Idempotent, like scripts/setup_airflow_env.sh.
#   bash bench/setup_bench_env.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$REPO_ROOT"

ensure_compiled_venv "$REPO_ROOT/.venv-bench" dagfactory requirements/airflow.txt bench/requirements.txt
