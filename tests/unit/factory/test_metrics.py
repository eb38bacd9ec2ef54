from factory.lifecycle import plan_changes
from factory.metrics import ParseFigures, parse_metrics, sync_failure_metrics, sync_metrics

FROM_DATABASE = ParseFigures(
    streams_read=3, dags_built=2, rows_invalid=1, source="database", cache_age_seconds=None, query_seconds=0.01,
    parse_seconds=0.2,
)  # fmt: skip


def by_name(metrics):
    return {name: (kind, value) for kind, name, value in metrics}


def test_a_parse_reports_rows_read_dags_built_invalid_rows_and_times_under_the_platform(cfg):
    assert by_name(parse_metrics(cfg, FROM_DATABASE)) == {
        "datasurface.factory.yellowlive.parse.streams_read": ("gauge", 3),
        "datasurface.factory.yellowlive.parse.dags_built": ("gauge", 2),
        "datasurface.factory.yellowlive.parse.rows_invalid": ("gauge", 1),
        "datasurface.factory.yellowlive.parse.table_unavailable": ("gauge", 0),
        "datasurface.factory.yellowlive.parse.cache_served": ("gauge", 0),
        "datasurface.factory.yellowlive.parse.query_time": ("timing", 0.01),
        "datasurface.factory.yellowlive.parse.duration": ("timing", 0.2),
    }


def test_a_parse_served_from_the_cache_reports_it_and_its_age(cfg):
    metrics = by_name(parse_metrics(cfg, ParseFigures(3, 3, 0, "cache", 42.5, 3.0, 3.4)))
    assert metrics["datasurface.factory.yellowlive.parse.table_unavailable"] == ("gauge", 1)
    assert metrics["datasurface.factory.yellowlive.parse.cache_served"] == ("gauge", 1)
    assert metrics["datasurface.factory.yellowlive.parse.cache_age_seconds"] == ("gauge", 42.5)


def test_a_sync_counts_created_updated_and_removed_dags(cfg):
    plan = plan_changes({"a": "1", "b": "2"}, {"a": "9", "c": "3", "d": "4"})
    assert by_name(sync_metrics(cfg, plan, 2, 0.5)) == {
        "datasurface.factory.yellowlive.sync.created": ("incr", 2),
        "datasurface.factory.yellowlive.sync.updated": ("incr", 1),
        "datasurface.factory.yellowlive.sync.removed": ("incr", 1),
        "datasurface.factory.yellowlive.sync.rows_invalid": ("gauge", 2),
        "datasurface.factory.yellowlive.sync.duration": ("timing", 0.5),
    }


def test_a_sync_that_cannot_read_the_table_is_counted(cfg):
    assert sync_failure_metrics(cfg) == [("incr", "datasurface.factory.yellowlive.sync.table_unavailable", 1)]
