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

# ensure_venv DIR LOCKFILE...: a virtualenv at DIR holding exactly the LOCKFILEs' pins; a no-op when it
# already does (the stamp is a hash of the files' contents).
ensure_venv() {
  local venv="$1" stamp want
  shift
  stamp="$venv/.lock-sha256"
  want="$(cat "$@" | sha256sum | awk '{print $1}')"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  ensure_uv
  log "installing $(for lock in "$@"; do basename "$lock"; done | paste -sd+) into $(basename "$venv")"
  [ -x "$venv/bin/python" ] || uv venv --quiet --python "$PYTHON_VERSION" "$venv"
  uv pip sync --quiet --python "$venv/bin/python" "$@"
  echo "$want" > "$stamp"
}

# ensure_compiled_venv DIR MODULE LOCKFILE...: ensure_venv, then byte-compile once (MODULE's cached
# bytecode is the sentinel), so the first import is not paid at first use.
ensure_compiled_venv() {
  local venv="$1" module="$2" sentinel purelib
  shift 2
  UV_COMPILE_BYTECODE=1 ensure_venv "$venv" "$@"
  sentinel="$("$venv/bin/python" -c "import importlib.util as u; print(u.cache_from_source(u.find_spec('$module').origin))")"
  if [ ! -f "$sentinel" ]; then
    log "byte-compiling $(basename "$venv")"
    purelib="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    "$venv/bin/python" -m compileall -q -j 0 "$purelib" >/dev/null
  fi
}

# ensure_project_installed DIR: the project's own packages (components, ...) importable from the virtualenv
# at DIR wherever Python starts, as the policy pack needs them: an editable install without dependencies
# (the lock files bring those). Reinstalled when pyproject.toml, the top-level packages or the venv's lock
# files change (`uv pip sync` removes it); otherwise a no-op.
ensure_project_installed() {
  local venv="$1" stamp want
  stamp="$venv/.project-sha256"
  want="$({ cat "$REPO_ROOT/pyproject.toml" "$venv/.lock-sha256"; printf '%s\n' "$REPO_ROOT"/*/__init__.py; } | sha256sum | awk '{print $1}')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  ensure_uv
  log "installing the project's packages into $(basename "$venv") (editable)"
  uv pip install --quiet --python "$venv/bin/python" --no-deps --no-build-isolation --editable "$REPO_ROOT"
  echo "$want" > "$stamp"
}
