#!/usr/bin/env bash
# Builds the Pulumi toolchain this project needs (CLI, Python language host, provider plugins) and a local
# Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager: no kubelet) from Go modules
# fetched through the Go module proxy, into a cache folder outside the repository, and prints the bin dir
# to put on PATH. Nothing else is downloaded: no get.pulumi.com, no GitHub releases.
#
# Usage:
#   toolchain/pulumi_toolchain.sh              build what is missing; last stdout line is PULUMI_BIN=<dir>
#   toolchain/pulumi_toolchain.sh --print-bin  same, but stdout is only <dir>:  PATH="$(toolchain/pulumi_toolchain.sh --print-bin):$PATH"
#   toolchain/pulumi_toolchain.sh --print-env  same, but stdout is shell exports:  eval "$(toolchain/pulumi_toolchain.sh --print-env)"
#   toolchain/pulumi_toolchain.sh --status     show what is built (no build, no network)
#   toolchain/pulumi_toolchain.sh --check-vendor
#                                            check the source archives' sha256 (no build, no network)
#   Extra flags: --retry (rebuild pieces that failed or were built from a fallback version: the proxy's
#                set of served versions changes over time), --rebuild (rebuild every piece),
#                --build (build even when an official pulumi of the pinned version is on PATH)
#
# Progress goes to stderr; per-piece build logs are kept in $PULUMI_TOOLCHAIN_HOME/logs.
# A second run with everything built only checks stamp files: it takes well under a second and does no
# network. Failed pieces (e.g. a module version the proxy does not serve) and fallbacks are remembered and
# reported in one warning line until --retry is given or the pinned versions change.
#
# Environment:
#   PULUMI_TOOLCHAIN_HOME   cache dir (default: $HOME/.cache/yellow-pulumi-toolchain); bin/ is inside it
#   PULUMI_TOOLCHAIN_JOBS   go build -p value (default: 2)
#   PULUMI_CLI_FALLBACK_VERSIONS
#                           pkg/v3 versions tried when v$PULUMI_VERSION is not served (default below)
#   PULUMI_TOOLCHAIN_VENDOR_DIR
#                           folder of the upstream source archives the Go module proxy does not serve (the
#                           official Python language host, pulumi-postgresql and its Terraform provider);
#                           default: ../shared/vendor beside the repository, when it exists. Each archive's
#                           sha256 is checked against the pins below before it is unpacked.
#   GOPROXY, GOSUMDB, GOMODCACHE, GOCACHE are used as set (module and build caches are shared across runs).
#
# Variables exported by --print-env:
#   PATH (bin dir first), PULUMI_SKIP_UPDATE_CHECK=true, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true,
#   PULUMI_BACKEND_URL (kept if set; default file://$PULUMI_TOOLCHAIN_HOME/state, a local file backend),
#   PULUMI_CONFIG_PASSPHRASE (kept if set; default empty passphrase for the passphrase secrets provider).
# The plugins are found on PATH (pulumi-resource-<name> next to the CLI), so nothing is downloaded at run time;
# use `pulumi install --no-plugins` (a plain `pulumi install` still tries to download the plugins).
#
# Needs (only when something must be built): go (>= the go directive of the pulumi modules, 1.26.6 for
# v3.274.1), python3, coreutils, tar, git (applies the postgresql provider's patch); flock if present.
# A cold build takes ~20 min on 2 cores, ~4 GB RAM (linker), ~4.5 GB of module cache and ~10 GB of Go build
# cache; the cache folder itself holds ~600 MB.
#
# Where the pieces come from (run --status to see what is built):
#   - CLI: pkg/v3@v3.272.0 is not served: the CLI falls back to v3.274.1 (works with the 3.272.0 Python SDK).
#   - Python language host: the official pulumi-language-python v3.259.0, built from its source archive in
#     the vendor folder against pkg/v3 and sdk/v3 v3.259.0 from the proxy; its exec shim and the dynamic
#     provider's script come from sdk/v3 v3.272.0, matching the Python SDK.
#   - pulumi-kubernetes provider/v4 is only served at the v4.25.0 commit, so the Python SDK is pinned to it.
#   - pulumi-postgresql 3.16.2, built from its source archive and the Terraform provider commit it pins as
#     `upstream` (both in the vendor folder); every other module comes from the proxy.
#   - kube-apiserver and kube-controller-manager from k8s.io/kubernetes, through a wrapper module that
#     replaces its staging modules (local folders in its go.mod) with the served k8s.io/* modules; etcd from
#     go.etcd.io/etcd/server/v3 the same way. devtools/control_plane.py runs them.
set -euo pipefail

