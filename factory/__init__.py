"""The factory DAG's code: plain modules, assembled with one platform's values into a single DAG file.

`components/factory_dag.py` renders `templates/factory_dag.py.j2`, which inlines these modules in
`MODULE_ORDER` and adds the platform's `FactoryConfig`, so the file Airflow parses imports nothing
from this repository. Every module but `airflow_dags` runs without Airflow.
"""

MODULE_ORDER = (
    "config",
    "table",
    "schedules",
    "stream_schema",
    "streams",
    "lifecycle",
    "report",
    "metrics",
    "history",
    "cli",
)
AIRFLOW_MODULE = "airflow_dags"
