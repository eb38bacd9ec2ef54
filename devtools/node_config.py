"""The one-node cluster's addresses, ports and configuration files, as pure functions of its folders.

Everything listens inside the node's own network namespace, which holds only `lo` and the bridge `cni0`
(no uplink), so ports are fixed and the usual ones; nothing else on the machine can reach them. The host
reaches the API server (and whatever else it asks for) through loopback forwarders (devtools/forward.py).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from devtools.control_plane import SERVICE_CLUSTER_IP_RANGE, Layout
from devtools.pki import NODE_NAME, SERVICE_IP, ControlPlanePki

BRIDGE = "cni0"
POD_SUBNET = "10.244.0.0/24"
NODE_IP = "10.244.0.1"  # the bridge's address: the node's InternalIP, the pods' gateway
# The kube-dns Service's cluster IP, where CoreDNS listens (the tenth of the range, as kubeadm has it).
DNS_SERVICE_IP = str(ipaddress.ip_network(SERVICE_CLUSTER_IP_RANGE)[10])
CLUSTER_DOMAIN = "cluster.local"
# Service cluster IPs that are local addresses of the namespace (on `lo`): pods reach them through their
# gateway, the node answers. There is no kube-proxy: other cluster IPs lead nowhere.
LOCAL_SERVICE_IPS = (SERVICE_IP, DNS_SERVICE_IP)

API_PORT = 443  # what in-cluster clients get as KUBERNETES_SERVICE_PORT (the `kubernetes` Service's port)
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
SCHEDULER_PORT = 10259
STREAM_PORT = 10010  # containerd's streaming server (exec, attach, port-forward), on 127.0.0.1
COREDNS_HEALTH_PORT = 8080
COREDNS_READY_PORT = 8181

LAYOUT = Layout(
    etcd_port=2379,
    etcd_peer_port=2380,
    apiserver_port=API_PORT,
    controller_manager_port=10257,
    # Every address of the namespace: 127.0.0.1 (the node's own clients, the host's forwarder), the
    # `kubernetes` Service's cluster IP (in-cluster clients) and the node IP (its Endpoints).
    apiserver_bind="0.0.0.0",
    advertise_address=NODE_IP,
    apiserver_extra=(
        "--enable-admission-plugins=NodeRestriction",
        "--kubelet-preferred-address-types=InternalIP",
        "--allow-privileged=true",
    ),
)

# What kubelet sets at start (setupKernelTunables): machine-wide settings. Inside the node's mount
# namespace each of these files has a file of the node's bound over it, so kubelet's writes change nothing.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)


@dataclass(frozen=True)
class NodePaths:
    """The node's files. `folder` is kept across restarts (etcd, images, pods' volumes); `run` is the
    tmpfs mounted on /run inside the node's mount namespace, gone when the node stops."""

    folder: Path
    run: Path = Path("/run")

    @property
    def containerd_socket(self) -> Path:
        # In the folder, not in /run: the host imports images through it (`ctr -a`).
        return self.folder / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.folder / "containerd.toml"

    @property
    def kubelet_config(self) -> Path:
        return self.folder / "kubelet.json"

    @property
    def cni_conf_dir(self) -> Path:
        return self.folder / "cni"

    @property
    def corefile(self) -> Path:
        return self.folder / "Corefile"

    def kubeconfig(self, user: str) -> Path:
        return self.folder / f"{user}.kubeconfig"


def toml_string(value: str | Path) -> str:
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's


def containerd_config(paths: NodePaths, bin_dir: Path, sandbox_image: str) -> str:
    """containerd's config (version 3): root in the folder, state in the node's /run; runc as the runtime
    with cgroupfs (the node's kubelet uses the cgroupfs driver); the CNI plugins of the toolchain."""
    folder, run = paths.folder, paths.run
    return f"""version = 3
root = {toml_string(folder / "containerd")}
state = {toml_string(run / "containerd")}
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.blockfile", \
"io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs", "io.containerd.mount-handler.v1.erofs"]

[grpc]
  address = {toml_string(paths.containerd_socket)}
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = {toml_string(sandbox_image)}
  [plugins."io.containerd.cri.v1.runtime"]
    netns_mounts_under_state_dir = true
    enable_cdi = false
    restrict_oom_score_adj = true
    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
          BinaryName = {toml_string(bin_dir / "runc")}
          Root = {toml_string(run / "runc")}
          SystemdCgroup = false
    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = [{toml_string(bin_dir / "cni")}]
      conf_dir = {toml_string(paths.cni_conf_dir)}
      max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "{STREAM_PORT}"
  [plugins."io.containerd.internal.v1.opt"]
    path = {toml_string(folder / "containerd" / "opt")}
"""


def cni_conflist(paths: NodePaths) -> dict:
    """The bridge network: pods on cni0 with addresses from POD_SUBNET and the node as their gateway. No
    masquerading and no route beyond the namespace: nothing it carries can leave it."""
    return {
        "cniVersion": "1.0.0",
        "name": "yellow-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(paths.run / "cni-ipam"),
                },
            }
        ],
    }


def kubelet_config(paths: NodePaths, pki: ControlPlanePki, cgroup_root: str) -> dict:
    """kubelet's KubeletConfiguration. cgroup v1 is allowed (this machine's kind has it), pods' cgroups go
    under `cgroup_root` (one per start, removed at stop), images are never garbage-collected (they were
    imported, no registry can give them back), and the host's resolv.conf is not used."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "imageServiceEndpoint": f"unix://{paths.containerd_socket}",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca.cert)},
        },
        "authorization": {"mode": "Webhook"},
        "podLogsDir": str(paths.folder / "pod-logs"),
        "volumePluginDir": str(paths.folder / "volume-plugins"),
        "resolvConf": "",
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [DNS_SERVICE_IP],
        "registerNode": True,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {},
        "enableControllerAttachDetach": True,
        "serializeImagePulls": False,
    }


def kubelet_args(paths: NodePaths) -> list[str]:
    return [
        f"--config={paths.kubelet_config}",
        f"--kubeconfig={paths.kubeconfig('kubelet')}",
        f"--root-dir={paths.folder / 'kubelet'}",
        f"--cert-dir={paths.folder / 'kubelet-pki'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_IP}",
        "--v=1",
    ]


def scheduler_args(paths: NodePaths) -> list[str]:
    kubeconfig = paths.kubeconfig("scheduler")
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={SCHEDULER_PORT}",
        "--leader-elect=false",
    ]


def corefile(paths: NodePaths) -> str:
    """CoreDNS answers the cluster's names (its kubernetes plugin: Services, headless Services' endpoints,
    pods) on the kube-dns Service's IP and forwards nothing: any other name is refused, and no query
    leaves the namespace."""
    return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {DNS_SERVICE_IP}
    errors
    health 127.0.0.1:{COREDNS_HEALTH_PORT}
    ready 127.0.0.1:{COREDNS_READY_PORT}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {paths.kubeconfig("coredns")} yellow-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
}}
"""


# The objects the node's set-up declares: CoreDNS's read access and the kube-dns Service holding its IP.
COREDNS_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "system:coredns"},
    "rules": [
        {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    ],
}
COREDNS_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "system:coredns"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:coredns"}],
}
KUBE_DNS_SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
    "spec": {
        "clusterIP": DNS_SERVICE_IP,
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ],
    },
}
SET_UP_OBJECTS = (COREDNS_ROLE, COREDNS_BINDING, KUBE_DNS_SERVICE)
