"""Tests for pytrace.compile, CompileError and Diagnostic (no kernel needed)."""

from __future__ import annotations

import pytest

import pytrace
from pytrace.diagnostics import Severity


def test_compile_gives_a_program() -> None:
    prog = pytrace.compile('BEGIN { @n[$1] = count(); printf("%s\\n", $2); }',
                           params=("7", "x"))
    assert prog.probes == ("BEGIN",)
    assert prog.map_names == ("@n",)
    assert prog.options.params == ["7", "x"]
    assert prog.obj.elf.startswith(b"\x7fELF")
    assert prog.with_options(pid=None, has_child=False) is prog
    assert prog.with_options(pid=1, has_child=False).options.pid == 1


def test_compile_error_lists_located_diagnostics() -> None:
    with pytest.raises(pytrace.CompileError) as info:
        pytrace.compile("BEGIN { @x = nosuch(1); }")
    exc = info.value
    [d] = exc.diagnostics
    assert isinstance(d, pytrace.Diagnostic)
    assert d.severity is Severity.ERROR and d.line == 1 and d.col == 14
    assert "nosuch" in d.message and isinstance(d.hints, tuple)
    assert str(exc).startswith("stdin:1:14-")
    assert "BEGIN { @x = nosuch(1); }\n" in str(exc) and "~~~" in str(exc)


def test_syntax_errors_too() -> None:
    with pytest.raises(pytrace.CompileError) as info:
        pytrace.compile("BEGIN { printf( }", name="prog.bt")
    assert str(info.value).startswith("prog.bt:1:")
    assert info.value.diagnostics[0].line == 1


def test_warnings_are_kept() -> None:
    prog = pytrace.compile("BEGIN { $x = 1; }")
    assert all(w.severity is Severity.WARNING for w in prog.warnings)


def test_public_names() -> None:
    for name in pytrace.__all__:
        assert getattr(pytrace, name) is not None
    assert issubclass(pytrace.PrivilegeError, pytrace.TraceError)
    assert issubclass(pytrace.FeatureUnavailable, pytrace.TraceError)
    with pytest.raises(AttributeError):
        pytrace.nosuch  # noqa: B018
