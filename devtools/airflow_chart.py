"""What the Airflow Helm chart leaves in a namespace before any stack patches it: the namespace and the
Deployments `airflow-scheduler` and `airflow-dag-processor`, each with its own container, env var and
`dags` volume, applied server-side under the chart's field manager. Replicas 0, so rollouts complete on a
control plane without a kubelet.

    python -m devtools.airflow_chart --kubeconfig FILE --namespace NS
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.control_plane import kubectl_env

FIELD_MANAGER = "helm"
AIRFLOW_IMAGE = "apache/airflow:3.3.2"
# Deployment name -> container name, as the committed stacks' airflowWorkloads name them.
WORKLOADS = {"airflow-scheduler": "airflow-scheduler", "airflow-dag-processor": "dag-processor"}


def chart_manifests(namespace: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/managed-by": "Helm", "release": "airflow"}
    manifests: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}
    ]
    for deployment, container in WORKLOADS.items():
        selector = {"component": deployment.removeprefix("airflow-"), "release": "airflow"}
        manifests.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": deployment, "namespace": namespace, "labels": labels},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": selector},
                        "spec": {
                            "containers": [
                                {
                                    "name": container,
                                    "image": AIRFLOW_IMAGE,
                                    "env": [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "KubernetesExecutor"}],
                                    "volumeMounts": [{"name": "dags", "mountPath": "/opt/airflow/dags"}],
                                }
                            ],
                            "volumes": [{"name": "dags", "emptyDir": {}}],
                        },
                    },
                },
            }
        )
    return manifests


def apply_chart(kubeconfig: Path, namespace: str) -> None:
    """Apply the manifests as the chart would, and wait until the Deployments have rolled out."""
    documents = {"apiVersion": "v1", "kind": "List", "items": chart_manifests(namespace)}
    _kubectl(
        kubeconfig, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-", stdin=json.dumps(documents)
    )
    for deployment in WORKLOADS:
        _kubectl(kubeconfig, "-n", namespace, "rollout", "status", f"deployment/{deployment}", "--timeout=60s")


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> None:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        text=True,
        env=kubectl_env(kubeconfig),
        capture_output=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.airflow_chart",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    args = parser.parse_args(argv)
    apply_chart(args.kubeconfig, args.namespace)
    print(f"Airflow chart objects applied in namespace {args.namespace}: {', '.join(WORKLOADS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
