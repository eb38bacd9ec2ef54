import ast
import dataclasses

import pytest

from components.factory_dag import (
    TemplateRenderError,
    configmap_manifest,
    factory_dag_values,
    python_literal,
    render_factory_dag,
)
from components.settings import parse_settings
from tests.program_harness import valid_raw


@pytest.fixture
def settings():
    return parse_settings(valid_raw())


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "it's",
        'say "hi"',
        "back\\slash",
        "new\nline",
        "'''; import os; os.system('x') #",
        "{{ jinja }}",
        42,
        3.5,
        True,
        None,
        ["a", 1],
        {"k": ["v", None]},
    ],
)
def test_python_literal_round_trips_any_value_as_data(value):
    assert ast.literal_eval(python_literal(value)) == value


def test_python_literal_refuses_objects_it_cannot_quote():
    with pytest.raises(TypeError, match="cannot render a object"):
        python_literal(object())


def test_rendered_dag_compiles_and_names_platform_and_table(settings):
    source = render_factory_dag(factory_dag_values(settings))
    compile(source, "yellowlive_factory_dag.py", "exec")
    assert "'yellowlive_airflow_dsg'" in source
    assert "'yellowlive_factory_dag'" in source


def test_a_value_with_quotes_cannot_inject_code(settings):
    hostile = dataclasses.replace(factory_dag_values(settings), job_image="img'); import os; os.system('boom'); ('")
    source = render_factory_dag(hostile)
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system"]
    assert not calls
    assert repr(hostile.job_image) in source


def test_a_template_key_the_code_does_not_give_fails_the_render_with_its_name(settings, tmp_path):
    (tmp_path / "broken.py.j2").write_text("NAMESPACE = {{ namespace | py }}\n")  # seed fix 2: key mismatch
    with pytest.raises(TemplateRenderError, match="'namespace' is undefined"):
        render_factory_dag(factory_dag_values(settings), template_dir=tmp_path, template_name="broken.py.j2")


def test_a_template_that_renders_invalid_python_fails_the_render(settings, tmp_path):
    (tmp_path / "bad.py.j2").write_text("def broken(:\n")
    with pytest.raises(TemplateRenderError, match="rendered invalid Python"):
        render_factory_dag(factory_dag_values(settings), template_dir=tmp_path, template_name="bad.py.j2")


def test_configmap_holds_the_file_under_the_contract_key(settings):
    body = configmap_manifest(settings, "print('dag')\n")
    assert body["metadata"]["name"] == "yellowlive-factory-dag"
    assert body["metadata"]["namespace"] == "ns-kub-pg-test"
    assert body["data"] == {"yellowlive_factory_dag.py": "print('dag')\n"}
