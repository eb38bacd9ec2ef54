"""The local Airflow's settings and each component's environment."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from devtools.local_airflow_config import (
    Layout,
    MetadataDb,
    Secrets,
    airflow_settings,
    commands,
    component_env,
    factory_dag_ids,
    fingerprint,
    host_env,
)

KEYS = Secrets(jwt_secret="j", api_secret_key="k", fernet_key="f", db_password="p@ss:w/rd")
LAYOUT = Layout(Path("/run/airflow"))


def settings(port: int = 58080) -> dict[str, str]:
    db = MetadataDb("127.0.0.1", 55432, KEYS.db_password)
    return airflow_settings(LAYOUT, port, db, KEYS, Path("/run/kube/admin.kubeconfig"))


def test_the_local_run_uses_the_local_executor_its_folder_and_one_port_for_ui_and_execution_api():
    s = settings(port=58123)
    assert s["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert s["AIRFLOW_HOME"] == "/run/airflow/home"
    assert s["AIRFLOW__CORE__DAGS_FOLDER"] == "/run/airflow/dags"
    assert s["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert s["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:58123"
    assert s["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:58123/execution/"
    assert s["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert s["DATASURFACE_DAG_CACHE_DIR"] == "/run/airflow/dag-cache"


def test_the_metadata_database_urls_use_psycopg_3_and_quote_the_password():
    s = settings()
    sync, asynchronous = s["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], s["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]
    assert sync == "postgresql+psycopg://airflow:p%40ss%3Aw%2Frd@127.0.0.1:55432/airflow"
    assert asynchronous == sync.replace("+psycopg:", "+psycopg_async:")
    assert urllib.parse.unquote(urllib.parse.urlsplit(sync).password or "") == "p@ss:w/rd"


def test_the_pod_operator_reaches_the_control_plane_through_its_kubeconfig():
    connection = json.loads(settings()["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    assert connection == {"conn_type": "kubernetes", "extra": {"kube_config_path": "/run/kube/admin.kubeconfig"}}


def test_the_local_settings_override_the_workloads_and_say_which_they_replaced():
    workload = {"AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor", "postgres_PASSWORD": "pw"}
    env = component_env({"PATH": "/bin"}, workload, settings())
    assert env.env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env.env["postgres_PASSWORD"] == "pw" and env.env["PATH"] == "/bin"
    assert env.replaced == {"AIRFLOW__CORE__EXECUTOR": ("KubernetesExecutor", "LocalExecutor")}


def test_the_callers_secrets_and_airflow_settings_do_not_reach_the_processes():
    caller = {"PATH": "/bin", "HOME": "/root", "PGPASSWORD": "x", "PULUMI_CONFIG_PASSPHRASE": "y"}
    caller.update({"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "KUBECONFIG": "/elsewhere"})
    assert host_env(caller) == {"PATH": "/bin", "HOME": "/root"}


def test_three_components_no_triggerer_and_the_scheduler_serves_no_logs():
    argv = commands(Path("/venv/bin/airflow"))
    assert sorted(argv) == ["api-server", "dag-processor", "scheduler"]
    assert argv["scheduler"] == ["/venv/bin/airflow", "scheduler", "--skip-serve-logs"]


def test_the_fingerprint_changes_with_an_environment_value_only():
    launch = {"scheduler": (["airflow", "scheduler"], {"postgres_PASSWORD": "a"})}
    same = {"scheduler": (["airflow", "scheduler"], {"postgres_PASSWORD": "a"})}
    rotated = {"scheduler": (["airflow", "scheduler"], {"postgres_PASSWORD": "b"})}
    assert fingerprint(launch) == fingerprint(same) != fingerprint(rotated)


def test_the_factory_dag_of_each_file_is_named_after_it():
    files = ["yellowlive/yellowlive_factory_dag.py", "yellowforensic_factory_dag.py", "other/helper.py"]
    assert factory_dag_ids(files) == ["yellowforensic_factory_dag", "yellowlive_factory_dag"]
