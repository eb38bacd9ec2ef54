"""How each piece is built. A builder writes its progress to the piece's log, installs its outputs into the
piece's folder and returns (version, message): a message says how the piece differs from the pins. A step
that fails raises BuildError."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from toolchain import debian, pins, vendor
from toolchain.gomod import BuildError, Go, local_replaces, required_version
from toolchain.output import log_line, warn_line

VERSION_LDFLAG = "-s -w -X {pkg}.Version={version}"


@dataclass
class Context:
    out_dir: Path  # the piece's folder (pins.Piece.folder)
    work: Path
    vendor_dir: Path
    cli_fallbacks: str
    go: Go
    out: TextIO  # the piece's log

    def log(self, message: str) -> None:
        print(log_line(message), file=self.out, flush=True)

    def warn(self, message: str) -> None:
        print(warn_line(message), file=self.out, flush=True)

    def download(self, module: str, version: str) -> str:
        folder, error = self.go.download(module, version)
        if not folder:
            raise BuildError(f"{module}@{version}: {error}")
        return folder

    def install(self, built: Path, name: str) -> None:
        """Moves a built file into the piece's folder, replacing the old one in one step."""
        built.chmod(0o755)
        os.replace(built, self.out_dir / name)

    def install_copy(self, source: Path) -> None:
        tmp = self.out_dir / f".{source.name}.tmp"
        shutil.copyfile(source, tmp)
        self.install(tmp, source.name)


def first_served(
    versions: Sequence[str], download: Callable[[str], tuple[str, str]]
) -> tuple[int, str, list[tuple[str, str]]]:
    """The index and module folder of the first version served (-1 and "" when none is), and the
    (version, error) of each one tried before it."""
    tried: list[tuple[str, str]] = []
    for index, version in enumerate(versions):
        folder, error = download(version)
        if folder:
            return index, folder, tried
        tried.append((version, error))
    return -1, "", tried


def _first_served(ctx: Context, name: str, module: str, versions: Sequence[str]) -> tuple[int, str, str]:
    """first_served with each miss logged; the third value is the tried versions' errors, for a message."""
    index, folder, tried = first_served(versions, lambda v: ctx.go.download(module, v))
    for version, error in tried:
        ctx.log(f"{name}: {module}@{version}: {error}")
    return index, folder, "; ".join(f"{module}@{version}: {error}" for version, error in tried)


