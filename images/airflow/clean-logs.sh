#!/bin/bash
# The chart's log groomer sidecar runs this: every AIRFLOW__LOG_CLEANUP_FREQUENCY_MINUTES (default 15),
# delete task logs older than AIRFLOW__LOG_RETENTION_DAYS (default 15) under $AIRFLOW_HOME/logs, and the
# folders that leaves empty.
set -euo pipefail
logs="${AIRFLOW_HOME:-/opt/airflow}/logs"
days="${AIRFLOW__LOG_RETENTION_DAYS:-15}"
minutes="${AIRFLOW__LOG_CLEANUP_FREQUENCY_MINUTES:-15}"
while true; do
  if [[ -d "${logs}" ]]; then
    find "${logs}" -type f -name '*.log' -mtime +"${days}" -delete || true
    find "${logs}" -mindepth 1 -type d -empty -delete || true
  fi
  sleep "$((minutes * 60))"
done
