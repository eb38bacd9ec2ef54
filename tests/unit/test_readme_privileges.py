"""README's table of what each role may do in the merge database says what components/privileges.py grants."""

from __future__ import annotations

import re

from components.naming import PlatformNames
from components.privileges import (
    DATABASE_PRIVILEGES,
    PUBLIC_REVOKED,
    SCHEMA,
    SCHEMA_PRIVILEGES,
    login_grants,
    writer_grants,
)
from tests.bad_input_matrix import cells
from tests.conftest import REPO_ROOT

NAMES = PlatformNames("<platform>", "postgres")


def readme_rows() -> dict[str, dict[str, str]]:
    """role -> {what it is on: what it may}, from the table under "Database objects"."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("### Database objects") : text.index("### Configuration history")]
    rows: dict[str, dict[str, str]] = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith(("| role ", "| --- ")):
            role, target, may = cells(line)
            rows.setdefault(role.split(" ")[0], {})[target] = may
    return rows


def declared(grants) -> dict[str, str]:
    on = {
        "database `datasurface_merge`": f"`{', '.join(DATABASE_PRIVILEGES)}`",
        f"schema `{SCHEMA}`": f"`{', '.join(SCHEMA_PRIVILEGES)}`",
    }
    for grant in grants:
        on[f"{grant.kind.lower()} `{grant.name}`"] = f"`{', '.join(grant.privileges)}`"
    return on


def test_the_login_role_may_do_exactly_what_the_readme_says():
    assert readme_rows()["login"] == declared(login_grants(NAMES))


def test_the_writer_role_may_do_exactly_what_the_readme_says():
    assert readme_rows()["writer"] == declared(writer_grants(NAMES))


def test_the_readme_names_what_public_loses():
    public = readme_rows()["PUBLIC"]
    taken = re.findall(r"takes[^`]*`(\w+)`", " ".join(public.values()))
    assert sorted(taken) == sorted(p for privileges in PUBLIC_REVOKED.values() for p in privileges)
