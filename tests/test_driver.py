"""driver.generate: codegen failures come back as located diagnostics."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytrace.diagnostics import CompileError
from pytrace.driver import check_source, compile_source, generate
from pytrace.options import Options
from pytrace.source import Source


def _depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


def test_codegen_recursion_is_a_located_error() -> None:
    # codegen recurses over expressions; a program the passes could follow may still be
    # too deep for it: "nested too deeply" at the innermost expression, not a traceback
    checked = check_source(Source("stdin", "BEGIN { @ = ((((1 + 2)))); }"), Options())
    generate(check_source(Source("stdin", "BEGIN { @ = 1; }"), Options()))  # imports done
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + 25)
    try:
        with pytest.raises(CompileError) as exc:
            generate(checked)
    finally:
        sys.setrecursionlimit(limit)
    [diag] = exc.value.diagnostics
    assert diag.message == "program is nested too deeply"
    assert diag.span is not None and diag.span.line == 1 and diag.span.col >= 17


@pytest.mark.parametrize("text, cached", [("BEGIN { 1 + 2; exit(); }", False),
                                          ("BEGIN { exit(); }", True)])
def test_warnings_are_shown_on_every_start(text: str, cached: bool, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # a program that warns is not cached: a cache hit would start without its warnings
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PYTRACE_NO_CACHE", raising=False)
    first = compile_source(Source("stdin", text), Options())
    again = compile_source(Source("stdin", text), Options())
    assert again.cached is cached
    assert [d.message for d in again.warnings] == [d.message for d in first.warnings]
    assert bool(first.warnings) is not cached
