"""A KubernetesExecutor worker pod template as the Airflow Helm chart makes it (its
`files/pod-template-file.kubernetes-helm-yaml`, which the chart stores in its config ConfigMap under
`pod_template_file.yaml` and names in `[kubernetes_executor] pod_template_file`).

What matters to the factory: one container `base` (the container KubernetesExecutor runs the task in and a
`pod_override` merges into), `AIRFLOW__CORE__EXECUTOR=LocalExecutor` inside the worker, the chart's standard
env (metadata connection, fernet key, JWT secret) from the chart's Secrets, the `logs` volume and the chart's
`config` ConfigMap with `airflow.cfg`, `restartPolicy: Never`, the worker service account; and no `dags`
volume (the chart adds one only with gitSync or DAG persistence). So the template brings neither the factory
DAG file nor the merge database: only each task's `pod_override` does.
"""

from __future__ import annotations

from typing import Any

RELEASE = "airflow"
AIRFLOW_IMAGE = "apache/airflow:3.3.2"
AIRFLOW_HOME = "/opt/airflow"
WORKER_SERVICE_ACCOUNT = f"{RELEASE}-worker"


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def chart_pod_template(namespace: str, image: str = AIRFLOW_IMAGE) -> dict[str, Any]:
    """The worker pod template the chart renders for release `airflow` into `namespace`."""
    labels = {"tier": "airflow", "component": "worker", "release": RELEASE}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "placeholder-name", "namespace": namespace, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "base",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": [],
                    "env": [
                        {"name": "AIRFLOW__CORE__EXECUTOR", "value": "LocalExecutor"},
                        {"name": "AIRFLOW_HOME", "value": AIRFLOW_HOME},
                        _secret_env("AIRFLOW__CORE__FERNET_KEY", f"{RELEASE}-fernet-key", "fernet-key"),
                        _secret_env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"{RELEASE}-metadata", "connection"),
                        _secret_env("AIRFLOW_CONN_AIRFLOW_DB", f"{RELEASE}-metadata", "connection"),
                        _secret_env("AIRFLOW__API_AUTH__JWT_SECRET", f"{RELEASE}-jwt-secret", "jwt-secret"),
                    ],
                    "volumeMounts": [
                        {"name": "logs", "mountPath": f"{AIRFLOW_HOME}/logs"},
                        {
                            "name": "config",
                            "mountPath": f"{AIRFLOW_HOME}/airflow.cfg",
                            "subPath": "airflow.cfg",
                            "readOnly": True,
                        },
                    ],
                }
            ],
            "restartPolicy": "Never",
            "serviceAccountName": WORKER_SERVICE_ACCOUNT,
            "securityContext": {"runAsUser": 50000, "fsGroup": 0},
            "volumes": [
                {"name": "logs", "emptyDir": {}},
                {"name": "config", "configMap": {"name": f"{RELEASE}-config"}},
            ],
        },
    }
