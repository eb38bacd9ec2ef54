from __future__ import annotations

from toolchain import pins

# The keys in the stamps of a cache built by the shell version of the tool: a cache that has them is reused.
EXISTING_KEYS = {
    "cli": "r1 cli v3.272.0 v3.274.1 v3.274.0 v3.270.0",
    "python": "r1 python v3.272.0 host c103003b9b8deeaf60603fcd3a158af3ba121b72470a0afda1961c5d9335eb3b",
    "kubernetes": "r1 kubernetes v4.25.0 v4.0.0-20260115033456-f47bc2d6f199=4.25.0 v4.22.2",
    "postgresql": "r1 postgresql v3.16.2 b7fbce232b0c2ce2a9db706e3115ed1e41cf39b026eb51598e4eac79326d6964 "
    "be0c613de9d5c83bfba32086714fdf182449dfb5dc7885b1b7ac5da4db6ae83d",
    "control-plane": "r1 control-plane v1.34.3",
    "etcd": "r1 etcd v3.6.4",
}
NODE_KEYS = {
    "kubelet": "r1 kubelet v1.34.3",
    "containerd": "r1 containerd v2.2.9",
    "runc": "r1 runc v1.5.3 seccomp",
    "cni": "r1 cni v1.10.0",
    "coredns": "r1 coredns v1.14.7",
}


def test_the_keys_are_those_existing_caches_hold():
    assert {p.name: p.key for p in pins.pieces(pins.DEFAULT_CLI_FALLBACKS)} == EXISTING_KEYS | NODE_KEYS


def test_other_cli_fallbacks_change_the_cli_key_alone():
    keys = {p.name: p.key for p in pins.pieces("v3.280.0")}
    assert keys["cli"] == "r1 cli v3.272.0 v3.280.0"
    assert {name: key for name, key in keys.items() if name != "cli"} == {
        name: key for name, key in (EXISTING_KEYS | NODE_KEYS).items() if name != "cli"
    }


def test_the_pieces_and_what_they_install():
    assert pins.PIECE_NAMES == (
        "cli",
        "python",
        "kubernetes",
        "postgresql",
        "control-plane",
        "etcd",
        "kubelet",
        "containerd",
        "runc",
        "cni",
        "coredns",
    )
    outputs = [f"{piece.folder}/{name}" for piece in pins.pieces(pins.DEFAULT_CLI_FALLBACKS) for name in piece.outputs]
    assert outputs == [
        "bin/pulumi",
        "bin/pulumi-language-python",
        "bin/pulumi-language-python-exec",
        "bin/pulumi-resource-pulumi-python",
        "plugins/pulumi-resource-kubernetes",
        "plugins/pulumi-resource-postgresql",
        "bin/kube-apiserver",
        "bin/kube-controller-manager",
        "bin/etcd",
        "bin/kubelet",
        "bin/kube-scheduler",
        "bin/containerd",
        "bin/containerd-shim-runc-v2",
        "bin/ctr",
        "bin/runc",
        "bin/cni/bridge",
        "bin/cni/host-local",
        "bin/cni/loopback",
        "bin/coredns",
    ]


def test_the_pinned_versions_come_first():
    assert pins.cli_candidates("v3.274.1  v3.270.0") == ["v3.272.0", "v3.274.1", "v3.270.0"]
    assert pins.provider_candidates("4.25.0", pins.KUBERNETES_FALLBACKS) == [
        ("v4.25.0", "4.25.0"),
        ("v4.0.0-20260115033456-f47bc2d6f199", "4.25.0"),
    ]


def test_kubernetes_staging_modules_and_version_flags():
    assert pins.kube_staging_version("k8s.io/api") == "v0.34.3"
    assert pins.kube_staging_version("k8s.io/sample-cli-plugin") is None
    flags = pins.kube_version_ldflags()
    assert flags.startswith("-s -w ")
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion=v1.34.3 -X {pkg}.gitMajor=1 -X {pkg}.gitMinor=34" in flags
