"""Codegen's dispatch fallbacks are internal invariants, never a user's error: every
expression and statement class of the AST has a lowering (`ProgEmitter.e_X` /
`s_X`), or is refused with a located error before codegen; every unary operator the
grammar can produce lowers to a BPF object."""

from __future__ import annotations

import inspect

import pytest

from pytrace import nodes
from pytrace.codegen.emitter import ProgEmitter
from pytrace.diagnostics import CompileError
from pytrace.driver import check_source, generate
from pytrace.parser import get_parser
from pytrace.passes.context import Options
from pytrace.passes.walk import walk
from pytrace.source import Source

# Expression classes that never reach codegen: (a program using one, the located error).
REFUSED_FIRST = {
    nodes.Typeof: ("BEGIN { print(typeof(1)); }", "typeof() is a type"),
}


def _classes(base: type) -> list[type]:
    return [c for _, c in inspect.getmembers(nodes, inspect.isclass)
            if issubclass(c, base) and c is not base]


@pytest.mark.parametrize("cls", _classes(nodes.Expr), ids=lambda c: c.__name__)
def test_every_expression_class_lowers_or_is_refused_first(cls: type) -> None:
    if cls not in REFUSED_FIRST:
        assert callable(getattr(ProgEmitter, "e_" + cls.__name__, None))
        return
    program, message = REFUSED_FIRST[cls]
    with pytest.raises(CompileError) as info:
        check_source(Source("stdin", program), Options())
    found = [d for d in info.value.diagnostics if message in d.message]
    assert found and all(d.span is not None for d in found)


@pytest.mark.parametrize("cls", _classes(nodes.Stmt), ids=lambda c: c.__name__)
def test_every_statement_class_lowers(cls: type) -> None:
    assert callable(getattr(ProgEmitter, "s_" + cls.__name__, None))


def _grammar_unary_operators() -> set[str]:
    """The operator of every `-> unary` alternative of the grammar."""
    parser = get_parser()
    ops = set()
    for rule in parser.rules:
        if rule.origin.name == "unary" and rule.alias == "unary":
            ops.add(str(parser.get_terminal(rule.expansion[0].name).pattern.value))
    return ops


def test_every_unary_operator_of_the_grammar_lowers() -> None:
    text = ("BEGIN { $x = 5; $p = &$x; $t = curtask; $q = &$t->pid; "
            "print((-$x, !$x, ~$x, *$p, *$q == pid)); exit(); }")
    checked = check_source(Source("stdin", text), Options())
    used = {n.op for n in walk(checked.program) if isinstance(n, nodes.Unary)}
    assert _grammar_unary_operators() == used == {"-", "!", "~", "*", "&"}
    _, obj = generate(checked)
    assert obj.elf.startswith(b"\x7fELF")
