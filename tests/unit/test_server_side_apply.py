"""Keyed comparison with the live object, and who holds a field when an apply conflicts."""

from __future__ import annotations

import pytest

from components import server_side_apply as ssa

HOST_PATH = '.spec.template.spec.containers[name="scheduler"].env[name="DATASURFACE_POSTGRES_HOST"].value'
SECRET_REF = {"secretKeyRef": {"name": "yellowlive-postgres-credentials", "key": "postgres_USER"}}


def desired_spec() -> dict:
    return {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "scheduler",
                        "env": [
                            {"name": "DATASURFACE_POSTGRES_HOST", "value": "pg.ns.svc.cluster.local"},
                            {"name": "postgres_USER", "valueFrom": SECRET_REF},
                        ],
                    }
                ],
                "volumes": [{"name": "dag", "configMap": {"name": "dag", "items": [{"key": "f.py", "path": "f.py"}]}}],
            }
        }
    }


def live_spec(host: str = "pg.ns.svc.cluster.local") -> dict:
    """The chart's entries first, another stack's next, ours last, and server defaults added."""
    return {
        "replicas": 0,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "scheduler",
                        "image": "apache/airflow:3.3.2",
                        "env": [
                            {"name": "AIRFLOW__CORE__EXECUTOR", "value": "KubernetesExecutor"},
                            {"name": "postgres_forensic_USER", "valueFrom": SECRET_REF},
                            {"name": "DATASURFACE_POSTGRES_HOST", "value": host},
                            {"name": "postgres_USER", "valueFrom": SECRET_REF},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "dags", "emptyDir": {}},
                    {
                        "name": "dag",
                        "configMap": {"name": "dag", "defaultMode": 420, "items": [{"key": "f.py", "path": "f.py"}]},
                    },
                ],
            }
        },
    }


def owned_tree() -> dict:
    """FieldsV1 of our manager: the env entries (secretKeyRef held whole, as an atomic struct) and the volume."""
    return {
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"scheduler"}': {
                        ".": {},
                        "f:name": {},
                        "f:env": {
                            'k:{"name":"DATASURFACE_POSTGRES_HOST"}': {".": {}, "f:name": {}, "f:value": {}},
                            'k:{"name":"postgres_USER"}': {
                                ".": {},
                                "f:name": {},
                                "f:valueFrom": {"f:secretKeyRef": {}},
                            },
                        },
                    }
                },
                "f:volumes": {
                    'k:{"name":"dag"}': {".": {}, "f:name": {}, "f:configMap": {"f:name": {}, "f:items": {}}}
                },
            }
        }
    }


def test_entries_are_matched_by_merge_key_so_other_managers_entries_before_ours_are_no_drift():
    assert ssa.drift(live_spec(), desired_spec(), owned_tree(), ".spec") == []


def test_a_hand_edited_value_is_drift_naming_the_field_and_both_values():
    assert ssa.drift(live_spec(host="pgnssvcclusterlocal"), desired_spec(), owned_tree(), ".spec") == [
        f'{HOST_PATH}: live "pgnssvcclusterlocal", configured "pg.ns.svc.cluster.local"'
    ]


def test_a_right_value_another_manager_took_over_is_drift():
    owned = owned_tree()
    env = owned["f:template"]["f:spec"]["f:containers"]['k:{"name":"scheduler"}']["f:env"]
    del env['k:{"name":"DATASURFACE_POSTGRES_HOST"}']["f:value"]
    assert ssa.drift(live_spec(), desired_spec(), owned, ".spec") == [
        f"{HOST_PATH}: right value, but held by another field manager"
    ]


def test_a_missing_entry_is_one_line_of_drift():
    live = live_spec()
    live["template"]["spec"]["volumes"] = live["template"]["spec"]["volumes"][:1]
    assert ssa.drift(live, desired_spec(), owned_tree(), ".spec") == ['.spec.template.spec.volumes[name="dag"]: absent']


def test_an_atomic_list_is_compared_whole():
    live = live_spec()
    live["template"]["spec"]["volumes"][1]["configMap"]["items"] = [{"key": "other.py", "path": "f.py"}]
    (line,) = ssa.drift(live, desired_spec(), owned_tree(), ".spec")
    assert line.startswith('.spec.template.spec.volumes[name="dag"].configMap.items: live [{"key": "other.py"')