# ---- pinned versions ------------------------------------------------------------------------------------
# Must match the Python packages: pulumi==3.272.0, pulumi-kubernetes==4.25.0, pulumi-postgresql==3.16.2.
# (pulumi-kubernetes is pinned to 4.25.0 because that is the provider commit the proxy serves.)
PULUMI_VERSION="3.272.0"
KUBERNETES_VERSION="4.25.0"
POSTGRESQL_VERSION="3.16.2"
LANGHOST_VERSION="3.259.0"
KUBE_VERSION="1.34.3" # k8s.io/kubernetes; its staging modules are served as v0.34.3
ETCD_VERSION="3.6.4"  # go.etcd.io/etcd/server/v3, the version Kubernetes 1.34 pins

# Source archives in the vendor folder, with the sha256 each must have.
LANGHOST_ARCHIVE="pulumi-language-python-$LANGHOST_VERSION.tar.gz"
LANGHOST_SHA256="c103003b9b8deeaf60603fcd3a158af3ba121b72470a0afda1961c5d9335eb3b"
POSTGRESQL_ARCHIVE="pulumi-postgresql-$POSTGRESQL_VERSION.tar.gz"
POSTGRESQL_SHA256="b7fbce232b0c2ce2a9db706e3115ed1e41cf39b026eb51598e4eac79326d6964"
PG_UPSTREAM_ARCHIVE="terraform-provider-postgresql-450ce85.tar.gz"
PG_UPSTREAM_SHA256="be0c613de9d5c83bfba32086714fdf182449dfb5dc7885b1b7ac5da4db6ae83d"

# Fallbacks for versions the Go module proxy does not serve. Format: <module version>=<plugin version>.
# The CLI is backwards compatible with older language SDKs, so the nearest newer served CLI is used.
PULUMI_CLI_FALLBACK_VERSIONS="${PULUMI_CLI_FALLBACK_VERSIONS:-v3.274.1 v3.274.0 v3.270.0}"
# pulumi-kubernetes has no provider/v4.* tags, so provider/v4 is only reachable by pseudo-version
# (`go mod download github.com/pulumi/pulumi-kubernetes/provider/v4@<commit>` prints it). The only one the
# proxy serves is the commit tagged v4.25.0.
KUBERNETES_FALLBACKS="v4.0.0-20260115033456-f47bc2d6f199=4.25.0"
# provider/v4 replaces its sdk/v4 with a local path; this served sdk/v4 version is used when neither the
# provider's own version nor the version in its go.mod is served.
KUBERNETES_SDK_FALLBACK="v4.22.2"

RECIPE=1 # bump to invalidate every stamp when the build recipe changes

PULUMI_PKG="github.com/pulumi/pulumi/pkg/v3"
PULUMI_SDK="github.com/pulumi/pulumi/sdk/v3"
K8S_MODULE="github.com/pulumi/pulumi-kubernetes/provider/v4"
PG_MODULE="github.com/pulumi/pulumi-postgresql/provider/v3"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_VENDOR_DIR="$SCRIPT_DIR/../../shared/vendor"
[ -d "$DEFAULT_VENDOR_DIR" ] && DEFAULT_VENDOR_DIR="$(cd "$DEFAULT_VENDOR_DIR" && pwd)"
VENDOR_DIR="${PULUMI_TOOLCHAIN_VENDOR_DIR:-$DEFAULT_VENDOR_DIR}"
TC_HOME="${PULUMI_TOOLCHAIN_HOME:-$HOME/.cache/yellow-pulumi-toolchain}"
BIN="$TC_HOME/bin"
WORK="$TC_HOME/work"
STAMPS="$TC_HOME/stamps"
LOGS="$TC_HOME/logs"
JOBS="${PULUMI_TOOLCHAIN_JOBS:-2}"