def build_cli(ctx: Context) -> tuple[str, str]:
    candidates = pins.cli_candidates(ctx.cli_fallbacks)
    index, mod_dir, tried = _first_served(ctx, "cli", pins.PULUMI_PKG, candidates)
    if index < 0:
        raise BuildError(f"no CLI version could be fetched: {tried}")
    v = candidates[index]
    pinned = f"v{pins.PULUMI_VERSION}"
    if index:
        ctx.warn(f"cli: building {v} instead of {pinned} (not served by the proxy)")
    folder = ctx.work / "cli"
    ctx.go.new_wrapper(folder, pins.PULUMI_PKG, v, Path(mod_dir) / "go.mod")
    ctx.log(f"cli: building {pins.PULUMI_PKG}@{v} (cmd/pulumi)")
    ldflags = VERSION_LDFLAG.format(pkg=f"{pins.PULUMI_SDK}/go/common/version", version=v)
    ctx.go.build(folder, f"{pins.PULUMI_PKG}/cmd/pulumi", folder / "pulumi", ldflags, "go build of the CLI failed")
    got = subprocess.run(
        [str(folder / "pulumi"), "version"],
        env={**ctx.go.env, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        capture_output=True,
        text=True,
    ).stdout.strip()
    if got != v:
        raise BuildError(f"built CLI reports version '{got}', expected {v}")
    ctx.install(folder / "pulumi", "pulumi")
    return v, "" if v == pinned else f"{pins.PULUMI_PKG}@{pinned} not served by the proxy; built {v}"


def build_python(ctx: Context) -> tuple[str, str]:
    # Scripts shipped in the SDK module matching the Python SDK: the exec shim (next to the language host)
    # and the dynamic provider (pulumi-resource-pulumi-python, found on PATH).
    sdk_dir = Path(ctx.download(pins.PULUMI_SDK, f"v{pins.PULUMI_VERSION}"))
    ctx.install_copy(sdk_dir / "python" / "cmd" / "pulumi-language-python-exec")
    for script in sorted((sdk_dir / "python" / "dist").glob("pulumi-*")):
        if script.suffix != ".cmd":
            ctx.install_copy(script)

    # The official host: its go.mod replaces pkg/v3 and sdk/v3 with monorepo folders; use the served modules
    # of the same release instead.
    folder, v = ctx.work / "langhost", f"v{pins.LANGHOST_VERSION}"
    vendor.unpack(ctx.vendor_dir, pins.LANGHOST_ARCHIVE, folder)
    src = (
        folder / f"pulumi-language-python-{pins.LANGHOST_VERSION}" / "sdk" / "python" / "cmd" / "pulumi-language-python"
    )
    ctx.log(f"python: building the official language host {v} from {pins.LANGHOST_ARCHIVE.name}")
    failure = "could not resolve the language host's modules"
    modules = (pins.PULUMI_PKG, pins.PULUMI_SDK)
    edits = [f"-dropreplace={m}" for m in modules] + [f"-require={m}@{v}" for m in modules]
    ctx.go.run(["go", "mod", "edit", *edits], cwd=src, failure=failure)
    ctx.go.run(["go", "mod", "tidy"], cwd=src, failure=failure)
    ldflags = VERSION_LDFLAG.format(pkg=f"{pins.PULUMI_SDK}/go/common/version", version=v)
    built = ctx.work / "pulumi-language-python"
    ctx.go.build(src, ".", built, ldflags, "go build of the language host failed")
    ctx.install(built, "pulumi-language-python")
    shutil.rmtree(folder)
    return f"{pins.LANGHOST_VERSION} (official host) + sdk v{pins.PULUMI_VERSION} scripts", ""


@dataclass(frozen=True)
class Substitute:
    """Served versions of `module` to try, in order, for a local replace of `old`; "@required" is the
    version the provider's go.mod requires for `old`."""

    old: str
    module: str
    versions: tuple[str, ...]


def copy_writable(source: Path, dest: Path) -> None:
    """Copies a module out of the read-only module cache."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, symlinks=True)
    for root, dirs, files in os.walk(dest):
        for name in [*dirs, *files]:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
    dest.chmod(dest.stat().st_mode | stat.S_IWUSR)


def build_provider(
    ctx: Context, name: str, module: str, candidates: list[tuple[str, str]], substitutes: Sequence[Substitute]
) -> tuple[str, str]:
    index, mod_dir, tried = _first_served(ctx, name, module, [modv for modv, _ in candidates])
    if index < 0:
        raise BuildError(tried)
    modv, plugv = candidates[index]
    if index:
        ctx.warn(f"{name}: building {plugv} ({module}@{modv}) instead of the pinned version")

    src = ctx.work / f"{name}-src"
    try:
        copy_writable(Path(mod_dir), src)
    except OSError as exc:
        raise BuildError(f"could not copy {mod_dir}: {exc}") from exc
    # Local replaces (e.g. "=> ../sdk", "=> ../upstream") point outside the module: use served modules.
    gomod = ctx.go.read_gomod(src / "go.mod")
    for old, target in local_replaces(gomod):
        chosen = ""
        for sub in (s for s in substitutes if s.old == old):
            for version in sub.versions:
                if version == "@required":
                    version = required_version(gomod, old)
                    if not version:
                        continue
                folder, error = ctx.go.download(sub.module, version)
                if folder:
                    chosen = f"{sub.module}@{version}"
                    break
                ctx.log(f"{name}: {sub.module}@{version} (for the local replace of {old}): {error}")
            if chosen:
                break
        if not chosen:
            raise BuildError(
                f"{module}@{modv} replaces {old} with the local path {target} and no served module can stand in for it"
            )
        ctx.log(f"{name}: replacing {old} => {target} with {chosen}")
        ctx.go.edit(src, f"-dropreplace={old}", f"-replace={old}={chosen}")

    # The embedded schema files are generated (not committed): run the provider's own go:generate step.
    cmd = f"./cmd/pulumi-resource-{name}"
    ctx.log(f"{name}: generating embedded files (go generate {cmd}, VERSION={plugv})")
    ctx.go.run(["go", "generate", cmd], cwd=src, failure="go generate failed", extra_env={"VERSION": plugv})
    ctx.log(f"{name}: building {module}@{modv} ({cmd[2:]}, version {plugv})")
    built = ctx.work / f"pulumi-resource-{name}"
    ctx.go.build(src, cmd, built, VERSION_LDFLAG.format(pkg=f"{module}/pkg/version", version=plugv))
    ctx.install(built, built.name)
    shutil.rmtree(src)
    return f"{plugv} ({module}@{modv})", ""


def build_kubernetes(ctx: Context) -> tuple[str, str]:
    pinned = pins.KUBERNETES_VERSION
    sdk = Substitute(
        pins.K8S_SDK_MODULE, pins.K8S_SDK_MODULE, (f"v{pinned}", "@required", pins.KUBERNETES_SDK_FALLBACK)
    )
    candidates = pins.provider_candidates(pinned, pins.KUBERNETES_FALLBACKS)
    version, _ = build_provider(ctx, "kubernetes", pins.K8S_MODULE, candidates, [sdk])
    if version.startswith(f"{pinned} "):
        return version, ""
    return version, f"{pins.K8S_MODULE}@v{pinned} not served by the proxy; built {version.split()[0]}"


def build_postgresql(ctx: Context) -> tuple[str, str]:
    # provider/go.mod replaces the Terraform provider with "../upstream", a git submodule that the
    # pulumi-postgresql repository patches: lay out both archives that way and apply its patch.
    folder, upstream = ctx.work / "postgresql", ctx.work / "postgresql-upstream"
    vendor.unpack(ctx.vendor_dir, pins.POSTGRESQL_ARCHIVE, folder)
    vendor.unpack(ctx.vendor_dir, pins.PG_UPSTREAM_ARCHIVE, upstream)
    root = folder / f"pulumi-postgresql-{pins.POSTGRESQL_VERSION}"
    (unpacked,) = upstream.glob("terraform-provider-postgresql-*")
    unpacked.rename(root / "upstream")
    shutil.rmtree(upstream)
    # Inside a git work tree, git apply would patch paths relative to that tree's top: stop the search here.
    git_env = {"GIT_CEILING_DIRECTORIES": str(root)}
    for patch in sorted((root / "patches").glob("*.patch")):
        failure = f"could not apply {patch.name}"
        ctx.go.run(["git", "apply", str(patch)], cwd=root / "upstream", failure=failure, extra_env=git_env)
    version = pins.POSTGRESQL_VERSION
    provider = root / "provider"
    ctx.log(f"postgresql: generating the embedded schema (go generate, VERSION={version})")
    cmd = "./cmd/pulumi-resource-postgresql"
    ctx.go.run(["go", "generate", cmd], cwd=provider, failure="go generate failed", extra_env={"VERSION": version})
    ctx.log(f"postgresql: building pulumi-resource-postgresql {version} from {pins.POSTGRESQL_ARCHIVE.name}")
    built = ctx.work / "pulumi-resource-postgresql"
    ctx.go.build(provider, cmd, built, VERSION_LDFLAG.format(pkg=f"{pins.PG_MODULE}/pkg/version", version=version))
    ctx.install(built, built.name)
    shutil.rmtree(folder)
    return version, ""


def wrapper_for(
    ctx: Context, folder: Path, module: str, version: str, served: Callable[[str, dict[str, Any]], str | None]
) -> None:
    """A module in `folder` requiring module@version, with each local-folder replace of that module's
    go.mod swapped for the served module at served(replaced module, its go.mod) (None: dropped)."""
    gomod_path = Path(ctx.download(module, version)) / "go.mod"
    ctx.go.new_wrapper(folder, module, version, gomod_path)
    gomod = ctx.go.read_gomod(gomod_path)
    edits = []
    for old, _ in local_replaces(gomod):
        v = served(old, gomod)
        if v:
            edits.append(f"-replace={old}={old}@{v}")
    ctx.go.edit(folder, *edits)


def build_kubernetes_commands(ctx: Context, piece: str, commands: Sequence[str]) -> tuple[str, str]:
    """Commands of k8s.io/kubernetes. Every piece built this way has the same wrapper module (its staging
    modules, which it replaces with ./staging/src/..., swapped for the served v0.<minor>.<patch>), so the
    packages they share are compiled once and come from the Go build cache afterwards."""
    folder = ctx.work / piece
    v = f"v{pins.KUBE_VERSION}"
    wrapper_for(ctx, folder, "k8s.io/kubernetes", v, lambda old, _: pins.kube_staging_version(old))
    for cmd in commands:
        ctx.log(f"{piece}: building k8s.io/kubernetes/cmd/{cmd} {v}")
        target = f"k8s.io/kubernetes/cmd/{cmd}"
        ctx.go.build(folder, target, folder / cmd, pins.kube_version_ldflags(), f"go build of {cmd} failed")
        ctx.install(folder / cmd, cmd)
    shutil.rmtree(folder)
    return v, ""


def build_control_plane(ctx: Context) -> tuple[str, str]:
    return build_kubernetes_commands(ctx, "control-plane", ("kube-apiserver", "kube-controller-manager"))


def build_kubelet(ctx: Context) -> tuple[str, str]:
    return build_kubernetes_commands(ctx, "kubelet", ("kubelet", "kube-scheduler"))


def build_etcd(ctx: Context) -> tuple[str, str]:
    # etcd's server module replaces its sibling modules (api, client, pkg) with ../ folders: use the versions
    # it requires, which the proxy serves.
    folder = ctx.work / "etcd"
    module, v = "go.etcd.io/etcd/server/v3", f"v{pins.ETCD_VERSION}"
    wrapper_for(ctx, folder, module, v, lambda old, gomod: required_version(gomod, old))
    ctx.log(f"etcd: building {module} {v}")
    ctx.go.build(folder, module, folder / "etcd", "-s -w", "go build of etcd failed")
    ctx.install(folder / "etcd", "etcd")
    return v, ""


def build_module_commands(
    ctx: Context,
    piece: str,
    module: str,
    version: str,
    commands: dict[str, str],
    ldflags: str,
    tags: str = "",
    extra_env: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Builds each command (output name -> package of `module`) of module@version through a wrapper module
    that requires it, with its own non-local replaces (the module has no local ones)."""
    folder, v = ctx.work / piece, f"v{version}"
    wrapper_for(ctx, folder, module, v, lambda old, _: None)
    for name, package in commands.items():
        target = f"{module}/{package}".rstrip("/")
        ctx.log(f"{piece}: building {target} {v}" + (f" (tags: {tags})" if tags else ""))
        ctx.go.build(folder, target, folder / name, ldflags, f"go build of {name} failed", tags, extra_env)
        ctx.install(folder / name, name)
    shutil.rmtree(folder)
    return v, ""


def build_containerd(ctx: Context) -> tuple[str, str]:
    # No btrfs, devmapper or zfs snapshotters: they need cgo and C headers, and the node uses overlayfs.
    module = pins.CONTAINERD_MODULE
    commands = {name: f"cmd/{name}" for name in ("containerd", "containerd-shim-runc-v2", "ctr")}
    ldflags = f"-s -w -X {module}/version.Version=v{pins.CONTAINERD_VERSION}"
    return build_module_commands(
        ctx, "containerd", module, pins.CONTAINERD_VERSION, commands, ldflags, "no_btrfs no_devmapper no_zfs"
    )


def build_runc(ctx: Context) -> tuple[str, str]:
    # runc needs cgo (its nsenter part is C) and, for seccomp filters, libseccomp's headers.
    debian.ensure_packages(ctx.log, pins.RUNC_DEBIAN_PACKAGES)
    ldflags = f"-s -w -X main.version={pins.RUNC_VERSION}"
    return build_module_commands(
        ctx,
        "runc",
        pins.RUNC_MODULE,
        pins.RUNC_VERSION,
        {"runc": ""},
        ldflags,
        "seccomp urfave_cli_no_docs",
        {"CGO_ENABLED": "1"},
    )


def build_cni(ctx: Context) -> tuple[str, str]:
    module = pins.CNI_MODULE
    ldflags = f"-s -w -X {module}/pkg/utils/buildversion.BuildVersion=v{pins.CNI_PLUGINS_VERSION}"
    return build_module_commands(ctx, "cni", module, pins.CNI_PLUGINS_VERSION, pins.CNI_PACKAGES, ldflags)


def build_coredns(ctx: Context) -> tuple[str, str]:
    # The module's main package with its default plugin set (core/plugin/zplugin.go), kubernetes included.
    return build_module_commands(ctx, "coredns", pins.COREDNS_MODULE, pins.COREDNS_VERSION, {"coredns": ""}, "-s -w")


BUILDERS: dict[str, Callable[[Context], tuple[str, str]]] = {
    "cli": build_cli,
    "python": build_python,
    "kubernetes": build_kubernetes,
    "postgresql": build_postgresql,
    "control-plane": build_control_plane,
    "etcd": build_etcd,
    "kubelet": build_kubelet,
    "containerd": build_containerd,
    "runc": build_runc,
    "cni": build_cni,
    "coredns": build_coredns,
}