def test_without_ownership_only_values_count():
    assert ssa.drift(live_spec(), desired_spec(), None, ".spec") == []


def test_owned_fields_merge_every_apply_entry_of_the_manager_and_ignore_updates():
    managed = [
        {"manager": "datasurface-yellowlive", "operation": "Apply", "fieldsV1": {"f:spec": {"f:a": {}}}},
        {"manager": "datasurface-yellowlive", "operation": "Apply", "fieldsV1": {"f:spec": {"f:b": {}}}},
        {"manager": "datasurface-yellowlive", "operation": "Update", "fieldsV1": {"f:spec": {"f:c": {}}}},
        {"manager": "helm", "operation": "Apply", "fieldsV1": {"f:spec": {"f:d": {}}}},
    ]
    assert ssa.owned_fields(managed, "datasurface-yellowlive") == {"f:spec": {"f:a": {}, "f:b": {}}}


CONFLICT_STATUS = {
    "kind": "Status",
    "code": 409,
    "details": {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-set" using apps/v1',
                "field": HOST_PATH,
            }
        ]
    },
}


def test_conflicts_are_read_from_the_status_causes():
    assert ssa.conflicts(CONFLICT_STATUS) == [ssa.Conflict("kubectl-set", HOST_PATH)]
    assert ssa.conflicts({"kind": "Status", "code": 409}) == []


@pytest.mark.parametrize(
    ("operations", "taken_back"),
    [
        ({"kubectl-set": "Update"}, True),
        ({"datasurface-yellowlive": "Apply"}, False),
        ({"kubectl-set": "Update", "datasurface-yellowlive": "Apply"}, False),
    ],
)
def test_only_hand_edits_are_taken_back(operations, taken_back):
    found = [ssa.Conflict(manager, HOST_PATH) for manager in operations]
    managed = [{"manager": manager, "operation": operation} for manager, operation in operations.items()]
    assert ssa.only_hand_edits(found, managed) is taken_back


def test_no_conflict_is_no_hand_edit():
    assert ssa.only_hand_edits([], []) is False


def test_a_refusal_names_the_holding_stack_and_the_config_key():
    found = [ssa.Conflict("datasurface-yellowlive", HOST_PATH), ssa.Conflict("argocd-controller", ".spec.replicas")]
    message = ssa.conflict_message(
        "Deployment ns/airflow-scheduler",
        "datasurface-yellowforensic",
        found,
        {"DATASURFACE_POSTGRES_HOST": "mergeDbHost"},
    )
    assert f'{HOST_PATH} (config key mergeDbHost) is held by stack "yellowlive"' in message
    assert '.spec.replicas is held by field manager "argocd-controller"' in message
    assert message.startswith("Deployment ns/airflow-scheduler: this stack (datasurface-yellowforensic)")
    assert "Nothing was changed." in message


def test_field_managers_name_the_stack():
    assert ssa.field_manager("yellowlive") == "datasurface-yellowlive"
    assert ssa.stack_of("datasurface-yellowlive") == "yellowlive"
    assert ssa.stack_of("kubectl-set") is None


def test_an_empty_spec_claims_nothing_so_applying_it_releases_every_field():
    assert "spec" not in ssa.apply_body("apps/v1", "Deployment", "a", "ns", {})
    assert ssa.apply_body("apps/v1", "Deployment", "a", "ns", {"x": 1})["spec"] == {"x": 1}


def deployment(generation=2, observed=2, replicas=1, updated=1, total=1, available=1) -> dict:
    return {
        "kind": "Deployment",
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
        },
    }


@pytest.mark.parametrize(
    ("obj", "complete"),
    [
        (deployment(), True),
        (deployment(observed=1), False),
        (deployment(updated=0, available=0), False),
        (deployment(total=2), False),
        (deployment(available=0), False),
        (deployment(replicas=0, updated=0, total=0, available=0), True),
        ({"kind": "StatefulSet", "metadata": {}, "spec": {"updateStrategy": {"type": "OnDelete"}}}, True),
        (
            {
                "kind": "StatefulSet",
                "metadata": {"generation": 1},
                "spec": {"replicas": 1},
                "status": {"observedGeneration": 1, "readyReplicas": 1, "updateRevision": "b", "currentRevision": "a"},
            },
            False,
        ),
    ],
)
def test_rollout_is_complete_as_kubectl_rollout_status_reports_it(obj, complete):
    assert ssa.rollout_complete(obj) is complete
