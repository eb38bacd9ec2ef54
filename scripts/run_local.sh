#!/usr/bin/env bash
# The main job: a real `pulumi up` of the local stack into a local Kubernetes control plane, then a look
# at what it deployed.
#   bash scripts/run_local.sh            deploy (or update) the local stack
#   bash scripts/run_local.sh airflow    start Airflow 3 beside the deployed stack (UI on 127.0.0.1:58080, or
#                                        LOCAL_AIRFLOW_PORT); a no-op when it already runs as deployed
#   bash scripts/run_local.sh destroy    destroy the stack (the servers and Airflow keep running)
#   bash scripts/run_local.sh stop       stop Airflow, the control plane and the embedded PostgreSQL
# Installs what is missing (the Python and Airflow environments, the Pulumi toolchain and the Kubernetes
# binaries), starts the control plane (.local/kube, with the Airflow chart's Deployments in the stack's
# namespace) and the embedded PostgreSQL (127.0.0.1:55432), and keeps Pulumi's state in .local/pulumi-state.
# With renderManifestsTo set on the stack, the manifests are written to that folder and no control
# plane is started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ACTION="${1:-up}"
case "$ACTION" in
  up | airflow | destroy | stop) ;;
  *) echo "usage: bash scripts/run_local.sh [up|airflow|destroy|stop]" >&2; exit 2 ;;
esac

# Byte-compiled: each Pulumi run starts Python processes (the program, the dynamic providers) that would
# otherwise compile what they import every time where bytecode is not written (PYTHONDONTWRITEBYTECODE).
ensure_compiled_venv "$REPO_ROOT/.venv" pulumi_kubernetes requirements/test.lock
ensure_project_installed "$REPO_ROOT/.venv"
if [ "$ACTION" = "up" ] || [ "$ACTION" = "airflow" ]; then
  # Airflow, to show the DAGs the deployed factory builds and to run them (its own environment; a no-op
  # when present).
  bash scripts/setup_airflow_env.sh >&2
fi
mkdir -p .local/pulumi-state
export PULUMI_BACKEND_URL="file://$REPO_ROOT/.local/pulumi-state"
# The local stack's secrets only protect a throwaway database on 127.0.0.1; its passphrase is committed.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-$(cat config/local.passphrase)}"
# The toolchain on PATH, and its provider plugins in the Pulumi home's plugin cache.
TOOLCHAIN_ENV="$(python3 toolchain/pulumi_toolchain.py --print-env)"
eval "$TOOLCHAIN_ENV"
PULUMI_BIN="$(python3 toolchain/pulumi_toolchain.py --print-bin)"
KUBE_DIR=.local/kube

if [ "$ACTION" = "stop" ]; then
  .venv/bin/python -m devtools.local_airflow stop --dir .local/airflow
  .venv/bin/python -m devtools.control_plane stop --dir "$KUBE_DIR"
  .venv/bin/python -m devtools.embedded_pg stop --data .local/postgres
  exit 0
fi

pulumi stack select --create local --non-interactive
config_get() { pulumi config get "$1" --stack local 2>/dev/null || true; }

ADMIN_PASSWORD="$(config_get adminPassword)"
PGPASSWORD="$ADMIN_PASSWORD" .venv/bin/python -m devtools.embedded_pg start \
  --data .local/postgres --port "$(config_get adminPort)"

RENDER_TO="$(config_get renderManifestsTo)"
NAMESPACE="$(config_get namespace)"
if [ -z "$RENDER_TO" ]; then
  # Only here: the Kubernetes provider refuses a kubeconfig together with renderManifestsTo.
  export KUBECONFIG="$REPO_ROOT/$KUBE_DIR/admin.kubeconfig"
  .venv/bin/python -m devtools.control_plane start --dir "$KUBE_DIR" --bin "$PULUMI_BIN"
  .venv/bin/python -m devtools.airflow_chart --kubeconfig "$KUBECONFIG" --namespace "$NAMESPACE"
fi

if [ "$ACTION" = "destroy" ]; then
  pulumi destroy --stack local --yes --non-interactive
  exit 0
fi

if [ "$ACTION" = "airflow" ]; then
  if [ -n "$RENDER_TO" ]; then
    echo "The local Airflow reads what the API server holds; this stack renders to $RENDER_TO instead." >&2
    echo "Unset it (pulumi config rm renderManifestsTo --stack local), deploy, then run this again." >&2
    exit 1
  fi
  if ! WORKLOADS="$(pulumi stack output patchedWorkloads --stack local --json 2>/dev/null)"; then
    echo "The local stack is not deployed: run bash scripts/run_local.sh first." >&2
    exit 1
  fi
  mapfile -t WORKLOAD_ARGS < <(.venv/bin/python -c \
    'import json, sys; [print(a) for w in json.load(sys.stdin) for a in ("--workload", w)]' <<<"$WORKLOADS")
  PGPASSWORD="$ADMIN_PASSWORD" .venv/bin/python -m devtools.local_airflow start --dir .local/airflow \
    --kubeconfig "$KUBECONFIG" --namespace "$NAMESPACE" "${WORKLOAD_ARGS[@]}" \
    --db-port "$(config_get adminPort)" --port "${LOCAL_AIRFLOW_PORT:-58080}"
  printf 'Stop it, with the control plane and PostgreSQL: bash scripts/run_local.sh stop\n'
  exit 0
fi

pulumi up --stack local --yes --non-interactive

log "what was deployed"
if [ -z "$RENDER_TO" ]; then
  SOURCE=(--kubeconfig "$KUBECONFIG" --namespace "$NAMESPACE")
else
  SOURCE=(--manifests "$RENDER_TO")
fi
MERGE_DB_PASSWORD="$(config_get mergeDbPassword)" AIRFLOW_HOME="$REPO_ROOT/.local/airflow-home" \
  .venv/bin/python -m devtools.show_local "${SOURCE[@]}" \
  --table "$(pulumi stack output dsgTable --stack local)" \
  --login-user "$(config_get mergeDbUser)" \
  --credential "$(config_get credentialName)"
if [ -z "$RENDER_TO" ]; then
  printf '\nThe patched workloads, as the API server holds them:\n'
  pulumi stack output patchedWorkloads --stack local --json |
    .venv/bin/python -c 'import json, sys; print("\n".join(w.lower() for w in json.load(sys.stdin)))' |
    while read -r workload; do
      printf '  kubectl --kubeconfig %s -n %s get %s -o yaml\n' "$KUBE_DIR/admin.kubeconfig" "$NAMESPACE" "$workload"
    done
fi
