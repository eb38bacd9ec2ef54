"""Bad config fails the whole program before any resource is declared, naming key and value."""

from __future__ import annotations

import json

import pytest

from components.settings import SettingsError
from tests.program_harness import prepare_run, refused

STORE1 = json.dumps({"stream_key": "Store1", "status": "active", "config": {"store_name": "Store1"}})

CASES = [
    (
        "mangled hostname",
        {"mergeDbHost": "pg-datans-kub-pg-testsvcclusterlocal"},
        (),
        "datasurface-yellow:mergeDbHost = 'pg-datans-kub-pg-testsvcclusterlocal': not a valid hostname",
    ),
    ("invalid hostname", {"mergeDbHost": "pg data"}, (), "datasurface-yellow:mergeDbHost = 'pg data'"),
    (
        "port out of range",
        {"mergeDbPort": 0},
        (),
        "datasurface-yellow:mergeDbPort = '0': port must be between 1 and 65535",
    ),
    ("admin port out of range", {"adminPort": 65536}, (), "datasurface-yellow:adminPort = '65536': port must be"),
    (
        "stream key not a DAG id",
        {"seedStreams": [json.dumps({"stream_key": "Store/1", "config": {"store_name": "S"}})]},
        (),
        "stream key cannot form DAG id 'yellowlive__Store/1_ingestion'",
    ),
    ("duplicate stream keys", {"seedStreams": [STORE1, STORE1]}, (), "seedStreams[1] = 'Store1': duplicate stream key"),
    (
        "seed config not an object",
        {"seedStreams": [json.dumps({"stream_key": "S", "config": ["x"]})]},
        (),
        "seedStreams[0] = ['x']: config of stream 'S' must be a JSON object",
    ),
    (
        "seed config without store_name",
        {"seedStreams": [json.dumps({"stream_key": "S", "config": {}})]},
        (),
        "seedStreams[0] = 'S': config $: 'store_name' is a required property",
    ),
    ("missing secret", {}, ("mergeDbPassword",), "datasurface-yellow:mergeDbPassword is a required secret but not set"),
    (
        "missing admin secret",
        {},
        ("adminPassword",),
        "datasurface-yellow:adminPassword is a required secret but not set",
    ),
    (
        "unknown platform",
        {"platform": "yellowtest"},
        (),
        "datasurface-yellow:platform = 'yellowtest': unknown platform",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "remove", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_with_its_message_and_declares_nothing(case, overrides, remove, message):
    run = prepare_run("yellowlive", overrides, remove)
    caught = refused(run)
    assert isinstance(caught, SettingsError)
    assert message in str(caught)
    assert run.resources == [], f"{case}: resources were declared before the error"