MODE=default RETRY=0 REBUILD=0 FORCE_BUILD=0
for arg in "$@"; do
  case "$arg" in
    --print-bin) MODE=print-bin ;;
    --print-env) MODE=print-env ;;
    --status) MODE=status ;;
    --check-vendor) MODE=check-vendor ;;
    --retry) RETRY=1 ;;
    --rebuild) REBUILD=1 ;;
    --build) FORCE_BUILD=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[pulumi-toolchain %(%T)T] %s\n' -1 "$*" >&2; }
warn() { printf '[pulumi-toolchain] WARNING: %s\n' "$*" >&2; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# ---- output ---------------------------------------------------------------------------------------------
emit() { # emit <bin dir>
  local bin="$1"
  case "$MODE" in
    print-bin) printf '%s\n' "$bin" ;;
    print-env)
      mkdir -p "$TC_HOME/state"
      cat <<EOF
export PATH="$bin:\$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_BACKEND_URL="\${PULUMI_BACKEND_URL:-file://$TC_HOME/state}"
export PULUMI_CONFIG_PASSPHRASE="\${PULUMI_CONFIG_PASSPHRASE-}"
EOF
      ;;
    *) printf 'PULUMI_BIN=%s\n' "$bin" ;;
  esac
}

# ---- stamps ---------------------------------------------------------------------------------------------
# A stamp holds key=, status=ok|failed, version=, seconds=, message= lines.
stamp_get() { # stamp_get <piece> <field>
  [ -f "$STAMPS/$1" ] || return 0
  sed -n "s/^$2=//p" "$STAMPS/$1" | head -n 1
}
stamp_put() { # stamp_put <piece> <key> <status> <version> <seconds> <message>
  mkdir -p "$STAMPS"
  printf 'key=%s\nstatus=%s\nversion=%s\nseconds=%s\nmessage=%s\n' "$2" "$3" "$4" "$5" "${6//$'\n'/ }" \
    >"$STAMPS/$1.tmp"
  mv "$STAMPS/$1.tmp" "$STAMPS/$1"
}

