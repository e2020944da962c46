"""typeof(T) / typeof(expr) compiled and run: casts, declarations, sizeof/offsetof,
types passed to macros (casts and declarations in the macro body); the expression is
typed, never run."""

from __future__ import annotations

import pytest
from harness import begin, run

from pytrace.diagnostics import CompileError


def test_casts_and_declarations() -> None:
    out = begin('$b = (uint8)1; let $a: typeof($b) = 200; $a += 100; print($a); '
                'print((typeof(uint16))-1); print((typeof($b))511); '
                '$s = "abc"; let $t: typeof($s) = "xy"; print($t); '
                'print((typeof(uint8) *)16)')
    assert out == "44\n65535\n255\nxy\n0x10\n\n\n"


def test_sizeof_and_offsetof() -> None:
    out = begin('$q = (int16)1; $r = (a=1, b=(uint8)2); '
                'printf("%d %d %d %d %d %d\\n", sizeof(typeof($q)), sizeof(typeof(uint32[4])), '
                'sizeof(typeof(struct task_struct *)), sizeof(typeof($r)), '
                'sizeof(typeof(typeof($q))), '
                'offsetof(typeof(*curtask), pid) == offsetof(struct task_struct, pid))')
    assert out == "2 16 8 2 2 1\n\n\n"  # the record holds two one-byte integers


def test_the_expression_is_never_run() -> None:
    r = run('BEGIN { $n = (int8)0; let $x: typeof({ printf("ran\\n"); @m = 1; $n }) = 5; '
            'print(sizeof(typeof({ printf("ran\\n"); $n }))); print($x); exit(); }')
    assert r.code == 0, r.err
    assert r.out == "1\n5\n\n\n"


def test_types_as_macro_arguments() -> None:
    r = run('macro as_ptr(t, v) { (t *)v } macro cast(t, v) { (t)v } '
            'macro width(t) { sizeof(t) } macro make(t) { let $x: t = 300; $x } '
            'macro minus_one(x) { (x) - 1 } '
            'BEGIN { $v = (int16)0; print(as_ptr(typeof(uint8), 32)); '
            'print(cast(typeof(uint8), -1)); print(cast(typeof($v), 70000)); '
            'print(width(typeof(struct task_struct *))); print(make(typeof(uint32))); '
            'print(minus_one(5)); exit(); }')
    assert r.code == 0, r.err
    assert r.out == "0x20\n255\n4464\n8\n300\n4\n\n\n"


@pytest.mark.parametrize("program, message", [
    ("BEGIN { print(typeof(1)); }", "typeof() is a type"),
    ("BEGIN { $x = (typeof(nosuch))1; }", "Unknown type: 'nosuch'"),
    ("macro m(x) { x + 1 } BEGIN { print(m(typeof(uint8))); }", "typeof() is a type"),
])
def test_refusals(program: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        run(program)
    assert any(message in d.message and d.span is not None for d in info.value.diagnostics)
