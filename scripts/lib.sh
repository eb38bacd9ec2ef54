# Shared shell helpers; source from scripts in this folder.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.9"
PYTHON_VERSION="3.11"

log() { printf '==> %s\n' "$*" >&2; }

# Puts uv (pinned) on PATH, installing it into a private virtualenv under the user's cache when
# missing (a private venv works where the system Python refuses `pip install --user`, PEP 668).
ensure_uv() {
  if command -v uv >/dev/null 2>&1 && [ "$(uv --version | awk '{print $2}')" = "$UV_VERSION" ]; then
    return
  fi
  local home="${XDG_CACHE_HOME:-$HOME/.cache}/yellow-tools/uv-$UV_VERSION"
  if [ ! -x "$home/bin/uv" ]; then
    log "installing uv $UV_VERSION"
    python3 -m venv "$home"
    "$home/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  PATH="$home/bin:$PATH"
  export PATH
}

# ensure_venv DIR LOCKFILE: a virtualenv at DIR holding exactly LOCKFILE; a no-op when it already does.
ensure_venv() {
  local venv="$1" lock="$2" stamp want
  stamp="$venv/.lock-sha256"
  want="$(sha256sum "$lock" | awk '{print $1}')"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  ensure_uv
  log "installing $(basename "$lock") into $(basename "$venv")"
  [ -x "$venv/bin/python" ] || uv venv --quiet --python "$PYTHON_VERSION" "$venv"
  uv pip sync --quiet --python "$venv/bin/python" "$lock"
  echo "$want" > "$stamp"
}

# ensure_compiled_venv DIR LOCKFILE MODULE: ensure_venv, then byte-compile the venv once (checked by
# MODULE's cached bytecode). Where PYTHONDONTWRITEBYTECODE is set, Python never caches bytecode, and
# every Airflow process would compile Airflow and the Kubernetes client again (seconds per process).
ensure_compiled_venv() {
  local venv="$1" lock="$2" module="$3" sentinel purelib
  UV_COMPILE_BYTECODE=1 ensure_venv "$venv" "$lock"
  sentinel="$("$venv/bin/python" -c "import importlib.util as u; print(u.cache_from_source(u.find_spec('$module').origin))")"
  if [ ! -f "$sentinel" ]; then
    log "byte-compiling $(basename "$venv")"
    purelib="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    "$venv/bin/python" -m compileall -q -j 0 "$purelib" >/dev/null
  fi
}
