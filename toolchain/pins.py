"""What is built, from which versions: the pins, the fallbacks, and each piece's stamp key and outputs."""

from __future__ import annotations

from dataclasses import dataclass

# Must match the Python packages: pulumi==3.272.0, pulumi-kubernetes==4.25.0, pulumi-postgresql==3.16.2.
# (pulumi-kubernetes is pinned to 4.25.0 because that is the provider commit the proxy serves.)
PULUMI_VERSION = "3.272.0"
KUBERNETES_VERSION = "4.25.0"
POSTGRESQL_VERSION = "3.16.2"
LANGHOST_VERSION = "3.259.0"
KUBE_VERSION = "1.34.3"  # k8s.io/kubernetes; its staging modules are served as v0.34.3
ETCD_VERSION = "3.6.4"  # go.etcd.io/etcd/server/v3, the version Kubernetes 1.34 pins
# The node's pieces: versions the Go module proxy serves and this machine's kind has run a node with.
CONTAINERD_VERSION = "2.2.9"  # github.com/containerd/containerd/v2
RUNC_VERSION = "1.5.3"  # github.com/opencontainers/runc
CNI_PLUGINS_VERSION = "1.10.0"  # github.com/containernetworking/plugins
COREDNS_VERSION = "1.14.7"  # github.com/coredns/coredns, its default plugin set (kubernetes included)


@dataclass(frozen=True)
class Archive:
    """A source archive of the vendor folder, with the sha256 it must have."""

    name: str
    sha256: str


LANGHOST_ARCHIVE = Archive(
    f"pulumi-language-python-{LANGHOST_VERSION}.tar.gz",
    "c103003b9b8deeaf60603fcd3a158af3ba121b72470a0afda1961c5d9335eb3b",
)
POSTGRESQL_ARCHIVE = Archive(
    f"pulumi-postgresql-{POSTGRESQL_VERSION}.tar.gz",
    "b7fbce232b0c2ce2a9db706e3115ed1e41cf39b026eb51598e4eac79326d6964",
)
PG_UPSTREAM_ARCHIVE = Archive(
    "terraform-provider-postgresql-450ce85.tar.gz",
    "be0c613de9d5c83bfba32086714fdf182449dfb5dc7885b1b7ac5da4db6ae83d",
)
ARCHIVES = (LANGHOST_ARCHIVE, POSTGRESQL_ARCHIVE, PG_UPSTREAM_ARCHIVE)

# Fallbacks for versions the Go module proxy does not serve. The CLI is backwards compatible with older
# language SDKs, so the nearest newer served CLI is used (PULUMI_CLI_FALLBACK_VERSIONS overrides this).
DEFAULT_CLI_FALLBACKS = "v3.274.1 v3.274.0 v3.270.0"
# pulumi-kubernetes has no provider/v4.* tags, so provider/v4 is only reachable by pseudo-version
# (`go mod download github.com/pulumi/pulumi-kubernetes/provider/v4@<commit>` prints it). The only one the
# proxy serves is the commit tagged v4.25.0. Format: <module version>=<plugin version>.
KUBERNETES_FALLBACKS = "v4.0.0-20260115033456-f47bc2d6f199=4.25.0"
# provider/v4 replaces its sdk/v4 with a local path; this served sdk/v4 version is used when neither the
# provider's own version nor the version in its go.mod is served.
KUBERNETES_SDK_FALLBACK = "v4.22.2"

RECIPE = 1  # bump to invalidate every stamp when the build recipe changes

PULUMI_PKG = "github.com/pulumi/pulumi/pkg/v3"
PULUMI_SDK = "github.com/pulumi/pulumi/sdk/v3"
K8S_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
K8S_SDK_MODULE = "github.com/pulumi/pulumi-kubernetes/sdk/v4"
PG_MODULE = "github.com/pulumi/pulumi-postgresql/provider/v3"

CONTAINERD_MODULE = "github.com/containerd/containerd/v2"
RUNC_MODULE = "github.com/opencontainers/runc"
CNI_MODULE = "github.com/containernetworking/plugins"
COREDNS_MODULE = "github.com/coredns/coredns"
# Debian packages a build needs, each with a file that tells whether it is installed.
RUNC_DEBIAN_PACKAGES = {"libseccomp-dev": "/usr/include/seccomp.h"}

# Without these the toolchain cannot run a program; the cluster's pieces only serve some tests.
ESSENTIAL = ("cli", "python", "kubernetes", "postgresql")

