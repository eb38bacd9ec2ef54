"""Keeps the local Airflow's dags folder equal to what the workloads' ConfigMap volumes project, as a kubelet
keeps a mounted ConfigMap up to date: a `pulumi up` that changes the ConfigMap reaches the dag-processor
within one interval, and a file is only rewritten when its content changed.

    python -m devtools.dag_sync --kubeconfig FILE --namespace NS --workload Deployment/airflow-scheduler \
        --dags DIR [--interval 10] [--once]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.kubelet_view import WorkloadRef, read_namespace

DEFAULT_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class SyncPlan:
    write: dict[str, str]  # relative path -> content
    remove: list[str]

    @property
    def empty(self) -> bool:
        return not self.write and not self.remove


def sync_plan(current: dict[str, str], wanted: dict[str, str]) -> SyncPlan:
    """What turns the folder's files into exactly the projected ones."""
    write = {path: content for path, content in wanted.items() if current.get(path) != content}
    return SyncPlan(write=write, remove=sorted(set(current) - set(wanted)))


def folder_files(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8", errors="replace")
        for path in folder.rglob("*")
        if path.is_file()
    }


def apply_plan(folder: Path, plan: SyncPlan) -> None:
    """Each file replaced in one rename, so a parser never reads half of it; the temporary name does not end
    in `.py`, so the dag-processor never lists it."""
    for relative, content in plan.write.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    for relative in plan.remove:
        (folder / relative).unlink(missing_ok=True)
    for directory in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def sync_once(kubeconfig: Path, namespace: str, workloads: list[WorkloadRef], folder: Path) -> SyncPlan:
    wanted = read_namespace(kubeconfig, namespace, workloads).dag_files()
    plan = sync_plan(folder_files(folder), wanted)
    apply_plan(folder, plan)
    return plan


def describe(plan: SyncPlan) -> str:
    return ", ".join([f"wrote {p}" for p in sorted(plan.write)] + [f"removed {p}" for p in plan.remove])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.dag_sync", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--workload", action="append", required=True, type=WorkloadRef.parse)
    parser.add_argument("--dags", type=Path, required=True, help="the local dags folder this process owns")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_SECONDS)
    parser.add_argument("--once", action="store_true", help="sync once and exit")
    args = parser.parse_args(argv)
    if args.once:
        print(describe(sync_once(args.kubeconfig, args.namespace, args.workload, args.dags)) or "unchanged")
        return 0
    while True:
        try:
            plan = sync_once(args.kubeconfig, args.namespace, args.workload, args.dags)
            if not plan.empty:
                print(f"{time.strftime('%H:%M:%S')} {describe(plan)}", flush=True)
        except Exception as err:  # the files stay as they are, as a kubelet keeps a volume it cannot refresh
            print(f"{time.strftime('%H:%M:%S')} cannot read the API server: {err}", flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
