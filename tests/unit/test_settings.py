import json

import pytest

from components.project_file import DEFAULTS, PlainText
from components.settings import SettingsError, parse_settings
from tests.program_harness import STACKS, load_stack_config, secret_values_for, valid_raw


def problems_of(raw, project_dir=None):
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw) if project_dir is None else parse_settings(raw, project_dir)
    return caught.value.problems


@pytest.mark.parametrize("stack", STACKS)
def test_every_committed_stack_parses(stack):
    raw = {**load_stack_config(stack), **secret_values_for(stack)}
    settings = parse_settings({k: v if isinstance(v, (str, list)) else str(v) for k, v in raw.items()})
    assert settings.streams, "each stack seeds a few streams"


def test_defaults_apply_when_keys_are_absent():
    settings = parse_settings(valid_raw())
    assert settings.merge_db_port == DEFAULTS["mergeDbPort"] == 5432
    assert settings.merge_db_name == "datasurface_merge"
    assert settings.credential_name == "postgres"
    assert [(w.kind, w.name, w.container) for w in settings.workloads] == [
        ("Deployment", "airflow-scheduler", "airflow-scheduler")
    ]
    assert settings.streams[0].status == "active"


def test_hostname_is_kept_verbatim():
    settings = parse_settings(valid_raw(mergeDbHost="PG-Data.NS-kub-pg-test.svc.cluster.local"))
    assert settings.merge_db_host == "PG-Data.NS-kub-pg-test.svc.cluster.local"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"mergeDbHost": "pg-datans-kub-pg-testsvcclusterlocal"},
            "datasurface-yellow:mergeDbHost = 'pg-datans-kub-pg-testsvcclusterlocal': not a valid hostname: "
            "it looks like a cluster DNS name with its dots removed",
        ),
        ({"mergeDbHost": "pg_data.svc"}, "datasurface-yellow:mergeDbHost = 'pg_data.svc': not a valid hostname"),
        ({"adminHost": "bad host"}, "datasurface-yellow:adminHost = 'bad host': not a valid hostname"),
        ({"mergeDbPort": "70000"}, "datasurface-yellow:mergeDbPort = '70000': port must be between 1 and 65535"),
        ({"adminPort": "0"}, "datasurface-yellow:adminPort = '0': port must be between 1 and 65535"),
        ({"mergeDbPort": "fivefour"}, "datasurface-yellow:mergeDbPort = 'fivefour': must be an integer"),
        (
            {"platform": "yellowpurple"},
            "datasurface-yellow:platform = 'yellowpurple': unknown platform; "
            "expected one of yellowlive, yellowforensic",
        ),
        ({"mergeDbPassword": None}, "datasurface-yellow:mergeDbPassword is a required secret but not set"),
        ({"adminPassword": ""}, "datasurface-yellow:adminPassword is set but empty"),
        ({"mergeDbPassword": "   "}, "datasurface-yellow:mergeDbPassword is set but empty"),
        ({"namespace": None}, "datasurface-yellow:namespace is required but not set"),
        ({"namespace": "NS.kub"}, "datasurface-yellow:namespace = 'NS.kub': not a valid Kubernetes namespace name"),
        (
            {"mergeDbName": "datasurface-merge"},
            "datasurface-yellow:mergeDbName = 'datasurface-merge': must be a lower-case SQL identifier",
        ),
        (
            {"credentialName": "pg-cred"},
            "datasurface-yellow:credentialName = 'pg-cred': must be ASCII letters, digits and '_'",
        ),
        # str.isalnum is Unicode: these passed, and the API server refused the Secret keys and env names.
        ({"credentialName": "pöstgres"}, "datasurface-yellow:credentialName = 'pöstgres': must be ASCII letters"),
        ({"credentialName": "ⅷ"}, "datasurface-yellow:credentialName = 'ⅷ': must be ASCII letters"),
        ({"credentialName": "postgres\n"}, "datasurface-yellow:credentialName = 'postgres\\n': must be ASCII"),
        ({"credentialName": "p" * 201}, "datasurface-yellow:credentialName = 'ppp"),
        # `$` accepts a final newline; every pattern is matched whole.
        ({"mergeDbUser": "yellowlive_airflow\n"}, "datasurface-yellow:mergeDbUser = 'yellowlive_airflow\\n': must be"),
        ({"adminUser": "postgres\n"}, "datasurface-yellow:adminUser = 'postgres\\n': must be a lower-case SQL"),
        ({"mergeDbName": "datasurface_merge\n"}, "datasurface-yellow:mergeDbName = 'datasurface_merge\\n': must be"),
        (
            {"mergeDbUser": "postgres"},
            "datasurface-yellow:mergeDbUser = 'postgres': must be a role of its own, not adminUser (the stack "
            "creates, alters and drops it)",
        ),
        (
            {"mergeDbUser": "pg_admin", "adminUser": "pg_admin"},
            "datasurface-yellow:mergeDbUser = 'pg_admin': must be a role of its own, not adminUser",
        ),
        (
            {"jobImage": "datasurface/datasurface:0.9.6 "},
            "datasurface-yellow:jobImage = 'datasurface/datasurface:0.9.6 ': has surrounding whitespace",
        ),
        ({"jobImage": "datasurface/datasurface:0.9.6\n"}, "datasurface-yellow:jobImage = 'datasurface/datasurface:0"),
        (
            {"jobImage": "datasurface/datasurface:0.9.6:1"},
            "datasurface-yellow:jobImage = 'datasurface/datasurface:0.9.6:1': is not an image reference",
        ),
        ({"jobImage": "datasurface//datasurface"}, "datasurface-yellow:jobImage = 'datasurface//datasurface': is not"),
        ({"jobImage": "data surface"}, "datasurface-yellow:jobImage = 'data surface': is not an image reference"),
        ({"jobImage": "repo:-tag"}, "datasurface-yellow:jobImage = 'repo:-tag': is not an image reference"),
        (
            {"jobImage": "Datasurface/datasurface:0.9.6"},
            "datasurface-yellow:jobImage = 'Datasurface/datasurface:0.9.6': has a repository name that is not "
            "lower-case",
        ),
        ({"jobImage": "repo@sha256:abc"}, "datasurface-yellow:jobImage = 'repo@sha256:abc': is not an image reference"),
        (
            {"dagsFolder": "/opt/airflow/../dags"},
            "datasurface-yellow:dagsFolder = '/opt/airflow/../dags': must be a normalized absolute path",
        ),
        ({"dagsFolder": "/opt/./dags"}, "datasurface-yellow:dagsFolder = '/opt/./dags': must be a normalized"),
        ({"dagsFolder": "//opt/dags"}, "datasurface-yellow:dagsFolder = '//opt/dags': must be a normalized"),
        (
            {"dagsFolder": "/opt/airflow/dags\n"},
            "datasurface-yellow:dagsFolder = '/opt/airflow/dags\\n': must not hold control characters",
        ),
        ({"adminSslMode": "prefer"}, "datasurface-yellow:adminSslMode = 'prefer': must be one of disable, require"),
        (
            {"airflowWorkloads": ["Pod/airflow-scheduler"]},
            "datasurface-yellow:airflowWorkloads = 'Pod/airflow-scheduler': each entry must be",
        ),
        (
            {"airflowWorkloads": ["Deployment/a", "Deployment/a"]},
            "datasurface-yellow:airflowWorkloads = 'Deployment/a': workload listed twice",
        ),
        ({"dagsFolder": "dags"}, "datasurface-yellow:dagsFolder = 'dags': must be an absolute path"),
        ({"createDatabase": "maybe"}, "datasurface-yellow:createDatabase = 'maybe': must be true or false"),
    ],
)
def test_bad_settings_are_rejected_naming_key_and_value(changes, expected):
    problems = problems_of(valid_raw(**changes))
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "image",
    [
        "datasurface/datasurface:0.9.6",
        "datasurface",
        "registry.example.com:5000/team/datasurface:0.9.6-rc.1",
        "localhost/datasurface:dev",
        "REGISTRY.example.com/datasurface:0.9.6",
        "datasurface/datasurface@sha256:" + "a" * 64,
        "datasurface/datasurface:0.9.6@sha256:" + "0" * 64,
        "[::1]:5000/datasurface:1",
        "ghcr.io/data_surface/data-surface__x:v1",
    ],
)
def test_image_references_the_distribution_grammar_allows_are_kept_verbatim(image):
    assert parse_settings(valid_raw(jobImage=image)).job_image == image


