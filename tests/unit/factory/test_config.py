import pytest


def test_dag_ids_round_trip_through_their_stream_key(cfg):
    assert cfg.dag_id_for("Store1") == "yellowlive__Store1_ingestion"
    assert cfg.stream_key_for("yellowlive__Store1_ingestion") == "Store1"


@pytest.mark.parametrize(
    "dag_id", ["yellowlive_factory_dag", "yellowforensic__Store1_ingestion", "yellowlive___ingestion", "x"]
)
def test_an_id_this_factory_does_not_make_names_no_stream(cfg, dag_id):
    assert cfg.stream_key_for(dag_id) is None


def test_connection_env_maps_every_psycopg_setting_to_its_variable(cfg):
    assert cfg.connection_env == {
        "host": "DATASURFACE_POSTGRES_HOST",
        "port": "DATASURFACE_POSTGRES_PORT",
        "dbname": "DATASURFACE_POSTGRES_DATABASE",
        "user": "postgres_USER",
        "password": "postgres_PASSWORD",
    }