# ---- official CLI already installed? --------------------------------------------------------------------
official_pulumi_dir() {
  local p real home_real v
  p="$(command -v pulumi 2>/dev/null)" || return 1
  real="$(readlink -f "$p")"
  home_real="$(readlink -f "$TC_HOME" 2>/dev/null || printf '%s' "$TC_HOME")"
  case "$real" in "$home_real"/*) return 1 ;; esac
  v="$(PULUMI_SKIP_UPDATE_CHECK=true timeout 30 "$p" version 2>/dev/null)" || return 1
  [ "$v" = "v$PULUMI_VERSION" ] || return 1
  dirname "$p"
}

# check_vendored <archive> <sha256>: the archive is in the vendor folder with that sha256, or PIECE_MSG says why not.
check_vendored() {
  local archive="$VENDOR_DIR/$1" got
  if [ ! -f "$archive" ]; then
    PIECE_MSG="source archive $1 not found in ${VENDOR_DIR:-(no vendor folder)} (set PULUMI_TOOLCHAIN_VENDOR_DIR to the folder that holds it)"
    return 1
  fi
  got="$(sha256sum "$archive" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    PIECE_MSG="sha256 mismatch for $archive: expected $2, got $got; refusing to build from it"
    return 1
  fi
}

if [ "$MODE" = check-vendor ]; then
  bad=0
  for pin in "$LANGHOST_ARCHIVE=$LANGHOST_SHA256" "$POSTGRESQL_ARCHIVE=$POSTGRESQL_SHA256" \
    "$PG_UPSTREAM_ARCHIVE=$PG_UPSTREAM_SHA256"; do
    if check_vendored "${pin%%=*}" "${pin#*=}"; then
      printf 'ok      %s\n' "$VENDOR_DIR/${pin%%=*}"
    else
      printf 'FAILED  %s\n' "$PIECE_MSG"
      bad=1
    fi
  done
  exit "$bad"
fi

if [ "$MODE" = status ]; then
  for piece in cli python kubernetes postgresql control-plane etcd; do
    printf '%-14s %-7s %6ss  %s\n' "$piece" "$(stamp_get "$piece" status)" "$(stamp_get "$piece" seconds)" \
      "$(stamp_get "$piece" version)"
    m="$(stamp_get "$piece" message)"
    [ -z "$m" ] || printf '%25s%s\n' '' "$m"
  done
  printf 'bin: %s\n' "$BIN"
  exit 0
fi

if [ "$FORCE_BUILD" = 0 ] && dir="$(official_pulumi_dir)"; then
  log "using the pulumi v$PULUMI_VERSION already on PATH ($dir); nothing to build"
  emit "$dir"
  exit 0
fi

mkdir -p "$BIN" "$WORK" "$STAMPS" "$LOGS"
exec 9>"$TC_HOME/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9 || true
fi

# ---- Go helpers -----------------------------------------------------------------------------------------
export CGO_ENABLED=0 GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
GO_TMP="$WORK/.probe"
mkdir -p "$GO_TMP"

MOD_DIR="" MOD_ERR=""
# mod_download <module> <version>: downloads into the module cache; sets MOD_DIR, or MOD_ERR and fails.
mod_download() {
  local out
  MOD_DIR="" MOD_ERR=""
  out="$(cd "$GO_TMP" && GOFLAGS=-buildvcs=false go mod download -json "$1@$2" 2>"$GO_TMP/stderr")" || true
  [ -n "$out" ] || out="$(cat "$GO_TMP/stderr")"
  MOD_DIR="$(printf '%s' "$out" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
if not d.get("Error"):
    print(d.get("Dir", ""))
')"
  if [ -z "$MOD_DIR" ]; then
    MOD_ERR="$(printf '%s' "$out" | python3 -c '
import json, re, sys
raw = sys.stdin.read()
try:
    err = json.loads(raw).get("Error", "")
except Exception:
    err = raw
m = re.search(r"(\d{3} [A-Za-z ]+?)\s+server response: (.*)", err, re.S)
print(("not served by the Go module proxy (%s: %s)" % (m.group(1), m.group(2).strip())) if m
      else " ".join(err.split())[:400])
')"
    return 1
  fi
}

# gomod_field <go.mod> <python expr over d>: reads a go.mod with `go mod edit -json`.
gomod_query() {
  (cd "$GO_TMP" && go mod edit -json "$1") | python3 -c "import json, sys; d = json.load(sys.stdin); $2"
}
# Non-local replace directives of a go.mod, as go mod edit -replace arguments.
nonlocal_replaces() {
  gomod_query "$1" '
for r in d.get("Replace") or []:
    o, n = r["Old"], r["New"]
    if n.get("Version"):
        old = o["Path"] + ("@" + o["Version"] if o.get("Version") else "")
        print(old + "=" + n["Path"] + "@" + n["Version"])'
}
# Local (path) replace directives, as "<old path> <dir>" lines.
local_replaces() {
  gomod_query "$1" '
for r in d.get("Replace") or []:
    if not r["New"].get("Version"):
        print(r["Old"]["Path"], r["New"]["Path"])'
}
required_version() { # required_version <go.mod> <module>
  gomod_query "$1" "
for r in d.get('Require') or []:
    if r['Path'] == '$2':
        print(r['Version'])"
}

# new_wrapper <dir> <module> <version> <go.mod to copy replaces from>
# Note: build_* functions run as `if` conditions, where `set -e` does not apply: every step is checked.
new_wrapper() {
  local dir="$1" rep reps
  reps="$(nonlocal_replaces "$4")" || return 1
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  (cd "$dir" && go mod init pulumi-toolchain.invalid/wrapper >/dev/null 2>&1 &&
    go mod edit -require="$2@$3") || return 1
  while IFS= read -r rep; do
    [ -z "$rep" ] || (cd "$dir" && go mod edit -replace="$rep") || return 1
  done <<<"$reps"
}

install_bin() { # install_bin <built file> <name>: atomic replace of $BIN/<name>
  chmod 0755 "$1" && mv -f "$1" "$BIN/$2"
}

# ---- pieces ---------------------------------------------------------------------------------------------
# Each build_<piece> prints progress to stderr/log, sets PIECE_VERSION on success, PIECE_MSG otherwise.
PIECE_VERSION="" PIECE_MSG=""

build_cli() {
  local v cand tried=""
  for cand in "v$PULUMI_VERSION" $PULUMI_CLI_FALLBACK_VERSIONS; do
    if mod_download "$PULUMI_PKG" "$cand"; then v="$cand"; break; fi
    tried="$tried $PULUMI_PKG@$cand: $MOD_ERR;"
    log "cli: $PULUMI_PKG@$cand: $MOD_ERR"
  done
  if [ -z "${v:-}" ]; then PIECE_MSG="no CLI version could be fetched:${tried%;}"; return 1; fi
  [ "$v" = "v$PULUMI_VERSION" ] || warn "cli: building $v instead of v$PULUMI_VERSION (not served by the proxy)"
  local dir="$WORK/cli"
  new_wrapper "$dir" "$PULUMI_PKG" "$v" "$MOD_DIR/go.mod" || { PIECE_MSG="could not set up $dir"; return 1; }
  log "cli: building $PULUMI_PKG@$v (cmd/pulumi)"
  (cd "$dir" && go build -p "$JOBS" -trimpath \
    -ldflags "-s -w -X $PULUMI_SDK/go/common/version.Version=$v" \
    -o "$dir/pulumi" "$PULUMI_PKG/cmd/pulumi") || { PIECE_MSG="go build of the CLI failed"; return 1; }
  local got
  got="$(PULUMI_SKIP_UPDATE_CHECK=true "$dir/pulumi" version)"
  [ "$got" = "$v" ] || { PIECE_MSG="built CLI reports version '$got', expected $v"; return 1; }
  install_bin "$dir/pulumi" pulumi || return 1
  PIECE_VERSION="$v"
  [ "$v" = "v$PULUMI_VERSION" ] || PIECE_MSG="$PULUMI_PKG@v$PULUMI_VERSION not served by the proxy; built $v"
}

# unpack_vendored <archive> <sha256> <dest dir>: checks the archive's sha256, then unpacks it into <dest dir>.
unpack_vendored() {
  check_vendored "$1" "$2" || return 1
  rm -rf "$3" && mkdir -p "$3" && tar -xzf "$VENDOR_DIR/$1" -C "$3" || { PIECE_MSG="could not unpack $1"; return 1; }
}

build_python() {
  # Scripts shipped in the SDK module matching the Python SDK: the exec shim (next to the language host)
  # and the dynamic provider (pulumi-resource-pulumi-python, found on PATH).
  mod_download "$PULUMI_SDK" "v$PULUMI_VERSION" || { PIECE_MSG="$PULUMI_SDK@v$PULUMI_VERSION: $MOD_ERR"; return 1; }
  local sdk_dir="$MOD_DIR" f
  install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$BIN/" || return 1
  for f in "$sdk_dir"/python/dist/pulumi-*; do
    case "$f" in *.cmd) continue ;; esac
    install -m 0755 "$f" "$BIN/" || return 1
  done

  # The official host: its go.mod replaces pkg/v3 and sdk/v3 with monorepo folders; use the served modules
  # of the same release instead.
  local dir="$WORK/langhost" v="v$LANGHOST_VERSION"
  unpack_vendored "$LANGHOST_ARCHIVE" "$LANGHOST_SHA256" "$dir" || return 1
  local src="$dir/pulumi-language-python-$LANGHOST_VERSION/sdk/python/cmd/pulumi-language-python"
  log "python: building the official language host $v from $LANGHOST_ARCHIVE"
  (cd "$src" && go mod edit -dropreplace="$PULUMI_PKG" -dropreplace="$PULUMI_SDK" \
    -require="$PULUMI_PKG@$v" -require="$PULUMI_SDK@$v" && go mod tidy) ||
    { PIECE_MSG="could not resolve the language host's modules"; return 1; }
  (cd "$src" && go build -p "$JOBS" -trimpath -ldflags "-s -w -X $PULUMI_SDK/go/common/version.Version=$v" \
    -o "$WORK/pulumi-language-python" .) || { PIECE_MSG="go build of the language host failed"; return 1; }
  install_bin "$WORK/pulumi-language-python" pulumi-language-python || return 1
  rm -rf "$dir"
  PIECE_VERSION="$LANGHOST_VERSION (official host) + sdk v$PULUMI_VERSION scripts"
}

# build_provider <name> <module> <version ldflag var> <candidates "modver=pluginver ..."> <substitutions>
# Substitutions for local replace directives: "<old path>|<target module>|<candidate versions ...>;..."
# where a candidate "@required" means the version the provider's go.mod requires for <old path>.
build_provider() {
  local name="$1" module="$2" version_var="$3" cands="$4" substs="$5"
  local cand modv plugv="" tried=""
  for cand in $cands; do
    modv="${cand%%=*}"
    if mod_download "$module" "$modv"; then plugv="${cand#*=}"; break; fi
    tried="$tried $module@$modv: $MOD_ERR;"
    log "$name: $module@$modv: $MOD_ERR"
  done
  if [ -z "$plugv" ]; then PIECE_MSG="${tried# }"; PIECE_MSG="${PIECE_MSG%;}"; return 1; fi
  [ "$cand" = "${cands%% *}" ] || warn "$name: building $plugv ($module@$modv) instead of the pinned version"

  local src="$WORK/$name-src" old target entry s_old s_mod s_vers sv chosen req
  if ! { rm -rf "$src" && cp -r "$MOD_DIR" "$src" && chmod -R u+w "$src"; }; then
    PIECE_MSG="could not copy $MOD_DIR"
    return 1
  fi
  # Local replaces (e.g. "=> ../sdk", "=> ../upstream") point outside the module: use served modules.
  while read -r old target; do
    [ -n "$old" ] || continue
    chosen=""
    IFS=';' read -ra entries <<<"$substs"
    for entry in "${entries[@]}"; do
      IFS='|' read -r s_old s_mod s_vers <<<"$entry"
      [ "$s_old" = "$old" ] || continue
      for sv in $s_vers; do
        if [ "$sv" = "@required" ]; then
          req="$(required_version "$src/go.mod" "$old")"
          [ -n "$req" ] || continue
          sv="$req"
        fi
        if mod_download "$s_mod" "$sv"; then chosen="$s_mod@$sv"; break; fi
        log "$name: $s_mod@$sv (for the local replace of $old): $MOD_ERR"
      done
    done
    if [ -z "$chosen" ]; then
      PIECE_MSG="$module@$modv replaces $old with the local path $target and no served module can stand in for it"
      return 1
    fi
    log "$name: replacing $old => $target with $chosen"
    (cd "$src" && go mod edit -dropreplace="$old" -replace="$old=$chosen") || return 1
  done < <(local_replaces "$src/go.mod")

  # The embedded schema files are generated (not committed): run the provider's own go:generate step.
  log "$name: generating embedded files (go generate ./cmd/pulumi-resource-$name, VERSION=$plugv)"
  (cd "$src" && VERSION="$plugv" go generate "./cmd/pulumi-resource-$name") ||
    { PIECE_MSG="go generate failed"; return 1; }
  log "$name: building $module@$modv (cmd/pulumi-resource-$name, version $plugv)"
  (cd "$src" && go build -p "$JOBS" -trimpath -ldflags "-s -w -X $module/pkg/version.$version_var=$plugv" \
    -o "$WORK/pulumi-resource-$name" "./cmd/pulumi-resource-$name") || { PIECE_MSG="go build failed"; return 1; }
  install_bin "$WORK/pulumi-resource-$name" "pulumi-resource-$name" || return 1
  rm -rf "$src"
  PIECE_VERSION="$plugv ($module@$modv)"
}

build_kubernetes() {
  build_provider kubernetes "$K8S_MODULE" Version \
    "v$KUBERNETES_VERSION=$KUBERNETES_VERSION $KUBERNETES_FALLBACKS" \
    "github.com/pulumi/pulumi-kubernetes/sdk/v4|github.com/pulumi/pulumi-kubernetes/sdk/v4|v$KUBERNETES_VERSION @required $KUBERNETES_SDK_FALLBACK" ||
    return 1
  case "$PIECE_VERSION" in
    "$KUBERNETES_VERSION "*) ;;
    *) PIECE_MSG="$K8S_MODULE@v$KUBERNETES_VERSION not served by the proxy; built ${PIECE_VERSION%% *}" ;;
  esac
}

build_postgresql() {
  # provider/go.mod replaces the Terraform provider with "../upstream", a git submodule that the
  # pulumi-postgresql repository patches: lay out both archives that way and apply its patch.
  local dir="$WORK/postgresql" up="$WORK/postgresql-upstream"
  unpack_vendored "$POSTGRESQL_ARCHIVE" "$POSTGRESQL_SHA256" "$dir" || return 1
  unpack_vendored "$PG_UPSTREAM_ARCHIVE" "$PG_UPSTREAM_SHA256" "$up" || return 1
  local root="$dir/pulumi-postgresql-$POSTGRESQL_VERSION" p
  mv "$up"/terraform-provider-postgresql-* "$root/upstream" && rm -rf "$up" || return 1
  for p in "$root"/patches/*.patch; do
    [ -e "$p" ] || continue
    (cd "$root/upstream" && git apply "$p") || { PIECE_MSG="could not apply ${p##*/}"; return 1; }
  done
  log "postgresql: generating the embedded schema (go generate, VERSION=$POSTGRESQL_VERSION)"
  (cd "$root/provider" && VERSION="$POSTGRESQL_VERSION" go generate ./cmd/pulumi-resource-postgresql) ||
    { PIECE_MSG="go generate failed"; return 1; }
  log "postgresql: building pulumi-resource-postgresql $POSTGRESQL_VERSION from $POSTGRESQL_ARCHIVE"
  (cd "$root/provider" && go build -p "$JOBS" -trimpath \
    -ldflags "-s -w -X $PG_MODULE/pkg/version.Version=$POSTGRESQL_VERSION" \
    -o "$WORK/pulumi-resource-postgresql" ./cmd/pulumi-resource-postgresql) || { PIECE_MSG="go build failed"; return 1; }
  install_bin "$WORK/pulumi-resource-postgresql" pulumi-resource-postgresql || return 1
  rm -rf "$dir"
  PIECE_VERSION="$POSTGRESQL_VERSION"
}

