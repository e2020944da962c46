"""Tests for pytrace.parser: attach points, syntax diagnostics, is_complete, caching."""

from __future__ import annotations

import time

import pytest

from pytrace import nodes
from pytrace.parser import get_parser, is_complete, parse
from pytrace.source import Source, Span

ATTACH_POINTS = [
    "BEGIN", "END", "begin", "end", "tracepoint:syscalls:sys_enter_read*",
    "t:sched:sched_switch", "t:syscalls:sys_enter_*", "interval:s:1", "i:ms:100",
    "interval:1s", "profile:hz:99", "p:hz:49", "uprobe:/bin/bash:readline", "u:libc:malloc",
    "ur:/bin/bash:readline", "uprobe:./myprog:func_*", "uprobe:/lib/x.so:0x1234",
    "uprobe:/bin/x:func+16", "usdt:./prog:provider:probe", "U:/p:probe",
    "rawtracepoint:sys_enter", "rt:sys_enter", "software:faults:100", "s:cpu-clock:1000",
    "hardware:cycles:1000000", "kprobe:do_sys_open", "k:vfs_*", "kretprobe:vfs_read",
    "kprobe:mod:func", "fentry:vfs_read", "kfunc:vfs_read", "fexit:x",
    "watchpoint:0x1234:8:rw", "iter:task", 'uprobe:"/path with space":f',
]


def ok(text: str) -> nodes.Program:
    prog, diags = parse(Source("stdin", text))
    assert diags == [], diags
    assert prog is not None
    return prog


def err(text: str) -> tuple[str, Span | None]:
    prog, diags = parse(Source("stdin", text))
    assert prog is None
    assert len(diags) == 1 and diags[0].is_error
    return diags[0].message, diags[0].span


@pytest.mark.parametrize("ap", ATTACH_POINTS)
@pytest.mark.parametrize(
    "template", ["{a} {{ 1 }}", "{a}{{ 1 }}", "{a} /pid/ {{ 1 }}", "{a},\n{a}\n/pid == 1/\n{{ }}"]
)
def test_attach_points_are_one_raw_token(ap: str, template: str) -> None:
    prog = ok(template.format(a=ap))
    probe = prog.probes[0]
    assert [a.raw for a in probe.attach_points] == [ap] * len(probe.attach_points)
    if "/pid" in template:
        assert probe.predicate is not None


def test_attach_point_span_and_predicate() -> None:
    prog = ok("uprobe:/bin/bash:readline /pid == 1/ { @[comm] = count(); }")
    probe = prog.probes[0]
    assert probe.attach_points[0].span == Span(1, 1, 1, 26)
    assert isinstance(probe.predicate, nodes.Binary)
    assert probe.predicate.op == "=="
    assert probe.predicate.span == Span(1, 28, 1, 36)


def test_predicate_with_division() -> None:
    prog = ok("t:a:b /$x / 2 == 1/ { }")
    pred = prog.probes[0].predicate
    assert isinstance(pred, nodes.Binary) and pred.op == "=="
    assert isinstance(pred.left, nodes.Binary) and pred.left.op == "/"


def test_no_space_predicate_is_part_of_attach_point_like_bpftrace() -> None:
    prog = ok("t:syscalls:sys_enter_read/pid/{ }")
    assert prog.probes[0].attach_points[0].raw == "t:syscalls:sys_enter_read/pid/"


def test_shebang_and_comments_ignored() -> None:
    prog = ok("#!/usr/bin/env pytrace\n// hi\nBEGIN /* c { */ { exit(); } // end")
    assert prog.probes[0].body.span.line == 3
    assert prog.probes[0].attach_points[0].span == Span(3, 1, 3, 6)


def test_several_probes() -> None:
    prog = ok("BEGIN { } kprobe:f { } END { }")
    assert [p.attach_points[0].raw for p in prog.probes] == ["BEGIN", "kprobe:f", "END"]


# ---------------------------------------------------------------- diagnostics


def test_missing_closing_brace() -> None:
    msg, span = err("BEGIN { print(1) ")
    assert msg == "syntax error, unexpected end of file, expecting }"
    assert span is not None and (span.line, span.col) == (1, 18)


def test_double_semicolon() -> None:
    msg, span = err("BEGIN { print(1);; }")
    assert msg == "syntax error, unexpected ;, expecting }"
    assert span == Span(1, 18, 1, 19)


def test_missing_semicolon_between_statements() -> None:
    msg, span = err("BEGIN { $x = 1 $y = 2; }")
    assert msg == "syntax error, unexpected variable, expecting }"
    assert span == Span(1, 16, 1, 18)


def test_stray_semicolon_after_probe() -> None:
    msg, span = err("BEGIN { print(1) } ;")
    assert msg.startswith("syntax error, unexpected ;")
    assert span == Span(1, 20, 1, 21)


def test_one_element_and_empty_tuples() -> None:
    """`(x,)` is a tuple of one element and `()` the empty tuple; `(x)` stays a
    parenthesised expression and a comma after two elements is still an error."""
    one = ok("BEGIN { @ = (1,) }").probes[0].body.stmts[0]
    assert isinstance(one, nodes.Assign) and isinstance(one.value, nodes.TupleExpr)
    assert len(one.value.elems) == 1
    empty = ok("BEGIN { @ = () }").probes[0].body.stmts[0]
    assert isinstance(empty, nodes.Assign) and isinstance(empty.value, nodes.TupleExpr)
    assert empty.value.elems == []
    plain = ok("BEGIN { @ = (1) }").probes[0].body.stmts[0]
    assert isinstance(plain, nodes.Assign) and isinstance(plain.value, nodes.Int)
    msg, span = err("BEGIN { @ = (1, 2,) }")
    assert msg == "syntax error, unexpected )"
    assert span == Span(1, 19, 1, 20)


