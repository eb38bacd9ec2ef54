"""The whole program under Pulumi mocks, once per stack: what one `pulumi up` would declare."""

from __future__ import annotations

import base64
import json

import pytest

from components.dsg_sql import rows_from_text
from components.naming import PlatformNames
from components.privileges import PUBLIC_REVOKED, grants_input, login_grants, writer_grants
from components.project_file import SECRET_KEYS
from components.settings import SettingsError
from tests.program_harness import (
    CONFIGMAP,
    DSG_TABLE,
    FACTORY_TABLES,
    SECRET,
    WORKLOAD_PATCH,
    ProgramRun,
    is_secret,
    patches,
    prepare_run,
    refused,
    run_program,
    secret_values_for,
    unwrap,
    walk_strings,
)


def containers(run: ProgramRun):
    for patch in patches(run):
        for container in patch.inputs["spec"]["template"]["spec"]["containers"]:
            yield patch, container


def env_of(container) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def test_declares_one_platform_with_every_part(stack_run):
    types = [r.typ for r in stack_run.resources]
    assert types.count("datasurface:yellow:Platform") == 1
    assert types.count(SECRET) == 1
    assert types.count(CONFIGMAP) == 1
    assert types.count(DSG_TABLE) == 1
    assert types.count("postgresql:index/role:Role") == 1
    assert types.count("postgresql:index/grant:Grant") == 2
    assert types.count(FACTORY_TABLES) == 1
    assert len(patches(stack_run)) == len(stack_run.config["airflowWorkloads"])


def test_secret_carries_both_key_variants_as_secrets(stack_run):
    secret = stack_run.one(SECRET)
    assert is_secret(secret.inputs["stringData"])
    data = unwrap(secret.inputs["stringData"])
    credential = stack_run.config.get("credentialName", "postgres")
    assert set(data) == {"username", "password", f"{credential}_USER", f"{credential}_PASSWORD"}
    password = secret_values_for(stack_run.stack)["mergeDbPassword"]
    assert data["password"] == data[f"{credential}_PASSWORD"] == password
    assert data["username"] == data[f"{credential}_USER"] == stack_run.config["mergeDbUser"]


def test_host_env_var_is_the_configured_dns_name_verbatim_in_every_workload(stack_run):
    expected = stack_run.config["mergeDbHost"]
    seen = 0
    for _, container in containers(stack_run):
        env = env_of(container)
        assert env["DATASURFACE_POSTGRES_HOST"] == {"name": "DATASURFACE_POSTGRES_HOST", "value": expected}
        assert env["DATASURFACE_POSTGRES_PORT"]["value"] == str(stack_run.config["mergeDbPort"])
        assert env["DATASURFACE_POSTGRES_DATABASE"]["value"] == stack_run.config["mergeDbName"]
        seen += 1
    assert seen == len(stack_run.config["airflowWorkloads"])


def test_each_configured_workload_is_patched_by_kind_name_and_container(stack_run):
    patched = set()
    for patch, container in containers(stack_run):
        patched.add(f"{patch.inputs['kind']}/{patch.inputs['metadata']['name']}:{container['name']}")
        assert patch.inputs["metadata"]["namespace"] == stack_run.config["namespace"]
    assert patched == set(stack_run.config["airflowWorkloads"])


def test_credentials_reach_workloads_only_by_reference_to_the_secret(stack_run):
    secret = stack_run.one(SECRET)
    secret_name = secret.inputs["metadata"]["name"]
    secret_keys = set(unwrap(secret.inputs["stringData"]))
    credential = stack_run.config.get("credentialName", "postgres")
    for _, container in containers(stack_run):
        env = env_of(container)
        for name in (f"{credential}_USER", f"{credential}_PASSWORD"):
            assert "value" not in env[name]
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret_name
            assert ref["key"] in secret_keys


