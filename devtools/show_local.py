"""Shows what `pulumi up` deployed on the local stack: rendered manifests, the DAG file, the table's rows,
and, when the Airflow environment exists, what the factory DAG builds from those rows.

    MERGE_DB_PASSWORD=... python -m devtools.show_local --manifests build/manifests/local \
        --table yellowlive_airflow_dsg --login-user yellowlive_airflow [--credential postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def rendered_documents(manifests: Path) -> list[tuple[Path, dict]]:
    documents = []
    for path in sorted(manifests.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path, document))
    return documents


def extract_dag_files(documents: list[tuple[Path, dict]], target: Path) -> list[Path]:
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


def workload_env(documents: list[tuple[Path, dict]]) -> dict[str, str]:
    """The plain env vars the patches give Airflow (credentials are references, resolved separately)."""
    env = {}
    for _, document in documents:
        if document.get("kind") in ("Deployment", "StatefulSet"):
            for container in document["spec"]["template"]["spec"]["containers"]:
                env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifests", type=Path, required=True)
    parser.add_argument("--dags", type=Path, default=REPO_ROOT / "build" / "local-dags")
    parser.add_argument("--table", default="yellowlive_airflow_dsg")
    parser.add_argument("--login-user", required=True)
    parser.add_argument("--credential", default="postgres")
    parser.add_argument(
        "--password-env", default="MERGE_DB_PASSWORD", help="environment variable holding the login role's password"
    )
    args = parser.parse_args(argv)

    documents = rendered_documents(args.manifests)
    print(f"Rendered manifests in {args.manifests}:")
    for path, document in documents:
        meta = document.get("metadata", {})
        print(f"  {document.get('kind'):<12} {meta.get('namespace', '')}/{meta.get('name')}  ({path.name})")

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
        subprocess.run([str(airflow_python), str(dag_file)], env=run_env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
