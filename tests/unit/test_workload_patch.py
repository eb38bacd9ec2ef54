"""What WorkloadPatch's diff decides before it touches a cluster."""

from __future__ import annotations

import subprocess
import sys

import pytest

from components import workload_patch as wp
from tests.conftest import REPO_ROOT


def props(**changes) -> dict:
    base = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "airflow-scheduler", "namespace": "ns"},
        "spec": {"template": {"spec": {"containers": [{"name": "scheduler", "env": [{"name": "A", "value": "1"}]}]}}},
        "fieldManager": "datasurface-yellowlive",
        "kubeContext": "",
    }
    return {**base, **changes}


@pytest.fixture
def dry_runs(monkeypatch) -> list[dict]:
    """Every dry-run apply the diff asks for, recorded instead of sent."""
    calls: list[dict] = []
    monkeypatch.setattr(wp, "_Workload", lambda news: news)
    monkeypatch.setattr(wp, "_apply", lambda workload, dry_run=False: calls.append({"props": workload, "dry": dry_run}))
    return calls


def test_no_change_and_no_drift_is_no_diff_and_no_cluster_call(dry_runs):
    result = wp.WorkloadPatchProvider().diff("id", {**props(), "drift": []}, props())
    assert result.changes is False and result.replaces == []
    assert dry_runs == []


def test_drift_found_by_a_refresh_is_a_change_checked_by_a_dry_run(dry_runs):
    olds = {**props(), "drift": ['.spec...env[name="A"].value: live "2", configured "1"']}
    result = wp.WorkloadPatchProvider().diff("id", olds, props())
    assert result.changes is True and result.replaces == []
    assert [call["dry"] for call in dry_runs] == [True]


def test_a_spec_change_is_an_update_checked_by_a_dry_run(dry_runs):
    spec = {"template": {"spec": {"containers": [{"name": "scheduler", "env": [{"name": "A", "value": "2"}]}]}}}
    result = wp.WorkloadPatchProvider().diff("id", {**props(), "drift": []}, props(spec=spec))
    assert result.changes is True and result.replaces == []
    assert dry_runs[0]["props"]["spec"] == spec


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metadata", {"name": "airflow-worker", "namespace": "ns"}),
        ("fieldManager", "datasurface-other"),
        ("kind", "StatefulSet"),
    ],
)
def test_another_target_or_owner_is_a_replacement_created_before_the_old_is_released(dry_runs, field, value):
    result = wp.WorkloadPatchProvider().diff("id", {**props(), "drift": []}, props(**{field: value}))
    assert result.replaces == [field] and result.delete_before_replace is False
    assert dry_runs == []


def test_the_program_and_its_providers_import_no_kubernetes_client():
    """The client is imported by the calls that reach the cluster: a program run or a preview with no change
    (the provider process unpickles the provider, importing this module) does not pay for its import."""
    code = (
        "import sys, components.platform, components.workload_patch; "
        "print(sorted(m for m in ('kubernetes', 'urllib3') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert done.stdout.strip() == "[]"
