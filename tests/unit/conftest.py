from __future__ import annotations

import pytest

from tests.program_harness import STACKS, ProgramRun, run_program


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, ProgramRun]:
    """The whole program, run once per stack under mocks."""
    return {stack: run_program(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack_run(request, stack_runs) -> ProgramRun:
    return stack_runs[request.param]