def test_no_secret_value_appears_outside_a_pulumi_secret(stack_run):
    secrets = set(secret_values_for(stack_run.stack).values())
    for resource in stack_run.resources:
        inputs = dict(resource.inputs)
        provider_blob = inputs.pop("__provider", None)
        for text, inside_secret in walk_strings(inputs):
            for secret in secrets:
                assert secret not in text or inside_secret, f"{resource.typ} {resource.name} leaks a secret"
        if provider_blob is not None:
            pickled = base64.b64decode(unwrap(provider_blob))
            assert not any(s.encode() in pickled for s in secrets), "the pickled dynamic provider holds a secret"
    for name, value in stack_run.outputs.items():
        for text, _ in walk_strings(value):
            assert not any(s in text for s in secrets), f"stack output {name} leaks a secret"


def test_no_secret_value_in_the_configmap(stack_run):
    configmap = stack_run.one(CONFIGMAP)
    assert not is_secret(configmap.inputs["data"]), "the DAG file must stay readable in previews"
    for secret in secret_values_for(stack_run.stack).values():
        for text, _ in walk_strings(configmap.inputs):
            assert secret not in text


def test_configmap_file_compiles_and_names_its_platform_and_table(stack_run):
    platform = stack_run.config["platform"]
    data = stack_run.one(CONFIGMAP).inputs["data"]
    assert list(data) == [f"{platform}_factory_dag.py"]
    source = data[f"{platform}_factory_dag.py"]
    compile(source, f"{platform}_factory_dag.py", "exec")
    assert repr(f"{platform}_airflow_dsg") in source
    assert repr(f"{platform}_factory_dag") in source


def test_configmap_is_mounted_into_a_dags_sub_folder_per_platform(stack_run):
    platform = stack_run.config["platform"]
    configmap_name = stack_run.one(CONFIGMAP).inputs["metadata"]["name"]
    for patch, container in containers(stack_run):
        volumes = patch.inputs["spec"]["template"]["spec"]["volumes"]
        assert [v["configMap"]["name"] for v in volumes] == [configmap_name]
        assert [m["mountPath"] for m in container["volumeMounts"]] == [f"/opt/airflow/dags/{platform}"]
        assert container["volumeMounts"][0]["name"] == volumes[0]["name"]


def test_configmap_updates_in_place_and_patches_use_server_side_apply(stack_run):
    provider = stack_run.one("pulumi:providers:kubernetes")
    assert provider.inputs["enableConfigMapMutable"] == "true"
    assert provider.inputs["enableSecretMutable"] == "true"
    assert provider.inputs["enableServerSideApply"] == "true"
    for patch in patches(stack_run):
        # An annotation naming the manager would itself be a field that live and forensic conflict on.
        assert "annotations" not in patch.inputs["metadata"]


def test_the_kubernetes_provider_holds_no_kubeconfig_path_whatever_KUBECONFIG_says(monkeypatch, tmp_path):
    inputs = []
    for path in (tmp_path / "ci" / "kubeconfig", tmp_path / "home" / ".kube" / "config"):
        monkeypatch.setenv("KUBECONFIG", str(path))
        inputs.append(run_program("yellowlive").one("pulumi:providers:kubernetes").inputs)
    assert inputs[0] == inputs[1]
    assert inputs[0]["kubeconfig"] == ""


def test_dsg_table_rows_are_keyed_by_stream_key_so_previews_name_the_row(stack_run):
    table = stack_run.one(DSG_TABLE)
    platform = stack_run.config["platform"]
    assert table.inputs["table"] == f"{platform}_airflow_dsg"
    assert set(rows_from_text(table.inputs["rows"])) == set(DEPLOYED_ROWS[stack_run.stack])
    assert is_secret(table.inputs["password"])
    assert table.inputs.get("grant_to") is None  # what the login role may do there is FactoryTables' grants


def test_dsg_table_rows_are_one_text_with_a_line_per_row_starting_with_its_key(stack_run):
    """One value for the engine and the provider process to carry, however many rows; a changed row is a
    changed line in `pulumi preview --diff`."""
    text = stack_run.one(DSG_TABLE).inputs["rows"]
    assert isinstance(text, str)
    keys = sorted(DEPLOYED_ROWS[stack_run.stack])
    assert [line.split(",")[0] for line in text.split("\n")] == [f'["{key}"' for key in keys]


