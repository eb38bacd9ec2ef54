"""What WorkloadPatch's diff decides before it touches a cluster."""

from __future__ import annotations

import re
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


class Unread:
    """A workload standing for one the cluster does not have: the executor check has nothing to read."""

    def __init__(self, news):
        self.props = news

    def get(self):
        return None


@pytest.fixture
def dry_runs(monkeypatch) -> list[dict]:
    """Every dry-run apply the diff asks for, recorded instead of sent."""
    calls: list[dict] = []
    monkeypatch.setattr(wp, "_Workload", Unread)
    monkeypatch.setattr(
        wp, "_apply", lambda workload, dry_run=False: calls.append({"props": workload.props, "dry": dry_run})
    )
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


SPEC_2 = {"template": {"spec": {"containers": [{"name": "scheduler", "env": [{"name": "A", "value": "2"}]}]}}}


def test_a_spec_change_is_an_update_dry_run_by_check_before_the_diff(dry_runs):
    assert wp.WorkloadPatchProvider().check(props(), props(spec=SPEC_2)).failures == []
    assert dry_runs == [{"props": props(spec=SPEC_2), "dry": True}]
    result = wp.WorkloadPatchProvider().diff("id", {**props(), "drift": []}, props(spec=SPEC_2))
    assert result.changes is True and result.replaces == []
    assert len(dry_runs) == 1


def test_a_new_patch_is_dry_run_by_check(dry_runs):
    assert wp.WorkloadPatchProvider().check({}, props()).failures == []
    assert [call["dry"] for call in dry_runs] == [True]


class Reached:
    def __init__(self, news):
        self.props = news
        self.reads = 0

    def get(self):
        self.reads += 1
        return {}


def test_an_unchanged_patch_is_checked_by_one_read_and_no_apply(monkeypatch, dry_runs):
    reached: list[Reached] = []
    monkeypatch.setattr(wp, "_Workload", lambda news: reached.append(Reached(news)) or reached[-1])
    assert wp.WorkloadPatchProvider().check(props(), props()).failures == []
    assert [r.reads for r in reached] == [1] and dry_runs == []


def test_a_refusal_is_one_check_failure_line_not_an_exception(monkeypatch):
    def refuse(workload, dry_run=False):
        raise wp.WorkloadPatchError("Deployment ns/airflow-scheduler: env DATASURFACE_POSTGRES_HOST is held by another")

    monkeypatch.setattr(wp, "_Workload", Unread)
    monkeypatch.setattr(wp, "_apply", refuse)
    (failure,) = wp.WorkloadPatchProvider().check({}, props()).failures
    assert failure.property == ""
    assert failure.reason == "Deployment ns/airflow-scheduler: env DATASURFACE_POSTGRES_HOST is held by another"


def test_inputs_not_yet_known_are_not_checked(dry_runs):
    from pulumi.runtime import rpc

    assert wp.WorkloadPatchProvider().check({}, props(spec=rpc.UNKNOWN)).failures == []
    assert dry_runs == []


def test_no_kubeconfig_is_refused_naming_the_file_tried(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-kubeconfig"
    monkeypatch.setenv("KUBECONFIG", str(missing))
    (failure,) = wp.WorkloadPatchProvider().check({}, props()).failures
    assert failure.reason.startswith(f"Deployment ns/airflow-scheduler: no usable kubeconfig {missing} (KUBECONFIG)")
    assert "\n" not in failure.reason


def test_an_unreachable_api_server_is_refused_naming_it_and_the_kubeconfig(monkeypatch, tmp_path):
    from devtools.net import free_port

    server = f"https://127.0.0.1:{free_port()}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: k, cluster: {{server: '{server}', insecure-skip-tls-verify: true}}}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    (failure,) = wp.WorkloadPatchProvider().check({}, props()).failures
    assert failure.reason.startswith(
        f"Deployment ns/airflow-scheduler: cannot reach the Kubernetes API server {server} "
        f"(kubeconfig {kubeconfig} (KUBECONFIG)): "
    ), failure.reason


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


class _LiveWorkload:
    """A workload the provider reads, with its container's executor, and no cluster behind it."""

    def __init__(self, news: dict, executor: str | None):
        self.props = news
        env = [] if executor is None else [{"name": "AIRFLOW__CORE__EXECUTOR", "value": executor}]
        self.live = {"spec": {"template": {"spec": {"containers": [{"name": "scheduler", "env": env}]}}}}
        self.applied: list[dict] = []

    def get(self) -> dict:
        return self.live

    def apply(self, body, force, dry_run=False):
        self.applied.append(body)
        return self.live


def _live(monkeypatch, executor: str | None) -> list[_LiveWorkload]:
    made: list[_LiveWorkload] = []

    def workload(news):
        made.append(_LiveWorkload(news, executor))
        return made[-1]

    monkeypatch.setattr(wp, "_Workload", workload)
    return made


WITHOUT_WORKER = ["Deployment/airflow-scheduler:scheduler"]


def test_check_refuses_a_celery_scheduler_when_no_worker_is_listed_naming_the_key(monkeypatch):
    made = _live(monkeypatch, "CeleryExecutor")
    (failure,) = wp.WorkloadPatchProvider().check({}, props(stackWorkloads=WITHOUT_WORKER)).failures
    assert re.search(r"airflowWorkloads.*StatefulSet/airflow-worker:worker", failure.reason), failure.reason
    assert [w.applied for w in made] == [[]]


def test_an_up_creating_the_patch_is_refused_before_anything_is_applied(monkeypatch):
    made = _live(monkeypatch, "CeleryExecutor")
    with pytest.raises(wp.WorkloadPatchError, match="Celery"):
        wp.WorkloadPatchProvider().create(props(stackWorkloads=WITHOUT_WORKER))
    assert [w.applied for w in made] == [[]]


@pytest.mark.parametrize(
    ("executor", "listed"),
    [
        ("KubernetesExecutor", WITHOUT_WORKER),
        (None, WITHOUT_WORKER),
        ("CeleryExecutor", [*WITHOUT_WORKER, "StatefulSet/airflow-worker:worker"]),
    ],
)
def test_check_passes_the_inputs_through_when_the_tasks_get_the_file(monkeypatch, executor, listed):
    _live(monkeypatch, executor)
    news = props(stackWorkloads=listed)
    result = wp.WorkloadPatchProvider().check({}, news)
    assert result.inputs == news and not result.failures


def test_the_listed_workloads_are_checked_never_applied_and_no_change_of_their_own(dry_runs):
    olds = {**props(stackWorkloads=WITHOUT_WORKER), "drift": []}
    result = wp.WorkloadPatchProvider().diff("id", olds, props(stackWorkloads=[*WITHOUT_WORKER, "X/y:z"]))
    assert result.changes is False
    assert "stackWorkloads" not in wp._body(olds, olds["spec"])


def test_the_program_and_its_providers_import_no_kubernetes_client():
    """The client is imported by the calls that reach the cluster: a program run (and the provider process
    unpickling the provider, which imports this module) does not pay for its import."""
    code = (
        "import sys, components.platform, components.workload_patch; "
        "print(sorted(m for m in ('kubernetes', 'urllib3') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert done.stdout.strip() == "[]"
