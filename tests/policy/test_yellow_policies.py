"""Each policy over a crafted stack, through the policy SDK as the engine calls it: good parts pass, bad ones are
named with a clear message, on the resource they concern."""

from __future__ import annotations

import base64
import copy

import pytest
import yellow_policies as yp
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from components.naming import hostname_problem
from tests.policy import resources as r
from tests.policy.analyzer import messages, review
from tests.policy.conftest import as_stack
from tests.program_harness import STACKS, run_program

HOST_POLICY = "yellow-host-env-is-configured-dns-name"
SECRET_POLICY = "yellow-credentials-secret-has-both-key-variants"
PASSWORD_POLICY = "yellow-no-password-in-plain-sight"
NAMES_POLICY = "yellow-names-belong-to-platform"
SCHEDULER = "Deployment 'airflow-scheduler' container 'airflow-scheduler'"


def with_secret(string_data: dict[str, str]) -> list[r.Resource]:
    return r.stack(r.secret_part(string_data))


# --- plain values -----------------------------------------------------------------------------


def test_values_a_preview_does_not_know_are_left_out():
    props = unknown_checking_proxy({"a": UNKNOWN_STRING_VALUE, "b": ["x", UNKNOWN_STRING_VALUE], "c": {"d": 1}})
    assert yp.known(props) == {"b": ["x"], "c": {"d": 1}}


def test_every_string_is_found_with_its_path():
    found = list(yp.strings({"spec": {"volumes": [{"name": "v"}]}, "data": {"f.py": "src"}, "n": 1}))
    assert found == [("spec.volumes[0].name", "v"), ("data.f.py", "src")]


# --- the whole stack --------------------------------------------------------------------------


def test_a_complete_stack_passes_every_policy():
    assert review(r.complete_stack()) == []


