"""Builds the Pulumi toolchain this project needs (CLI, Python language host, provider plugins) and a local
one-node Kubernetes cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
containerd, runc, the CNI plugins, CoreDNS) from Go modules fetched through the Go module proxy, into a
cache folder outside the repository, and prints the bin folder to put on PATH. Nothing else is downloaded:
no get.pulumi.com, no GitHub releases (runc's build installs Debian's libseccomp-dev when it is missing).

Usage (python3 is the system's: this runs before any virtualenv exists):
  python3 toolchain/pulumi_toolchain.py              build what is missing; last stdout line is PULUMI_BIN=<dir>
  python3 toolchain/pulumi_toolchain.py --print-bin  same, but stdout is only <dir>
  python3 toolchain/pulumi_toolchain.py --print-env  same, but stdout is shell exports, for eval "$(...)", and
                                     the provider plugins are installed into $PULUMI_HOME's plugin cache
  python3 toolchain/pulumi_toolchain.py --status     show what is built (no build, no network)
  python3 toolchain/pulumi_toolchain.py --check-vendor
                                     check the source archives' sha256 (no build, no network)
  Extra flags: --retry (rebuild pieces that failed or were built from a fallback version: the proxy's
               set of served versions changes over time), --rebuild (rebuild every piece),
               --build (build even when an official pulumi of the pinned version is on PATH)

Progress goes to stderr; per-piece build logs are kept in $PULUMI_TOOLCHAIN_HOME/logs. A second run with
everything built only reads stamp files: it takes well under a second and does no network. Failed pieces
(e.g. a module version the proxy does not serve) and fallbacks are remembered and reported in one warning
line until --retry is given or the pinned versions change; a piece that failed because a source archive was
missing is built as soon as the archive is there. Concurrent runs wait for each other's build. Builds run
niced.

Environment:
  PULUMI_TOOLCHAIN_HOME   cache folder (default: $HOME/.cache/yellow-pulumi-toolchain); bin/ is inside it
  PULUMI_TOOLCHAIN_JOBS   go build -p value (default: 2)
  PULUMI_CLI_FALLBACK_VERSIONS
                          pkg/v3 versions tried when the pinned one is not served (default in pins.py)
  PULUMI_TOOLCHAIN_VENDOR_DIR
                          folder of the upstream source archives the Go module proxy does not serve (the
                          official Python language host, pulumi-postgresql and its Terraform provider);
                          default: ../shared/vendor beside the repository, when it exists. Each archive's
                          sha256 is checked against its pin before it is unpacked.
  GOPROXY, GOSUMDB, GOMODCACHE, GOCACHE are used as set (module and build caches are shared across runs).

Variables exported by --print-env:
  PATH (bin folder first), PULUMI_SKIP_UPDATE_CHECK=true, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true,
  PULUMI_IGNORE_AMBIENT_PLUGINS=true,
  PULUMI_BACKEND_URL (kept if set; default file://$PULUMI_TOOLCHAIN_HOME/state, a local file backend),
  PULUMI_CONFIG_PASSPHRASE (kept if set; default empty passphrase for the passphrase secrets provider).
The provider plugins are kept in $PULUMI_TOOLCHAIN_HOME/plugins, off PATH, and installed into the plugin
cache of the Pulumi home (`pulumi plugin install resource <name> <version> --file <binary>`), so nothing is
downloaded at run time and no run warns about a plugin from PATH; use `pulumi install --no-plugins` (a
plain `pulumi install` still tries to download the plugins). From Python: toolchain.plugins.pulumi_env.

Needs (only when something must be built): go (>= the go directive of the pulumi modules, 1.26.6 for
v3.274.1), git (applies the postgresql provider's patch) and a C compiler (runc). A cold build of the
Pulumi pieces takes ~18 min on 2 cores and the cluster's ~15 min more, ~4 GB RAM (linker), ~5 GB of module
cache and ~12 GB of Go build cache; the cache folder holds ~900 MB.
toolchain/README.md says where each piece comes from; --status shows what is built.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from toolchain import pins, plugins, stamps, vendor
from toolchain.gomod import BuildError, Go
from toolchain.output import emit, fmt_secs, log_line, summary, warn_line
from toolchain.pieces import BUILDERS, Context

TOOLCHAIN_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    home: Path
    jobs: str
    vendor_dir: Path
    cli_fallbacks: str

    @property
    def bin_dir(self) -> Path:
        return self.home / "bin"

    @property
    def work(self) -> Path:
        return self.home / "work"

    @property
    def stamps(self) -> Path:
        return self.home / "stamps"

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def settings_from(environ: Mapping[str, str], toolchain_dir: Path = TOOLCHAIN_DIR) -> Settings:
    """The settings from the environment; an empty variable counts as unset."""
    default_vendor = toolchain_dir.parent.parent / "shared" / "vendor"
    if default_vendor.is_dir():
        default_vendor = default_vendor.resolve()
    user_home = environ.get("HOME") or str(Path.home())
    home = environ.get("PULUMI_TOOLCHAIN_HOME") or f"{user_home}/.cache/yellow-pulumi-toolchain"
    return Settings(
        home=Path(home),
        jobs=environ.get("PULUMI_TOOLCHAIN_JOBS") or "2",
        vendor_dir=Path(environ.get("PULUMI_TOOLCHAIN_VENDOR_DIR") or default_vendor),
        cli_fallbacks=environ.get("PULUMI_CLI_FALLBACK_VERSIONS") or pins.DEFAULT_CLI_FALLBACKS,
    )


def official_pulumi_dir(home: Path, environ: Mapping[str, str]) -> str | None:
    """The folder of a pulumi on PATH that is not this toolchain's and reports the pinned version."""
    found = shutil.which("pulumi", path=environ.get("PATH"))
    if not found or os.path.realpath(found).startswith(os.path.realpath(home) + os.sep):
        return None
    try:
        completed = subprocess.run(
            [found, "version"],
            env={**environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0 or completed.stdout.strip() != f"v{pins.PULUMI_VERSION}":
        return None
    return os.path.dirname(found)


def log(message: str) -> None:
    print(log_line(message), file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(warn_line(message), file=sys.stderr, flush=True)


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    with lock_file.open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another run to finish with {lock_file.parent}")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def outputs_of(settings: Settings, piece: pins.Piece) -> list[Path]:
    return [settings.home / piece.folder / name for name in piece.outputs]


def size_of(settings: Settings, piece: pins.Piece) -> int | None:
    """The outputs' size in bytes; None when one is missing."""
    paths = outputs_of(settings, piece)
    return sum(p.stat().st_size for p in paths) if all(p.is_file() for p in paths) else None


def link_from_bin(settings: Settings, piece: pins.Piece) -> None:
    """Toolchains before plugins/ kept the provider plugins in bin/: a home built by one gets them hard-linked
    into plugins/ rather than rebuilt. bin/ keeps its copies for checkouts of those versions, which may share
    the home; PULUMI_IGNORE_AMBIENT_PLUGINS (toolchain/plugins.py) keeps Pulumi from taking them."""
    if piece.folder == pins.BIN:
        return
    old = [settings.bin_dir / name for name in piece.outputs]
    new = outputs_of(settings, piece)
    if all(executable(path) for path in old) and not all(executable(path) for path in new):
        new[0].parent.mkdir(parents=True, exist_ok=True)
        for source, dest in zip(old, new, strict=True):
            dest.unlink(missing_ok=True)
            os.link(source, dest)
        log(f"{piece.name}: linked {' '.join(piece.outputs)} from {settings.bin_dir} into {new[0].parent}")


def still_unusable(settings: Settings, stamp: stamps.Stamp) -> bool:
    """Whether an archive the stamp's failed build lacked is still missing or wrong."""
    archives = {archive.name: archive for archive in pins.ARCHIVES}
    return any(
        name not in archives or vendor.problem(settings.vendor_dir, archives[name]) for name in stamp.missing.split()
    )


def build_piece(settings: Settings, piece: pins.Piece, go_env: Mapping[str, str]) -> tuple[bool, str]:
    """Builds one piece and writes its stamp: (built, message)."""
    log_path = settings.logs / f"{piece.name}.log"
    log(f"{piece.name}: building (log: {log_path})")
    start = time.monotonic()
    out_dir = settings.home / piece.folder
    out_dir.mkdir(parents=True, exist_ok=True)
    missing = ""
    with log_path.open("w") as out:
        go = Go(go_env, settings.jobs, settings.work / ".probe", out)
        ctx = Context(out_dir, settings.work, settings.vendor_dir, settings.cli_fallbacks, go, out)
        try:
            version, message = BUILDERS[piece.name](ctx)
            ok = True
        except vendor.ArchiveUnusable as exc:
            ok, version, message, missing = False, "", str(exc), exc.archive.name
        except BuildError as exc:
            ok, version, message = False, "", str(exc)
        except Exception:
            traceback.print_exc(file=out)
            ok, version, message = False, "", ""
    secs = int(time.monotonic() - start)
    if ok:
        stamps.write(settings.stamps, piece.name, stamps.Stamp(piece.key, "ok", version, str(secs), message))
        log(f"{piece.name}: done in {fmt_secs(secs)}: {version}")
        if message:
            warn(f"{piece.name}: {message}")
        return True, message
    failed = stamps.Stamp(piece.key, "failed", "", str(secs), message or f"see {log_path}", missing)
    stamps.write(settings.stamps, piece.name, failed)
    warn(f"{piece.name}: FAILED after {fmt_secs(secs)}: {message or 'see log'}")
    if "failed" in (message or "failed"):
        with log_path.open(errors="replace") as f:
            for line in deque(f, maxlen=15):
                print(f"    {line.rstrip()}", file=sys.stderr)
    return False, message


def build_missing(
    settings: Settings, environ: Mapping[str, str], retry: bool, rebuild: bool
) -> tuple[list[str], list[str]]:
    """Builds the pieces whose stamps call for it: (pieces that deviate from the pins, pieces not built)."""
    go_env = {**environ, "CGO_ENABLED": "0", "GOWORK": "off", "GOFLAGS": "-mod=mod -buildvcs=false"}
    deviations: list[str] = []
    failed: list[str] = []
    for piece in pins.pieces(settings.cli_fallbacks):
        link_from_bin(settings, piece)
        stamp = stamps.read(settings.stamps, piece.name)
        present = all(executable(path) for path in outputs_of(settings, piece))
        missing_now = bool(stamp.missing) and still_unusable(settings, stamp)
        decision = stamps.decide(stamp, piece.key, present, retry, rebuild, missing_now)
        if decision is stamps.Decision.DEVIATES:
            deviations.append(piece.name)
        elif decision is stamps.Decision.FAILED:
            failed.append(piece.name)
        elif decision is stamps.Decision.BUILD:
            if shutil.which("go", path=environ.get("PATH")) is None:
                warn(f"{piece.name} needs building but 'go' is not on PATH")
                raise SystemExit(1)
            (settings.work / ".probe").mkdir(parents=True, exist_ok=True)
            ok, message = build_piece(settings, piece, go_env)
            if not ok:
                failed.append(piece.name)
            elif message:
                deviations.append(piece.name)
    return deviations, failed


def parse_args(argv: list[str] | None, prog: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=prog,
        usage="%(prog)s [--print-bin | --print-env | --status | --check-vendor] [--retry] [--rebuild] [--build]",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    modes = {"--print-bin": "print-bin", "--print-env": "print-env", "--status": "status", "--check-vendor": "check"}
    for flag, mode in modes.items():
        parser.add_argument(flag, dest="mode", action="store_const", const=mode, help=argparse.SUPPRESS)
    for flag in ("--retry", "--rebuild", "--build"):
        parser.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(mode="default")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ, prog: str | None = None) -> int:
    prog = prog or f"python3 {sys.argv[0]}"
    args = parse_args(argv, prog)
    settings = settings_from(environ)

    if args.mode == "check":
        bad = False
        for archive in pins.ARCHIVES:
            problem = vendor.problem(settings.vendor_dir, archive)
            print(f"FAILED  {problem}" if problem else f"ok      {settings.vendor_dir / archive.name}")
            bad = bad or bool(problem)
        return 1 if bad else 0

    if args.mode == "status":
        for piece in pins.pieces(settings.cli_fallbacks):
            stamp = stamps.read(settings.stamps, piece.name)
            print("\n".join(stamps.status_lines(piece.name, stamp, size_of(settings, piece))))
        print(f"bin: {settings.bin_dir}")
        return 0

    if args.mode == "print-env":
        (settings.home / "state").mkdir(parents=True, exist_ok=True)

    if not args.build:
        official = official_pulumi_dir(settings.home, environ)
        if official:
            log(f"using the pulumi v{pins.PULUMI_VERSION} already on PATH ({official}); nothing to build")
            sys.stdout.write(emit(args.mode, official, settings.home))
            return 0

    for folder in (settings.bin_dir, settings.work, settings.stamps, settings.logs):
        folder.mkdir(parents=True, exist_ok=True)
    with exclusive(settings.home / ".lock"):
        deviations, failed = build_missing(settings, environ, args.retry, args.rebuild)
        for name in pins.ESSENTIAL:
            stamp = stamps.read(settings.stamps, name)
            if stamp.status != "ok":
                warn(
                    f"the {name} piece is missing ({stamp.message}); the toolchain is not usable. "
                    f"Fix that, then run: {prog} --retry"
                )
                return 1
        note = summary(deviations, failed, prog)
        if note:
            warn(note)
        if args.mode == "print-env":
            try:
                plugins.install(settings.bin_dir, environ)
            except plugins.PluginInstallError as exc:
                warn(str(exc))
                return 1
        sys.stdout.write(emit(args.mode, settings.bin_dir, settings.home))
    return 0
