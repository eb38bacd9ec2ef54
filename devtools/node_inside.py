"""The node's supervisor: PID 1 of the node's own PID, mount and network namespaces, which devtools/node.py
makes with `unshare` (never run it elsewhere: it mounts over /run and /var).

It sets the namespaces up (a tmpfs on /run, /var seen through an overlay whose writes stay in that tmpfs,
files bound over the kernel settings kubelet writes, `lo` and the bridge with the node's addresses, the
pods' cgroup root), starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (the
given image archives imported), kubelet and CoreDNS as its children, waits for the node to be Ready and
prints one JSON line on stdout. On SIGTERM it stops them, ends every other process of the namespace
(containers and their shims) and removes the cgroups. If it is killed instead, the kernel ends every
process of the PID namespace with it, the mounts go with the mount namespace, the network namespace with
its last process; only the cgroups are left, for the reaper (devtools/node.py).

    python -m devtools.node_inside --dir FOLDER --bin BIN --cgroup NAME --sandbox REF [--image ARCHIVE]...
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from devtools import node_config as cfg
from devtools.control_plane import ControlPlane, ControlPlaneError, kubeconfig
from devtools.kube_api import KubeApi, KubeApiError
from devtools.pki import NODE_NAME, ensure_pki

CGROUP_FS = Path("/sys/fs/cgroup")
READY_TIMEOUT_SECONDS = 120
SHADOWS = Path("/run/yellow-node")  # in the node's /run tmpfs


class NodeStartError(RuntimeError):
    pass


def run(*args: str) -> None:
    completed = subprocess.run(args, capture_output=True, text=True)
    if completed.returncode != 0:
        raise NodeStartError(f"{' '.join(args)}: {completed.stderr.strip()}")


def set_up_mounts() -> None:
    """/run is the node's own tmpfs; /var shows the host's, with every write (kubelet's /var/lib/kubelet,
    /var/log/containers) kept in that tmpfs; kubelet's kernel settings are files of that tmpfs."""
    run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
    upper, work = SHADOWS / "var", SHADOWS / "var-work"
    upper.mkdir(parents=True)
    work.mkdir()
    run("mount", "-t", "overlay", "overlay", "-o", f"lowerdir=/var,upperdir={upper},workdir={work}", "/var")
    sysctls = SHADOWS / "sysctl"
    sysctls.mkdir()
    for name in cfg.KUBELET_SYSCTLS:
        real = Path("/proc/sys") / name
        shadow = sysctls / name.replace("/", ".")
        shadow.write_text(real.read_text())
        run("mount", "--bind", str(shadow), str(real))


def set_up_network() -> None:
    run("ip", "link", "set", "lo", "up")
    for address in cfg.LOCAL_SERVICE_IPS:
        run("ip", "address", "add", f"{address}/32", "dev", "lo")
    run("ip", "link", "add", cfg.BRIDGE, "type", "bridge")
    run("ip", "address", "add", f"{cfg.NODE_IP}/24", "dev", cfg.BRIDGE)
    run("ip", "link", "set", cfg.BRIDGE, "up")


def cgroup_mounts() -> list[tuple[Path, str]]:
    """(mount point, type) of every cgroup hierarchy: those under /sys/fs/cgroup, or itself (cgroup v2)."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype, mount_point = right.split()[0], Path(left.split()[4])
        if fstype in ("cgroup", "cgroup2") and CGROUP_FS in (mount_point, mount_point.parent):
            found.append((mount_point, fstype))
    return found


def create_cgroups(name: str) -> None:
    """The pods' cgroup root in every v1 hierarchy (kubelet checks that it exists); cpuset's needs the
    parent's CPUs and memory nodes before a task can join."""
    for mount_point, fstype in cgroup_mounts():
        if fstype != "cgroup":
            continue
        group = mount_point / name
        group.mkdir(exist_ok=True)
        for setting in ("cpuset.cpus", "cpuset.mems"):
            if (group / setting).exists():
                (group / setting).write_text((mount_point / setting).read_text())


