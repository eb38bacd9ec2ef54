"""From a row of the stream table to what its ingestion DAG runs."""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from factory.config import (
    DAG_ID_MAX_LEN,
    DAG_ID_PATTERN,
    INGESTION_TASK_ID,
    JOB_MODULE,
    JOB_OPERATION,
    TAG_MAX_LEN,
    FactoryConfig,
    one_line,
)
from factory.stream_schema import MAX_CONFIG_JSON_CHARS, stream_config_problems
from factory.table import Row, UnknownStatus

StreamSpec = dict[str, Any]


def parse_config(config_json: Any) -> dict[str, Any]:
    if isinstance(config_json, UnknownStatus):
        raise ValueError(config_json.reason)
    if config_json is None or not str(config_json).strip():
        raise ValueError("config_json is empty")
    if not isinstance(config_json, str):
        raise ValueError(f"config_json must be text, not {type(config_json).__name__}")
    if len(config_json) > MAX_CONFIG_JSON_CHARS:
        raise ValueError(f"config_json is {len(config_json)} characters long; at most {MAX_CONFIG_JSON_CHARS}")
    try:
        config = json.loads(config_json)
    except ValueError as err:
        raise ValueError(f"config_json is not valid JSON ({err})") from None
    except RecursionError:
        raise ValueError("config_json is nested too deeply to be read") from None
    if not isinstance(config, dict):
        raise ValueError(f"config_json must be a JSON object, not {type(config).__name__}")
    return config


def check_config(cfg: FactoryConfig, stream_key: str, config: dict[str, Any]) -> None:
    dag_id = cfg.dag_id_for(stream_key)
    if not DAG_ID_PATTERN.match(dag_id) or len(dag_id) > DAG_ID_MAX_LEN:
        raise ValueError(
            f"DAG id {dag_id!r} is not valid (letters, digits, '_', '.', '-'; at most {DAG_ID_MAX_LEN} characters)"
        )
    problems = stream_config_problems(cfg.stream_schema, config)
    if problems:
        raise ValueError("; ".join(f"config {problem}" for problem in problems))


def stream_spec(cfg: FactoryConfig, stream_key: str, config_json: Any) -> StreamSpec:
    """Everything needed to build one stream's DAG; raises ValueError saying what is wrong."""
    config = parse_config(config_json)
    check_config(cfg, stream_key, config)
    return {
        "stream_key": stream_key,
        "dag_id": cfg.dag_id_for(stream_key),
        "store_name": config["store_name"],
        "dataset_name": config.get("dataset_name") or None,
        "schedule": config.get("schedule_string") or None,
        "ingestion_type": config.get("ingestion_type"),
        "config": config,
    }


def valid_specs(cfg: FactoryConfig, rows: list[Row]) -> tuple[list[StreamSpec], dict[str, str]]:
    """(specs, skipped): specs in row order; skipped maps a stream key to why its row was not used."""
    specs: list[StreamSpec] = []
    skipped: dict[str, str] = {}
    for stream_key, config_json in rows:
        try:
            specs.append(stream_spec(cfg, stream_key, config_json))
        except ValueError as err:
            skipped[stream_key] = str(err)
        except Exception as err:  # whatever a row holds, it costs only its own DAG
            skipped[stream_key] = f"row cannot be checked ({one_line(err)})"
        if stream_key in skipped:
            cfg.log.error(
                "%s: stream %r in %s skipped: %s", cfg.factory_dag_id, stream_key, cfg.dsg_table, skipped[stream_key]
            )
    return specs, skipped


def config_hash(config: dict[str, Any]) -> str:
    """Hash of the canonical JSON: whitespace or key order in config_json is not a change."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def k8s_name(text: str, max_len: int = 40) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return re.sub(r"-{2,}", "-", name)[:max_len].rstrip("-") or "datasurface-job"


def job_arguments(cfg: FactoryConfig, spec: StreamSpec) -> list[str]:
    args = ["-m", JOB_MODULE, "--platform-name", cfg.platform, "--store-name", spec["store_name"]]
    args += ["--operation", JOB_OPERATION]
    if spec["dataset_name"]:
        args += ["--dataset-name", spec["dataset_name"]]
    return args


def secret_refs(cfg: FactoryConfig) -> list[tuple[str, str, str]]:
    """(env var, Secret name, Secret key): the merge database credentials, never literal values."""
    return [
        (cfg.user_env, cfg.credentials_secret_name, cfg.secret_user_key),
        (cfg.password_env, cfg.credentials_secret_name, cfg.secret_password_key),
    ]


def job_env(cfg: FactoryConfig) -> dict[str, str]:
    """Where the job finds the merge database: the values this process was given (no secrets)."""
    names = (cfg.host_env, cfg.port_env, cfg.database_env)
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def stream_tags(cfg: FactoryConfig, stream_key: str) -> list[str]:
    return ["datasurface", "ingestion", cfg.platform, stream_key[:TAG_MAX_LEN]]


def pod_spec(cfg: FactoryConfig, spec: StreamSpec) -> dict[str, Any]:
    """The ingestion task's pod: the DataSurface job image in the platform's namespace."""
    return {
        "task_id": INGESTION_TASK_ID,
        "name": k8s_name(f"{cfg.platform}-{spec['stream_key']}"),
        "namespace": cfg.namespace,
        "image": cfg.job_image,
        "cmds": ["python"],
        "arguments": job_arguments(cfg, spec),
        "labels": dict(cfg.pod_labels),
    }
