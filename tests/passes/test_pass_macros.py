"""The macros pass: expansion into block expressions, parameter kinds, hygiene,
arity, overriding builtins and recursion."""

from __future__ import annotations

from pytrace import nodes
from pytrace.passes.walk import walk


def body(cp) -> nodes.Block:  # type: ignore[no-untyped-def]
    return cp.program.probes[0].body


def test_call_becomes_a_block_expression(checked) -> None:
    cp = checked("macro add_one(x) { x + 1 }\nbegin { $a = add_one(2); }")
    value = body(cp).stmts[0].value
    assert isinstance(value, nodes.BlockExpr) and value.macro == "add_one"
    assert isinstance(value.value, nodes.Binary)
    assert isinstance(value.value.left, nodes.Int) and value.value.left.value == 2


def test_bare_name_and_bang_call_of_a_macro_without_parameters(checked) -> None:
    cp = checked("macro one { 1 }\nbegin { print(one); print(one!()); print(one()); }")
    calls = [s.expr for s in body(cp).stmts]
    assert all(isinstance(c.args[0], nodes.BlockExpr) for c in calls)


def test_variable_and_map_parameters_are_the_callers(checked) -> None:
    cp = checked("macro bump($v, @m) { $v += 1; @m += 1; }\n"
                 "begin { $a = 1; @b = 1; bump($a, @b); }")
    names = {n.name for n in walk(body(cp)) if isinstance(n, nodes.Variable | nodes.MapRef)}
    assert names == {"a", "@b"}


def test_a_macro_s_own_variables_are_private(checked) -> None:
    cp = checked("macro sq(x) { let $t = x; $t * $t }\nbegin { $t = 5; $u = sq($t) + sq(2); }")
    private = {n.name for n in walk(body(cp)) if isinstance(n, nodes.VarDecl)}
    assert len(private) == 2 and all(n.startswith("t#sq.") for n in private)


def test_arguments_are_expanded_first(checked) -> None:
    checked("macro add_one(x) { x + 1 }\nmacro add_two(x) { add_one(x) + 1 }\n"
            "begin { print(add_two(add_one(1))); }")


def test_macros_overload_by_arity_and_override_builtins(checked) -> None:
    cp = checked("macro f(a) { a }\nmacro f(a, b) { a + b }\nmacro pid() { 7 }\n"
                 "begin { print(f(1) + f(1, 2) + pid); }")
    assert not any(isinstance(n, nodes.Identifier) and n.name == "pid" for n in walk(body(cp)))


def test_unhygienic_map_access(errors) -> None:
    (msg, span), = errors("macro m() {\n  @x++\n}\nbegin { @x = 1; m(); }")
    assert msg == "Unhygienic access to map @x in macro m" and span == (2, 3, 5)


def test_unpassed_variable_is_undefined(errors) -> None:
    (msg, _), = errors("macro m() { $y + 1 }\nbegin { $y = 1; print(m()); }")
    assert msg == "Undefined or undeclared variable: $y"


def test_wrong_parameter_kinds(errors) -> None:
    errs = errors("macro w($x) { $x++ }\nbegin { @x = 1; w(@x); w(1 + 1); }")
    assert [m for m, _ in errs] == ["Mismatched argument: macro w expects a scratch "
                                    "variable for $x"] * 2
    assert errs[0][1] == (2, 19, 21)
    (msg, _), = errors("macro w(@m) { @m = 1; }\nbegin { $v = 1; w($v); }")
    assert msg == "Mismatched argument: macro w expects a map (without a key) for @m"


def test_argument_count(errors) -> None:
    (msg, _), = errors("macro f(a) { a }\nbegin { f(1, 2); }")
    assert msg == "Macro f takes 1 argument(s) (2 provided)"


def test_recursion_is_refused_with_the_chain(errors) -> None:
    (msg, span), = errors("macro a() { b() }\nmacro b() { a() }\nbegin { a(); }")
    assert msg == "Recursive macro call detected: a -> b -> a"
    (msg, _), = errors("macro r(x) { r(x) }\nbegin { r(1); }")
    assert msg == "Recursive macro call detected: r -> r"


def test_redefinition(errors) -> None:
    (msg, span), = errors("macro f(a) { a }\nmacro f(b) { b }\nbegin { f(1); }")
    assert msg.startswith("Redefinition of macro: f") and span == (2, 1, 17)


def test_unstable_macro_error(errors) -> None:
    (msg, _), = errors("config = { unstable_macro = error }\nmacro f() { 1 }\nbegin { }")
    assert "unstable_macro=error" in msg


def test_bang_call_of_an_unknown_macro(errors) -> None:
    assert errors("begin { greet!(); }") == [("Unknown macro: greet", (1, 9, 17))]


# ---------------------------------------------------------- type arguments: exact places
def _compile_errors(text: str) -> list[str]:
    """The rendered diagnostics of a program checked as the CLI does (C front included)."""
    from pytrace.diagnostics import CompileError, render_all
    from pytrace.driver import check_source
    from pytrace.passes.context import Options
    from pytrace.source import Source

    source = Source("stdin", text)
    try:
        check_source(source, Options())
    except CompileError as exc:
        return render_all(exc.diagnostics, source).splitlines()
    raise AssertionError("expected a compile error")


def _marked(lines: list[str]) -> str:
    """The text the `~~~` line marks under the source line."""
    source, marks = lines[1], lines[2]
    start = len(marks) - len(marks.lstrip(" "))
    return source[start:len(marks)]


def test_diagnostics_after_type_arguments_keep_their_columns() -> None:
    text = "macro p_cast(a, b) {\n  (a)b + (a *)b + @x\n}\nbegin { print(p_cast(typeof(uint8), -1)); }"
    lines = _compile_errors(text)
    assert lines[0] == "stdin:2:19-21: ERROR: Unhygienic access to map @x in macro p_cast"
    assert lines[1] == "  (a)b + (a *)b + @x" and lines[2] == "                  ~~"


def test_declared_type_parameter_then_an_error_on_the_same_line() -> None:
    text = 'macro m(t) { let $x: t = 1; (t)$x + "s" }\nbegin { @ = m(typeof(uint16)); }'
    lines = _compile_errors(text)
    assert lines[0].startswith("stdin:1:29-40: ERROR: Type mismatch for '+'"), lines
    assert _marked(lines) == '(t)$x + "s"'


def test_error_inside_the_type_argument_points_at_the_call() -> None:
    text = "macro m(t, v) { (t *)v }\nbegin { @ = m(typeof(struct nosuch), 1); }"
    lines = _compile_errors(text)
    assert "Unknown struct/union: 'struct nosuch'" in lines[0]
    assert lines[0].startswith("stdin:2:22-35:") and _marked(lines) == "struct nosuch"


def test_typedef_cast_keeps_columns() -> None:
    lines = _compile_errors('typedef unsigned long u64;\nbegin { $x = (u64)1 + (u64 *)0 + "a"; }')
    assert lines[0].startswith("stdin:2:14-37: ERROR: Type mismatch for '+'"), lines
    assert _marked(lines) == '(u64)1 + (u64 *)0 + "a"'


def test_type_parameter_becomes_typeof_of_the_argument(checked) -> None:
    cp = checked("macro m(t, v) { (t *)v }\nbegin { $p = m(typeof(uint8), 32); }")
    casts = [n for n in walk(body(cp)) if isinstance(n, nodes.Cast)]
    assert len(casts) == 1
    tn = casts[0].type_name
    assert tn.of is not None and tn.pointer_depth == 1
    assert (tn.span.line, tn.span.col, tn.span.end_col) == (1, 18, 21)  # `t *` in the body
