"""The BTF binary format: header, kind numbers and the size of each kind's record.

A BTF blob is a header, a type section (one variable-length record per type, type ids
counted from 1, or from the base's count for split BTF) and a string section. Every
record starts with three u32 words (name_off, info, size_or_type) followed by words
that depend on the kind; every record is a whole number of u32 words.
"""

from __future__ import annotations

import struct

MAGIC = 0xEB9F
HEADER = struct.Struct("<HBBIIIII")  # magic version flags hdr_len type_off type_len str_off str_len

INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
VOLATILE, CONST, RESTRICT, FUNC, FUNC_PROTO, VAR, DATASEC = 9, 10, 11, 12, 13, 14, 15
FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = 16, 17, 18, 19

KIND_NAMES = {
    0: "void", INT: "int", PTR: "ptr", ARRAY: "array", STRUCT: "struct", UNION: "union",
    ENUM: "enum", FWD: "fwd", TYPEDEF: "typedef", VOLATILE: "volatile", CONST: "const",
    RESTRICT: "restrict", FUNC: "func", FUNC_PROTO: "func_proto", VAR: "var",
    DATASEC: "datasec", FLOAT: "float", DECL_TAG: "decl_tag", TYPE_TAG: "type_tag",
    ENUM64: "enum64",
}

# INT encoding bits.
INT_SIGNED, INT_CHAR, INT_BOOL = 1, 2, 4

# Words after the three common ones: (fixed words, words per vlen item), by kind.
_EXTRA: dict[int, tuple[int, int]] = {
    INT: (1, 0), ARRAY: (3, 0), STRUCT: (0, 3), UNION: (0, 3), ENUM: (0, 2),
    FUNC_PROTO: (0, 2), VAR: (1, 0), DATASEC: (0, 3), DECL_TAG: (1, 0), ENUM64: (0, 3),
}
FIXED_WORDS = [3 + _EXTRA.get(k, (0, 0))[0] for k in range(32)]
VLEN_WORDS = [_EXTRA.get(k, (0, 0))[1] for k in range(32)]

# Kinds whose name is a type name worth indexing (tags and anonymous types are not).
NAMED_KINDS = frozenset({INT, STRUCT, UNION, ENUM, FWD, TYPEDEF, FUNC, VAR, DATASEC,
                         FLOAT, ENUM64})
# Kinds that only qualify another type.
MODIFIERS = frozenset({VOLATILE, CONST, RESTRICT, TYPE_TAG})


class BtfFormatError(Exception):
    """The bytes are not BTF this reader understands."""


def parse_header(data: bytes | memoryview) -> tuple[int, int, int, int]:
    """(types start, types length, strings start, strings length), byte offsets in data."""
    if len(data) < HEADER.size:
        raise BtfFormatError("too short for a BTF header")
    magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = \
        HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise BtfFormatError(f"bad BTF magic 0x{magic:x}")
    if version != 1:
        raise BtfFormatError(f"unsupported BTF version {version}")
    tstart, sstart = hdr_len + type_off, hdr_len + str_off
    if tstart + type_len > len(data) or sstart + str_len > len(data) or type_len % 4:
        raise BtfFormatError("BTF sections out of bounds")
    return tstart, type_len, sstart, str_len