def test_the_order_resources_come_in_does_not_matter():
    bad = r.complete_stack() + [r.workload(r.patch(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": "x"})), name="w")]
    assert review(bad[::-1]) == review(bad) != []


def test_each_resource_is_judged_against_the_platform_above_it():
    forensic_identity = r.of_other_platform(r.platform(mergeDbHost="pg-forensic.ns"))
    forensic = r.Resource(yp.PLATFORM_TYPE, r.OTHER_PLATFORM, forensic_identity)
    live_patch = r.workload(r.patch(), name="live")
    forensic_patch = r.Resource(r.WORKLOAD_PATCH, "forensic", r.of_other_platform(r.patch()), r.OTHER_PLATFORM)
    violations = review([*r.stack(live_patch), forensic, forensic_patch])
    assert [(v.policy, v.resource) for v in violations] == [(HOST_POLICY, "forensic")]
    assert "is not the configured mergeDbHost 'pg-forensic.ns'" in violations[0].message


def test_violations_are_mandatory_and_name_their_resource():
    violations = review(with_secret({}))
    assert violations and all(v.mandatory and v.resource == "credentials" for v in violations)


def test_a_resource_under_no_platform_is_left_alone_except_a_workload_patch():
    loose = [
        r.Resource(yp.SECRET_TYPE, "other-secret", r.secret({"token": "x"})),
        r.Resource(yp.CONFIGMAP_TYPE, "other-configmap", r.configmap(name=f"{r.OTHER_PLATFORM}-x")),
        r.Resource(r.WORKLOAD_PATCH, "loose-patch", r.patch()),
    ]
    assert [(v.policy, v.resource, v.message) for v in review(loose)] == [(HOST_POLICY, "loose-patch", yp.NO_PLATFORM)]


# --- DATASURFACE_POSTGRES_HOST ----------------------------------------------------------------


def host_messages(env: list[dict], kind: str = "Deployment", typ: str = r.WORKLOAD_PATCH) -> list[str]:
    return messages(r.stack(r.workload(r.patch(env, kind=kind), typ=typ)))


@pytest.mark.parametrize(
    ("typ", "kind"),
    [
        (r.WORKLOAD_PATCH, "Deployment"),
        (r.WORKLOAD_PATCH, "StatefulSet"),
        ("kubernetes:apps/v1:DeploymentPatch", "Deployment"),
        ("kubernetes:apps/v1:StatefulSetPatch", "StatefulSet"),
    ],
)
def test_every_kind_of_workload_patch_is_checked(typ, kind):
    assert host_messages(r.good_env(), kind, typ) == []
    assert host_messages(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": "pg"}), kind, typ)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            r.MANGLED_HOST,
            f"DATASURFACE_POSTGRES_HOST = {r.MANGLED_HOST!r} is not the configured mergeDbHost {r.HOST!r}: it looks "
            "like a cluster DNS name with its dots removed (a Kubernetes-name helper mangled it)",
        ),
        ("pg-data-ns-kub-pg-test-svc-cluster-local", "it looks like a cluster DNS name with its dots removed"),
        ("pg data", "is not the configured mergeDbHost"),
        (
            "pg-other.ns.svc.cluster.local",
            f"'pg-other.ns.svc.cluster.local' is not the configured mergeDbHost {r.HOST!r}",
        ),
    ],
    ids=["mangled", "mangled-with-hyphens", "invalid", "another-host"],
)
def test_a_host_other_than_the_configured_one_is_flagged_with_why(value, expected):
    found = host_messages(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": value}))
    assert len(found) == 1 and found[0].startswith(f"{SCHEDULER}: ") and expected in found[0], found


def test_the_reason_is_the_programs_own_hostname_rule():
    found = host_messages(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": "pg data"}))
    assert found[0].endswith(f": it {hostname_problem('pg data')}")


@pytest.mark.parametrize(
    "env",
    [
        r.without_env("DATASURFACE_POSTGRES_HOST"),
        r.with_env("DATASURFACE_POSTGRES_HOST", {"valueFrom": {"configMapKeyRef": {"name": "x", "key": "host"}}}),
    ],
    ids=["missing", "by-reference"],
)
def test_a_host_not_set_literally_is_flagged(env):
    assert host_messages(env) == [
        f"{SCHEDULER}: DATASURFACE_POSTGRES_HOST is not set to the configured mergeDbHost {r.HOST!r} as a literal value"
    ]


# --- the credentials Secret -------------------------------------------------------------------


def test_the_credentials_secret_may_come_as_base64_data_as_the_engine_reports_it():
    data = {k: base64.b64encode(v.encode()).decode() for k, v in r.credentials().items()}
    secret = {**r.secret({}), "data": data}
    del secret["stringData"]
    assert review(r.stack(r.part(yp.SECRET_TYPE, secret, "credentials"))) == []


@pytest.mark.parametrize(
    ("string_data", "expected"),
    [
        (
            {"username": "u", "password": "p"},
            f"Secret {r.SECRET_NAME!r} lacks a <credential>_USER/<credential>_PASSWORD pair: the Airflow environment "
            "reads them by those names",
        ),
        (
            {"postgres_USER": "u", "postgres_PASSWORD": "p"},
            f"Secret {r.SECRET_NAME!r} lacks username, password: pods read them through secretKeyRef",
        ),
        (
            {"username": "u", "password": "p1", "postgres_USER": "u", "postgres_PASSWORD": "p2"},
            f"Secret {r.SECRET_NAME!r}: password and postgres_PASSWORD differ; both variants must carry the same value",
        ),
        (
            {"username": "u", "password": "p", "postgres_PASSWORD": "p"},
            f"Secret {r.SECRET_NAME!r}: username and postgres_USER differ",
        ),
    ],
    ids=["no-credential-pair", "no-username-password", "passwords-differ", "half-a-pair"],
)
def test_a_credentials_secret_without_both_matching_variants_is_flagged(string_data, expected):
    violations = review(with_secret(string_data))
    assert [(v.policy, v.resource) for v in violations] == [(SECRET_POLICY, "credentials")]
    assert violations[0].message.startswith(expected)


def test_only_the_platforms_credentials_secret_needs_the_variants():
    assert review(r.stack(r.secret_part({"token": "x"}, name="tls"))) == []


# --- passwords in plain sight -----------------------------------------------------------------


def patch_with_env_in(kind: str, entry: dict) -> dict:
    props = r.patch(r.with_env("postgres_PASSWORD", entry) if kind == "containers" else None)
    if kind == "initContainers":
        props["spec"]["template"]["spec"][kind] = [{"name": "init", "env": [{"name": "postgres_PASSWORD", **entry}]}]
    return props


@pytest.mark.parametrize(
    ("kind", "entry", "container"),
    [
        ("containers", {"value": "hunter2hunter2"}, "airflow-scheduler"),
        ("containers", {}, "airflow-scheduler"),
        ("initContainers", {"value": "x"}, "init"),
    ],
    ids=["literal", "no-value-from", "init-container"],
)
def test_an_env_var_named_like_a_password_must_come_from_a_secret(kind, entry, container):
    violations = review(r.stack(r.workload(patch_with_env_in(kind, entry))))
    assert [(v.policy, v.message) for v in violations] == [
        (
            PASSWORD_POLICY,
            f"Deployment 'airflow-scheduler' container {container!r}: env postgres_PASSWORD is a literal value; a "
            "password must come from a Secret (valueFrom.secretKeyRef)",
        )
    ]


LEAKED = (
    "holds a password of this stack (the value of a secret config key); a secret may only be passed as a secret input"
)


def test_a_secrets_password_is_found_in_a_configmap_and_in_a_workload_patch():
    leaky_patch = r.patch(r.with_env("DATABASE_URL", {"value": f"postgresql://u:{r.PASSWORD}@pg/db"}))
    leaky_configmap = r.configmap_part({r.DAG_FILE: r.DAG_SOURCE + f"# {r.PASSWORD}\n"})
    violations = review(r.stack(r.secret_part(), leaky_configmap, r.workload(leaky_patch)))
    assert [(v.policy, v.resource, v.message) for v in violations] == [
        (PASSWORD_POLICY, "factory-dag", f"data.{r.DAG_FILE} {LEAKED}"),
        (PASSWORD_POLICY, "scheduler", f"spec.template.spec.containers[0].env[4].value {LEAKED}"),
    ]
    assert not any(r.PASSWORD in v.message for v in violations)


def test_a_password_shorter_than_six_characters_is_not_searched_for():
    short = {**r.credentials(), "password": "pw", "postgres_PASSWORD": "pw"}
    assert review(with_secret(short) + [r.configmap_part({r.DAG_FILE: r.DAG_SOURCE + "# pw\n"})]) == []


# --- one platform's names ---------------------------------------------------------------------

FOREIGN = (
    "names platform 'yellowforensic'; platform 'yellowlive' may only use its own tables, DAG ids, stream keys, "
    "credential names and Kubernetes objects"
)


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (r.part(yp.CONFIGMAP_TYPE, r.configmap(name="yellowforensic-factory-dag"), "dag"), "metadata.name"),
        (
            r.part(
                yp.CONFIGMAP_TYPE, r.configmap({r.DAG_FILE: r.DAG_SOURCE + "L = 'yellowforensic_airflow_dsg'\n"}), "dag"
            ),
            f"data.{r.DAG_FILE}",
        ),
        (r.part(r.DSG_TABLE, r.dsg_table("yellowforensic_airflow_dsg"), "dag"), "table"),
        (
            r.workload(r.patch(config_map="yellowforensic-factory-dag"), name="dag"),
            "spec.template.spec.volumes[0].configMap.name",
        ),
        (
            r.part(yp.SECRET_TYPE, r.secret(labels={"datasurface.io/platform": "yellowforensic"}), "dag"),
            "metadata.labels.datasurface.io/platform",
        ),
    ],
    ids=["configmap-name", "dag-file", "dsg-table", "mounted-configmap", "secret-label"],
)
def test_a_resource_naming_another_platform_is_flagged_where_it_does(resource, path):
    assert [(v.policy, v.resource, v.message) for v in review(r.stack(resource))] == [
        (NAMES_POLICY, "dag", f"{path} {FOREIGN}")
    ]


def test_the_platform_component_itself_may_not_name_another_platform():
    violations = review([r.platform_component(dsgTable="yellowforensic_airflow_dsg")])
    assert [(v.policy, v.resource, v.message) for v in violations] == [
        (NAMES_POLICY, r.PLATFORM, f"dsgTable {FOREIGN}")
    ]


def test_a_providers_settings_are_not_the_platforms_names():
    provider = r.part("pulumi:providers:kubernetes", {"context": "yellowforensic-admin"}, "kubernetes")
    assert review(r.stack(provider)) == []


# --- the program's own resources, under mocks -------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_programs_resources_pass_every_policy(program_stacks, stack):
    assert review(program_stacks[stack]) == []


def test_a_mangled_host_in_the_programs_patches_is_flagged_once_per_workload(program_stacks):
    resources = copy.deepcopy(program_stacks["yellowlive"])
    patches = [res for res in resources if res.type == r.WORKLOAD_PATCH]
    for res in patches:
        for entry in res.props["spec"]["template"]["spec"]["containers"][0]["env"]:
            if entry["name"] == "DATASURFACE_POSTGRES_HOST":
                entry["value"] = r.MANGLED_HOST
    violations = review(resources)
    assert [(v.policy, v.resource) for v in violations] == [(HOST_POLICY, res.name) for res in patches]
    assert all("with its dots removed" in v.message for v in violations)


# --- a secret config value anywhere in plain sight ----------------------------------------------------


def test_a_seed_row_holding_the_login_password_is_stopped_without_showing_it():
    rows = {"Store1": r.seed_row({"store_name": "Store1", "source_dsn": f"postgresql://u:{r.PASSWORD}@pg/db"})}
    violations = review(r.stack(r.secret_part(), r.dsg_table_part(rows)))
    assert [(v.policy, v.resource, v.message) for v in violations] == [
        (PASSWORD_POLICY, "dsg-table", f"rows.Store1.config_json {LEAKED}")
    ]


def test_a_seed_row_holding_the_admin_password_is_stopped_without_showing_it():
    """The admin password reaches the dynamic resources only as their `password`; nothing else may hold it."""
    rows = {"Store1": r.seed_row({"store_name": "Store1", "token": r.ADMIN_PASSWORD})}
    violations = review(r.stack(r.dsg_table_part(rows)))
    assert [(v.policy, v.resource, v.message) for v in violations] == [
        (PASSWORD_POLICY, "dsg-table", f"rows.Store1.config_json {LEAKED}")
    ]


def test_any_plain_input_holding_a_password_is_stopped_whatever_the_resource():
    provider = r.part("pulumi:providers:postgresql", {"host": "pg", "password": r.ADMIN_PASSWORD}, "admin")
    role = r.part("postgresql:index/role:Role", {"name": "yellowlive_airflow", "password": r.PASSWORD}, "role")
    grant = r.part("postgresql:index/grant:Grant", {"role": "yellowlive_airflow", "comment": r.ADMIN_PASSWORD}, "g")
    label = r.secret_part(annotations={"note": r.PASSWORD})
    violations = review(r.stack(provider, role, grant, label))
    assert [(v.policy, v.resource, v.message) for v in violations] == [
        (PASSWORD_POLICY, "g", f"comment {LEAKED}"),
        (PASSWORD_POLICY, "credentials", f"metadata.annotations.note {LEAKED}"),
    ]


def test_a_stream_key_holding_a_password_is_stopped_and_the_key_not_shown():
    rows = {f"Store_{r.PASSWORD}": r.seed_row({"store_name": "Store1"})}
    violations = review(r.stack(r.secret_part(), r.dsg_table_part(rows)))
    assert [(v.policy, v.message) for v in violations] == [(PASSWORD_POLICY, yp.HIDDEN_MESSAGE)]


def test_a_password_found_everywhere_makes_violations_that_quote_no_field_holding_it():
    """With the password `airflow`, messages used to quote 'airflow-scheduler' and the like."""
    password = "airflow"
    credentials = {**r.credentials(), "password": password, "postgres_PASSWORD": password}
    bad_patch = r.patch(r.with_env("postgres_PASSWORD", {"value": "x"}) + [{"name": "HOST_X", "value": "pg"}])
    bad_patch["spec"]["template"]["spec"]["containers"][0]["env"][0] = {"name": HOST, "value": "pg-airflow.ns"}
    resources = r.stack(r.secret_part(credentials), r.configmap_part(), r.workload(bad_patch))
    violations = review(resources)
    assert violations and {v.policy for v in violations} == {HOST_POLICY, PASSWORD_POLICY}
    assert not any(password in v.message for v in violations), [v.message for v in violations]
    assert f"{yp.HIDDEN_VALUE} container {yp.HIDDEN_VALUE}: env postgres_PASSWORD is a literal value" in (
        "\n".join(v.message for v in violations)
    )


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (f"Deployment 'a-{r.PASSWORD}' x", f"Deployment {yp.HIDDEN_VALUE} x"),
        (f'value "it\'s {r.PASSWORD}" x', f"value {yp.HIDDEN_VALUE} x"),
        (f"path.{r.PASSWORD}.x holds", yp.HIDDEN_MESSAGE),
        ("Secret 'yellowlive-postgres-credentials' lacks", "Secret 'yellowlive-postgres-credentials' lacks"),
        ("host 'pgdb' is", f"host {yp.HIDDEN_VALUE} is"),
    ],
    ids=["quoted", "double-quoted", "in-a-path", "short-secret-by-chance", "short-secret-is-the-value"],
)
def test_a_message_shows_no_value_that_holds_a_secret(message, shown):
    assert yp.hidden(message, {r.PASSWORD, "p", "pgdb"}) == shown