# wrapper_for <dir> <module> <version>: a module in <dir> that requires <module>@<version>, with each
# local-folder replace in that module's go.mod swapped for the served module at the version that the
# caller's `served_version <replaced module> <go.mod>` prints (nothing printed: the replace is dropped).
wrapper_for() {
  local dir="$1" module="$2" version="$3" old target v
  mod_download "$module" "$version" || { PIECE_MSG="$module@$version: $MOD_ERR"; return 1; }
  local gomod="$MOD_DIR/go.mod"
  new_wrapper "$dir" "$module" "$version" "$gomod" || return 1
  while read -r old target; do
    [ -n "$old" ] || continue
    v="$(served_version "$old" "$gomod")"
    [ -n "$v" ] || continue
    (cd "$dir" && go mod edit -replace="$old=$old@$v") || return 1
  done < <(local_replaces "$gomod")
}

build_control_plane() {
  # The staging modules k8s.io/kubernetes replaces with ./staging/src/... are served as v0.<minor>.<patch>;
  # k8s.io/sample-cli-plugin is not, and nothing built here needs it.
  served_version() { case "$1" in k8s.io/sample-cli-plugin) ;; *) printf 'v0.%s\n' "${KUBE_VERSION#*.}" ;; esac; }
  local dir="$WORK/control-plane" minor="${KUBE_VERSION#*.}" vflags="" pkg cmd
  minor="${minor%%.*}"
  wrapper_for "$dir" k8s.io/kubernetes "v$KUBE_VERSION" || return 1
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    vflags="$vflags -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=${KUBE_VERSION%%.*} -X $pkg.gitMinor=$minor"
  done
  for cmd in kube-apiserver kube-controller-manager; do
    log "control-plane: building k8s.io/kubernetes/cmd/$cmd v$KUBE_VERSION"
    (cd "$dir" && go build -p "$JOBS" -trimpath -ldflags "-s -w$vflags" -o "$dir/$cmd" "k8s.io/kubernetes/cmd/$cmd") ||
      { PIECE_MSG="go build of $cmd failed"; return 1; }
    install_bin "$dir/$cmd" "$cmd" || return 1
  done
  PIECE_VERSION="v$KUBE_VERSION"
}

