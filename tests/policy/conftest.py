"""The program's own resources, under mocks, for the policies to judge."""

from __future__ import annotations

import copy

import pytest
import yellow_policies as yp

from tests.policy.resources import Resource
from tests.program_harness import STACKS, ProgramRun, run_program


def as_stack(run: ProgramRun) -> list[Resource]:
    """A run's resources, all under its Platform component (the program builds everything inside it)."""
    platform = run.one(yp.PLATFORM_TYPE)
    return [
        Resource(r.typ, r.name, copy.deepcopy(r.inputs), None if r is platform else platform.name)
        for r in run.resources
    ]


@pytest.fixture(scope="module")
def program_stacks() -> dict[str, list[Resource]]:
    return {stack: as_stack(run_program(stack)) for stack in STACKS}
