"""What the preview workflow reads from the committed stack files, so it never restates a name.

python -m devtools.stack_files cluster-stacks     JSON list of the stacks the workflow previews
python -m devtools.stack_files forward <stack>    namespace=, service=, admin-port= lines for
                                                  $GITHUB_OUTPUT: where `kubectl port-forward`
                                                  reaches the stack's merge database
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from components.project_file import DEFAULTS, PROJECT

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
LOCAL_STACK = "local"  # deploys to the control plane scripts/run_local.sh starts, not to a cluster


def stack_config(stack: str, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """The stack file's values of this project's keys, with Pulumi.yaml's defaults under them."""
    document = yaml.safe_load((config_dir / f"Pulumi.{stack}.yaml").read_text()) or {}
    prefix = PROJECT + ":"
    own = {key[len(prefix) :]: value for key, value in (document.get("config") or {}).items() if key.startswith(prefix)}
    return {**DEFAULTS, **own}


def cluster_stacks(config_dir: Path = CONFIG_DIR) -> list[str]:
    stacks = (path.name[len("Pulumi.") : -len(".yaml")] for path in config_dir.glob("Pulumi.*.yaml"))
    return sorted(stack for stack in stacks if stack != LOCAL_STACK)


def port_forward(config: dict[str, Any]) -> dict[str, str]:
    """`mergeDbHost` is `<service>.<namespace>.svc...`; the forward listens where `adminPort` expects it."""
    missing = [key for key in ("mergeDbHost", "adminPort") if config.get(key) in (None, "")]
    if missing:
        raise ValueError(f"the stack file sets no {' and no '.join(missing)}")
    host = str(config["mergeDbHost"])
    labels = host.split(".")
    if len(labels) < 3 or labels[2] != "svc":
        raise ValueError(f"mergeDbHost {host!r} is not a cluster service name (<service>.<namespace>.svc...)")
    return {"namespace": labels[1], "service": labels[0], "admin-port": str(config["adminPort"])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("cluster-stacks")
    commands.add_parser("forward").add_argument("stack")
    args = parser.parse_args(argv)
    if args.command == "cluster-stacks":
        print(json.dumps(cluster_stacks()))
    else:
        for key, value in port_forward(stack_config(args.stack)).items():
            print(f"{key}={value}")


if __name__ == "__main__":
    main()
