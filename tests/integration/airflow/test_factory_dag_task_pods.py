"""The worker pod of every task of a real parse: the rendered file parsed by Airflow 3's DagBag against a
seeded, real PostgreSQL table (as the dag-processor parses it), each DAG serialized and read back as the
scheduler reads it, each task's executor_config merged into the chart's pod template by Airflow's own
PodGenerator (tests/unit/factory/task_pod_driver.py)."""

from __future__ import annotations

import json

import pytest
import yaml

from components.factory_pod import TASK_CONTAINER
from components.settings import parse_settings
from devtools.chart_pod_template import chart_pod_template
from tests.conftest import REPO_ROOT
from tests.integration.airflow.conftest import JOB_IMAGE, NAMESPACE, AirflowRun, render_dag_file
from tests.program_harness import valid_raw

pytestmark = pytest.mark.integration

DRIVER = REPO_ROOT / "tests" / "unit" / "factory" / "task_pod_driver.py"
ROWS = {
    "Store1": ({"store_name": "Store1", "schedule_string": "@hourly"}, "active"),
    "KafkaStore": ({"store_name": "KafkaStore", "schedule_string": None, "ingestion_type": "kafka"}, "active"),
    "Retired": ({"store_name": "Retired", "schedule_string": "@daily"}, "disabled"),
}


def test_every_task_of_a_parse_against_the_table_gets_a_pod_with_the_file_and_the_database(
    airflow_python, factory_db, tmp_path
):
    factory_db.seed(ROWS)
    render_dag_file(tmp_path / "dags", factory_db.platform)
    settings = parse_settings(valid_raw(platform=factory_db.platform, namespace=NAMESPACE, jobImage=JOB_IMAGE))
    names = settings.names
    template = chart_pod_template(NAMESPACE)
    template_path = tmp_path / "pod_template_file.yaml"
    template_path.write_text(yaml.safe_dump(template))
    run = AirflowRun(airflow_python, factory_db, tmp_path)
    result = run.run([str(DRIVER), str(run.dag_file), str(template_path), "{}"])
    assert result.returncode == 0, result.stderr[-4000:]
    pods = json.loads(result.stdout.strip().splitlines()[-1])

    assert sorted(pods) == sorted(
        [names.factory_dag_id, names.stream_dag_id("KafkaStore"), names.stream_dag_id("Store1")]
    )
    for dag_id, tasks in pods.items():
        assert len(tasks) == 1, dag_id
        (report,) = tasks.values()
        pod = report["pod"]
        (container,) = pod["spec"]["containers"]
        assert container["name"] == TASK_CONTAINER
        env = {e["name"]: e for e in container["env"]}
        # The parse read the table at this machine's address; the pod gets the configured DNS name.
        assert env["DATASURFACE_POSTGRES_HOST"]["value"] == settings.merge_db_host != factory_db.server.host
        assert env["DATASURFACE_POSTGRES_DATABASE"]["value"] == settings.merge_db_name
        for name in (names.user_env, names.password_env):
            assert env[name]["valueFrom"]["secretKeyRef"] == {"name": names.credentials_secret_name, "key": name}
        assert {"name": names.dag_volume_name, "mountPath": settings.dag_mount_path, "readOnly": True} in container[
            "volumeMounts"
        ]
        assert names.dag_volume_name in {v["name"] for v in pod["spec"]["volumes"]}
        for entry in template["spec"]["containers"][0]["env"]:
            assert entry in container["env"]
        for volume in template["spec"]["volumes"]:
            assert volume in pod["spec"]["volumes"]
