"""container_of on the tree: the expression it stands for, overriding, exact places."""

from __future__ import annotations

import pytest

from pytrace import nodes
from pytrace.diagnostics import CompileError
from pytrace.driver import check_source
from pytrace.passes.context import CheckedProgram, Options
from pytrace.passes.walk import walk
from pytrace.source import Source


def _front(text: str) -> CheckedProgram:
    """Checked as the CLI does (the C definitions of the program included)."""
    return check_source(Source("stdin", text), Options())


def _value(cp) -> nodes.Expr:  # type: ignore[no-untyped-def]
    return cp.program.probes[0].body.stmts[0].value


def test_becomes_a_cast_of_the_address_minus_the_offset(checked) -> None:
    cp = checked("begin { $t = container_of(&curtask->tasks, struct task_struct, tasks); }")
    cast = _value(cp)
    assert isinstance(cast, nodes.Cast) and cast.type_name.pointer_depth == 1
    assert isinstance(cast.expr, nodes.Binary) and cast.expr.op == "-"
    offset = cast.expr.right
    assert isinstance(offset, nodes.Offsetof) and offset.field_names == ["tasks"]
    assert not any(isinstance(n, nodes.Call) and n.name == "container_of"
                   for n in walk(cp.program.probes[0].body))


def test_member_paths_typeof_and_nesting() -> None:
    cp = _front("struct in { int a; int b; } struct out { int x; struct in i; }\n"
                 "begin { $o = container_of(container_of(0, typeof(struct out), i.b), "
                 "struct out, x); }")
    offsets = [n.field_names for n in walk(cp.program.probes[0].body)
               if isinstance(n, nodes.Offsetof)]
    assert sorted(offsets) == [["i", "b"], ["x"]]


def test_a_user_macro_overrides_it(checked) -> None:
    cp = checked("macro container_of(a, b, c) { 7 }\nbegin { $t = container_of(1, 2, 3); }")
    assert isinstance(_value(cp), nodes.BlockExpr)


def test_errors_are_located(errors) -> None:
    assert errors("begin { $t = container_of(1, 2, tasks); }") == [
        ("container_of(): the second argument must be a type", (1, 30, 31))]
    assert errors("begin { $t = container_of(1, struct task_struct, $x); }")[0][1] == (1, 50, 52)
    assert errors("begin { $t = container_of(1); }") == [
        ("container_of() takes 3 arguments (1 provided)", (1, 14, 29))]


def test_columns_after_it_are_exact() -> None:
    text = 'struct s { int a; int m; }\nbegin { $x = container_of(0, struct s, m) + "a"; }'
    with pytest.raises(CompileError) as info:
        _front(text)
    span = info.value.diagnostics[0].span
    assert span is not None and (span.line, span.col, span.end_col) == (2, 14, 48)
