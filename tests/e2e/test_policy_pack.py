"""The policy pack in a real `pulumi preview --policy-pack`, on the program and on a broken copy of it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

PACK = "policy"


def preview_with_policies(project: Project):
    return project.pulumi("preview", "--policy-pack", str(project.root / PACK), check=False)


def test_the_program_passes_every_policy(local_stack):
    project, _ = local_stack
    result = preview_with_policies(project)
    assert result.returncode == 0, result.output
    assert "mandatory" not in result.output


def test_a_program_that_mangles_the_hostname_is_stopped_by_policy(local_stack):
    """Seed fix 1, reintroduced on purpose: the env var goes through the Kubernetes-name helper."""
    project, _ = local_stack
    module = project.root / "components" / "factory_pod.py"
    original = module.read_text()
    mangled = original.replace(
        '"value": settings.merge_db_host}',
        '"value": __import__("components.naming").naming.to_k8s_name(settings.merge_db_host + ".svc.cluster.local")}',
    )
    assert mangled != original, "the host's env entry is no longer written where this test reintroduces the bug"
    module.write_text(mangled)
    try:
        result = preview_with_policies(project)
    finally:
        module.write_text(original)
    assert result.returncode != 0
    assert "mandatory" in result.output
    assert "yellow-host-env-is-configured-dns-name" in result.output, result.output
    assert (
        "DATASURFACE_POSTGRES_HOST = 'localhostsvcclusterlocal' is not the configured mergeDbHost 'localhost': "
        "it looks like a cluster DNS name with its dots removed" in result.output
    ), result.output