@pytest.mark.parametrize("folder", ["/opt/airflow/dags", "/opt/airflow/dags/", "/dags", "/opt/air flow"])
def test_a_normalized_absolute_dags_folder_is_accepted(folder):
    assert parse_settings(valid_raw(dagsFolder=folder)).dags_folder == folder


def stream(**fields):
    return json.dumps(fields)


@pytest.mark.parametrize(
    ("streams", "expected"),
    [
        (["not json"], "datasurface-yellow:seedStreams[0] = 'not json': is not valid JSON"),
        (['["Store1"]'], "datasurface-yellow:seedStreams[0] = '[\"Store1\"]': must be a JSON object"),
        ([stream(config={"store_name": "S"})], "datasurface-yellow:seedStreams[0] = "),
        (
            [stream(stream_key="Store 1", config={"store_name": "S"})],
            "datasurface-yellow:seedStreams[0] = 'Store 1': "
            "stream key cannot form DAG id 'yellowlive__Store 1_ingestion'",
        ),
        (
            [stream(stream_key="S1", config={"store_name": "S"}), stream(stream_key="S1", config={"store_name": "T"})],
            "datasurface-yellow:seedStreams[1] = 'S1': duplicate stream key (first at seedStreams[0])",
        ),
        (
            [stream(stream_key="S1", config="{}")],
            "datasurface-yellow:seedStreams[0] = '{}': config of stream 'S1' must be a JSON object",
        ),
        (
            [stream(stream_key="S1", config={"schedule_string": "@daily"})],
            "datasurface-yellow:seedStreams[0] = 'S1': "
            "config $: 'store_name' is a required property (schemas/stream_config.schema.json)",
        ),
        (
            [stream(stream_key="S1", status="paused", config={"store_name": "S"})],
            "datasurface-yellow:seedStreams[0] = 'paused': status of stream 'S1' must be one of active, disabled",
        ),
        (
            [stream(stream_key="S1", config={"store_name": "S"}, store_name="S")],
            "datasurface-yellow:seedStreams[0] = ['store_name']: unknown fields in stream 'S1'",
        ),
    ],
)
def test_bad_seed_streams_are_rejected_naming_the_entry(streams, expected):
    problems = problems_of(valid_raw(seedStreams=streams))
    assert any(p.startswith(expected) for p in problems), problems


