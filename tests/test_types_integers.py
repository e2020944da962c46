"""Integer typing rules of the model: literal types, promotion of stored integers,
unification of stored values and the operand signs of an operation."""

from __future__ import annotations

import pytest

from pytrace.types import (
    AggT,
    IntT,
    RecordT,
    StrT,
    TupleT,
    flexible_operands,
    literal_type,
    merge_ints,
    promote_int,
    signed_operation,
    signed_width,
    unify_values,
)

U8, U16, U32, U64 = IntT(8, False), IntT(16, False), IntT(32, False), IntT(64, False)
I8, I16, I32, I64 = IntT(8, True), IntT(16, True), IntT(32, True), IntT(64, True)


@pytest.mark.parametrize("value, expected", [
    (0, U8), (1, U8), (255, U8), (256, U16), (65535, U16), (65536, U32),
    ((1 << 32) - 1, U32), (1 << 32, U64), ((1 << 64) - 1, U64),
    (-1, I8), (-128, I8), (-129, I16), (-1000, I16), (-32769, I32), (-(1 << 31), I32),
    (-(1 << 31) - 1, I64), (-(1 << 63), I64),
])
def test_literal_is_the_narrowest_type_holding_it(value: int, expected: IntT) -> None:
    assert literal_type(value) == expected


def test_signed_width() -> None:
    assert [signed_width(v) for v in (0, 127, 128, -128, -129, 1 << 40)] == [8, 8, 16, 8, 16, 64]
    assert signed_width(1 << 63) > 64  # no signed type holds it


@pytest.mark.parametrize("a, b, expected", [
    (U8, U8, U8), (U8, U32, U32), (I16, I8, I16), (U64, U8, U64),  # same sign: the wider
    (I16, U8, I16), (U8, I32, I32),  # the signed one is wider: it holds both
    (I8, U8, I16), (U16, I16, I32), (U32, I8, I64),  # else twice the wider width
    (U64, I8, None), (I64, U64, None),  # nothing holds uint64 and a signed type
])
def test_promote_int(a: IntT, b: IntT, expected: IntT | None) -> None:
    assert promote_int(a, b) == expected
    assert promote_int(b, a) == expected


def test_a_positive_literal_takes_a_signed_type_that_holds_it() -> None:
    assert promote_int(I8, U8, None, 5) == I8
    assert promote_int(U8, I8, 5, None) == I8
    assert promote_int(I8, U8, None, 200) == I16  # 200 needs int16
    assert promote_int(I8, U64, None, 5_000_000_000) == I64  # int64 holds both
    assert promote_int(I64, U64, None, 1 << 40) == I64
    assert promote_int(I64, U64, None, 1 << 63) is None  # beyond int64


def test_merge_ints_falls_back_to_int64() -> None:
    assert merge_ints(U8, I8) == (I16, False)
    assert merge_ints(U64, I64) == (I64, True)  # the reference's int64, with a warning
    assert merge_ints(U64, I8, -1) == (I64, True)


def test_unify_values_promotes_inside_composites() -> None:
    assert unify_values(TupleT((U8, StrT(2))), TupleT((I8, StrT(5)))) == TupleT((I16, StrT(5)))
    a = RecordT((("x", U8), ("y", U16)))
    b = RecordT((("y", I8), ("x", U32)))
    assert unify_values(a, b) == RecordT((("x", U32), ("y", I32)))
    assert unify_values(TupleT((U8,)), TupleT((U8, U8))) is None
    assert unify_values(U64, I64) == I64


def test_aggregations_of_both_signs_are_signed() -> None:
    assert unify_values(AggT("sum", signed=False), AggT("sum", signed=True)) == \
        AggT("sum", signed=True)
    assert unify_values(AggT("sum", signed=False), AggT("max", signed=True)) is None


def test_a_non_negative_literal_operand_takes_the_other_sign() -> None:
    # `$x < 5000000000` with $x = -1 compares signed (the literal alone is uint64)
    a, b = flexible_operands(I8, U64, None, 5_000_000_000)
    assert signed_operation(a, b)
    a, b = flexible_operands(U64, U8, None, 5)
    assert not signed_operation(a, b)
    assert flexible_operands(U8, U8, 1, 2) == (U8, U8)  # both literals: as typed
    assert flexible_operands(I8, U64, None, 1 << 63) == (I8, U64)  # beyond int64
