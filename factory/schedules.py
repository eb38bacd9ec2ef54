"""Schedules checked the way Airflow 3.3 checks them, without Airflow: the program checks every seed row's
`schedule_string` and `factorySchedule` at preview with it, and the DAG file checks every row it reads.

Airflow (airflow.sdk `_create_timetable` and `CronMixin.validate`) takes None (no schedule), `@once` and
`@continuous` as they are, maps its presets to cron expressions and accepts what croniter accepts; croniter is
pinned to the version Airflow's environment pins (requirements.txt, requirements/airflow.txt).
"""

from __future__ import annotations

import functools
from typing import Any

# airflow.sdk.definitions.timetables._cron.CRON_PRESETS of Airflow 3.3.2
AIRFLOW_CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
AIRFLOW_TIMETABLE_PRESETS = ("@once", "@continuous")  # timetables of their own, not cron expressions
PRESETS = (*AIRFLOW_CRON_PRESETS, *AIRFLOW_TIMETABLE_PRESETS)


def schedule_string_problem(schedule: Any) -> str | None:
    """Why Airflow would refuse `schedule` as a DAG's schedule ('is not ...', to follow the value), or None
    when it accepts it (None included)."""
    if schedule is None or schedule in AIRFLOW_TIMETABLE_PRESETS:
        return None
    if not isinstance(schedule, str):
        return "is not a string"
    return cron_problem(AIRFLOW_CRON_PRESETS.get(schedule, schedule))


@functools.lru_cache(maxsize=4096)
def cron_problem(expression: str) -> str | None:
    """croniter's verdict on one expression; each distinct one is parsed once per process."""
    try:
        from croniter import croniter
    except ImportError:
        return "cannot be checked: the croniter package is not installed"
    try:
        croniter(expression)
    except Exception as err:  # Airflow refuses croniter's errors; anything else fails the DAG just the same
        reason = " ".join(str(err).split()).rstrip(".") or type(err).__name__
        return f"is not a schedule Airflow accepts ({reason}; presets: {', '.join(PRESETS)})"
    return None