def test_for_without_parentheses() -> None:
    """`for $i : a..b {}` reads like `for ($i : a..b) {}`."""
    bare = ok("BEGIN { for $i : 0..3 { print($i); } }").probes[0].body.stmts[0]
    paren = ok("BEGIN { for ($i : 0..3) { print($i); } }").probes[0].body.stmts[0]
    assert isinstance(bare, nodes.For) and isinstance(paren, nodes.For)
    assert bare.var == paren.var == "i"
    assert isinstance(bare.iterable, nodes.Range)


def test_unterminated_string_and_comment() -> None:
    msg, span = err('BEGIN { @x = "abc }')
    assert msg == "unterminated string" and span == Span(1, 14, 1, 20)
    msg, span = err("BEGIN /* abc")
    assert msg == "end of file during comment" and span == Span(1, 7, 1, 13)


def test_invalid_character() -> None:
    msg, span = err("BEGIN { x = ` }")
    assert msg == "syntax error, invalid character '`'"
    assert span == Span(1, 13, 1, 14)


def test_error_on_later_line() -> None:
    msg, span = err("BEGIN {\n  @x = 1 +;\n}")
    assert msg == "syntax error, unexpected ;"
    assert span == Span(2, 11, 2, 12)


def test_bad_assignment_target() -> None:
    msg, span = err("BEGIN { 1 = 2; }")
    assert "left side of an assignment" in msg
    assert span == Span(1, 9, 1, 10)


def test_bad_integer() -> None:
    msg, _ = err("BEGIN { print(09); }")
    assert "invalid integer" in msg
    msg, _ = err("BEGIN { print(99999999999999999999999); }")
    assert "out of range" in msg


def test_deep_nesting_does_not_raise() -> None:
    text = "BEGIN { print(" + "(" * 3000 + "1" + ")" * 3000 + "); }"
    prog, diags = parse(Source("stdin", text))
    assert (prog is None) == bool(diags)


# ---------------------------------------------------------------- is_complete


@pytest.mark.parametrize(
    "text",
    ["BEGIN {", "BEGIN { print(1)", "BEGIN { if (1) {", 'BEGIN { printf("abc',
     "BEGIN { /* comment", "kprobe:f,", "kprobe:f /pid", "BEGIN", "BEGIN { @x[1",
     "", "#include <linux/sched.h>"],
)
def test_incomplete(text: str) -> None:
    assert is_complete(text) is False


@pytest.mark.parametrize(
    "text",
    ["BEGIN { }", "BEGIN { print(1) }", "BEGIN { print(1) } ;", "BEGIN { 1 +; }",
     "BEGIN { x = ` }", 'BEGIN { @ = "a\n" }', "BEGIN { } }"],
)
def test_complete(text: str) -> None:
    assert is_complete(text) is True


# ---------------------------------------------------------------- parser object


def test_get_parser_is_cached() -> None:
    assert get_parser() is get_parser()


def _script(lines: int) -> str:
    out: list[str] = []
    i = 0
    while len(out) < lines:
        out += [
            f'kprobe:f{i}, t:syscalls:sys_enter_read /pid == {i} && comm == "bash"/ {{',
            f"  @m[comm, pid] = count(); $x = (uint8)arg0 + {i} * 3;",
            '  if ($x > 10) { printf("%d %s\\n", $x, str(args->buf)); } else { @h = hist($x); }',
            '  @t[tid] = (1, "a", $x); // comment',
            "}",
        ]
        i += 1
    return "\n".join(out[:lines - lines % 5])


def test_parse_200_line_script() -> None:
    text = _script(200)
    get_parser()
    start = time.perf_counter()
    prog = ok(text)
    elapsed_ms = (time.perf_counter() - start) * 1000
    print(f"parsed 200 lines in {elapsed_ms:.1f} ms")  # figure for the report, not asserted
    assert len(prog.probes) == 40
    assert prog.probes[-1].body.stmts[-1].span.line == 199


def test_pointer_to_an_array_type() -> None:
    """`int32*[4]*`: stars before the size point at the element, after it at the array."""
    stmt = ok("BEGIN { @ = sizeof(int32*[4]*) }").probes[0].body.stmts[0]
    assert isinstance(stmt, nodes.Assign) and isinstance(stmt.value, nodes.Sizeof)
    tn = stmt.value.target
    assert isinstance(tn, nodes.TypeName)
    assert (tn.name, tn.pointer_depth, tn.array_size, tn.outer_pointers) == ("int32", 1, 4, 1)


def test_trailing_comma_after_the_last_attach_point() -> None:
    # `tracepoint:sched:sched_waking,` then the predicate, as scripts in the wild have it
    prog = ok("t:sched:sched_waking,\n/pid/\n{ }\nBEGIN, { }")
    assert [a.raw for a in prog.probes[0].attach_points] == ["t:sched:sched_waking"]
    assert prog.probes[0].predicate is not None
    assert [a.raw for a in prog.probes[1].attach_points] == ["BEGIN"]


def test_two_commas_between_attach_points_are_a_syntax_error() -> None:
    msg, span = err("BEGIN,, { }")
    assert "syntax error" in msg and span is not None and span.col == 7


@pytest.mark.parametrize("between", [" // note\n", "\n// note\n", " /* note */ ", "\t/* a */ // b\n"])
def test_comment_between_predicate_and_block(between: str) -> None:
    prog = ok(f"t:block:block_rq_issue\n/ args.dev == (uint32)((8<<20)+144) /{between}{{ }}")
    pred = prog.probes[0].predicate
    assert isinstance(pred, nodes.Binary) and pred.op == "=="
