"""The DAGs Airflow sees: the visible factory and one ingestion DAG per valid active row.

The Airflow imports stay at the top level on purpose: the dag-processor imports the Airflow modules a
DAG file imports at its top level once, before it forks a parser per file, so the costly
KubernetesPodOperator import is not paid again on every parse.
"""

from __future__ import annotations

import datetime
import functools
import json
import time
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator  # loaded by the operator's module already
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, get_parsing_context
from airflow.sdk.configuration import conf
from airflow.sdk.observability import stats
from airflow.sdk.observability.metrics import stats_utils
from kubernetes.client import models as k8s  # loaded by the operator's module already

from factory.config import START_DATE, SYNC_TASK_ID, FactoryConfig, one_line
from factory.lifecycle import record_lifecycle
from factory.metrics import Metric, ParseFigures, parse_metrics, sync_failure_metrics, sync_metrics
from factory.report import lifecycle_summary, report_lines
from factory.streams import StreamSpec, config_hash, job_env, pod_spec, secret_refs, stream_tags, valid_specs
from factory.table import ConfigUnavailable, Row, load_rows, query_active_rows, write_cache


class InvalidStreamRows(Exception):
    """Rows of the stream table that no DAG could be built from: the sync fails so Airflow's alerting fires."""


@functools.cache
def _metrics_backend() -> None:
    """Airflow's metrics backend as `[metrics]` configures it. The task runner sets it up the same way; a
    parse process may not have, and the backend is per process (it is reset after a fork)."""
    stats.initialize(
        factory=stats_utils.get_stats_factory(),
        export_legacy_names=conf.getboolean("metrics", "legacy_names_on"),
    )


def send_metrics(cfg: FactoryConfig, metrics: list[Metric]) -> None:
    """Never lets a metrics problem fail a parse or a sync."""
    try:
        _metrics_backend()
        for kind, name, value in metrics:
            if kind == "timing":
                stats.timing(name, datetime.timedelta(seconds=value))
            else:
                getattr(stats, kind)(name, value)
    except Exception as err:
        cfg.log.warning("%s: cannot send metrics: %s", cfg.factory_dag_id, one_line(err))


def schedule_problem(schedule: str | None) -> str | None:
    """Why Airflow would reject this schedule, or None (the same check a DagBag makes)."""
    try:
        DAG(dag_id="schedule_check", schedule=schedule, start_date=START_DATE).validate()
    except Exception as err:
        return f"invalid schedule_string {schedule!r}: {one_line(err)}"
    return None


def pod_env(cfg: FactoryConfig, values: dict[str, str]) -> list[Any]:
    """Plain values plus the credentials as secretKeyRef. Not the operator's `secrets=`: its Secret
    upper-cases env names, and the job reads `<credential>_USER`, not `<CREDENTIAL>_USER`."""
    env = [k8s.V1EnvVar(name=name, value=value) for name, value in values.items()]
    for name, secret, key in secret_refs(cfg):
        ref = k8s.V1SecretKeySelector(name=secret, key=key)
        env.append(k8s.V1EnvVar(name=name, value_from=k8s.V1EnvVarSource(secret_key_ref=ref)))
    return env


@functools.cache
def _shared_pod_env(cfg: FactoryConfig) -> tuple[Any, ...]:
    return tuple(pod_env(cfg, job_env(cfg)))


def shared_pod_env(cfg: FactoryConfig) -> list[Any]:
    """The same for every stream, so built once per parse: each kubernetes model object costs about
    tens of microseconds to construct: a quarter of a second per 1,000 DAGs. Each operator gets its own list."""
    return list(_shared_pod_env(cfg))


@functools.cache
def _task_pod_override(cfg: FactoryConfig) -> Any:
    return PodGenerator.deserialize_model_dict(json.loads(cfg.task_pod_override))


def executor_config(cfg: FactoryConfig) -> dict[str, Any]:
    """Every task's `executor_config`. KubernetesExecutor merges its `pod_override` into the worker pod it builds
    from the chart's pod template (`PodGenerator.reconcile_pods`: the template's env, mounts and volumes stay),
    so the pod that runs the task has this platform's DAG file, merge database address and credentials by
    `secretKeyRef`: the workload patches' entries, with the values rendered into this file, never this
    process's environment. Other executors ignore it. One pod object per parse, shared by the tasks like
    `shared_pod_env`: nothing changes it (Airflow serializes it, and merges a copy)."""
    return {"pod_override": _task_pod_override(cfg)}


_VALID_SCHEDULES: set[str | None] = set()


def check_timetable(dag: DAG, schedule: str | None) -> None:
    """Raise now, for this stream alone, what the DagBag's check would raise for the whole file.
    The schedule is all that varies between these DAGs, so each distinct one is checked once."""
    if schedule not in _VALID_SCHEDULES:
        dag.timetable.validate()
        _VALID_SCHEDULES.add(schedule)


def build_stream_dag(cfg: FactoryConfig, spec: StreamSpec) -> DAG:
    """One ingestion DAG: a KubernetesPodOperator running the DataSurface job for the stream."""
    with DAG(
        dag_id=spec["dag_id"],
        description=f"DataSurface ingestion of store {spec['store_name']} for {cfg.platform} (row of {cfg.dsg_table})",
        schedule=spec["schedule"],
        start_date=START_DATE,
        catchup=False,
        is_paused_upon_creation=False,
        max_active_runs=1,
        tags=stream_tags(cfg, spec["stream_key"]),
        default_args={"owner": "datasurface"},
        auto_register=False,  # published by the DAG file only once it is known to be valid
    ) as dag:
        KubernetesPodOperator(
            env_vars=shared_pod_env(cfg),
            get_logs=True,
            on_finish_action="delete_pod",
            do_xcom_push=False,
            executor_config=executor_config(cfg),
            **pod_spec(cfg, spec),
        )
    check_timetable(dag, spec["schedule"])
    return dag