HOST = "DATASURFACE_POSTGRES_HOST"


# --- the other platform's names, as whole words in any case --------------------------------------


def rows_with(stream_key: str = "Store1", **config) -> list[r.Resource]:
    return r.stack(r.dsg_table_part({stream_key: r.seed_row({"store_name": "Store1", **config})}))


@pytest.mark.parametrize(
    ("resources", "path"),
    [
        (rows_with("yellowforensic_replay"), "rows.yellowforensic_replay"),
        (rows_with("YELLOWFORENSIC"), "rows.YELLOWFORENSIC"),
        (rows_with(store_name="yellowforensic_store"), "rows.Store1.config_json"),
        (rows_with(store_name="YellowForensic"), "rows.Store1.config_json"),
        (rows_with(credential_names=["postgres_forensic"]), "rows.Store1.config_json"),
        (r.stack(r.secret_part({"postgres_forensic_USER": "u"}, name="x")), "stringData.postgres_forensic_USER"),
        (
            r.stack(r.workload(r.patch(r.with_env("postgres_forensic_USER", {"value": "u"})))),
            "spec.template.spec.containers[0].env[4].name",
        ),
        (r.stack(r.part("postgresql:index/role:Role", {"name": "yellowforensic_airflow"}, "role")), "name"),
    ],
    ids=[
        "stream-key",
        "stream-key-upper-case",
        "store-name",
        "store-name-mixed-case",
        "stream-credential-name",
        "secret-key",
        "env-name",
        "the-other-platforms-role",
    ],
)
def test_the_other_platforms_name_is_caught_as_a_whole_word_in_keys_and_values(resources, path):
    violations = review(resources)
    assert violations and all(v.policy == NAMES_POLICY for v in violations)
    assert any(v.message.startswith(path) and v.message.endswith(FOREIGN) for v in violations), violations


def test_the_credential_name_of_the_other_platform_is_caught_in_the_programs_stack():
    """`credentialName: postgres_forensic` on yellowlive: its env vars would collide with yellowforensic's."""
    resources = as_stack(run_program("yellowlive", {"credentialName": "postgres_forensic"}))
    violations = review(resources)
    assert violations and {v.policy for v in violations} == {NAMES_POLICY}
    kinds = {v.resource for v in violations}
    assert any("credentials" in k for k in kinds) and any("airflow" in k for k in kinds), kinds


@pytest.mark.parametrize(
    "text",
    [
        "yellowforensics",
        "notyellowforensic",
        "yellowforensic2",
        "Forensics_Store",
        "from the live table",
        "the forensic team",
        "deliver_alive",
        "live",
    ],
)
def test_a_name_merely_containing_the_other_platforms_name_inside_a_longer_word_passes(text):
    assert review(rows_with(store_name=text)) == []
    assert review(rows_with(f"Store_{text}x")) == []
