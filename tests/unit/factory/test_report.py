from factory.lifecycle import HistoryEntry, plan_changes
from factory.report import lifecycle_summary, report_lines

PREVIOUS = {"Store1": "a" * 64, "Store3": "c" * 64}
CURRENT = {"Store1": "b" * 64, "Store2": "d" * 64}


def test_the_report_names_each_created_updated_and_removed_dag(cfg):
    text = "\n".join(report_lines(cfg, PREVIOUS, CURRENT, plan_changes(PREVIOUS, CURRENT), {"bad": "why"}))
    assert "✅ CREATED: yellowlive__Store2_ingestion" in text
    assert "🔄 UPDATED: yellowlive__Store1_ingestion" in text
    assert "Configuration changed (hash aaaaaaaaaaaa → bbbbbbbbbbbb)" in text
    assert "🗑️  REMOVED: yellowlive__Store3_ingestion" in text
    assert "⚠️  bad: why" in text
    assert "📊 TOTAL CHANGES: 3" in text


def test_a_sync_without_changes_says_so(cfg):
    text = "\n".join(report_lines(cfg, CURRENT, CURRENT, plan_changes(CURRENT, CURRENT), {}))
    assert "No changes since the previous sync" in text and "📊 TOTAL CHANGES: 0" in text


def test_the_summary_lists_dag_ids_per_change(cfg):
    summary = lifecycle_summary(cfg, PREVIOUS, CURRENT, plan_changes(PREVIOUS, CURRENT), {})
    assert summary["created"] == ["yellowlive__Store2_ingestion"]
    assert summary["updated"] == ["yellowlive__Store1_ingestion"]
    assert summary["removed"] == ["yellowlive__Store3_ingestion"]
    assert (summary["active"], summary["previous"], summary["total_changes"]) == (2, 2, 3)


HISTORY = {
    "Store1": HistoryEntry(41, "UPDATE", "2025-06-01 10:00:00+00:00", "yellowlive_writer", "yellowlive_writer"),
    "Store3": HistoryEntry(42, "DELETE", "2025-06-01 10:05:00+00:00", "carol", "datasurface_ops"),
}


def test_each_change_names_the_history_entry_behind_it(cfg):
    lines = report_lines(cfg, PREVIOUS, CURRENT, plan_changes(PREVIOUS, CURRENT), {}, HISTORY)
    updated = lines.index("   🔄 UPDATED: yellowlive__Store1_ingestion")
    assert lines[updated + 2] == (
        "      📜 yellowlive_airflow_dsg_history #41: UPDATE by yellowlive_writer at 2025-06-01 10:00:00+00:00"
    )
    removed = lines.index("   🗑️  REMOVED: yellowlive__Store3_ingestion")
    assert lines[removed + 2] == (
        "      📜 yellowlive_airflow_dsg_history #42: DELETE by datasurface_ops (logged in as carol) "
        "at 2025-06-01 10:05:00+00:00"
    )
    created = lines.index("   ✅ CREATED: yellowlive__Store2_ingestion")
    assert lines[created + 2] == "      📜 no entry in yellowlive_airflow_dsg_history (the change predates it)"


def test_the_summary_maps_each_changed_dag_to_its_history_entry(cfg):
    summary = lifecycle_summary(cfg, PREVIOUS, CURRENT, plan_changes(PREVIOUS, CURRENT), {}, HISTORY)
    assert summary["history"] == {"yellowlive__Store1_ingestion": 41, "yellowlive__Store3_ingestion": 42}
