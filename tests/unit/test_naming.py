import pytest

from components.naming import (
    PlatformNames,
    credential_name_problem,
    dag_id_problem,
    hostname_problem,
    image_reference_problem,
    sql_identifier_problem,
    to_k8s_name,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yellowlive-factory-dag", "yellowlive-factory-dag"),
        ("Yellow_Live Factory", "yellow-livefactory"),
        ("--Store__1--", "store-1"),
    ],
)
def test_to_k8s_name_makes_valid_object_names(raw, expected):
    assert to_k8s_name(raw) == expected


def test_to_k8s_name_truncates_to_63_characters():
    assert len(to_k8s_name("a" * 100)) == 63


def test_to_k8s_name_strips_dots_so_it_must_never_see_a_hostname():
    # This is the seed's fix 1: the helper is right for object names and wrong for DNS names.
    assert to_k8s_name("pg-data.ns-kub-pg-test.svc.cluster.local") == "pg-datans-kub-pg-testsvcclusterlocal"


@pytest.mark.parametrize(
    "host", ["pg-data.ns-kub-pg-test.svc.cluster.local", "localhost", "127.0.0.1", "db-1.example.com"]
)
def test_hostname_problem_accepts_real_dns_names(host):
    assert hostname_problem(host) is None


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("pg-datans-kub-pg-testsvcclusterlocal", "dots removed"),
        ("pg_data.ns.svc.cluster.local", "invalid DNS label 'pg_data'"),
        ("-pg.example.com", "invalid DNS label '-pg'"),
        ("", "is empty"),
        ("a" * 64 + ".example.com", "invalid DNS label"),
        (" pg.example.com", "whitespace"),
    ],
)
def test_hostname_problem_rejects_invalid_or_mangled_names(host, fragment):
    assert fragment in hostname_problem(host)


def test_dag_id_problem_rejects_characters_airflow_refuses():
    assert dag_id_problem("yellowlive__Store 1_ingestion")
    assert dag_id_problem("yellowlive__Store'1_ingestion")
    assert dag_id_problem("yellowlive__Store1_ingestion") is None


def test_platform_names_follow_the_contracts():
    names = PlatformNames("yellowlive", "postgres")
    assert names.factory_dag_id == "yellowlive_factory_dag"
    assert names.stream_dag_id("Store1") == "yellowlive__Store1_ingestion"
    assert names.dsg_table == "yellowlive_airflow_dsg"
    assert names.dag_file_name == "yellowlive_factory_dag.py"
    assert names.user_env == "postgres_USER"
    assert names.password_env == "postgres_PASSWORD"
    assert names.configmap_name == "yellowlive-factory-dag"
    assert names.credentials_secret_name == "yellowlive-postgres-credentials"


@pytest.mark.parametrize(
    ("check", "good"),
    [
        (sql_identifier_problem, "postgres"),
        (credential_name_problem, "postgres"),
        (dag_id_problem, "yellowlive__Store1_ingestion"),
        (image_reference_problem, "datasurface/datasurface:0.9.6"),
    ],
)
def test_every_name_pattern_matches_the_whole_value_so_a_final_newline_is_refused(check, good):
    assert check(good) is None
    assert check(good + "\n") is not None


def test_a_dns_label_with_a_final_newline_is_refused():
    assert hostname_problem("pg-data.ns\n") is not None


@pytest.mark.parametrize("name", ["pöstgres", "ⅷ", "postgres-forensic", "post gres", ""])
def test_a_credential_name_is_ascii_letters_digits_and_underscore(name):
    assert "ⅷ".isalnum() and "pöstgres".isalnum()  # what the check used to rely on
    assert credential_name_problem(name) is not None