build_etcd() {
  # etcd's server module replaces its sibling modules (api, client, pkg) with ../ folders: use the versions
  # it requires, which the proxy serves.
  served_version() { required_version "$2" "$1"; }
  local dir="$WORK/etcd"
  wrapper_for "$dir" go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" || return 1
  log "etcd: building go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
  (cd "$dir" && go build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3) ||
    { PIECE_MSG="go build of etcd failed"; return 1; }
  install_bin "$dir/etcd" etcd || return 1
  PIECE_VERSION="v$ETCD_VERSION"
}

# run_piece <piece> <key> <outputs...>: build unless the stamp says it is built (or failed, without --retry).
FAILED=() DEVIATIONS=()
run_piece() {
  local piece="$1" key="$2" status outputs o missing=0 start secs
  shift 2
  outputs=("$@")
  status="$(stamp_get "$piece" status)"
  for o in "${outputs[@]}"; do [ -x "$BIN/$o" ] || missing=1; done
  if [ "$REBUILD" = 0 ] && [ "$(stamp_get "$piece" key)" = "$key" ]; then
    if [ "$status" = ok ] && [ "$missing" = 0 ]; then
      if [ -z "$(stamp_get "$piece" message)" ]; then return 0; fi
      if [ "$RETRY" = 0 ]; then DEVIATIONS+=("$piece"); return 0; fi
    fi
    if [ "$status" = failed ] && [ "$RETRY" = 0 ]; then
      FAILED+=("$piece")
      return 0
    fi
  fi
  if ! command -v go >/dev/null 2>&1; then
    warn "$piece needs building but 'go' is not on PATH"
    exit 1
  fi
  log "$piece: building (log: $LOGS/$piece.log)"
  PIECE_VERSION="" PIECE_MSG=""
  start=$SECONDS
  if "build_${piece//-/_}" >"$LOGS/$piece.log" 2>&1; then
    secs=$((SECONDS - start))
    stamp_put "$piece" "$key" ok "$PIECE_VERSION" "$secs" "$PIECE_MSG"
    log "$piece: done in $(fmt_secs "$secs"): $PIECE_VERSION"
    [ -z "$PIECE_MSG" ] || { warn "$piece: $PIECE_MSG"; DEVIATIONS+=("$piece"); }
  else
    secs=$((SECONDS - start))
    stamp_put "$piece" "$key" failed "" "$secs" "${PIECE_MSG:-see $LOGS/$piece.log}"
    warn "$piece: FAILED after $(fmt_secs "$secs"): ${PIECE_MSG:-see log}"
    case "${PIECE_MSG:-failed}" in
      *failed*) tail -n 15 "$LOGS/$piece.log" | sed 's/^/    /' >&2 ;;
    esac
    FAILED+=("$piece")
  fi
}

