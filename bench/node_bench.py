"""The one-node cluster's figures: how long its pieces took to build and what they weigh, how long a start takes
(from nothing running to the node Ready, CoreDNS answering, the API server forwarded to the host), a pod's
time from create to Succeeded, the memory of the running set after --settle seconds, and a stop's time.

Everything built before (python3 toolchain/pulumi_toolchain.py, python3 images/build_images.py pause busybox);
each run starts a node in a fresh folder, twice by default (--runs), the second with its images and etcd
data kept (a restart).

    .venv/bin/python bench/node_bench.py [--runs 2] [--settle 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from stack_bench import toolchain_bin  # noqa: E402

from devtools import processes  # noqa: E402
from devtools.node import Node, default_images  # noqa: E402
from toolchain import cli, pins, stamps  # noqa: E402

NODE_PIECES = ("control-plane", "etcd", "kubelet", "containerd", "runc", "cni", "coredns")


def build_figures() -> None:
    settings = cli.settings_from(os.environ)
    print("| piece | last build | size of its outputs | outputs |")
    print("| --- | --- | --- | --- |")
    for piece in pins.pieces(settings.cli_fallbacks):
        if piece.name in NODE_PIECES:
            stamp = stamps.read(settings.stamps, piece.name)
            size = cli.size_of(settings, piece) or 0
            print(f"| {piece.name} | {stamp.seconds} s | {size / 1e6:.1f} MB | {' '.join(piece.outputs)} |")


def pod_seconds(node: Node, name: str, image: str) -> float:
    began = time.monotonic()
    subprocess.run(
        [
            str(node.kubectl),
            "run",
            name,
            "--image",
            image,
            "--image-pull-policy=Never",
            "--restart=Never",
            "--",
            "true",
        ],
        check=True,
        capture_output=True,
    )
    while True:
        phase = subprocess.run(
            [str(node.kubectl), "get", "pod", name, "-o", "jsonpath={.status.phase}"], capture_output=True, text=True
        ).stdout
        if phase in ("Succeeded", "Failed"):
            assert phase == "Succeeded", phase
            return time.monotonic() - began
        time.sleep(0.1)


def memory_by_program(pids: list[int]) -> list[tuple[str, processes.Memory]]:
    names: dict[int, str] = {}
    for pid in pids:
        try:
            names[pid] = (processes.PROC / str(pid) / "comm").read_text().strip()
        except OSError:
            pass
    by_name = Counter(names.values())
    return [
        (name, processes.memory_of([pid for pid, n in names.items() if n == name])) for name, _ in by_name.most_common()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--settle", type=float, default=30)
    args = parser.parse_args()
    build_figures()
    bin_dir = toolchain_bin()
    images = default_images(("pause", "busybox"))
    with tempfile.TemporaryDirectory(prefix="node-bench-") as work:
        folder = Path(work) / "node"
        for run in range(1, args.runs + 1):
            node = Node(folder, bin_dir, images["pause"], [images["busybox"].archive])
            with node:
                pod = pod_seconds(node, f"bench-{run}", images["busybox"].ref)
                time.sleep(args.settle)
                pids = node.pids()
                total = processes.memory_of(pids)
                print(f"\nrun {run}: start {node.started_in:.1f} s (to Ready, DNS up, API forwarded); pod {pod:.1f} s")
                print(f"memory after {args.settle:.0f} s: {total}")
                for name, memory in memory_by_program(pids):
                    print(f"  {name:<26} {memory}")
                began = time.monotonic()
            print(f"stop {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