def remove_cgroups(name: str, timeout: float = 30) -> list[Path]:
    """Removes the cgroup `name` with everything below it in every hierarchy, waiting for their tasks to
    leave; returns what could not be removed."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for mount_point, _ in cgroup_mounts():
            top = mount_point / name
            if not top.exists():
                continue
            for folder, _, _ in sorted(os.walk(top), key=lambda walked: -len(walked[0])):
                try:
                    os.rmdir(folder)
                except OSError:
                    left.append(Path(folder))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


class InsideNode:
    def __init__(self, folder: Path, bin_dir: Path, cgroup: str, sandbox: str, images: Iterable[Path]) -> None:
        self.paths = cfg.NodePaths(folder)
        self.bin_dir = bin_dir
        self.cgroup = cgroup
        self.sandbox = sandbox
        self.images = list(images)
        self.cluster = ControlPlane(folder, bin_dir, die_with_parent=True, layout=cfg.LAYOUT)
        self.pki = ensure_pki(folder / "pki")
        self.api = KubeApi(self.cluster.server, ControlPlane.client_tls(self.pki))

    def env(self) -> dict[str, str]:
        """The servers' environment: containerd finds its shim on PATH; temporary files in the node's /run."""
        (self.paths.run / "tmp").mkdir(exist_ok=True)
        return {
            "PATH": f"{self.bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TMPDIR": str(self.paths.run / "tmp"),
            "HOME": str(self.paths.folder),
        }

    def write_configs(self) -> None:
        paths, pki, server = self.paths, self.pki, self.cluster.server
        for user, pair in (("kubelet", pki.kubelet), ("scheduler", pki.scheduler), ("coredns", pki.coredns)):
            paths.kubeconfig(user).write_text(kubeconfig(server, pki.ca.cert, pair, f"system:{user}"))
        paths.containerd_config.write_text(cfg.containerd_config(paths, self.bin_dir, self.sandbox))
        paths.cni_conf_dir.mkdir(exist_ok=True)
        (paths.cni_conf_dir / "10-yellow-node.conflist").write_text(json.dumps(cfg.cni_conflist(paths), indent=2))
        paths.kubelet_config.write_text(json.dumps(cfg.kubelet_config(paths, pki, f"/{self.cgroup}"), indent=2))
        paths.corefile.write_text(cfg.corefile(paths))

    def start(self) -> None:
        cluster = self.cluster
        cluster.start()
        self.apply_set_up_objects()
        self.write_configs()
        env = self.env()
        insecure = ControlPlane.insecure_tls()

        cluster.spawn("kube-scheduler", self.bin_dir / "kube-scheduler", cfg.scheduler_args(self.paths), env)
        cluster.wait("kube-scheduler", f"https://127.0.0.1:{cfg.SCHEDULER_PORT}/healthz", insecure)

        containerd = ["--config", str(self.paths.containerd_config)]
        cluster.spawn("containerd", self.bin_dir / "containerd", containerd, env)
        self.wait_for_containerd()
        for archive in self.images:
            self.ctr("images", "import", "--platform", "linux/amd64", str(archive))

        cluster.spawn("kubelet", self.bin_dir / "kubelet", cfg.kubelet_args(self.paths), env)
        cluster.wait("kubelet", f"http://127.0.0.1:{cfg.KUBELET_HEALTHZ_PORT}/healthz", None)

        cluster.spawn("coredns", self.bin_dir / "coredns", ["-conf", str(self.paths.corefile)], env)
        cluster.wait("coredns", f"http://127.0.0.1:{cfg.COREDNS_READY_PORT}/ready", None)

        # Pods can be created once the node is Ready and the default namespace has its service account.
        cluster.wait("kubelet", f"http://127.0.0.1:{cfg.KUBELET_HEALTHZ_PORT}/healthz", None, self.node_ready)
        default_account = "/api/v1/namespaces/default/serviceaccounts/default"
        cluster.wait(
            "kube-controller-manager",
            f"https://127.0.0.1:{cfg.LAYOUT.controller_manager_port}/healthz",
            insecure,
            lambda: self.api.get(default_account) is not None,
        )

    def apply_set_up_objects(self) -> None:
        """Right after the API server is ready, kube-system may not exist yet: retried for a while."""
        deadline = time.monotonic() + 30
        for obj in cfg.SET_UP_OBJECTS:
            while True:
                try:
                    self.api.apply(obj)
                    break
                except KubeApiError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)

    def node_ready(self) -> bool:
        node = self.api.get(f"/api/v1/nodes/{NODE_NAME}")
        conditions = (node or {}).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def ctr(self, *args: str) -> str:
        completed = subprocess.run(
            [str(self.bin_dir / "ctr"), "-a", str(self.paths.containerd_socket), "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if completed.returncode != 0:
            raise NodeStartError(f"ctr {' '.join(args)}: {completed.stderr.strip()}")
        return completed.stdout

    def wait_for_containerd(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if self.cluster.processes["containerd"].poll() is not None:
                raise NodeStartError(f"containerd exited while starting:\n{self.cluster.log_tail('containerd')}")
            try:
                self.ctr("version")
                return
            except NodeStartError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def dead(self) -> list[str]:
        return [name for name, process in self.cluster.processes.items() if process.poll() is not None]

    def stop(self) -> None:
        """Its servers newest first, then every other process of the namespace, then the cgroups."""
        self.cluster.stop()
        end_the_rest()
        left = remove_cgroups(self.cgroup)
        if left:
            print(f"cgroups not removed: {' '.join(map(str, left))}", file=sys.stderr, flush=True)


def end_the_rest() -> None:
    """As PID 1, signals to -1 reach every other process of the namespace: containers and their shims."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
        try:
            os.kill(-1, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not reap_orphans(set(), block_until_none=True):
                return
            time.sleep(0.1)


def reap_orphans(managed: set[int], block_until_none: bool = False) -> bool:
    """Collects the exit of children this process did not start itself (orphans of the namespace come to
    PID 1); returns whether any child is left. Children in `managed` are left to their Popen."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        if info is None:
            return True
        if info.si_pid in managed and not block_until_none:
            return True
        os.waitpid(info.si_pid, 0)


class Stop(Exception):
    """SIGTERM: stop the node (as PID 1, the supervisor gets no signal it has no handler for)."""


def stop_requested(*_: object) -> None:
    raise Stop


def serve(node: InsideNode) -> int:
    """Until SIGTERM (Stop) or a server's end: 1 then, with its log's tail in the supervisor's."""
    while True:
        dead = node.dead()
        if dead:
            for name in dead:
                print(f"{name} exited:\n{node.cluster.log_tail(name)}", file=sys.stderr, flush=True)
            return 1
        reap_orphans({process.pid for process in node.cluster.processes.values()})
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.node_inside", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--bin", type=Path, required=True)
    parser.add_argument("--cgroup", required=True)
    parser.add_argument("--sandbox", required=True, help="the pause image's ref")
    parser.add_argument("--image", type=Path, action="append", default=[], help="an OCI archive to import")
    args = parser.parse_args(argv)
    if os.getpid() != 1:
        parser.error("runs as PID 1 of the node's namespaces (devtools/node.py starts it)")
    signal.signal(signal.SIGTERM, stop_requested)
    begin = time.monotonic()
    node: InsideNode | None = None
    code = 0
    try:
        set_up_mounts()
        set_up_network()
        create_cgroups(args.cgroup)
        node = InsideNode(args.dir, args.bin, args.cgroup, args.sandbox, args.image)
        node.start()
        print(json.dumps({"ready": True, "started_in": round(time.monotonic() - begin, 1)}), flush=True)
        code = serve(node)
    except Stop:
        pass
    except (NodeStartError, ControlPlaneError, KubeApiError, OSError) as err:
        print(json.dumps({"error": str(err)}), flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if node is not None:
            node.stop()
        else:
            end_the_rest()
            remove_cgroups(args.cgroup)
    return code


if __name__ == "__main__":
    sys.exit(main())