def _row(config_json: str, status: str = "active") -> dict[str, str]:
    return {"config_json": config_json, "status": status}


# What each committed stack writes to its table, byte for byte: a change here is a change in the deployed
# rows (the local stack's rows come from config/local.streams.yaml, the others' from inline seedStreams).
DEPLOYED_ROWS = {
    "yellowlive": {
        "Store1": _row(
            '{"credential_names":["postgres"],"datasets":["customers","orders"],"ingestion_type":"sql_snapshot",'
            '"schedule_string":"@hourly","store_name":"Store1"}'
        ),
        "Store2": _row(
            '{"credential_names":["postgres"],"dataset_name":"payments","ingestion_type":"sql_snapshot",'
            '"schedule_string":"*/15 * * * *","store_name":"Store2"}'
        ),
        "Store3": _row(
            '{"credential_names":["postgres"],"ingestion_type":"kafka","schedule_string":null,"store_name":"Store3"}',
            "disabled",
        ),
    },
    "yellowforensic": {
        "Store1": _row(
            '{"credential_names":["postgres_forensic"],"datasets":["customers","orders"],'
            '"ingestion_type":"sql_snapshot","schedule_string":"@daily","store_name":"Store1"}'
        ),
        "Store2": _row(
            '{"credential_names":["postgres_forensic"],"dataset_name":"payments","ingestion_type":"sql_snapshot",'
            '"schedule_string":"@daily","store_name":"Store2"}'
        ),
    },
}
DEPLOYED_ROWS["local"] = DEPLOYED_ROWS["yellowlive"]


def test_each_stack_deploys_exactly_its_rows(stack_run):
    assert rows_from_text(stack_run.one(DSG_TABLE).inputs["rows"]) == DEPLOYED_ROWS[stack_run.stack]


def test_admin_endpoint_may_differ_from_the_in_cluster_host(stack_runs):
    run = stack_runs["yellowlive"]
    providers = run.of_type("pulumi:providers:postgresql")
    assert providers
    for provider in providers:
        assert provider.inputs["host"] == "localhost"
        assert provider.inputs["port"] == "15432"
        assert is_secret(provider.inputs["password"])
    assert run.one(DSG_TABLE).inputs["host"] == "localhost"


def provider_database(run: ProgramRun, resource) -> str:
    """The database the postgresql provider of `resource` connects to."""
    provider_name = resource.provider.split("::")[-2]
    return next(p.inputs["database"] for p in run.of_type("pulumi:providers:postgresql") if p.name == provider_name)


def test_role_and_grants_are_managed_inside_the_merge_database(stack_run):
    """Deleting the role reassigns what it owns in its provider's database: the merge database keeps
    the factory's ledger and audit tables instead of blocking DROP ROLE."""
    merge_db = stack_run.config["mergeDbName"]
    role = stack_run.one("postgresql:index/role:Role")
    assert role.inputs["name"] == stack_run.config["mergeDbUser"]
    assert role.inputs["login"] is True
    assert is_secret(role.inputs["password"])
    assert provider_database(stack_run, role) == merge_db
    grants = stack_run.of_type("postgresql:index/grant:Grant")
    assert {provider_database(stack_run, g) for g in grants} == {merge_db}
    assert sorted((g.inputs["objectType"], tuple(g.inputs["privileges"])) for g in grants) == [
        ("database", ("CONNECT",)),
        ("schema", ("USAGE",)),
    ]
    for database in stack_run.of_type("postgresql:index/database:Database"):
        assert provider_database(stack_run, database) == "postgres"


def test_only_the_stack_that_owns_the_database_creates_it_and_keeps_it(stack_runs):
    assert len(stack_runs["yellowlive"].of_type("postgresql:index/database:Database")) == 1
    assert stack_runs["yellowforensic"].of_type("postgresql:index/database:Database") == []


