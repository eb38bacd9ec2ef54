"""factory/schedules.py agrees with Airflow 3.3.2 itself: for every schedule below, our verdict (in the program's
environment, with its croniter) is what a DagBag says of a DAG file using that schedule as our DAGs do."""

from __future__ import annotations

import json
import textwrap

import pytest

from factory.schedules import schedule_string_problem

pytestmark = pytest.mark.integration

SCHEDULES = [
    None,
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@once",
    "@continuous",
    "@midnight",
    "@annually",
    "*/5 * * * *",
    "*/15 * * * *",
    "0 0 * * MON-FRI",
    " 0 * * * * ",
    "0 0 31 2 *",
    "* * * * * *",
    "* * * * * * *",
    "0 9-17/2 * * 1-5",
    "@dayly",
    "@Daily",
    "@hourly ",
    "@every_5m",
    "@reboot",
    "*/5 * * *",
    "* * * * * * * *",
    "every 5 minutes",
    "",
    " ",
    "61 * * * *",
    "0 24 * * *",
    "0 0 32 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "H * * * *",
    "*/0 * * * *",
    "0 0 L * *",
]

# One DAG file per schedule, each parsed by its own DagBag (as the dag-processor parses a file), in one process.
DRIVER = textwrap.dedent(
    """
    import json, sys, tempfile, pathlib
    from airflow.dag_processing.dagbag import DagBag
    verdicts = []
    folder = pathlib.Path(tempfile.mkdtemp())
    for index, schedule in enumerate(json.loads(sys.stdin.read())):
        path = folder / f"dag_{index}.py"
        path.write_text(
            "import datetime\\n"
            "from airflow.sdk import DAG\\n"
            "from airflow.providers.standard.operators.empty import EmptyOperator\\n"
            f"with DAG(dag_id='d{index}', schedule={schedule!r}, max_active_runs=1, catchup=False,\\n"
            "         start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)):\\n"
            "    EmptyOperator(task_id='t')\\n"
        )
        bag = DagBag(dag_folder=str(path))
        verdicts.append({"accepted": f"d{index}" in bag.dags, "errors": list(bag.import_errors.values())})
    print(json.dumps(verdicts))
    """
)


def test_our_schedule_check_agrees_with_airflows_dagbag_on_every_schedule(airflow_run):
    result = airflow_run.run(["-c", DRIVER], input_text=json.dumps(SCHEDULES), timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    verdicts = json.loads(result.stdout.strip().splitlines()[-1])
    disagreements = []
    for schedule, verdict in zip(SCHEDULES, verdicts, strict=True):
        ours = schedule_string_problem(schedule)
        if (ours is None) != verdict["accepted"]:
            disagreements.append((schedule, ours, verdict))
    assert disagreements == []
    accepted = sum(v["accepted"] for v in verdicts)
    assert 0 < accepted < len(SCHEDULES)  # the list holds both kinds
