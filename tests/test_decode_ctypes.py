"""Decoding and printing values of C types: bool, enum, pointer, bitfield, struct, array."""

from __future__ import annotations

import struct

from pytrace.output.json import json_value
from pytrace.output.text import format_value
from pytrace.runtime.decode import decode_value
from pytrace.types import (
    ArrayT,
    BitfieldT,
    BoolT,
    EnumT,
    IntT,
    PtrT,
    StrT,
    StructT,
)
from pytrace.values import EnumValue, Pointer

COLOR = EnumT(32, False, "enum color", (("RED", 0), ("GREEN", 5)))


def test_scalars_in_the_internal_layout() -> None:
    assert decode_value(BoolT(), struct.pack("<Q", 1)) is True
    v = decode_value(COLOR, struct.pack("<Q", 5))
    assert isinstance(v, EnumValue) and v == 5 and str(v) == "GREEN"
    assert str(decode_value(COLOR, struct.pack("<Q", 9))) == "9"
    p = decode_value(PtrT(None), struct.pack("<Q", 0xFFFF8881))
    assert isinstance(p, Pointer) and format_value(p) == "0xffff8881"
    assert decode_value(IntT(64, False), struct.pack("<q", -1)) == 2**64 - 1


def test_struct_in_c_layout() -> None:
    inner = StructT("struct inner", 6, (("s", IntT(16, True), 0),
                                       ("b", ArrayT(IntT(8, False), 3), 2)))
    t = StructT("struct point", 32, (
        ("x", IntT(32, True), 0), ("name", StrT(4), 4), ("in", inner, 8),
        ("f1", BitfieldT(32, False, 0, 3), 16), ("f2", BitfieldT(32, True, 3, 5), 16),
        ("ok", BoolT(), 20), ("c", COLOR, 24), ("", StructT("", 4, (("anon", IntT(32, True), 0),)), 28)))
    raw = (struct.pack("<i", -7) + b"ab\0\0" + struct.pack("<h", 3) + bytes([1, 2, 3, 0, 0, 0])
           + struct.pack("<I", 5 | (0b11111 << 3)) + b"\x01\0\0\0" + struct.pack("<I", 5)
           + struct.pack("<i", 11))
    v = decode_value(t, raw)
    assert v == {"x": -7, "name": "ab", "in": {"s": 3, "b": [1, 2, 3]}, "f1": 5, "f2": -1,
                 "ok": True, "c": 5, "anon": 11}
    assert format_value(v) == ("{ .x = -7, .name = ab, .in = { .s = 3, .b = [1,2,3] }, .f1 = 5, "
                               ".f2 = -1, .ok = true, .c = GREEN, .anon = 11 }")
    assert json_value(v) == ('{"x": -7, "name": "ab", "in": {"s": 3, "b": [1,2,3]}, "f1": 5, '
                             '"f2": -1, "ok": true, "c": 5, "anon": 11}')


def test_arrays_are_c_images() -> None:
    t = ArrayT(IntT(16, False), 3)
    assert t.size == 8 and decode_value(t, struct.pack("<HHHxx", 1, 2, 65535)) == [1, 2, 65535]
    assert format_value(decode_value(ArrayT(BoolT(), 2), b"\x01\x00" + b"\0" * 6)) == \
        "[true,false]"


def test_pointers_and_enums_in_json() -> None:
    assert json_value(Pointer(16)) == "16"
    # JSON shows an enum's number (current bpftrace: symbolic values are emitted as numbers)
    assert json_value(EnumValue(5, "GREEN")) == "5" and json_value(EnumValue(7, None)) == "7"
