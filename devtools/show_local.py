"""Shows what `pulumi up` deployed on the local stack: the objects in the local control plane (or the
rendered manifests), the DAG file, the table's rows, and, when the Airflow environment exists, what the
factory DAG builds from those rows.

    MERGE_DB_PASSWORD=... python -m devtools.show_local --kubeconfig .local/kube/admin.kubeconfig \
        --namespace datasurface-local --table yellowlive_airflow_dsg --login-user yellowlive_airflow
    MERGE_DB_PASSWORD=... python -m devtools.show_local --manifests build/manifests/local ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import yaml

from devtools.control_plane import kubectl_env

REPO_ROOT = Path(__file__).resolve().parent.parent


def rendered_documents(manifests: Path) -> list[tuple[Path, dict]]:
    documents = []
    for path in sorted(manifests.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path, document))
    return documents


def cluster_documents(kubeconfig: Path, namespace: str) -> list[tuple[str, dict]]:
    """The namespace's workloads, ConfigMaps and Secrets as the API server holds them."""
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "-n", namespace, "get",
         "deployments,statefulsets,configmaps,secrets", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=kubectl_env(kubeconfig),
    )  # fmt: skip
    return [("API server", item) for item in json.loads(result.stdout)["items"]]


def extract_dag_files(documents: list[tuple[Any, dict]], target: Path) -> list[Path]:
    """Write each factory-DAG ConfigMap's files where Airflow would see them: <target>/<file>."""
    written = []
    for _, document in documents:
        if document.get("kind") == "ConfigMap":
            for name, content in (document.get("data") or {}).items():
                if name.endswith("_factory_dag.py"):
                    path = target / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(content)
                    written.append(path)
    return written


def workload_env(documents: list[tuple[Any, dict]]) -> dict[str, str]:
    """The plain DATASURFACE_* env vars the patches give Airflow (credentials are references, resolved
    separately; the chart's own variables are not the factory's)."""
    env = {}
    for _, document in documents:
        if document.get("kind") in ("Deployment", "StatefulSet"):
            for container in document["spec"]["template"]["spec"]["containers"]:
                env.update(
                    {
                        e["name"]: e["value"]
                        for e in container.get("env", [])
                        if "value" in e and e["name"].startswith("DATASURFACE_")
                    }
                )
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifests", type=Path, help="folder of rendered manifests")
    source.add_argument("--kubeconfig", type=Path, help="kubeconfig of the cluster the stack applied to")
    parser.add_argument("--namespace", default="datasurface-local", help="with --kubeconfig: the stack's namespace")
    parser.add_argument("--dags", type=Path, default=REPO_ROOT / "build" / "local-dags")
    parser.add_argument("--table", default="yellowlive_airflow_dsg")
    parser.add_argument("--login-user", required=True)
    parser.add_argument("--credential", default="postgres")
    parser.add_argument(
        "--password-env", default="MERGE_DB_PASSWORD", help="environment variable holding the login role's password"
    )
    args = parser.parse_args(argv)

    documents: list[tuple[Any, dict]]
    if args.kubeconfig:
        documents = list(cluster_documents(args.kubeconfig, args.namespace))
        print(f"In the API server, namespace {args.namespace}:")
    else:
        documents = list(rendered_documents(args.manifests))
        print(f"Rendered manifests in {args.manifests}:")
    for source, document in documents:
        meta = document.get("metadata", {})
        where = source.name if isinstance(source, Path) else source
        print(f"  {document.get('kind'):<12} {meta.get('namespace', '')}/{meta.get('name')}  ({where})")

    dag_files = extract_dag_files(documents, args.dags)
    env = workload_env(documents)
    password = os.environ[args.password_env]
    print(f"\nFactory DAG files (as Airflow mounts them): {', '.join(str(p) for p in dag_files)}")

    with psycopg.connect(
        host=env["DATASURFACE_POSTGRES_HOST"],
        port=int(env["DATASURFACE_POSTGRES_PORT"]),
        dbname=env["DATASURFACE_POSTGRES_DATABASE"],
        user=args.login_user,
        password=password,
        connect_timeout=5,
    ) as conn:
        rows = conn.execute(
            f'SELECT stream_key, status, config_json FROM "{args.table}" ORDER BY stream_key'
        ).fetchall()
    print(f"\nRows of {args.table} (read as {args.login_user}, the role Airflow uses):")
    for key, status, config in rows:
        print(f"  {key:<10} {status:<9} {config}")

    airflow_python = Path(os.environ.get("AIRFLOW_PYTHON", REPO_ROOT / ".venv-airflow" / "bin" / "python"))
    if not airflow_python.exists():
        print(
            f"\n(Airflow environment not found at {airflow_python}: run scripts/setup_airflow_env.sh "
            "to also see the DAGs the factory builds.)"
        )
        return 0
    run_env = {
        **os.environ,
        **env,
        f"{args.credential}_USER": args.login_user,
        f"{args.credential}_PASSWORD": password,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    for dag_file in dag_files:
        print(f"\nWhat the factory DAG builds from the table (python {dag_file.name}):")
        sys.stdout.flush()
        shown = subprocess.run([str(airflow_python), str(dag_file)], env=run_env)
        if shown.returncode == 2:  # the plan lists rows Airflow's parse would skip: shown, not a failure here
            print("(the SKIPPED rows above build no DAG)")
        elif shown.returncode != 0:
            raise subprocess.CalledProcessError(shown.returncode, shown.args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
