"""The factory DAG: rendered from `templates/` and delivered as a ConfigMap mounted into Airflow."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from components.naming import (
    DATABASE_ENV,
    HOST_ENV,
    PORT_ENV,
    SECRET_PASSWORD_KEY,
    SECRET_USER_KEY,
    platform_labels,
)
from components.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FACTORY_DAG_TEMPLATE = "factory_dag.py.j2"

CONNECT_TIMEOUT_SECONDS = 3
DEFAULT_CACHE_DIR = "/tmp/datasurface-dag-cache"


@dataclass(frozen=True)
class FactoryDagValues:
    """Everything the template may use. A key the template needs and this lacks fails the render."""

    platform: str
    factory_dag_id: str
    dag_prefix: str
    dag_suffix: str
    table_name: str
    ledger_table_name: str
    audit_table_name: str
    namespace_name: str
    credential_name: str
    credentials_secret_name: str
    user_env: str
    password_env: str
    secret_user_key: str
    secret_password_key: str
    host_env: str
    port_env: str
    database_env: str
    job_image: str
    factory_schedule: str
    connect_timeout_seconds: int
    cache_dir: str


def factory_dag_values(settings: Settings) -> FactoryDagValues:
    names = settings.names
    return FactoryDagValues(
        platform=settings.platform,
        factory_dag_id=names.factory_dag_id,
        dag_prefix=names.dag_prefix,
        dag_suffix=names.dag_suffix,
        table_name=names.dsg_table,
        ledger_table_name=names.ledger_table,
        audit_table_name=names.audit_table,
        namespace_name=settings.namespace,
        credential_name=settings.credential_name,
        credentials_secret_name=names.credentials_secret_name,
        user_env=names.user_env,
        password_env=names.password_env,
        secret_user_key=SECRET_USER_KEY,
        secret_password_key=SECRET_PASSWORD_KEY,
        host_env=HOST_ENV,
        port_env=PORT_ENV,
        database_env=DATABASE_ENV,
        job_image=settings.job_image,
        factory_schedule=settings.factory_schedule,
        connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        cache_dir=DEFAULT_CACHE_DIR,
    )


_LITERAL_TYPES = (str, int, float, bool, type(None))


def python_literal(value: Any) -> str:
    """Quote a value as a Python literal, so data can never break out of the generated source."""
    if isinstance(value, _LITERAL_TYPES):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{python_literal(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"cannot render a {type(value).__name__} into the DAG source: {value!r}")


class TemplateRenderError(ValueError):
    pass


def _environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    # Jinja's default globals (namespace, range, dict, ...) would let a misspelt key such as
    # `namespace` render silently instead of failing as undefined.
    env.globals.clear()
    env.filters["py"] = _py_filter
    return env


def _py_filter(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return python_literal(value)


def render_factory_dag(
    values: FactoryDagValues, template_dir: Path = TEMPLATES_DIR, template_name: str = FACTORY_DAG_TEMPLATE
) -> str:
    """Render the factory DAG file for one platform; the result is checked to compile."""
    template = _environment(template_dir).get_template(template_name)
    try:
        source = template.render(**asdict(values))
    except jinja2.UndefinedError as err:
        raise TemplateRenderError(f"{template_name}: {err.message} (not provided by FactoryDagValues)") from err
    try:
        compile(source, f"{values.factory_dag_id}.py", "exec")
    except SyntaxError as err:
        raise TemplateRenderError(f"{template_name} rendered invalid Python for {values.platform}: {err}") from err
    return source


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
