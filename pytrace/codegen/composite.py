"""IR for `==` and `!=` on tuples and records: element by element, as their types
compare (integers by value, strings up to their NUL, nested tuples and records
recursively, arrays and other values byte by byte). Records are compared by field
name, so two records written in different orders compare as one type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from pytrace.codegen import memory
from pytrace.codegen.values import Val
from pytrace.types import RecordT, StrT, TupleT

if TYPE_CHECKING:
    from pytrace.codegen.emitter import ProgEmitter

TRUE = ir.Constant(ir.IntType(1), 1)


def _parts(p: ProgEmitter, a: Val, b: Val) -> list[tuple[Val, Val]]:
    if isinstance(a.t, TupleT) and isinstance(b.t, TupleT):
        return [(p.tuple_elem(a, i), p.tuple_elem(b, i)) for i in range(len(a.t.elems))]
    assert isinstance(a.t, RecordT) and isinstance(b.t, RecordT)
    return [(p.record_field(a, name), p.record_field(b, name)) for name, _ in a.t.fields]


def equal(p: ProgEmitter, a: Val, b: Val) -> ir.Value:
    """i1: the two values are equal (their types unify, the typecheck made sure)."""
    if a.scalar and b.scalar:
        return p.b.icmp_unsigned("==", p.as_i64(a), p.as_i64(b))
    if isinstance(a.t, StrT) and isinstance(b.t, StrT):
        return p.str_equal_bufs(a.v, a.t.length, b.v, b.t.length)
    if isinstance(a.t, TupleT | RecordT):
        result: ir.Value = TRUE
        for x, y in _parts(p, a, b):
            result = p.b.and_(result, equal(p, x, y))
        return result
    return memory.array_equal(p, a, b)
