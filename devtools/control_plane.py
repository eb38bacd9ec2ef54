"""A local Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager as
toolchain/pulumi_toolchain.py builds them from Go modules. No kubelet and no container runtime: Deployments
with replicas 0 roll out (the controller-manager updates their status), pods stay Pending.

RBAC is on; the admin kubeconfig (`<folder>/admin.kubeconfig`) authenticates with a client certificate
in `system:masters`. Ports are picked free on 127.0.0.1 at each start.

For tests, a context manager whose processes die with the process that started them, even when it is
killed:

    with ControlPlane(folder, bin_dir) as cluster:
        run kubectl --kubeconfig cluster.kubeconfig ...

The one-node cluster (devtools/node.py) runs the same three servers inside its namespaces, with a
`Layout` of its own (fixed ports, the API server on every address of its network namespace, the Node
authorizer).

For people, a command that leaves the control plane running (state in <folder>, kept across restarts):

    BIN="$(python3 toolchain/pulumi_toolchain.py --print-bin)"
    python -m devtools.control_plane start --dir .local/kube --bin "$BIN"
    python -m devtools.control_plane stop|status --dir .local/kube
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools import processes
from devtools.net import free_ports
from devtools.pki import ControlPlanePki, Pair, ensure_pki

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15
PROCESSES = ("etcd", "kube-apiserver", "kube-controller-manager")
_PR_SET_PDEATHSIG = 1


class ControlPlaneError(RuntimeError):
    pass


def exit_with_parent() -> None:
    """In the child before exec: the kernel kills it when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def kubectl_env(kubeconfig_path: Path) -> dict[str, str]:
    """The environment for kubectl against this control plane: its discovery cache beside the kubeconfig
    (kubectl writes one under ~/.kube/cache otherwise)."""
    return {**os.environ, "KUBECACHEDIR": str(kubeconfig_path.parent / "kube-cache")}


def kubeconfig(server: str, ca: Path, client: Pair, user: str) -> str:
    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "yellow-local",
            "clusters": [
                {"name": "yellow-local", "cluster": {"server": server, "certificate-authority-data": b64(ca)}}
            ],
            "users": [
                {
                    "name": user,
                    "user": {"client-certificate-data": b64(client.cert), "client-key-data": b64(client.key)},
                }
            ],
            "contexts": [{"name": "yellow-local", "context": {"cluster": "yellow-local", "user": user}}],
        },
        indent=2,
    )


@dataclass(frozen=True)
class Layout:
    """Where the servers listen, and what the API server adds for a cluster with a node."""

    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    controller_manager_port: int
    apiserver_bind: str = "127.0.0.1"
    advertise_address: str = "127.0.0.1"
    apiserver_extra: tuple[str, ...] = field(default=())

    @classmethod
    def on_loopback(cls) -> Layout:
        """Free ports on the host's 127.0.0.1, chosen together (two servers never get the same one)."""
        etcd, etcd_peer, apiserver, controller_manager = free_ports(4)
        return cls(etcd, etcd_peer, apiserver, controller_manager)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"


