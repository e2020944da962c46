"""The scopes pass: scratch variables live in the block they are first assigned in."""

from __future__ import annotations

from pytrace import nodes
from pytrace.passes.walk import walk


def test_a_variable_of_an_inner_block_is_not_visible_after_it(errors) -> None:
    assert errors('begin { if (0) { $x = "hello"; } print(($x)); }') == [
        ("Undefined or undeclared variable: $x", (1, 41, 43))]


def test_set_in_both_branches_is_still_undefined_after(errors) -> None:
    (msg, _), = errors('begin { if (0) { $x = "a"; } else { $x = "b"; } print($x); }')
    assert msg == "Undefined or undeclared variable: $x"


def test_declared_before_the_block_is_visible(checked) -> None:
    cp = checked('begin { let $x; if (0) { $x = "hello"; } print(($x)); }')
    assert {n.name for n in walk(cp.program) if isinstance(n, nodes.Variable)} == {"x"}


def test_sibling_blocks_have_distinct_variables_of_their_own_types(checked) -> None:
    cp = checked('begin { if (1) { $x = 1; print($x); } if (1) { $x = "s"; print($x); } }')
    names = sorted({n.name for n in walk(cp.program) if isinstance(n, nodes.Variable)})
    assert names == ["x", "x#2"]
    assert sorted(str(t) for (_, n), t in cp.variables.items()) == ["string[2]", "uint8"]


def test_shadowing_and_redeclaration(errors) -> None:
    (msg, span), = errors('begin { let $x; if (0) { let $x = "hello"; } }')
    assert msg == "Variable $x shadows a variable of an enclosing scope"
    assert span == (1, 26, 42)
    (msg, _), = errors("begin { $x = 1; let $x = 2; }")
    assert msg == "Variable $x was already declared in this scope"


def test_loop_variable_is_scoped_to_the_loop(errors) -> None:
    (msg, _), = errors("begin { for ($i : 0..3) { } print($i); }")
    assert msg == "Undefined or undeclared variable: $i"
    (msg, _), = errors("begin { $i = 1; for ($i : 0..3) { } }")
    assert msg == "Loop variable $i shadows a variable of an enclosing scope"


def test_block_expression_scope(errors) -> None:
    (msg, _), = errors("begin { $a = { let $b = 1; $b }; print($b); }")
    assert msg == "Undefined or undeclared variable: $b"