# Folders of the toolchain home. bin/ is what goes on PATH: the CLI with its bundled language host (as the
# official download has them) and the cluster's programs. The provider plugins are kept out of PATH, in
# plugins/, and installed into a Pulumi home's plugin cache (toolchain/plugins.py): a plugin Pulumi finds on
# PATH earns a warning on every run. The CNI plugins have names such as `bridge` (also iproute2's): bin/cni/.
BIN = "bin"
PLUGINS = "plugins"
CNI = "bin/cni"


# The provider plugins' pieces; each installs pulumi-resource-<piece name>.
PROVIDER_PIECES = ("kubernetes", "postgresql")
# Where each CNI plugin's main package lives in github.com/containernetworking/plugins.
CNI_PACKAGES = {
    "bridge": "plugins/main/bridge",
    "host-local": "plugins/ipam/host-local",
    "loopback": "plugins/main/loopback",
}
CNI_PLUGINS = tuple(CNI_PACKAGES)


@dataclass(frozen=True)
class Piece:
    name: str
    key: str  # the stamp's key: a change rebuilds the piece
    outputs: tuple[str, ...]  # files in `folder`
    folder: str = BIN  # of the toolchain home


def pieces(cli_fallbacks: str) -> tuple[Piece, ...]:
    """The pieces in build order. The keys are those the stamps of existing caches hold: keep them stable."""
    r = f"r{RECIPE}"
    return (
        Piece("cli", f"{r} cli v{PULUMI_VERSION} {cli_fallbacks}", ("pulumi",)),
        Piece(
            "python",
            f"{r} python v{PULUMI_VERSION} host {LANGHOST_ARCHIVE.sha256}",
            ("pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"),
        ),
        Piece(
            "kubernetes",
            f"{r} kubernetes v{KUBERNETES_VERSION} {KUBERNETES_FALLBACKS} {KUBERNETES_SDK_FALLBACK}",
            ("pulumi-resource-kubernetes",),
            PLUGINS,
        ),
        Piece(
            "postgresql",
            f"{r} postgresql v{POSTGRESQL_VERSION} {POSTGRESQL_ARCHIVE.sha256} {PG_UPSTREAM_ARCHIVE.sha256}",
            ("pulumi-resource-postgresql",),
            PLUGINS,
        ),
        Piece("control-plane", f"{r} control-plane v{KUBE_VERSION}", ("kube-apiserver", "kube-controller-manager")),
        Piece("etcd", f"{r} etcd v{ETCD_VERSION}", ("etcd",)),
        Piece("kubelet", f"{r} kubelet v{KUBE_VERSION}", ("kubelet", "kube-scheduler")),
        Piece(
            "containerd",
            f"{r} containerd v{CONTAINERD_VERSION}",
            ("containerd", "containerd-shim-runc-v2", "ctr"),
        ),
        Piece("runc", f"{r} runc v{RUNC_VERSION} seccomp", ("runc",)),
        Piece("cni", f"{r} cni v{CNI_PLUGINS_VERSION}", CNI_PLUGINS, CNI),
        Piece("coredns", f"{r} coredns v{COREDNS_VERSION}", ("coredns",)),
    )


PIECE_NAMES = tuple(piece.name for piece in pieces(DEFAULT_CLI_FALLBACKS))


def cli_candidates(fallbacks: str) -> list[str]:
    """pkg/v3 versions to try, the pinned one first."""
    return [f"v{PULUMI_VERSION}", *fallbacks.split()]


def provider_candidates(pinned: str, fallbacks: str) -> list[tuple[str, str]]:
    """(module version, plugin version) pairs to try, the pinned one first; fallbacks are
    "<module version>=<plugin version>" words."""
    pairs = [(f"v{pinned}", pinned)]
    for word in fallbacks.split():
        module_version, _, plugin_version = word.partition("=")
        pairs.append((module_version, plugin_version))
    return pairs


def kube_staging_version(module: str) -> str | None:
    """The served version standing in for a staging module k8s.io/kubernetes replaces with a local folder;
    None drops the replace: k8s.io/sample-cli-plugin is not served, and nothing built here needs it."""
    if module == "k8s.io/sample-cli-plugin":
        return None
    return "v0." + KUBE_VERSION.partition(".")[2]


def kube_version_ldflags() -> str:
    major, minor, _ = KUBE_VERSION.split(".")
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.gitVersion=v{KUBE_VERSION}", f"-X {pkg}.gitMajor={major}", f"-X {pkg}.gitMinor={minor}"]
    return " ".join(flags)
