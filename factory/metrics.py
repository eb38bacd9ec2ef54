"""What the factory reports as metrics, by name and value; `airflow_dags` sends them through Airflow's own
metrics facility, so they go to StatsD or OpenTelemetry as the deployment configures `[metrics]`."""

from __future__ import annotations

from dataclasses import dataclass

from factory.config import FactoryConfig
from factory.lifecycle import CHANGES, Plan

Metric = tuple[str, str, float]  # (kind: "gauge" | "incr" | "timing", name, value; timings in seconds)


@dataclass(frozen=True)
class ParseFigures:
    streams_read: int
    dags_built: int
    rows_invalid: int
    source: str  # "database", "cache" or "none" (table unreadable and no cache)
    cache_age_seconds: float | None
    query_seconds: float
    parse_seconds: float


def metric_prefix(cfg: FactoryConfig) -> str:
    return f"datasurface.factory.{cfg.platform}"


def parse_metrics(cfg: FactoryConfig, figures: ParseFigures) -> list[Metric]:
    name = metric_prefix(cfg) + ".parse."
    metrics: list[Metric] = [
        ("gauge", name + "streams_read", figures.streams_read),
        ("gauge", name + "dags_built", figures.dags_built),
        ("gauge", name + "rows_invalid", figures.rows_invalid),
        ("gauge", name + "table_unavailable", int(figures.source != "database")),
        ("gauge", name + "cache_served", int(figures.source == "cache")),
        ("timing", name + "query_time", figures.query_seconds),
        ("timing", name + "duration", figures.parse_seconds),
    ]
    if figures.cache_age_seconds is not None:
        metrics.append(("gauge", name + "cache_age_seconds", round(figures.cache_age_seconds, 3)))
    return metrics


def sync_metrics(cfg: FactoryConfig, plan: Plan, rows_invalid: int, sync_seconds: float) -> list[Metric]:
    name = metric_prefix(cfg) + ".sync."
    metrics: list[Metric] = [("incr", name + change, len(plan[change])) for change in CHANGES]
    return metrics + [("gauge", name + "rows_invalid", rows_invalid), ("timing", name + "duration", sync_seconds)]


def sync_failure_metrics(cfg: FactoryConfig) -> list[Metric]:
    return [("incr", metric_prefix(cfg) + ".sync.table_unavailable", 1)]