def test_unknown_config_keys_of_a_stream_are_kept():
    settings = parse_settings(
        valid_raw(seedStreams=[stream(stream_key="S1", config={"store_name": "S", "future_option": {"x": 1}})])
    )
    assert settings.streams[0].config["future_option"] == {"x": 1}


def test_every_problem_is_reported_at_once():
    problems = problems_of(valid_raw(mergeDbPort="0", platform="nope", mergeDbPassword=None))
    assert len(problems) == 3


def test_config_json_is_canonical_so_key_order_makes_no_diff():
    a = parse_settings(valid_raw(seedStreams=[stream(stream_key="S", config={"store_name": "S", "b": 1, "a": 2})]))
    b = parse_settings(valid_raw(seedStreams=[stream(stream_key="S", config={"a": 2, "b": 1, "store_name": "S"})]))
    assert a.streams[0].config_json == b.streams[0].config_json == '{"a":2,"b":1,"store_name":"S"}'


def test_secrets_are_not_in_the_settings_repr():
    settings = parse_settings(valid_raw(mergeDbPassword="very-secret-1", adminPassword="very-secret-2"))
    assert "very-secret" not in repr(settings)


# --- the streams file ----------------------------------------------------------------------------

STREAMS_YAML = """\
- stream_key: Store2
  status: disabled
  config:
    store_name: Store2
    schedule_string: "*/15 * * * *"
    credential_names: [postgres]
"""


