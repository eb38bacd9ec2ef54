"""What the admin endpoint's answer does to the program: adopt an existing database, refuse a stack
whose database is missing, and stop before any resource when the endpoint cannot be used."""

from __future__ import annotations

import pytest

from components.admin_endpoint import AdminEndpointError, endpoint, merge_database_exists, missing_database_problem
from components.settings import parse_settings
from devtools.net import free_port
from tests.program_harness import execute, prepare_run, valid_raw

DATABASE = "postgresql:index/database:Database"


def test_the_owning_stack_creates_a_missing_database():
    run = execute(prepare_run("yellowlive"))
    (database,) = run.of_type(DATABASE)
    assert database.import_id is None


def test_the_owning_stack_adopts_a_database_that_already_exists():
    run = prepare_run("yellowlive")
    run.database_exists = True
    (database,) = execute(run).of_type(DATABASE)
    assert database.import_id == "datasurface_merge"


def test_a_stack_relying_on_another_stacks_database_is_refused_until_it_exists():
    run = prepare_run("yellowforensic")
    run.database_exists = False
    with pytest.raises(
        Exception,
        match="createDatabase is false, and database 'datasurface_merge' does not "
        "exist at localhost:15432: apply the stack that creates it",
    ):
        execute(run)
    assert run.resources == []


def test_missing_database_is_only_a_problem_for_a_stack_that_does_not_create_it():
    owner = parse_settings(valid_raw(createDatabase=True))
    guest = parse_settings(valid_raw(createDatabase=False))
    assert missing_database_problem(owner, database_exists=False) is None
    assert missing_database_problem(guest, database_exists=True) is None
    assert endpoint(guest) in missing_database_problem(guest, database_exists=False)


def test_an_unreachable_endpoint_is_one_line_naming_it():
    port = free_port()
    settings = parse_settings(valid_raw(adminHost="127.0.0.1", adminPort=port))
    with pytest.raises(AdminEndpointError) as caught:
        merge_database_exists(settings)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot log in to the PostgreSQL admin endpoint 127.0.0.1:{port} as ")
    assert "(adminHost, adminPort, adminUser, adminPassword)" in message
