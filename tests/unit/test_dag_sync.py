"""The dags folder follows the projected files: changed files rewritten in one rename, gone ones removed."""

from __future__ import annotations

import stat

from devtools.dag_sync import SyncPlan, apply_plan, folder_files, sync_plan


def test_only_changed_and_new_files_are_written_and_files_no_longer_projected_are_removed():
    current = {"a/same.py": "1", "a/changed.py": "old", "b/gone.py": "x"}
    wanted = {"a/same.py": "1", "a/changed.py": "new", "c/new.py": "n"}
    assert sync_plan(current, wanted) == SyncPlan(write={"a/changed.py": "new", "c/new.py": "n"}, remove=["b/gone.py"])
    assert sync_plan(wanted, wanted).empty


def test_applying_a_plan_leaves_exactly_the_projected_files(tmp_path):
    dags = tmp_path / "dags"
    apply_plan(dags, sync_plan({}, {"yellowlive/f.py": "v1", "old/g.py": "g"}))
    wanted = {"yellowlive/f.py": "v2"}
    apply_plan(dags, sync_plan(folder_files(dags), wanted))
    assert folder_files(dags) == wanted
    assert not (dags / "old").exists()  # emptied folders go too
    assert stat.S_IMODE((dags / "yellowlive/f.py").stat().st_mode) == 0o644


def test_an_unchanged_file_is_not_touched(tmp_path):
    dags = tmp_path / "dags"
    apply_plan(dags, sync_plan({}, {"f.py": "v1"}))
    before = (dags / "f.py").stat().st_mtime_ns
    plan = sync_plan(folder_files(dags), {"f.py": "v1"})
    apply_plan(dags, plan)
    assert plan.empty and (dags / "f.py").stat().st_mtime_ns == before


def test_a_missing_folder_has_no_files(tmp_path):
    assert folder_files(tmp_path / "absent") == {}
