#!/bin/bash
# The Airflow image's entrypoint (PID 1 is dumb-init), with the behaviour of the official image's:
#   - run under any uid with gid 0 (an entry in /etc/passwd is added for a uid that has none, home
#     /home/airflow); umask 0002, so what it writes stays writable for the group;
#   - wait until `airflow db check` passes (CONNECTION_CHECK_MAX_COUNT tries, default 20, 0 skips it;
#     CONNECTION_CHECK_SLEEP_TIME seconds apart, default 3);
#   - _AIRFLOW_DB_MIGRATE (or the older _AIRFLOW_DB_UPGRADE) runs `airflow db migrate` first;
#     _AIRFLOW_WWW_USER_CREATE creates the UI user from _AIRFLOW_WWW_USER_* (the FAB auth manager's command);
#   - `bash ...` and `python ...` run as given; anything else is an airflow command, with or without a
#     leading `airflow` (`scheduler` and `airflow scheduler` are the same).
# Not here: _PIP_ADDITIONAL_REQUIREMENTS (there is no pip in the image: add packages by building it), and the
# Celery broker wait (no Celery in requirements/airflow.txt).
set -euo pipefail

fail() {
  echo "ERROR: $*" >&2
  exit 1
}

if [[ "$(id -g)" != "0" ]]; then
  if [[ "$(id -u)" == "${AIRFLOW_UID:-50000}" ]]; then
    echo "WARNING: run the image with gid 0 (it runs with gid $(id -g)); other uids need it" >&2
  else
    fail "run the image with gid 0, whatever the uid (uid $(id -u), gid $(id -g))"
  fi
fi
umask 0002

if ! whoami >/dev/null 2>&1; then
  if [[ -w /etc/passwd ]]; then
    echo "${USER_NAME:-default}:x:$(id -u):0:${USER_NAME:-default} user:${AIRFLOW_USER_HOME_DIR}:/sbin/nologin" >>/etc/passwd
  fi
  export HOME="${AIRFLOW_USER_HOME_DIR}"
fi

if [[ -n "${_PIP_ADDITIONAL_REQUIREMENTS:-}" ]]; then
  fail "_PIP_ADDITIONAL_REQUIREMENTS is not supported by this image: build the image with the packages instead"
fi

max_tries="${CONNECTION_CHECK_MAX_COUNT:-20}"
sleep_time="${CONNECTION_CHECK_SLEEP_TIME:-3}"
if ((max_tries > 0)); then
  for ((try = 1; ; try++)); do
    if result="$(airflow db check 2>&1)"; then
      break
    fi
    if ((try >= max_tries)); then
      fail "the metadata database did not answer after ${max_tries} tries; last \`airflow db check\`: ${result}"
    fi
    sleep "${sleep_time}"
  done
fi

if [[ -n "${_AIRFLOW_DB_MIGRATE:-}" || -n "${_AIRFLOW_DB_UPGRADE:-}" ]]; then
  airflow db migrate
fi

if [[ -n "${_AIRFLOW_WWW_USER_CREATE:-}" ]]; then
  password="${_AIRFLOW_WWW_USER_PASSWORD:-}"
  if [[ -n "${_AIRFLOW_WWW_USER_PASSWORD_CMD:-}" ]]; then
    password="$(eval "${_AIRFLOW_WWW_USER_PASSWORD_CMD}")"
  fi
  unset _AIRFLOW_WWW_USER_PASSWORD _AIRFLOW_WWW_USER_PASSWORD_CMD
  [[ -n "${password}" ]] || fail "_AIRFLOW_WWW_USER_CREATE is set but _AIRFLOW_WWW_USER_PASSWORD(_CMD) is not"
  airflow users create --username "${_AIRFLOW_WWW_USER_USERNAME:-admin}" \
    --firstname "${_AIRFLOW_WWW_USER_FIRSTNAME:-Airflow}" --lastname "${_AIRFLOW_WWW_USER_LASTNAME:-Admin}" \
    --email "${_AIRFLOW_WWW_USER_EMAIL:-airflowadmin@example.com}" --role "${_AIRFLOW_WWW_USER_ROLE:-Admin}" \
    --password "${password}" || true
fi

case "${1:-}" in
  bash) shift; exec /bin/bash "$@" ;;
  python) shift; exec python "$@" ;;
  airflow) shift ;;
esac
exec airflow "$@"