def test_render_mode_writes_manifests_with_patch_resources_instead_of_applying_them(stack_runs):
    from tests.program_harness import run_program

    rendered = run_program("local", {"renderManifestsTo": "build/manifests/local"})
    assert rendered.one("pulumi:providers:kubernetes").inputs["renderYamlToDirectory"] == "build/manifests/local"
    assert {p.typ for p in patches(rendered)} == {"kubernetes:apps/v1:DeploymentPatch"}
    for stack, run in stack_runs.items():
        assert "renderYamlToDirectory" not in run.one("pulumi:providers:kubernetes").inputs, stack


def test_stack_outputs_name_the_platform_parts(stack_run):
    platform = stack_run.config["platform"]
    assert stack_run.outputs["factoryDagId"] == f"{platform}_factory_dag"
    assert stack_run.outputs["dagIdPrefix"] == f"{platform}__"
    assert stack_run.outputs["dsgTable"] == f"{platform}_airflow_dsg"
    assert stack_run.outputs["mergeDbHost"] == stack_run.config["mergeDbHost"]
    assert not stack_run.secret_outputs


# --- live and forensic side by side on the same Airflow --------------------------------------


def _names(run: ProgramRun) -> dict[str, str]:
    patch = patches(run)[0]
    return {
        "table": run.one(DSG_TABLE).inputs["table"],
        "dag prefix": run.outputs["dagIdPrefix"],
        "configmap": run.one(CONFIGMAP).inputs["metadata"]["name"],
        "secret": run.one(SECRET).inputs["metadata"]["name"],
        "login role": run.one("postgresql:index/role:Role").inputs["name"],
        "history": run.one(FACTORY_TABLES).inputs["tables"]["history"],
        "dag mount": next(containers(run))[1]["volumeMounts"][0]["mountPath"],
        "dag volume": patch.inputs["spec"]["template"]["spec"]["volumes"][0]["name"],
    }


def test_live_and_forensic_never_share_a_name(stack_runs):
    live, forensic = _names(stack_runs["yellowlive"]), _names(stack_runs["yellowforensic"])
    shared = {k for k in live if live[k] == forensic[k]}
    assert not shared, f"live and forensic share: {sorted(shared)}"


def test_live_and_forensic_patches_of_one_workload_can_be_co_owned(stack_runs):
    """Entries both stacks set on the same container must be identical, or server-side apply conflicts."""
    live = {(p.inputs["metadata"]["name"], c["name"]): env_of(c) for p, c in containers(stack_runs["yellowlive"])}
    forensic = {
        (p.inputs["metadata"]["name"], c["name"]): env_of(c) for p, c in containers(stack_runs["yellowforensic"])
    }
    common = set(live) & set(forensic)
    assert common, "the two stacks are meant to patch the same Airflow"
    for workload in common:
        for name in set(live[workload]) & set(forensic[workload]):
            assert live[workload][name] == forensic[workload][name], f"{workload}: {name} differs between stacks"


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_every_secret_config_key_is_used_as_a_secret(stack_runs, key):
    run = stack_runs["yellowlive"]
    value = secret_values_for("yellowlive")[key]
    found = [r for r in run.resources for text, inside in walk_strings(r.inputs) if text == value and inside]
    assert found, f"{key} is read but never reaches a resource"


def test_workloads_are_applied_under_the_stacks_own_field_manager(stack_run):
    assert {p.typ for p in patches(stack_run)} == {WORKLOAD_PATCH}
    for patch in patches(stack_run):
        assert patch.inputs["fieldManager"] == f"datasurface-{stack_run.stack}"
        assert patch.inputs["apiVersion"] == "apps/v1"
        assert patch.inputs["kubeContext"] == stack_run.config.get("kubeContext", "")


# --- least privilege and the writer role -------------------------------------------------------


def test_the_login_role_gets_exactly_the_factorys_grants_on_the_stacks_tables(stack_run):
    tables = stack_run.one(FACTORY_TABLES)
    names = PlatformNames(stack_run.config["platform"], stack_run.config.get("credentialName", "postgres"))
    assert tables.inputs["tables"] == {
        "dsg": names.dsg_table,
        "ledger": names.ledger_table,
        "audit": names.audit_table,
        "audit_sequence": names.audit_sequence,
        "history": names.history_table,
    }
    assert tables.inputs["grants"] == {stack_run.config["mergeDbUser"]: grants_input(login_grants(names))}
    assert is_secret(tables.inputs["password"])


