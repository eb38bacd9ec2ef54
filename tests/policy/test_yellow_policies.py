"""Each policy, called as a plain function on crafted resources: good ones pass, bad ones are named."""

from __future__ import annotations

import base64

import pytest
import yellow_policies as yp

from tests.policy import resources as r

_identity = yp.PlatformIdentity.from_inputs(r.platform())
assert _identity is not None, "the sample platform's inputs are complete"
IDENTITY: yp.PlatformIdentity = _identity
MANGLED = "pg-datans-kub-pg-testsvcclusterlocal"


def python_file(source: str) -> dict:
    return r.configmap({r.DAG_FILE: r.DAG_SOURCE + source})


GOOD = [
    ("platform", lambda: yp.platform_identity_problems(r.platform())),
    ("host env", lambda: yp.host_env_problems(r.patch(), IDENTITY)),
    ("statefulset host env", lambda: yp.host_env_problems(r.patch(kind="StatefulSet"), IDENTITY)),
    ("env passwords by reference", lambda: yp.env_password_problems(r.patch())),
    ("secret", lambda: yp.credentials_secret_problems(r.secret(), IDENTITY)),
    (
        "secret as base64 data",
        lambda: yp.credentials_secret_problems(
            {
                **r.secret({}),
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in r.secret()["stringData"].items()},
            },
            IDENTITY,
        ),
    ),
    (
        "secret wrapped as a Pulumi secret",
        lambda: yp.credentials_secret_problems(
            r.edited(
                r.secret(),
                stringData={
                    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                    "value": r.secret()["stringData"],
                },
            ),
            IDENTITY,
        ),
    ),
    (
        "another Secret is not the credentials Secret",
        lambda: yp.credentials_secret_problems(r.secret({"token": "x"}, name="other"), IDENTITY),
    ),
    ("configmap passwords", lambda: yp.configmap_password_problems(r.configmap(), [r.PASSWORD])),
    (
        "configmap env-var-name and placeholder values",
        lambda: yp.configmap_password_problems(
            r.configmap(
                {
                    "app.properties": "db.password=${DB_PASSWORD}\nother_password: '{{ password }}'\n"
                    "pwd=POSTGRES_PASSWORD\n",
                    "conn.ini": "url = postgresql://user:${PGPASSWORD}@host/db\n",
                }
            )
        ),
    ),
    ("comparison is not an assignment", lambda: yp.configmap_password_problems(python_file("ok = password == 'x'\n"))),
    ("configmap compiles", lambda: yp.configmap_compile_problems(r.configmap())),
    ("configmap names", lambda: yp.configmap_name_problems(r.configmap(), IDENTITY)),
    (
        "unrelated configmap",
        lambda: yp.configmap_name_problems({"metadata": {"name": "other"}, "data": {"a.txt": "x"}}, IDENTITY),
    ),
    ("workload names", lambda: yp.workload_name_problems(r.patch(), IDENTITY)),
    ("dsg table", lambda: yp.dsg_table_problems(r.dsg_table(), IDENTITY)),
    ("secret label", lambda: yp.secret_name_problems(r.secret(), IDENTITY)),
]


@pytest.mark.parametrize("check", [c for _, c in GOOD], ids=[i for i, _ in GOOD])
def test_a_good_resource_passes(check):
    assert check() == []


