"""Macros expanded in the bpftrace part of a program, lines kept."""

from __future__ import annotations

from pytrace.cdefs import Macro
from pytrace.cdefs.expand import expand_macros

M = {
    "N": Macro("N", None, "10"),
    "SQ": Macro("SQ", ("x",), "((x) * (x))"),
    "ADD": Macro("ADD", ("a", "b"), "((a) + (b))"),
    "LOG": Macro("LOG", ("fmt", "__VA_ARGS__"), 'printf(fmt, __VA_ARGS__)', variadic=True),
    "TWICE_N": Macro("TWICE_N", None, "(N * 2)"),
    "SELF": Macro("SELF", None, "SELF + 1"),
    "read": Macro("read", None, "XX"),
}


def test_object_and_function_like() -> None:
    assert expand_macros("BEGIN { print(N); }", M) == "BEGIN { print(10); }"
    out = expand_macros("BEGIN { print(SQ(N + 1)); }", M)
    assert out.startswith("BEGIN { print(((10 + 1) * (10 + 1))); }")
    assert "((1) + (SQ_not))" not in expand_macros("BEGIN { ADD(1, 2); }", M)
    assert expand_macros("BEGIN { ADD(1, 2); }", M).startswith("BEGIN { ((1) + (2)); }")
    assert expand_macros('BEGIN { LOG("%d %d", 1, 2); }', M).startswith(
        'BEGIN { printf("%d %d", 1, 2); }')
    assert expand_macros("BEGIN { TWICE_N; }", M).startswith("BEGIN { (10 * 2); }")
    assert expand_macros("BEGIN { SELF; }", M).startswith("BEGIN { SELF + 1; }")


def test_what_is_left_alone() -> None:
    for text in ('BEGIN { print("N"); }', "BEGIN { $N = 1; @N = 2; }", "BEGIN { x.N; x->N; }",
                 "tracepoint:syscalls:sys_enter_read { }", "BEGIN { // N\n }",
                 "BEGIN { /* N */ }", "BEGIN { SQ; }"):
        assert expand_macros(text, M) == text, text


def test_lines_and_short_expansions_keep_columns() -> None:
    text = "BEGIN {\n  print(TWICE_N);\n  print(pidx);\n}"
    out = expand_macros(text, M)
    assert out.count("\n") == text.count("\n")
    assert out.split("\n")[2] == "  print(pidx);"
    short = expand_macros("BEGIN { ADD(1,2) + N; }", {"ADD": Macro("ADD", ("a", "b"), "3")})
    assert short.index("+ N") == "BEGIN { ADD(1,2) + N; }".index("+ N")


def test_predicates_are_expanded_but_not_attach_points() -> None:
    text = "kprobe:N /pid == N/ { }"
    assert expand_macros(text, M) == "kprobe:N /pid == 10/ { }"
    assert expand_macros("BEGIN { read(); }", M, skip=frozenset({"read"})) == "BEGIN { read(); }"