run_piece cli "r$RECIPE cli v$PULUMI_VERSION $PULUMI_CLI_FALLBACK_VERSIONS" pulumi
run_piece python "r$RECIPE python v$PULUMI_VERSION host $LANGHOST_SHA256" \
  pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python
run_piece kubernetes "r$RECIPE kubernetes v$KUBERNETES_VERSION $KUBERNETES_FALLBACKS $KUBERNETES_SDK_FALLBACK" \
  pulumi-resource-kubernetes
run_piece postgresql "r$RECIPE postgresql v$POSTGRESQL_VERSION $POSTGRESQL_SHA256 $PG_UPSTREAM_SHA256" \
  pulumi-resource-postgresql
run_piece control-plane "r$RECIPE control-plane v$KUBE_VERSION" kube-apiserver kube-controller-manager
run_piece etcd "r$RECIPE etcd v$ETCD_VERSION" etcd

for essential in cli python kubernetes postgresql; do
  if [ "$(stamp_get "$essential" status)" != ok ]; then
    warn "the $essential piece is missing ($(stamp_get "$essential" message)); the toolchain is not usable. Fix that, then run: $0 --retry"
    exit 1
  fi
done
if [ "${#FAILED[@]}" != 0 ] || [ "${#DEVIATIONS[@]}" != 0 ]; then
  warn "toolchain ready${DEVIATIONS:+; differs from the pinned versions: ${DEVIATIONS[*]}}${FAILED:+; not built: ${FAILED[*]}} (details: $0 --status${FAILED:+; retry: --retry})"
fi
emit "$BIN"