BAD = [
    # the Platform component
    (
        "platform missing inputs",
        lambda: yp.platform_identity_problems({"platform": "yellowlive"}),
        "datasurface:yellow:Platform lacks the input(s) mergeDbHost, dsgTable",
    ),
    (
        "platform mangled host",
        lambda: yp.platform_identity_problems(r.platform(mergeDbHost=MANGLED)),
        f"mergeDbHost {MANGLED!r} is not a valid hostname: it looks like a cluster DNS name with its dots removed",
    ),
    (
        "platform foreign table",
        lambda: yp.platform_identity_problems(r.platform(dsgTable="yellowforensic_airflow_dsg")),
        "dsg table 'yellowforensic_airflow_dsg' (dsgTable) does not belong to platform 'yellowlive'",
    ),
    (
        "platform foreign prefix",
        lambda: yp.platform_identity_problems(r.platform(dagIdPrefix="yellow__")),
        "DAG id prefix 'yellow__' (dagIdPrefix) does not belong to platform 'yellowlive'",
    ),
    (
        "platform foreign configmap",
        lambda: yp.platform_identity_problems(r.platform(configMap="factory-dag")),
        "factory DAG ConfigMap 'factory-dag' (configMap) does not belong to platform 'yellowlive'",
    ),
    (
        "platform prefix of a longer name",
        lambda: yp.platform_identity_problems(r.platform(dsgTable="yellowliveextra_airflow_dsg")),
        "does not belong to platform 'yellowlive'",
    ),
    # DATASURFACE_POSTGRES_HOST
    (
        "host mangled",
        lambda: yp.host_env_problems(r.patch(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": MANGLED})), IDENTITY),
        f"DATASURFACE_POSTGRES_HOST = {MANGLED!r} is the configured name {r.HOST!r} with its dots removed",
    ),
    (
        "host mangled with hyphens",
        lambda: yp.host_env_problems(
            r.patch(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": "pg-data-ns-kub-pg-test-svc-cluster-local"})),
            IDENTITY,
        ),
        "with its dots removed (a Kubernetes-name helper mangled it)",
    ),
    (
        "host invalid",
        lambda: yp.host_env_problems(r.patch(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": "pg data"})), IDENTITY),
        "DATASURFACE_POSTGRES_HOST = 'pg data' is not a valid hostname: it has an invalid DNS label 'pg data'",
    ),
    (
        "host differs",
        lambda: yp.host_env_problems(
            r.patch(r.with_env("DATASURFACE_POSTGRES_HOST", {"value": "pg-other.ns.svc.cluster.local"})), IDENTITY
        ),
        "DATASURFACE_POSTGRES_HOST = 'pg-other.ns.svc.cluster.local' differs from the platform's configured "
        f"mergeDbHost {r.HOST!r}",
    ),
    (
        "host by reference",
        lambda: yp.host_env_problems(
            r.patch(
                r.with_env("DATASURFACE_POSTGRES_HOST", {"valueFrom": {"configMapKeyRef": {"name": "x", "key": "h"}}})
            ),
            IDENTITY,
        ),
        f"DATASURFACE_POSTGRES_HOST must be the literal DNS name {r.HOST!r}, not a reference",
    ),
    (
        "host missing",
        lambda: yp.host_env_problems(
            r.patch([e for e in r.good_env() if e["name"] != "DATASURFACE_POSTGRES_HOST"]), IDENTITY
        ),
        "Deployment 'airflow-scheduler' container 'airflow-scheduler' does not set DATASURFACE_POSTGRES_HOST",
    ),
    # the credentials Secret
    (
        "secret lacks username/password",
        lambda: yp.credentials_secret_problems(r.secret({"postgres_USER": "u", "postgres_PASSWORD": "p"}), IDENTITY),
        f"Secret {r.SECRET_NAME!r} lacks username, password: pods read them through secretKeyRef",
    ),
    (
        "secret lacks credential pair",
        lambda: yp.credentials_secret_problems(r.secret({"username": "u", "password": "p"}), IDENTITY),
        f"Secret {r.SECRET_NAME!r} lacks a <credential>_USER/<credential>_PASSWORD pair",
    ),
    (
        "secret half a pair",
        lambda: yp.credentials_secret_problems(
            r.secret(
                {
                    "username": "u",
                    "password": "p",
                    "postgres_USER": "u",
                    "postgres_PASSWORD": "p",
                    "postgres_forensic_USER": "u",
                }
            ),
            IDENTITY,
        ),
        f"Secret {r.SECRET_NAME!r} has postgres_forensic_USER but not postgres_forensic_PASSWORD",
    ),
    (
        "secret variants differ",
        lambda: yp.credentials_secret_problems(
            r.secret({"username": "u", "password": "p1", "postgres_USER": "u", "postgres_PASSWORD": "p2"}), IDENTITY
        ),
        f"Secret {r.SECRET_NAME!r}: password and postgres_PASSWORD hold different values",
    ),
    (
        "secret empty password",
        lambda: yp.credentials_secret_problems(
            r.secret({"username": "u", "password": "", "postgres_USER": "u", "postgres_PASSWORD": ""}), IDENTITY
        ),
        f"Secret {r.SECRET_NAME!r}: password is empty; the login needs a password",
    ),
    # passwords in env vars
    (
        "env literal password",
        lambda: yp.env_password_problems(r.patch(r.with_env("postgres_PASSWORD", {"value": "hunter2hunter2"}))),
        "Deployment 'airflow-scheduler' container 'airflow-scheduler': env postgres_PASSWORD is a literal value; "
        "a password must come from a Secret (valueFrom.secretKeyRef)",
    ),
    (
        "env password without valueFrom",
        lambda: yp.env_password_problems(r.patch(r.with_env("PGPASSWORD", {}))),
        "env PGPASSWORD is a literal value",
    ),
    (
        "env password in an init container",
        lambda: yp.env_password_problems(
            {
                "kind": "StatefulSet",
                "metadata": {"name": "w"},
                "spec": {
                    "template": {
                        "spec": {"initContainers": [{"name": "init", "env": [{"name": "DB_PASSWORD", "value": "x"}]}]}
                    }
                },
            }
        ),
        "StatefulSet 'w' container 'init': env DB_PASSWORD is a literal value",
    ),
    # passwords in ConfigMaps
    (
        "configmap python literal",
        lambda: yp.configmap_password_problems(python_file('PASSWORD = "hunter2"\n')),
        f"ConfigMap {r.CONFIGMAP_NAME!r} key {r.DAG_FILE!r} line 11: PASSWORD is assigned a literal value",
    ),
    (
        "configmap python keyword literal",
        lambda: yp.configmap_password_problems(python_file("conn = connect(password='hunter2')\n")),
        "line 11: password is assigned a literal value",
    ),
    (
        "configmap python dict literal",
        lambda: yp.configmap_password_problems(python_file('CONN = {"password": "hunter2"}\n')),
        "line 11: password is assigned a literal value",
    ),
    (
        "configmap properties literal",
        lambda: yp.configmap_password_problems(
            r.configmap({"app.properties": "db.user=airflow\ndb.password=hunter2\n"})
        ),
        "key 'app.properties' line 2: db.password is assigned a literal value",
    ),
    (
        "configmap yaml literal",
        lambda: yp.configmap_password_problems(r.configmap({"values.yaml": "postgres:\n  password: hunter2\n"})),
        "key 'values.yaml' line 2: password is assigned a literal value",
    ),
    (
        "configmap password-named key",
        lambda: yp.configmap_password_problems(r.configmap({"DB_PASSWORD": "hunter2"})),
        "key 'DB_PASSWORD' is named like a password and holds a value; passwords belong in a Secret",
    ),
    (
        "configmap url password",
        lambda: yp.configmap_password_problems(
            r.configmap({"airflow.cfg": "sql_alchemy_conn = postgresql://airflow:hunter2@pg/airflow\n"})
        ),
        "key 'airflow.cfg' line 1: a URL carries a password",
    ),
    (
        "configmap holds the Secret's password",
        lambda: yp.configmap_password_problems(python_file(f"# {r.PASSWORD}\n"), [r.PASSWORD]),
        f"ConfigMap {r.CONFIGMAP_NAME!r} key {r.DAG_FILE!r} contains the password of a Secret of this stack",
    ),
    # the factory DAG compiles
    (
        "dag syntax error",
        lambda: yp.configmap_compile_problems(python_file("def broken(:\n")),
        f"ConfigMap {r.CONFIGMAP_NAME!r} file {r.DAG_FILE!r} does not compile: invalid syntax (line 11)",
    ),
    (
        "dag null byte",
        lambda: yp.configmap_compile_problems(python_file("x = 1\0\n")),
        f"file {r.DAG_FILE!r} does not compile: source code string cannot contain null bytes",
    ),
    # names belong to the platform
    (
        "configmap of another name",
        lambda: yp.configmap_name_problems(r.configmap(name="yellowforensic-factory-dag"), IDENTITY),
        "ConfigMap 'yellowforensic-factory-dag' holds a factory DAG, but platform 'yellowlive' delivers its DAG in "
        f"ConfigMap {r.CONFIGMAP_NAME!r}",
    ),
    (
        "configmap labelled for another platform",
        lambda: yp.configmap_name_problems(
            r.configmap(None, r.CONFIGMAP_NAME, **{"datasurface.io/platform": "yellowforensic"}), IDENTITY
        ),
        f"ConfigMap {r.CONFIGMAP_NAME!r} is labelled for platform 'yellowforensic', not 'yellowlive'",
    ),
    (
        "configmap with another platform's file",
        lambda: yp.configmap_name_problems(r.configmap({"yellowforensic_factory_dag.py": r.DAG_SOURCE}), IDENTITY),
        "holds 'yellowforensic_factory_dag.py', not the platform's DAG file 'yellowlive_factory_dag.py'",
    ),
    (
        "dag file names another table",
        lambda: yp.configmap_name_problems(python_file("LEDGER = 'yellowforensic_airflow_dsg_ledger'\n"), IDENTITY),
        "refers to yellowforensic_airflow_dsg_ledger of another platform; platform 'yellowlive' may only use its own",
    ),
    (
        "dag file lacks its prefix",
        lambda: yp.configmap_name_problems(
            r.configmap({r.DAG_FILE: r.DAG_SOURCE.replace("'yellowlive__'", "'yl__'")}), IDENTITY
        ),
        f"file {r.DAG_FILE!r} does not name its platform's DAG id prefix 'yellowlive__'",
    ),
    (
        "dsg table of another platform",
        lambda: yp.dsg_table_problems(r.dsg_table("yellowforensic_airflow_dsg"), IDENTITY),
        "dsg table 'yellowforensic_airflow_dsg' is not 'yellowlive_airflow_dsg', the table of platform 'yellowlive'",
    ),
    (
        "patch mounts another ConfigMap",
        lambda: yp.workload_name_problems(r.patch(config_map="yellowforensic-factory-dag"), IDENTITY),
        f"Deployment 'airflow-scheduler' mounts factory DAG ConfigMap 'yellowforensic-factory-dag', not the "
        f"platform's {r.CONFIGMAP_NAME!r}",
    ),
    (
        "patch naming its field manager in the annotation",
        lambda: yp.workload_name_problems(r.patch(field_manager="datasurface-yellowlive"), IDENTITY),
        "names its field manager 'datasurface-yellowlive' in the annotation pulumi.com/patchFieldManager; "
        "the annotation is itself an applied field",
    ),
    (
        "secret labelled for another platform",
        lambda: yp.secret_name_problems(r.secret(labels={"datasurface.io/platform": "yellowforensic"}), IDENTITY),
        f"Secret {r.SECRET_NAME!r} is labelled for platform 'yellowforensic', not 'yellowlive'",
    ),
]


@pytest.mark.parametrize(("check", "message"), [(c, m) for _, c, m in BAD], ids=[i for i, _, _ in BAD])
def test_a_bad_resource_is_flagged_with_a_clear_message(check, message):
    problems = check()
    assert any(message in p for p in problems), f"expected {message!r} in {problems}"


def test_no_message_repeats_a_password():
    problems = yp.configmap_password_problems(python_file(f'PASSWORD = "{r.PASSWORD}"\n'), [r.PASSWORD])
    problems += yp.env_password_problems(r.patch(r.with_env("postgres_PASSWORD", {"value": r.PASSWORD})))
    assert len(problems) == 3
    assert not any(r.PASSWORD in p for p in problems)


def test_short_secret_passwords_are_not_searched_for():
    assert yp.configmap_known_password_problems(r.configmap(), ["PLAT"]) == []
    assert yp.secret_passwords(r.secret({"password": "abc"})) == set()
    assert yp.secret_passwords(r.secret()) == {r.PASSWORD}


def test_identity_needs_every_input():
    assert yp.PlatformIdentity.from_inputs(r.platform()) == IDENTITY
    assert yp.PlatformIdentity.from_inputs({k: v for k, v in r.platform().items() if k != "configMap"}) is None
    assert IDENTITY.dag_file_name == r.DAG_FILE


HOSTS = [
    r.HOST,
    "localhost",
    "pg-data.ns.svc.cluster.local.",
    "",
    " pg-data",
    "pg data",
    "pg_data.ns",
    "-pg.ns",
    "a" * 64 + ".ns",
    "a." * 127 + "a",
    MANGLED,
    "pg-data-ns-kub-pg-test-svc-cluster-local",
    "10.0.0.1",
]


@pytest.mark.parametrize("host", HOSTS)
def test_the_vendored_hostname_check_agrees_with_the_programs(host):
    from components.naming import hostname_problem

    assert yp.hostname_problem(host) == hostname_problem(host)
