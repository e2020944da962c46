"""The C side of the type model: C sizes and alignment, bool, enums, bitfields, and
bpftrace's sizeof of its own values (the internal 8-byte layout is unchanged)."""

from __future__ import annotations

from pytrace.types import (
    ArrayT,
    BitfieldT,
    BoolT,
    EnumT,
    FuncProtoT,
    IntT,
    PtrT,
    RecordT,
    StrT,
    StructT,
    TupleT,
    array_or_string,
    bitfield_member,
    c_layout,
    unify,
    value_sizeof,
)

U8, U16, U32, I64 = IntT(8, False), IntT(16, False), IntT(32, False), IntT(64, True)


def test_internal_layout() -> None:
    assert IntT(8, False).size == 8 and TupleT((U8, StrT(3))).size == 16
    assert StrT(3).size == 8
    # arrays and structs are memory images: C layout, padded to 8
    assert ArrayT(U8, 4).size == 8 and ArrayT(U32, 3).size == 16


def test_c_sizes_and_alignment() -> None:
    assert (U8.csize, U16.csize, U32.csize, I64.csize) == (1, 2, 4, 8)
    assert ArrayT(U16, 3).csize == 6 and ArrayT(U16, 3).calign == 2
    assert StrT(16).csize == 16 and StrT(16).calign == 1
    assert PtrT(None).csize == 8 and PtrT(None).calign == 8
    s = StructT("struct s", 12, (("a", U32, 0), ("b", U8, 4)))
    assert (s.csize, s.calign, s.size) == (12, 4, 16)
    assert not StructT("struct ref").is_complete and s.is_complete


def test_integer_wrapping() -> None:
    assert IntT(8, True).wrap(200) == -56 and IntT(8, False).wrap(-1) == 255
    assert IntT(64, False).wrap(-1) == 2**64 - 1 and IntT(32, True).wrap(2**31) == -(2**31)
    assert (IntT(16, True).min_value, IntT(16, True).max_value) == (-32768, 32767)
    assert IntT(64, False).max_value == 2**64 - 1


def test_bool_enum_bitfield_are_integers() -> None:
    b = BoolT()
    assert isinstance(b, IntT) and b.csize == 1 and str(b) == "bool" and b != U8
    e = EnumT(32, False, "enum color", (("RED", 0), ("BLUE", 2)))
    assert isinstance(e, IntT) and e.symbol(2) == "BLUE" and e.symbol(7) is None
    assert e.value_of("RED") == 0 and str(e) == "enum color"
    assert unify(e, U32) == IntT(64, False)
    name, bf, byte = bitfield_member("f", IntT(32, True), 163, 5)
    assert (name, byte) == ("f", 20) and isinstance(bf, BitfieldT)
    assert bf.bit_offset == 3 and bf.load_size == 1
    assert bf.extract(0b1111_1000) == -1 and BitfieldT(32, False, 3, 5).extract(0b1111_1000) == 31
    assert BitfieldT(64, False, 4, 60).load_size == 8


def test_char_arrays_are_strings() -> None:
    assert array_or_string(IntT(8, True), 16) == StrT(16)
    assert array_or_string(U8, 16) == ArrayT(U8, 16)
    assert array_or_string(IntT(8, True), 0) == ArrayT(IntT(8, True), 0)
    assert array_or_string(BoolT(), 2) == ArrayT(BoolT(), 2)


def test_struct_field_lookup_through_anonymous_members() -> None:
    inner = StructT("", 8, (("x", U32, 0), ("y", U32, 4)), union=False)
    outer = StructT("struct o", 16, (("a", I64, 0), ("", inner, 8)))
    assert outer.field("y") == (U32, 12) and outer.field("z") is None
    assert outer.field_names() == ["a", "x", "y"]


def test_func_proto_text() -> None:
    p = FuncProtoT(I64, (("a", U32), ("p", PtrT(None))), variadic=True)
    assert str(p) == "int64 (*)(uint32, void *, ...)"


def test_sizeof_matches_bpftrace() -> None:
    # Figures measured with bpftrace: print(sizeof(...)) of each tuple.
    assert value_sizeof(TupleT((I64, U8))) == 16  # (1, (uint8)2) with int64 literals
    assert value_sizeof(TupleT((U8, U8))) == 2
    assert value_sizeof(TupleT((U8, U16))) == 4
    assert value_sizeof(TupleT((U8, StrT(3)))) == 4
    assert value_sizeof(TupleT((StrT(3), U32))) == 8
    assert value_sizeof(TupleT((I64, U8, StrT(4)))) == 16
    assert value_sizeof(TupleT((U8, TupleT((U16, U8))))) == 6
    assert value_sizeof(TupleT((IntT(32, True), StrT(2)))) == 8
    assert value_sizeof(RecordT((("a", U8), ("b", U16)))) == 4
    assert value_sizeof(U8) == 1 and value_sizeof(StrT(4)) == 4 and value_sizeof(BoolT()) == 1
    assert value_sizeof(ArrayT(U32, 4)) == 16 and value_sizeof(PtrT(None)) == 8
    assert c_layout((U8, U32, U8)) == ([0, 4, 8], 12, 4)


def test_records_unify_whatever_their_field_order() -> None:
    a = RecordT((("color", StrT(6)), ("size", I64)))
    b = RecordT((("size", I64), ("color", StrT(5))))
    assert unify(a, b) == RecordT((("color", StrT(6)), ("size", I64)))
    assert unify(a, RecordT((("size", U8), ("color", StrT(5))))) == \
        RecordT((("color", StrT(6)), ("size", IntT(64, False))))
    assert unify(a, RecordT((("color", StrT(6)),))) is None
    assert unify(a, RecordT((("colour", StrT(6)), ("size", I64)))) is None
    assert unify(a, RecordT((("color", I64), ("size", I64)))) is None
    assert a.offsets() == [0, 8] and a.field("size") == (I64, 8) and a.field("x") is None
