"""The factory DAG file: the `factory` package's modules and one platform's values, assembled by
`templates/factory_dag.py.j2` into one self-contained file, delivered as a ConfigMap mounted into Airflow."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

import factory
from components.factory_pod import task_pod_override_json
from components.naming import (
    DATABASE_ENV,
    HOST_ENV,
    PORT_ENV,
    SECRET_PASSWORD_KEY,
    SECRET_USER_KEY,
    platform_labels,
)
from components.settings import Settings
from components.stream_schema import schema_json
from factory.config import FactoryConfig

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FACTORY_DAG_TEMPLATE = "factory_dag.py.j2"
FACTORY_PACKAGE_DIR = Path(factory.__file__).resolve().parent


def factory_config(settings: Settings) -> FactoryConfig:
    names = settings.names
    return FactoryConfig(
        platform=settings.platform,
        factory_dag_id=names.factory_dag_id,
        dag_prefix=names.dag_prefix,
        dag_suffix=names.dag_suffix,
        dsg_table=names.dsg_table,
        ledger_table=names.ledger_table,
        audit_table=names.audit_table,
        history_table=names.history_table,
        namespace=settings.namespace,
        credentials_secret_name=names.credentials_secret_name,
        job_image=settings.job_image,
        factory_schedule=settings.factory_schedule,
        host_env=HOST_ENV,
        port_env=PORT_ENV,
        database_env=DATABASE_ENV,
        user_env=names.user_env,
        password_env=names.password_env,
        secret_user_key=SECRET_USER_KEY,
        secret_password_key=SECRET_PASSWORD_KEY,
        stream_schema=schema_json(),
        task_pod_override=task_pod_override_json(settings),
    )


def config_literal(config: FactoryConfig) -> str:
    """`FactoryConfig(...)` as Python source; every value is quoted by repr, so data stays data."""
    fields = "".join(f"    {field.name}={getattr(config, field.name)!r},\n" for field in dataclasses.fields(config))
    return f"FactoryConfig(\n{fields})"


@dataclass(frozen=True)
class ModuleBody:
    name: str
    body: str


def module_body(name: str, source: str) -> ModuleBody:
    """A module's code without its docstring, `from __future__` and imports of the `factory` package,
    which the assembled file does not need: it defines everything in one namespace."""
    tree = ast.parse(source)
    dropped: set[int] = set()
    for node in tree.body:
        is_docstring = node is tree.body[0] and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_local_import = isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            "__future__",
            factory.__name__,
        )
        if is_docstring or is_local_import:
            dropped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = [line for number, line in enumerate(source.splitlines(), start=1) if number not in dropped]
    return ModuleBody(name, "\n".join(lines).strip("\n"))


def read_module(name: str, package_dir: Path = FACTORY_PACKAGE_DIR) -> ModuleBody:
    return module_body(name, (package_dir / f"{name}.py").read_text(encoding="utf-8"))


def render_factory_dag(config: FactoryConfig, template_dir: Path = TEMPLATES_DIR) -> str:
    """The DAG file for one platform: the factory's modules in order, then this platform's config."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    return env.get_template(FACTORY_DAG_TEMPLATE).render(
        config=config,
        config_literal=config_literal(config),
        plain_modules=[read_module(name) for name in factory.MODULE_ORDER],
        airflow_module=read_module(factory.AIRFLOW_MODULE),
    )


def configmap_manifest(settings: Settings, dag_source: str) -> dict[str, Any]:
    """The ConfigMap body holding the rendered DAG under `<platform>_factory_dag.py`."""
    names = settings.names
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.configmap_name,
            "namespace": settings.namespace,
            "labels": platform_labels(settings.platform, "factory-dag"),
        },
        "data": {names.dag_file_name: dag_source},
    }
