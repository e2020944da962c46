"""Fixtures for the pass tests: parse a program and run the passes over it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytrace.parser import parse
from pytrace.passes import check
from pytrace.passes.context import CheckedProgram, Options
from pytrace.source import Source

Checker = Callable[..., CheckedProgram]


def run_check(text: str, **opts: object) -> CheckedProgram:
    source = Source("stdin", text)
    program, diags = parse(source)
    assert program is not None, [d.message for d in diags]
    return check(program, source, Options(**opts))  # type: ignore[arg-type]


@pytest.fixture
def checked() -> Checker:
    """Check a program that must pass; returns the CheckedProgram."""

    def go(text: str, **opts: object) -> CheckedProgram:
        cp = run_check(text, **opts)
        assert not cp.diagnostics.has_errors, [d.message for d in cp.diagnostics]
        return cp

    return go


@pytest.fixture
def errors() -> Callable[..., list[tuple[str, tuple[int, int, int] | None]]]:
    """Check a program that must fail; returns [(message, (line, col, end_col))]."""

    def go(text: str, **opts: object) -> list[tuple[str, tuple[int, int, int] | None]]:
        cp = run_check(text, **opts)
        errs = cp.diagnostics.errors
        assert errs, "expected errors"
        return [(d.message, (d.span.line, d.span.col, d.span.end_col) if d.span else None)
                for d in errs]

    return go
