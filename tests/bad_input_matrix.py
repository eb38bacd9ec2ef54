"""docs/bad-input-matrix.md read as rows: what each bad input shows, at which step, checked by which test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-input-matrix.md"
STEPS = (
    "settings validation",
    "policy",
    "engine",
    "admin endpoint",
    "cluster apply",
    "factory parse",
    "database privileges",
)


@dataclass(frozen=True)
class Row:
    id: str
    bad_input: str
    message: str
    step: str
    checked_by: str

    @property
    def kind(self) -> str:
        return next(s for s in STEPS if self.step.startswith(s))


def cells(line: str) -> list[str]:
    """The cells of a Markdown table line; `\\|` is a literal bar."""
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [p.strip().replace("\\|", "|") for p in parts]


def code(cell: str) -> str:
    """The text of the first `code span` in a cell."""
    found = re.search(r"`([^`]+)`", cell)
    assert found, f"no `code` in cell {cell!r}"
    return found.group(1)


# `<5000 × [>` in a row's input stands for 5000 times `[`: values too large to write out in a table.
_REPEATED = re.compile(r"<(?P<count>[0-9][0-9,]*) × (?P<text>[^>]+)>")


def expanded(text: str) -> str:
    """A row's input with each `<N × text>` written out."""
    return _REPEATED.sub(lambda m: m["text"] * int(m["count"].replace(",", "")), text)


def read_rows() -> list[Row]:
    rows = []
    for line in DOC.read_text().splitlines():
        if line.startswith("|"):
            parts = cells(line)
            if re.fullmatch(r"[SPEAKFD]\d+", parts[0]):
                rows.append(Row(*parts))
    return rows


ROWS = read_rows()


def rows_of(kind: str) -> list[Row]:
    return [row for row in ROWS if row.kind == kind]


def promised_message(kind: str, test_id: str) -> str:
    """The message the matrix promises for the row of `kind` that the e2e test `test_id` checks."""
    for row in rows_of(kind):
        if code(row.checked_by).endswith(test_id):
            return code(row.message)
    raise AssertionError(f"docs/bad-input-matrix.md has no {kind} row checked by {test_id}")
