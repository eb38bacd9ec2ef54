"""A one-node Kubernetes cluster on this machine, in namespaces of its own: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, containerd with runc, kubelet and CoreDNS, as
toolchain/pulumi_toolchain.py builds them, with images imported from local OCI archives (no registry).

Where it runs. `unshare` makes a PID, a mount and a network namespace; their PID 1 is the node's supervisor
(devtools/node_inside.py), whose children are the servers. The network namespace holds `lo` and the bridge
`cni0` (10.244.0.1/24, the pods' gateway) and no uplink: traffic stays on its loopback and on pod addresses.
The `kubernetes` Service's cluster IP (10.0.0.1) and kube-dns's (10.0.0.10) are local addresses of the
namespace, where the API server (every address, port 443) and CoreDNS listen, so in-cluster clients
(KUBERNETES_SERVICE_HOST/PORT) and pods' DNS work without kube-proxy; other cluster IPs lead nowhere, and a
headless or selector-less Service resolves to its endpoints. The host reaches the cluster through
forwarders on its own 127.0.0.1 (devtools/forward.py): the API server's, whose port `kubeconfig` names,
and any other asked for with `forward()`.

What a stop leaves: nothing. The mounts (containers' root file systems, volumes, /run and /var of the
node) live in its mount namespace, kubelet's kernel settings are written to files bound over /proc/sys
there, and the processes are in its PID namespace: when its PID 1 ends, the kernel ends every one of
them, and the namespaces go with their last process. The cgroups under /sys/fs/cgroup/*/<cgroup>, one name
per start, are removed by the supervisor when it stops, and otherwise by a reaper: a process of its own
session, started with the node, that waits for the node's `unshare` to end (a stop, or the starter killed,
taking the supervisor with it) and then removes them and ends the forwarders. A start also removes what a
previous start left if its reaper was killed too.

For tests, a context manager whose processes die with the process that started them, even when it is
killed (the reaper then cleans up):

    with Node(folder, bin_dir, sandbox=pause_image, images=[...]) as node:
        subprocess.run([node.kubectl, "get", "nodes"])       # or kubectl --kubeconfig node.kubeconfig
        port = node.forward("airflow-api-server.airflow.svc.cluster.local", 8080, 58080)

For people, a command that leaves it running (state in the folder, kept across restarts):

    BIN="$(python3 toolchain/pulumi_toolchain.py --print-bin)"
    python -m devtools.node start --dir .local/node --bin "$BIN" [--image ARCHIVE]...
    .local/node/kubectl get pods -A
    python -m devtools.node stop|status --dir .local/node
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devtools import node_config as cfg
from devtools import processes
from devtools.control_plane import exit_with_parent, kubeconfig
from devtools.node_inside import remove_cgroups
from devtools.pki import ensure_pki

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 240
STOP_TIMEOUT_SECONDS = 60
# The folders the node mounts over inside its namespace: its own files cannot live there.
MOUNTED_OVER = (Path("/run"), Path("/var"))
SOCKET_PATH_MAX = 107  # sun_path, less its terminating zero


class NodeError(RuntimeError):
    pass


@dataclass(frozen=True)
class Image:
    ref: str
    archive: Path


def default_images(names: Sequence[str] = ("pause",)) -> dict[str, Image]:
    """The images of images/build_images.py, built when missing (pause is the node's sandbox image)."""
    from images.cli import ensure

    return {name: Image(stamp.ref, Path(stamp.archive)) for name, stamp in ensure(list(names)).items()}


def check_folder(folder: Path) -> None:
    for mounted in MOUNTED_OVER:
        if folder == mounted or mounted in folder.parents:
            raise NodeError(f"the node's folder {folder} is under {mounted}, which the node mounts over")
    socket = cfg.NodePaths(folder).containerd_socket
    if len(str(socket)) > SOCKET_PATH_MAX:
        raise NodeError(f"the node's folder {folder} is too deep: {socket} exceeds a socket path's 107 bytes")


def unshare_command(folder: Path, bin_dir: Path, cgroup: str, sandbox: Image, images: Sequence[Path]) -> list[str]:
    """The supervisor as PID 1 of new PID, mount (with its own /proc) and network namespaces; `unshare`
    SIGKILLs it when it ends itself, and the kernel then every process of the PID namespace."""
    inside = [sys.executable, "-m", "devtools.node_inside", "--dir", str(folder), "--bin", str(bin_dir)]
    inside += ["--cgroup", cgroup, "--sandbox", sandbox.ref]
    for archive in [sandbox.archive, *images]:
        inside += ["--image", str(archive)]
    return ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount", "--mount-proc", "--net", "--", *inside]


def child_of(pid: int) -> int | None:
    """The one child of `pid` (unshare's: the supervisor), as the host numbers it."""
    try:
        children = (processes.PROC / str(pid) / "task" / str(pid) / "children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def read_line(process: subprocess.Popen, timeout: float) -> dict | None:
    """The JSON line the process prints first; None when it ends or the time runs out before."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        return None
    line = process.stdout.readline()
    return json.loads(line) if line.strip() else None


@dataclass
class State:
    """What a started node is made of, in <folder>/state.json: for stop, status and the reaper. Each pid
    is recorded with its start time, so a later process that reuses the number is never taken for it."""

    cgroup: str
    unshare: int = 0  # the pid of `unshare`, whose child is the supervisor
    supervisor: int = 0
    reaper: int = 0
    forwarders: tuple[int, ...] = ()
    api_port: int = 0
    started: dict[str, str] = field(default_factory=dict)  # pid -> start time (processes.start_time)

    def record(self, pid: int) -> int:
        self.started[str(pid)] = processes.start_time(pid) or ""
        return pid

    def alive(self, pid: int) -> bool:
        """Whether the process `pid` this state recorded runs (a zombie does not)."""
        return bool(pid) and processes.alive(pid) and processes.start_time(pid) == self.started.get(str(pid))

    @staticmethod
    def path(folder: Path) -> Path:
        return folder / "state.json"

    def save(self, folder: Path) -> None:
        tmp = folder / "state.json.tmp"
        tmp.write_text(json.dumps({**self.__dict__, "forwarders": list(self.forwarders)}))
        os.replace(tmp, self.path(folder))

    @classmethod
    def load(cls, folder: Path) -> State | None:
        try:
            data = json.loads(cls.path(folder).read_text())
        except FileNotFoundError:
            return None
        return cls(**{**data, "forwarders": tuple(data.get("forwarders", ()))})


def clean_up(state: State) -> list[Path]:
    """What a node leaves once its namespaces are gone: its cgroups (the forwarders end with the node by
    themselves; waited for here). Returns the cgroups that could not be removed."""
    deadline = time.monotonic() + 10
    while any(state.alive(pid) for pid in state.forwarders) and time.monotonic() < deadline:
        time.sleep(0.1)
    return remove_cgroups(state.cgroup, timeout=STOP_TIMEOUT_SECONDS)


def reap(folder: Path, cgroup: str, unshare: int) -> int:
    """The reaper: waits for the node's unshare to end, then cleans up after it."""
    try:
        pidfd = os.pidfd_open(unshare)
    except ProcessLookupError:
        pidfd = None
    if pidfd is not None:
        select.select([pidfd], [], [])
    state = State.load(folder)
    if state is None or state.cgroup != cgroup:
        state = State(cgroup)
    left = clean_up(state)
    if left:
        print(f"cgroups not removed: {' '.join(map(str, left))}", file=sys.stderr, flush=True)
        return 1
    return 0


class Node:
    """The cluster with its state and logs in `folder` (logs/: one file per server, node.log the
    supervisor's)."""

    def __init__(
        self,
        folder: Path,
        bin_dir: Path,
        sandbox: Image,
        images: Sequence[Path] = (),
        *,
        die_with_parent: bool = True,
    ) -> None:
        self.folder = folder.resolve()
        self.bin_dir = bin_dir
        self.sandbox = sandbox
        self.images = list(images)
        self.die_with_parent = die_with_parent
        self.state: State | None = None
        self.started_in: float | None = None
        self._unshare: subprocess.Popen | None = None

    @property
    def kubeconfig(self) -> Path:
        """The admin's kubeconfig for the host: the API server through its forwarder."""
        return self.folder / "kubeconfig"

    @property
    def kubectl(self) -> Path:
        """A kubectl for the host: kubectl with this kubeconfig and a discovery cache of its own."""
        return self.folder / "kubectl"

    @property
    def containerd_socket(self) -> Path:
        return cfg.NodePaths(self.folder).containerd_socket

    def __enter__(self) -> Node:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def _popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=exit_with_parent if self.die_with_parent else None,
            **kwargs,
        )

    def start(self) -> Node:
        begin = time.monotonic()
        check_folder(self.folder)
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)
        self.clean_up_after_a_previous_start()
        ensure_pki(self.folder / "pki")
        cgroup = f"yellow-node-{secrets.token_hex(4)}"
        self.state = State(cgroup)
        self.state.save(self.folder)
        with (self.folder / "logs" / "node.log").open("ab") as log:
            command = unshare_command(self.folder, self.bin_dir, cgroup, self.sandbox, self.images)
            self._unshare = self._popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        self.state.unshare = self.state.record(self._unshare.pid)
        with (self.folder / "logs" / "reaper.log").open("ab") as log:
            reaper = [sys.executable, "-m", "devtools.node", "reap", "--dir", str(self.folder)]
            reaper += ["--cgroup", cgroup, "--pid", str(self._unshare.pid)]
            # Not tied to the starter: it must outlive it.
            self.state.reaper = self.state.record(
                subprocess.Popen(
                    reaper, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
                ).pid
            )
        self.state.save(self.folder)

        ready = read_line(self._unshare, START_TIMEOUT_SECONDS)
        if not ready or "ready" not in ready:
            why = (ready or {}).get("error") or f"not ready after {START_TIMEOUT_SECONDS} s"
            raise NodeError(f"the node did not start: {why}\n{processes.log_tail(self.folder / 'logs' / 'node.log')}")
        supervisor = child_of(self._unshare.pid)
        if supervisor is None:
            raise NodeError("the node's supervisor is gone")
        self.state.supervisor = self.state.record(supervisor)
        self.state.api_port = self.forward("127.0.0.1", cfg.API_PORT)
        self.state.save(self.folder)
        self.write_host_files()
        self.started_in = time.monotonic() - begin
        return self

    def write_host_files(self) -> None:
        assert self.state is not None
        pki = ensure_pki(self.folder / "pki")
        server = f"https://127.0.0.1:{self.state.api_port}"
        self.kubeconfig.write_text(kubeconfig(server, pki.ca.cert, pki.admin, "yellow-admin"))
        cache = self.folder / "kube-cache"
        self.kubectl.write_text(
            "#!/bin/sh\n# kubectl against the local node (its API server's port changes at each start).\n"
            f"KUBECACHEDIR={shlex.quote(str(cache))} exec kubectl --kubeconfig {shlex.quote(str(self.kubeconfig))}"
            ' "$@"\n'
        )
        self.kubectl.chmod(0o755)

    def forward(self, host: str, port: int, local_port: int = 0) -> int:
        """Forwards the host's 127.0.0.1:local_port (0: a free one) to host:port inside the node's network
        namespace (an address there, or a name the cluster's DNS answers); returns the local port. The
        forwarder ends with the node."""
        if self.state is None or not self.state.supervisor:
            raise NodeError("the node is not running")
        argv = [sys.executable, "-m", "devtools.forward", "--netns", f"/proc/{self.state.supervisor}/ns/net"]
        argv += ["--watch", str(self.state.supervisor), "--dns", cfg.DNS_SERVICE_IP, f"{local_port}={host}:{port}"]
        with (self.folder / "logs" / "forward.log").open("ab") as log:
            forwarder = self._popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
        answer = read_line(forwarder, 30)
        if not answer or "ports" not in answer:
            processes.terminate([forwarder.pid], 5)
            raise NodeError(
                f"forwarding to {host}:{port}: {(answer or {}).get('error', 'the forwarder did not start')}"
            )
        self.state.forwarders = (*self.state.forwarders, self.state.record(forwarder.pid))
        self.state.save(self.folder)
        return int(answer["ports"][0])

    def import_image(self, archive: Path) -> None:
        """Imports an OCI image archive into containerd's k8s.io namespace, where kubelet finds images."""
        ctr = [str(self.bin_dir / "ctr"), "-a", str(self.containerd_socket), "-n", "k8s.io"]
        completed = subprocess.run(
            [*ctr, "images", "import", "--platform", "linux/amd64", str(archive)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if completed.returncode != 0:
            raise NodeError(f"ctr images import {archive}: {completed.stderr.strip()}")

    def pids(self) -> list[int]:
        """Every process of the node that runs now: its namespaces' and its forwarders (for memory)."""
        if self.state is None:
            return []
        found = processes.descendants(self.state.unshare) if self.state.alive(self.state.unshare) else []
        return found + [pid for pid in self.state.forwarders if self.state.alive(pid)]

    def clean_up_after_a_previous_start(self) -> None:
        previous = State.load(self.folder)
        if previous is None:
            return
        if previous.alive(previous.unshare):
            raise NodeError(f"a node already runs in {self.folder} (stop it: python -m devtools.node stop)")
        clean_up(previous)
        State.path(self.folder).unlink(missing_ok=True)

    def stop(self) -> None:
        """Stops what this object started (nothing when its start failed before starting anything)."""
        if self.state is None:
            return
        stop_node(self.folder, self.state, self._unshare)
        self.state = None
        self._unshare = None


def stop_node(folder: Path, state: State, unshare: subprocess.Popen | None = None) -> None:
    """SIGTERM to the supervisor, which stops the servers, ends the namespace's other processes and removes
    the cgroups; SIGKILL to unshare (and so to all of it) when that takes too long. Then the reaper's
    cleanup, whether or not it is still there to do it."""

    def unshare_runs() -> bool:
        if unshare is not None:
            unshare.poll()  # collects its exit: a zombie would still hold its pid
        return state.alive(state.unshare)

    if state.alive(state.supervisor):
        os.kill(state.supervisor, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while unshare_runs() and time.monotonic() < deadline:
        time.sleep(0.1)
    if unshare_runs():
        os.kill(state.unshare, signal.SIGKILL)
        while unshare_runs():
            time.sleep(0.1)
    clean_up(state)
    if state.alive(state.reaper):
        processes.terminate([state.reaper], 10)
    State.path(folder).unlink(missing_ok=True)


def running(folder: Path) -> bool:
    state = State.load(folder)
    return state is not None and state.alive(state.supervisor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.node", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("start", "stop", "status", "reap"))
    parser.add_argument("--dir", required=True, type=Path, help="folder for the node's state and logs")
    parser.add_argument("--bin", type=Path, help="for start: the toolchain's bin folder")
    parser.add_argument("--image", type=Path, action="append", default=[], help="for start: an archive to import")
    parser.add_argument("--cgroup", help=argparse.SUPPRESS)
    parser.add_argument("--pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.dir.resolve()
    if args.action == "reap":
        return reap(folder, args.cgroup, args.pid)
    if args.action == "start":
        if args.bin is None:
            parser.error("start needs --bin")
        if running(folder):
            print(f"node already running; kubectl: {folder / 'kubectl'}")
            return 0
        node = Node(folder, args.bin, default_images()["pause"], args.image, die_with_parent=False)
        try:
            node.start()
        except NodeError as err:
            node.stop()
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(
            f"node running (ready in {node.started_in:.1f} s); kubectl: {node.kubectl}; kubeconfig: {node.kubeconfig}"
        )
    elif args.action == "stop":
        state = State.load(folder)
        if state is not None:
            stop_node(folder, state)
        print("node stopped")
    else:
        alive = running(folder)
        print("running" if alive else "stopped")
        return 0 if alive else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
