#!/usr/bin/env bash
# The test command: installs what the tests need (idempotently), then runs every test layer.
#   bash scripts/test.sh [pytest args]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

# Byte-compiled: each Pulumi run starts Python processes (the program, the dynamic providers) that would
# otherwise compile what they import every time where bytecode is not written (PYTHONDONTWRITEBYTECODE).
ensure_compiled_venv "$REPO_ROOT/.venv" pulumi_kubernetes requirements/test.lock
ensure_project_installed "$REPO_ROOT/.venv"

log "lint, format and type checks (ruff, mypy; configured in pyproject.toml)"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy

bash scripts/setup_airflow_env.sh
# The Pulumi CLI, its plugins and the local control plane are built by the first test that needs them
# (the `toolchain_bin` fixture in tests/conftest.py): about 19 minutes on a cold 2-core machine, well under
# a second once built. So `bash scripts/test.sh tests/unit` never builds them.

log "running pytest"
# pytest's exit code is the script's: 5 (no test collected) fails like any other non-zero code.
exec "$REPO_ROOT/.venv/bin/python" -m pytest "$@"
