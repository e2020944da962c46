"""The whole compiler (parser, passes, codegen, LLVM) on random and mutated programs:
every input ends in an object or in diagnostics — never an exception, never an abort."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytrace.diagnostics import CompileError
from pytrace.driver import check_source, generate
from pytrace.passes.context import Options
from pytrace.source import Source

CORPUS = [
    'BEGIN { printf("hello %s %d\\n", "world", 42); exit(); }',
    "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
    't:syscalls:sys_enter_openat /pid != 0/ { printf("%s %s\\n", comm, str(args.filename)); }',
    "tracepoint:syscalls:sys_enter_read* { @calls[probe] = count(); }",
    "t:syscalls:sys_enter_write { @bytes = sum(args->count); @h = hist(args->count); }",
    "profile:hz:99 { @[cpu] = count(); } END { printf(\"bye\\n\"); }",
    "BEGIN { $a = 1; $b = $a * 3 - 2 / 1 % 5; if ($b > 2) { @x = $b; } else { @y[1, \"a\"] = 2; } }",
    "BEGIN { @m = max(5); @n = min(-1); @a = avg(3); @s = stats(4); @l = lhist(3, 0, 10, 1); }",
    "BEGIN { $t = (1, \"x\"); print($t); print(@q); @q = 1; $i = 0; while ($i < 5) { $i++; } }",
    "interval:s:1 { print(@c); clear(@c); } t:syscalls:sys_enter_getppid { @c[tid] = count(); }",
    'BEGIN { if (comm == "bash") { exit(2); } @s[str($1)] = 1; }',
    "config = { max_map_keys = 8; missing_probes = warn }\nlet @l = lruhash(4);\n"
    "macro twice(x) { x * 2 }\nmacro bump($v, @m) { $v += 1; @m += 1; }\n"
    "begin { $a = 1; bump($a, @c); @l[$a] = twice({ let $b = 2; $b }); if $a { _ = $a; } }",
    "let @p = percpuhash(16);\nbegin { for ($i : 0..4) { @p[$i] = count(); } "
    "@t = tseries(nsecs % 7, 100ms, 5, \"max\"); let $u: uint8 = 200; print($u); return; }",
    "test:one { return 1; } bench:b { @b = count(); } a=begin { print(100ms + 1s); }",
]


def compile_or_diagnose(text: str) -> None:
    try:
        checked = check_source(Source("stdin", text), Options(params=["7", "x"]))
    except CompileError as exc:
        assert exc.diagnostics  # a failure always says why
        return
    try:
        generate(checked)
    except CompileError as exc:
        assert exc.diagnostics


@pytest.mark.parametrize("text", CORPUS)
def test_corpus_compiles(text: str) -> None:
    checked = check_source(Source("stdin", text), Options(params=["7", "x"]))
    _, obj = generate(checked)
    assert obj.elf.startswith(b"\x7fELF")


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        op = draw(st.sampled_from(["delete", "insert", "dup"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(list("(){}[];,@$+-*/%<>=!&|^~?:\"'0123456789x") +
                                                  ["str(", "count()", "args.", "@x", "$y", " if ", "\\n"])) + text[i:]
        else:
            text = text[:i] + text[i:j] + text[i:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_programs_never_raise(text: str) -> None:
    compile_or_diagnose(text)
