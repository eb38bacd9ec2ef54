"""What the admin endpoint's answer does to the program: adopt an existing database, refuse a stack
whose database is missing, and stop before any resource when the endpoint cannot be used."""

from __future__ import annotations

from components.admin_endpoint import (
    GET_SCHEMAS,
    endpoint,
    invoke_reason,
    is_missing_database,
    login_problem,
    missing_database_problem,
)
from components.settings import parse_settings
from tests.program_harness import execute, prepare_run, refused, valid_raw

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


def declared_objects(run) -> list[str]:
    """What a run registered beyond components and provider configurations: objects in a server."""
    return [r.typ for r in run.resources if r.custom and not r.typ.startswith("pulumi:providers:")]


def test_a_stack_relying_on_another_stacks_database_is_refused_until_it_exists():
    run = prepare_run("yellowforensic")
    run.database_exists = False
    assert str(refused(run)) == (
        "datasurface-yellow:createDatabase is false, and database 'datasurface_merge' does not "
        "exist at localhost:15432: apply the stack that creates it (createDatabase: true) first"
    )
    assert declared_objects(run) == []


def test_a_refused_login_stops_the_program_before_any_object_with_one_line_naming_the_endpoint():
    run = prepare_run("yellowlive")
    run.login_refused = 'pq: password authentication failed for user "postgres"'
    message = str(refused(run))
    assert message == (
        "cannot log in to the PostgreSQL admin endpoint localhost:15432 as postgres "
        '(adminHost, adminPort, adminUser, adminPassword): pq: password authentication failed for user "postgres"'
    )
    assert declared_objects(run) == []


def test_the_endpoint_is_asked_through_the_admin_providers_invokes_first_postgres_then_the_merge_database():
    run = execute(prepare_run("yellowlive"))
    asked = [args["database"] for token, args in run.invokes if token == GET_SCHEMAS]
    assert asked == ["postgres", "datasurface_merge"]


def test_the_providers_connect_error_is_kept_whatever_the_bridge_puts_before_it():
    own = "error connecting to PostgreSQL server 127.0.0.1 (scheme: postgres): pq: password authentication failed"
    error = Exception(
        f"invoke of {GET_SCHEMAS} failed: invocation of {GET_SCHEMAS} returned an error: reading data source: {own}"
    )
    assert invoke_reason(error) == own


def test_missing_database_is_only_a_problem_for_a_stack_that_does_not_create_it():
    owner = parse_settings(valid_raw(createDatabase=True))
    guest = parse_settings(valid_raw(createDatabase=False))
    assert missing_database_problem(owner, database_exists=False) is None
    assert missing_database_problem(guest, database_exists=True) is None
    assert endpoint(guest) in missing_database_problem(guest, database_exists=False)


def test_an_invokes_failure_reads_as_the_providers_own_words_on_one_line():
    error = Exception(
        f"invoke of {GET_SCHEMAS} failed: invocation of {GET_SCHEMAS} returned an error: "
        "dial tcp 127.0.0.1:5:\n connect: connection refused"
    )
    reason = invoke_reason(Exception(str(error).replace("\\n", "\n")))
    assert reason == "dial tcp 127.0.0.1:5: connect: connection refused"
    settings = parse_settings(valid_raw(adminHost="127.0.0.1", adminPort=5))
    message = login_problem(settings, reason)
    assert "\n" not in message
    assert message.startswith("cannot log in to the PostgreSQL admin endpoint 127.0.0.1:5 as ")
    assert is_missing_database(settings, 'pq: database "datasurface_merge" does not exist')
    assert not is_missing_database(settings, reason)
