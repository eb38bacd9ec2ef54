"""The one-node cluster's configuration files (devtools/node_config.py), as the servers will read them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from devtools import node_config as cfg
from devtools.pki import ensure_pki

FOLDER = Path("/srv/node")
BIN = Path("/tc/bin")


def test_containerd_keeps_its_images_in_the_folder_and_its_state_in_the_nodes_run():
    config = tomllib.loads(cfg.containerd_config(cfg.NodePaths(FOLDER), BIN, "localhost/yellow/pause:3.10.1"))
    assert (config["version"], config["root"], config["state"]) == (3, "/srv/node/containerd", "/run/containerd")
    assert config["grpc"]["address"] == "/srv/node/containerd.sock"
    plugins = config["plugins"]
    assert plugins["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"] == "localhost/yellow/pause:3.10.1"
    runtime = plugins["io.containerd.cri.v1.runtime"]
    runc = runtime["containerd"]["runtimes"]["runc"]["options"]
    assert runc == {"BinaryName": "/tc/bin/runc", "Root": "/run/runc", "SystemdCgroup": False}
    assert runtime["cni"]["bin_dirs"] == ["/tc/bin/cni"]
    assert runtime["cni"]["conf_dir"] == "/srv/node/cni"
    assert plugins["io.containerd.grpc.v1.cri"]["stream_server_address"] == "127.0.0.1"


def test_pods_get_bridge_addresses_with_the_node_as_gateway_and_no_masquerading():
    (bridge,) = cfg.cni_conflist(cfg.NodePaths(FOLDER))["plugins"]
    assert (bridge["type"], bridge["bridge"], bridge["isGateway"], bridge["ipMasq"]) == ("bridge", "cni0", True, False)
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}]]
    assert bridge["ipam"]["dataDir"].startswith("/run/")


def test_kubelet_uses_the_cluster_dns_and_never_the_hosts_resolv_conf(tmp_path):
    pki = ensure_pki(tmp_path / "pki")
    config = cfg.kubelet_config(cfg.NodePaths(FOLDER), pki, "/yellow-node-1234")
    assert (config["clusterDNS"], config["clusterDomain"], config["resolvConf"]) == (["10.0.0.10"], "cluster.local", "")
    assert (config["cgroupRoot"], config["cgroupDriver"], config["failCgroupV1"]) == (
        "/yellow-node-1234",
        "cgroupfs",
        False,
    )
    assert config["address"] == "10.244.0.1"
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authentication"]["x509"]["clientCAFile"] == str(pki.ca.cert)
    assert config["imageGCHighThresholdPercent"] == 100
    json.dumps(config)


def test_the_api_server_listens_on_every_address_of_the_namespace_on_the_services_port():
    assert (cfg.LAYOUT.apiserver_bind, cfg.LAYOUT.apiserver_port, cfg.LAYOUT.advertise_address) == (
        "0.0.0.0",
        443,
        "10.244.0.1",
    )
    assert cfg.LOCAL_SERVICE_IPS == ("10.0.0.1", "10.0.0.10")
    assert cfg.KUBE_DNS_SERVICE["spec"]["clusterIP"] == cfg.DNS_SERVICE_IP


def test_coredns_serves_only_the_cluster_zone_on_the_kube_dns_address():
    corefile = cfg.corefile(cfg.NodePaths(FOLDER))
    assert corefile.startswith("cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {\n    bind 10.0.0.10\n")
    assert "kubeconfig /srv/node/coredns.kubeconfig yellow-local" in corefile
    assert "forward" not in corefile


def test_the_kernel_settings_kubelet_writes_are_the_ones_shadowed():
    assert cfg.KUBELET_SYSCTLS == (
        "vm/overcommit_memory",
        "vm/panic_on_oom",
        "kernel/panic",
        "kernel/panic_on_oops",
        "kernel/keys/root_maxkeys",
        "kernel/keys/root_maxbytes",
    )
