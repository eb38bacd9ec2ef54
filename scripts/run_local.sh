#!/usr/bin/env bash
# The main job: a real `pulumi up` of the local stack, then a look at what it deployed.
#   bash scripts/run_local.sh            deploy (or update) the local stack
#   bash scripts/run_local.sh destroy    tear it down (the embedded PostgreSQL keeps running)
# Installs what is missing (the Python environment, the Pulumi toolchain), starts the embedded
# PostgreSQL on 127.0.0.1:55432, and keeps Pulumi's state in .local/pulumi-state.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ensure_venv "$REPO_ROOT/.venv" requirements/test.lock
PULUMI_BIN="$(bash scripts/pulumi_toolchain.sh --print-bin | tail -n 1)"
export PATH="$PULUMI_BIN:$PATH"
mkdir -p .local/pulumi-state
export PULUMI_BACKEND_URL="file://$REPO_ROOT/.local/pulumi-state"
# The local stack's secrets only protect a throwaway database on 127.0.0.1; its passphrase is committed.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-$(cat config/local.passphrase)}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

pulumi stack select --create local --non-interactive
config_get() { pulumi config get "$1" --stack local; }

ADMIN_PASSWORD="$(config_get adminPassword)"
PGPASSWORD="$ADMIN_PASSWORD" .venv/bin/python -m devtools.embedded_pg start \
  --data .local/postgres --port "$(config_get adminPort)"

if [ "${1:-up}" = "destroy" ]; then
  pulumi destroy --stack local --yes --non-interactive
  exit 0
fi

pulumi up --stack local --yes --non-interactive

log "what was deployed"
MERGE_DB_PASSWORD="$(config_get mergeDbPassword)" AIRFLOW_HOME="$REPO_ROOT/.local/airflow-home" \
  .venv/bin/python -m devtools.show_local \
  --manifests "$(config_get renderManifestsTo)" \
  --table "$(config_get platform)_airflow_dsg" \
  --login-user "$(config_get mergeDbUser)" \
  --credential "$(config_get credentialName)"
