"""Times one parse of one DAG file the way Airflow parses it; runs inside the Airflow virtualenv.

    python parse_timer.py FILE [--dag-id ID] [--preimport]

Prints one JSON line: {"seconds": ..., "dags": ..., "import_errors": ...}. The clock covers
`DagBag(dag_folder=FILE)` only: importing the file, collecting, validating and bagging its DAGs.
Airflow itself (the DagBag machinery, `airflow.sdk`) is imported before the clock starts, as it is
in every process that parses DAGs. --dag-id sets the parsing context a worker sets when it runs one
task of that DAG. --preimport prepares the process as the dag-processor's long-lived parent is
prepared before it forks a parser for the file: `gc.freeze()` (as `DagFileProcessorManager.before_run`
does), then Airflow's own pre-import of the file's top-level `airflow.*` imports.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--dag-id")
    parser.add_argument("--preimport", action="store_true")
    args = parser.parse_args()

    import airflow.sdk  # noqa: F401
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager

    if args.preimport:
        from airflow.dag_processing.processor import _pre_import_airflow_modules

        gc.freeze()
        _pre_import_airflow_modules(args.file, logging.getLogger("preimport"))

    with _airflow_parsing_context_manager(dag_id=args.dag_id):
        started = time.perf_counter()
        bag = DagBag(dag_folder=args.file)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "dags": len(bag.dags), "import_errors": len(bag.import_errors)}))


if __name__ == "__main__":
    main()