def test_streams_file_rows_follow_the_inline_ones(tmp_path):
    (tmp_path / "streams.yaml").write_text(STREAMS_YAML)
    settings = parse_settings(valid_raw(streamsFile="streams.yaml"), project_dir=tmp_path)
    assert [(s.stream_key, s.status) for s in settings.streams] == [("Store1", "active"), ("Store2", "disabled")]
    assert settings.streams[1].config_json == (
        '{"credential_names":["postgres"],"schedule_string":"*/15 * * * *","store_name":"Store2"}'
    )


def test_a_streams_file_alone_is_enough(tmp_path):
    (tmp_path / "streams.yaml").write_text(STREAMS_YAML)
    settings = parse_settings(valid_raw(seedStreams=[], streamsFile="streams.yaml"), project_dir=tmp_path)
    assert [s.stream_key for s in settings.streams] == ["Store2"]


def test_no_streams_file_is_read_when_the_key_is_empty(tmp_path):
    settings = parse_settings(valid_raw(streamsFile=""), project_dir=tmp_path / "nowhere")
    assert [s.stream_key for s in settings.streams] == ["Store1"]


def test_stream_problems_are_listed_with_every_other_problem(tmp_path):
    (tmp_path / "streams.yaml").write_text(
        "- {stream_key: Store1, config: {store_name: Again}}\n"
        "- {stream_key: Store2, config: {store_name: S, schedule_string: 5}}\n"
        "- {stream_key: Store3, config: {store_name: S, dataset_name: 5}}\n"
    )
    problems = problems_of(valid_raw(mergeDbPort="0", streamsFile="streams.yaml") | {"platform": "nope"}, tmp_path)
    schema = "(schemas/stream_config.schema.json)"
    assert problems == [
        "datasurface-yellow:platform = 'nope': unknown platform; expected one of yellowlive, yellowforensic",
        "datasurface-yellow:mergeDbPort = '0': port must be between 1 and 65535",
        "datasurface-yellow:streamsFile streams.yaml[0] = 'Store1': duplicate stream key (first at seedStreams[0])",
        "datasurface-yellow:streamsFile streams.yaml[1] = 'Store2': "
        f"config $.schedule_string: 5 is not of type 'string', 'null' {schema}",
        "datasurface-yellow:streamsFile streams.yaml[2] = 'Store3': "
        f"config $.dataset_name: 5 is not of type 'string', 'null' {schema}",
    ]


def test_a_missing_streams_file_is_a_settings_problem(tmp_path):
    problems = problems_of(valid_raw(streamsFile="config/streams.yaml"), tmp_path)
    assert problems == [
        "datasurface-yellow:streamsFile = 'config/streams.yaml': no such file "
        "(the path is relative to the project directory, where Pulumi.yaml is)"
    ]


def test_the_local_stack_reads_its_streams_file_from_the_project_directory():
    raw = {**load_stack_config("local"), **secret_values_for("local")}
    assert raw["streamsFile"] == "config/local.streams.yaml" and "seedStreams" not in raw
    settings = parse_settings({k: v if isinstance(v, (str, list)) else str(v) for k, v in raw.items()})
    assert [(s.stream_key, s.status) for s in settings.streams] == [
        ("Store1", "active"),
        ("Store2", "active"),
        ("Store3", "disabled"),
    ]


def test_no_writer_role_unless_configured():
    settings = parse_settings(valid_raw())
    assert (settings.writer_db_user, settings.writer_db_password) == (None, None)


