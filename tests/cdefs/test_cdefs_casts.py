"""Casts rewritten before parsing: typedef names, and a macro's type parameters."""

from __future__ import annotations

from pytrace.cdefs.casts import rewrite_macro_type_casts


def test_macro_type_parameters_become_typeof() -> None:
    text = 'macro f(a, $v, @m) { (a*)$v + (a)$v + (a[4])$v; let $x: a = 1; (a) - 1 }'
    assert rewrite_macro_type_casts(text) == (
        'macro f(a, $v, @m) { (typeof(a)*)$v + (typeof(a))$v + (typeof(a)[4])$v; '
        'let $x: typeof(a) = 1; (a) - 1 }')


def test_only_inside_the_macro_body() -> None:
    text = 'macro f(a) { { "}" } (a)1 } BEGIN { (a)1 }'
    assert rewrite_macro_type_casts(text) == 'macro f(a) { { "}" } (typeof(a))1 } BEGIN { (a)1 }'
    assert rewrite_macro_type_casts("BEGIN { (a)1 }") == "BEGIN { (a)1 }"
