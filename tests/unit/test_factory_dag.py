"""Assembling the factory DAG file: the `factory` modules plus one platform's config, through the template."""

import ast
import dataclasses

import jinja2
import pytest

import factory
from components.factory_dag import (
    FACTORY_DAG_TEMPLATE,
    FACTORY_PACKAGE_DIR,
    config_literal,
    configmap_manifest,
    factory_config,
    module_body,
    render_factory_dag,
)
from components.settings import parse_settings
from factory.config import FactoryConfig
from tests.program_harness import valid_raw


def assignments(tree: ast.Module) -> list[tuple[str, ast.expr | None]]:
    """(name, value) of each top-level `name = ...` or `name: type = ...`."""
    found: list[tuple[str, ast.expr | None]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            found += [(target.id, node.value) for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.append((node.target.id, node.value))
    return found


@pytest.fixture
def settings():
    return parse_settings(valid_raw())


def test_config_literal_evaluates_to_the_same_config(settings):
    config = factory_config(settings)
    assert eval(config_literal(config), {"FactoryConfig": FactoryConfig}) == config


def test_a_value_with_quotes_cannot_inject_code(settings):
    hostile = dataclasses.replace(factory_config(settings), job_image="img'); import os; os.system('boom'); ('")
    tree = ast.parse(render_factory_dag(hostile))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system"]
    assert not calls
    config_call = next(
        n.value for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "CONFIG"
    )
    assert isinstance(config_call, ast.Call)
    assert {k.arg: ast.literal_eval(k.value) for k in config_call.keywords}["job_image"] == hostile.job_image


def test_module_body_drops_docstring_future_and_package_imports_only():
    source = (
        '"""Doc."""\n\nfrom __future__ import annotations\n\n'
        "import json\nfrom factory.config import (\n    A,\n)\n\nX = json.dumps(A)  # kept\n"
    )
    assert module_body("m", source).body == "import json\n\nX = json.dumps(A)  # kept"


def test_every_factory_module_is_assembled_once():
    package = {path.stem for path in FACTORY_PACKAGE_DIR.glob("*.py")}
    assert sorted((*factory.MODULE_ORDER, factory.AIRFLOW_MODULE)) == sorted(package - {"__init__"})


def test_no_top_level_name_is_defined_by_two_modules_since_the_file_has_one_namespace(settings):
    tree = ast.parse(render_factory_dag(factory_config(settings)))
    defined = [
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    defined += [
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    ]
    defined += [
        node.target.id for node in tree.body if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    ]
    assert sorted({n for n in defined if defined.count(n) > 1}) == []


def test_a_template_key_the_code_does_not_give_fails_the_render_with_its_name(settings, tmp_path):
    """Seed fix 2: a template asking for a value the code does not pass must fail, not render empty."""
    (tmp_path / FACTORY_DAG_TEMPLATE).write_text("NAMESPACE = {{ config.namespace_name }}\n")
    with pytest.raises(jinja2.UndefinedError, match="namespace_name"):
        render_factory_dag(factory_config(settings), template_dir=tmp_path)


def test_configmap_holds_the_file_under_the_contract_key(settings):
    body = configmap_manifest(settings, "print('dag')\n")
    assert body["metadata"]["name"] == "yellowlive-factory-dag"
    assert body["metadata"]["namespace"] == "ns-kub-pg-test"
    assert body["data"] == {"yellowlive_factory_dag.py": "print('dag')\n"}