def test_a_writer_role_comes_with_its_secret_password():
    settings = parse_settings(valid_raw(writerDbUser="yellowlive_writer", writerDbPassword="writer-pw"))
    assert (settings.writer_db_user, settings.writer_db_password) == ("yellowlive_writer", "writer-pw")
    assert "writer-pw" not in repr(settings)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"writerDbUser": "yellowlive_writer"},
            "datasurface-yellow:writerDbPassword is required when writerDbUser is set "
            "(set it with: pulumi config set --secret writerDbPassword <value>)",
        ),
        (
            {"writerDbUser": "yellowlive_writer", "writerDbPassword": PlainText("S3cr3t-writer")},
            "datasurface-yellow:writerDbPassword is set in plain text; it must be a secret "
            "(set it with: pulumi config set --secret writerDbPassword <value>)",
        ),
        (
            {"writerDbPassword": "S3cr3t-writer"},
            "datasurface-yellow:writerDbPassword is set but writerDbUser is not; set both or neither",
        ),
        (
            {"writerDbUser": "yellowlive_airflow", "writerDbPassword": "pw"},
            "datasurface-yellow:writerDbUser = 'yellowlive_airflow': must be a role of its own, "
            "not mergeDbUser or adminUser",
        ),
        (
            {"writerDbUser": "Writer", "writerDbPassword": "pw"},
            "datasurface-yellow:writerDbUser = 'Writer': must be a lower-case SQL identifier",
        ),
    ],
)
def test_a_bad_writer_role_is_refused_without_printing_its_password(changes, expected):
    problems = problems_of(valid_raw(**changes))
    assert any(p.startswith(expected) for p in problems), problems
    assert not any("S3cr3t-writer" in p for p in problems)


SECRET = "Long-Enough-Secret-42"


@pytest.mark.parametrize("key", ["mergeDbPassword", "adminPassword"])
def test_a_seed_stream_carrying_a_secret_is_refused_before_anything_and_the_secret_not_shown(key):
    dsn = f"postgresql://u:{SECRET}@pg/db"
    streams = [stream(stream_key="Store1", config={"store_name": "Store1", "source_dsn": dsn})]
    problems = problems_of(valid_raw(seedStreams=streams, **{key: SECRET}))
    assert problems == [
        f"datasurface-yellow:seedStreams[0] = 'Store1': config of stream holds the value of the secret {key}; a "
        "stream's config is stored in plain text"
    ]


def test_a_stream_key_carrying_a_secret_is_refused_without_showing_the_key():
    streams = [stream(stream_key=f"Store_{SECRET}", config={"store_name": "Store1"})]
    problems = problems_of(valid_raw(seedStreams=streams, adminPassword=SECRET))
    assert problems == [
        "datasurface-yellow:seedStreams[0] = '<not shown: it holds a secret>': the stream key holds the value of the "
        "secret adminPassword"
    ]
    assert not any(SECRET in p for p in problems)


def test_a_bad_stream_whose_problem_would_show_a_secret_is_refused_without_it():
    streams = [stream(stream_key="Store1", status=SECRET, config={"store_name": "Store1"})]
    problems = problems_of(valid_raw(seedStreams=streams, mergeDbPassword=SECRET))
    assert problems == [
        "datasurface-yellow:seedStreams[0] = '<not shown: it holds a secret>': is refused; its problem would show "
        "the value of a secret config key"
    ]


def test_a_short_secret_is_not_searched_for_in_streams():
    streams = [stream(stream_key="Store1", config={"store_name": "Store1"})]
    assert parse_settings(valid_raw(seedStreams=streams, mergeDbPassword="Store")).streams


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"mergeDbHost": f"pg {SECRET}", "mergeDbPassword": SECRET}, "mergeDbHost"),
        ({"seedStreams": [f"{{not json {SECRET}"], "adminPassword": SECRET}, "seedStreams[0]"),
        ({"mergeDbUser": "PW", "mergeDbPassword": "PW"}, "mergeDbUser"),
    ],
    ids=["host-is-the-password", "inline-text-holds-it", "value-is-a-short-password"],
)
def test_no_problem_line_shows_a_secret(changes, key):
    problems = problems_of(valid_raw(**changes))
    assert (
        f"datasurface-yellow:{key} = '<not shown: it holds a secret>': is refused; its problem would show the value "
        "of a secret config key"
    ) in problems
    assert not any(SECRET in p for p in problems)