def etcd_args(data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    return [
        "--name=local",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=local={peer}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def apiserver_args(pki: ControlPlanePki, folder: Path, layout: Layout) -> list[str]:
    loopback_only = layout.advertise_address == "127.0.0.1"
    return [
        f"--etcd-servers=http://127.0.0.1:{layout.etcd_port}",
        f"--bind-address={layout.apiserver_bind}",
        f"--secure-port={layout.apiserver_port}",
        f"--advertise-address={layout.advertise_address}",
        f"--cert-dir={folder / 'apiserver-certs'}",
        f"--tls-cert-file={pki.server.cert}",
        f"--tls-private-key-file={pki.server.key}",
        f"--client-ca-file={pki.ca.cert}",
        "--authorization-mode=RBAC" if loopback_only else "--authorization-mode=Node,RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        # Otherwise it refuses 127.0.0.1 as the endpoint of the `kubernetes` Service.
        *(["--endpoint-reconciler-type=none"] if loopback_only else []),
        f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki.front_proxy_client.cert}",
        f"--proxy-client-key-file={pki.front_proxy_client.key}",
        *layout.apiserver_extra,
        # With a node: its kubelet's API (logs, exec) authenticates the API server by this certificate.
        *(
            []
            if loopback_only
            else [
                f"--kubelet-client-certificate={pki.apiserver_kubelet_client.cert}",
                f"--kubelet-client-key={pki.apiserver_kubelet_client.key}",
            ]
        ),
    ]


def controller_manager_args(pki: ControlPlanePki, folder: Path, port: int) -> list[str]:
    return [
        f"--kubeconfig={folder / 'controller-manager.kubeconfig'}",
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        "--controllers=*",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--root-ca-file={pki.ca.cert}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={folder / 'controller-manager-certs'}",
        # Otherwise it creates directories under /usr/libexec.
        f"--flex-volume-plugin-dir={folder / 'flexvolume'}",
    ]


class ControlPlane:
    """etcd, kube-apiserver and kube-controller-manager with their state and logs in `folder`."""

    def __init__(
        self, folder: Path, bin_dir: Path, *, die_with_parent: bool = True, layout: Layout | None = None
    ) -> None:
        self.folder = folder.resolve()
        self.bin_dir = bin_dir
        self.die_with_parent = die_with_parent
        self.fixed_layout = layout
        self.layout: Layout | None = layout
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_in: float | None = None

    @property
    def ports(self) -> dict[str, int]:
        layout = self._layout()
        return {
            "etcd": layout.etcd_port,
            "etcd-peer": layout.etcd_peer_port,
            "apiserver": layout.apiserver_port,
            "controller-manager": layout.controller_manager_port,
        }

    def _layout(self) -> Layout:
        if self.layout is None:
            raise ControlPlaneError("the control plane is not started")
        return self.layout

    @property
    def kubeconfig(self) -> Path:
        return self.folder / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return self._layout().server

    def __enter__(self) -> ControlPlane:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        begin = time.monotonic()
        pki = ensure_pki(self.folder / "pki")
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)
        self.layout = self.fixed_layout or Layout.on_loopback()
        self.kubeconfig.write_text(kubeconfig(self.server, pki.ca.cert, pki.admin, "yellow-admin"))
        (self.folder / "controller-manager.kubeconfig").write_text(
            kubeconfig(self.server, pki.ca.cert, pki.controller_manager, "system:kube-controller-manager")
        )

        self._spawn("etcd", etcd_args(self.folder / "etcd-data", self.ports["etcd"], self.ports["etcd-peer"]))
        self.wait("etcd", f"http://127.0.0.1:{self.ports['etcd']}/health", None)
        self.start_apiserver()
        self._spawn(
            "kube-controller-manager", controller_manager_args(pki, self.folder, self.ports["controller-manager"])
        )
        self.wait(
            "kube-controller-manager",
            f"https://127.0.0.1:{self.ports['controller-manager']}/healthz",
            self.insecure_tls(),
        )
        self.started_in = time.monotonic() - begin
        return self

    def start_apiserver(self) -> None:
        """Starts kube-apiserver on its port (again, after stop_apiserver) and waits until it is ready."""
        pki = ensure_pki(self.folder / "pki")
        self._spawn("kube-apiserver", apiserver_args(pki, self.folder, self._layout()))
        self.wait("kube-apiserver", f"{self.server}/readyz", self.client_tls(pki))

    def stop_apiserver(self) -> None:
        """Stops kube-apiserver alone, as an outage of the cluster's endpoint; etcd keeps the state."""
        stop_process(self.processes.pop("kube-apiserver").pid)

    def _spawn(self, name: str, args: list[str]) -> None:
        self.spawn(name, self.bin_dir / name, args)

    def spawn(self, name: str, binary: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        """Starts a server of the cluster, its output in logs/<name>.log; stop() ends it with the others."""
        if not binary.exists():
            raise ControlPlaneError(f"{binary} not found: build it with python3 toolchain/pulumi_toolchain.py")
        log = (self.folder / "logs" / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(binary), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=exit_with_parent if self.die_with_parent else None,
        )
        log.close()

    @staticmethod
    def client_tls(pki: ControlPlanePki) -> ssl.SSLContext:
        """TLS as the admin, verifying the API server against the cluster's CA."""
        context = ssl.create_default_context(cafile=str(pki.ca.cert))
        context.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))
        return context

    @staticmethod
    def insecure_tls() -> ssl.SSLContext:
        """For /healthz of the servers that serve it with a certificate they generate for themselves."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def wait(
        self, name: str, url: str, context: ssl.SSLContext | None, until: Callable[[], bool] | None = None
    ) -> None:
        """Until `url` answers 200 (and `until()` holds), failing when the process exits meanwhile."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        last_error = ""
        while time.monotonic() < deadline:
            code = self.processes[name].poll()
            if code is not None:
                raise ControlPlaneError(f"{name} exited with {code} while starting:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(url, timeout=5, context=context) as response:
                    if response.status == 200 and (until is None or until()):
                        return
            except OSError as err:
                last_error = str(err)
            time.sleep(0.2)
        raise ControlPlaneError(
            f"{name} not ready at {url} after {READY_TIMEOUT_SECONDS} s ({last_error}):\n{self.log_tail(name)}"
        )

    def log_tail(self, name: str) -> str:
        return processes.log_tail(self.folder / "logs" / f"{name}.log")

    def stop(self) -> None:
        """Stops every process this object started, newest first; kills what does not stop in time."""
        for name in reversed(list(self.processes)):
            stop_process(self.processes.pop(name).pid)

    # --- the command's detached mode: pids and ports in <folder>/state.json -----------------------------

    def save_state(self) -> None:
        state = {"pids": {n: p.pid for n, p in self.processes.items()}, "ports": self.ports}
        (self.folder / "state.json").write_text(json.dumps(state))


def stop_process(pid: int) -> None:
    """SIGTERM to the process's session, then SIGKILL to what is left of it after STOP_TIMEOUT_SECONDS."""
    processes.terminate([pid], STOP_TIMEOUT_SECONDS)


def load_state(folder: Path) -> dict:
    path = folder / "state.json"
    return json.loads(path.read_text()) if path.exists() else {"pids": {}, "ports": {}}


def running(folder: Path) -> bool:
    pids = load_state(folder)["pids"]
    return bool(pids) and all(processes.alive(pid) for pid in pids.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.control_plane",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--dir", required=True, type=Path, help="folder for certificates, etcd data and logs")
    parser.add_argument(
        "--bin",
        type=Path,
        help="for start: folder holding etcd, kube-apiserver and kube-controller-manager "
        "(python3 toolchain/pulumi_toolchain.py --print-bin)",
    )
    args = parser.parse_args(argv)
    if args.action == "start" and args.bin is None:
        parser.error("start needs --bin")
    folder = args.dir.resolve()
    kubeconfig_path = folder / "admin.kubeconfig"
    if args.action == "start":
        if running(folder):
            print(f"control plane already running; kubeconfig: {kubeconfig_path}")
            return 0
        cluster = ControlPlane(folder, args.bin, die_with_parent=False)
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            raise
        cluster.save_state()
        print(
            f"control plane running at {cluster.server} (ready in {cluster.started_in:.1f} s); "
            f"kubeconfig: {kubeconfig_path}"
        )
    elif args.action == "stop":
        for pid in reversed(list(load_state(folder)["pids"].values())):
            stop_process(pid)
        (folder / "state.json").unlink(missing_ok=True)
        print("control plane stopped")
    else:
        alive = running(folder)
        print("running" if alive else "stopped")
        return 0 if alive else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