def test_only_the_stack_that_owns_the_database_takes_temporary_and_create_from_public(stack_runs):
    for stack, run in stack_runs.items():
        revoked = run.one(FACTORY_TABLES).inputs.get("public_revoked") or {}
        owns = run.config.get("createDatabase", True) is not False
        assert revoked == ({k: list(v) for k, v in PUBLIC_REVOKED.items()} if owns else {}), stack


WRITER = {"writerDbUser": "yellowlive_writer", "writerDbPassword": "writer-S3cr3t!"}


def test_a_configured_writer_role_gets_its_role_row_writes_and_a_secret_of_its_own():
    run = run_program("yellowlive", WRITER)
    roles = {r.inputs["name"]: r for r in run.of_type("postgresql:index/role:Role")}
    assert set(roles) == {"yellowlive_airflow", "yellowlive_writer"}
    assert is_secret(roles["yellowlive_writer"].inputs["password"])
    writer_grants_declared = [
        g for g in run.of_type("postgresql:index/grant:Grant") if g.inputs["role"] == "yellowlive_writer"
    ]
    assert sorted((g.inputs["objectType"], tuple(g.inputs["privileges"])) for g in writer_grants_declared) == [
        ("database", ("CONNECT",)),
        ("schema", ("USAGE",)),
    ]
    names = PlatformNames("yellowlive", "postgres")
    assert run.one(FACTORY_TABLES).inputs["grants"]["yellowlive_writer"] == grants_input(writer_grants(names))
    secrets = {s.inputs["metadata"]["name"]: s for s in run.of_type(SECRET)}
    writer = secrets["yellowlive-writer-credentials"]
    assert unwrap(writer.inputs["stringData"]) == {"username": "yellowlive_writer", "password": "writer-S3cr3t!"}
    assert is_secret(writer.inputs["stringData"])
    # No Airflow workload gets the writer's credentials.
    for patch in patches(run):
        assert "yellowlive-writer-credentials" not in str(patch.inputs)
        assert "writer-S3cr3t!" not in str(patch.inputs)


def test_a_writer_password_in_plain_text_in_the_stack_file_is_refused_before_anything_is_declared():
    run = prepare_run("yellowlive", WRITER)
    run.config["writerDbPassword"] = run.secrets.pop("writerDbPassword")
    caught = refused(run)
    assert isinstance(caught, SettingsError)
    assert caught.problems == [
        "datasurface-yellow:writerDbPassword is set in plain text; it must be a secret "
        "(set it with: pulumi config set --secret writerDbPassword <value>)"
    ]
    assert run.resources == []


def test_a_password_rotation_changes_each_patch_only_by_its_credentials_annotation(stack_runs):
    from tests.program_harness import run_program

    for stack in ("yellowlive", "local"):
        before = {p.name: p.inputs for p in patches(stack_runs[stack])}
        after = {p.name: p.inputs for p in patches(run_program(stack, {"mergeDbPassword": "rotated-Pa55"}))}
        assert sorted(after) == sorted(before)
        for name, inputs in after.items():
            old_template, new_template = before[name]["spec"]["template"], inputs["spec"]["template"]
            changed = {
                key
                for key, value in new_template["metadata"]["annotations"].items()
                if old_template["metadata"]["annotations"][key] != value
            }
            assert changed == {"datasurface.io/yellowlive-credentials-digest"}, name
            assert new_template["spec"] == old_template["spec"]
            assert "rotated-Pa55" not in json.dumps(inputs)


def test_each_patch_knows_the_stacks_workloads_for_the_executor_check(stack_run):
    for patch in patches(stack_run):
        if patch.typ == "pulumi-python:dynamic/datasurface:WorkloadPatch":
            assert patch.inputs["stackWorkloads"] == stack_run.config["airflowWorkloads"]