def sync_lifecycle(cfg: FactoryConfig, run_id: Any) -> dict[str, Any]:
    """Compare the active rows with the previous sync, record the changes, log the lifecycle report.

    Raises when the table cannot be read, or when rows are invalid: then only after the valid rows'
    changes are recorded and reported, so one bad row does not hold back the others."""
    started = time.perf_counter()
    try:
        rows = query_active_rows(cfg, purpose="sync")
    except ConfigUnavailable:
        send_metrics(cfg, sync_failure_metrics(cfg))
        raise
    specs, skipped = valid_specs(cfg, rows)
    current = {}
    for spec in specs:
        problem = schedule_problem(spec["schedule"])
        if problem:
            skipped[spec["stream_key"]] = problem
        else:
            current[spec["stream_key"]] = config_hash(spec["config"])
    previous, plan, history = record_lifecycle(cfg, current, run_id=run_id, configs=dict(rows))
    for line in report_lines(cfg, previous, current, plan, skipped, history):
        cfg.log.info("%s", line)
    send_metrics(cfg, sync_metrics(cfg, plan, len(skipped), time.perf_counter() - started))
    if skipped:
        reasons = "; ".join(f"{key}: {why}" for key, why in sorted(skipped.items()))
        raise InvalidStreamRows(f"{len(skipped)} invalid row(s) in {cfg.dsg_table}: {reasons}")
    return lifecycle_summary(cfg, previous, current, plan, skipped, history)


def build_factory_dag(cfg: FactoryConfig) -> DAG:
    """The visible factory: every few minutes it syncs the lifecycle ledger and logs what changed."""

    def sync_dynamic_dags(**context: Any) -> dict[str, Any]:
        return sync_lifecycle(cfg, context.get("run_id"))

    with DAG(
        dag_id=cfg.factory_dag_id,
        description=(
            f"Factory DAG for {cfg.platform} - creates and manages the dynamic ingestion DAGs from {cfg.dsg_table}"
        ),
        schedule=cfg.factory_schedule,
        start_date=START_DATE,
        catchup=False,
        is_paused_upon_creation=False,
        max_active_runs=1,
        tags=cfg.factory_tags,
        default_args={"owner": "datasurface"},
        auto_register=False,
    ) as dag:
        PythonOperator(
            task_id=SYNC_TASK_ID,
            python_callable=sync_dynamic_dags,
            execution_timeout=datetime.timedelta(minutes=10),
            executor_config=executor_config(cfg),
        )
    return dag


def build_stream_dags(cfg: FactoryConfig, rows: list[Row]) -> tuple[dict[str, DAG], dict[str, str]]:
    """A DAG per valid row, in row order, and why each other row was skipped (naming its stream)."""
    dags = {}
    specs, skipped = valid_specs(cfg, rows)
    for spec in specs:
        try:
            dags[spec["dag_id"]] = build_stream_dag(cfg, spec)
        except Exception as err:
            problem = schedule_problem(spec["schedule"]) or one_line(err)
            skipped[spec["stream_key"]] = problem
            cfg.log.error(
                "%s: stream %r in %s skipped: %s", cfg.factory_dag_id, spec["stream_key"], cfg.dsg_table, problem
            )
    return dags, skipped


def build_all_dags(cfg: FactoryConfig) -> dict[str, DAG]:
    started = time.perf_counter()
    factory = build_factory_dag(cfg)
    loaded = load_rows(cfg)
    dags, skipped = build_stream_dags(cfg, loaded.rows)
    if loaded.source == "database":  # the last good configuration holds only rows that passed every check
        write_cache(cfg, [row for row in loaded.rows if row[0] not in skipped])
    figures = ParseFigures(
        streams_read=len(loaded.rows),
        dags_built=len(dags),
        rows_invalid=len(skipped),
        source=loaded.source,
        cache_age_seconds=loaded.cache_age_seconds,
        query_seconds=loaded.query_seconds,
        parse_seconds=time.perf_counter() - started,
    )
    send_metrics(cfg, parse_metrics(cfg, figures))
    return {cfg.factory_dag_id: factory, **dags}


def build_dags(cfg: FactoryConfig, requested_dag_id: str | None) -> dict[str, DAG]:
    """All DAGs of the file, or only the one a worker asked for (parsing context)."""
    if requested_dag_id is None:
        return build_all_dags(cfg)
    if requested_dag_id == cfg.factory_dag_id:
        return {cfg.factory_dag_id: build_factory_dag(cfg)}
    stream_key = cfg.stream_key_for(requested_dag_id)
    if stream_key is None:
        return {}
    dags, _ = build_stream_dags(cfg, load_rows(cfg, stream_key).rows)
    return dags


def parsed_dags(cfg: FactoryConfig) -> dict[str, DAG]:
    """The DAGs this parse publishes: all of them, or only the one a worker's parsing context names."""
    return build_dags(cfg, get_parsing_context().dag_id)
