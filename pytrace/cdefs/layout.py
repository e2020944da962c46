"""Struct and union layout as the x86_64 System V ABI (GCC, Clang) lays them out.

Members go at the next offset aligned for their type; a bitfield goes in the bits that
follow the previous member unless it would cross a boundary of its declared type's
size, and a zero-width bitfield moves to the next such boundary. The struct's size is
rounded up to its alignment (the largest alignment of its members; unnamed bitfields
do not count). A packed struct has no padding at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytrace.types import IntT, StructT, Type, align_up, bitfield_member


def layout_struct(name: str, members: Sequence[tuple[str, Type, int | None]],
                  union: bool = False, packed: bool = False,
                  aligns: Mapping[int, int] | None = None) -> StructT:
    """A complete StructT from (name, type, bit width or None) members in order;
    `packed` (`__attribute__((packed))`): no padding, alignment 1, bitfields placed in
    the very next bits; `aligns`: member index -> alignment set by attributes (index
    len(members): the struct's own minimum alignment)."""
    aligns = aligns or {}
    fields: list[tuple[str, Type, int]] = []
    bit, end, align = 0, 0, aligns.get(len(members), 1)
    for i, (mname, t, width) in enumerate(members):
        a, size = aligns.get(i, 1 if packed else max(1, t.calign)), t.csize
        if width is None or not isinstance(t, IntT):
            start = 0 if union else align_up(bit, a * 8)
            fields.append((mname, t, start // 8))
            bit = start + size * 8
            align = max(align, a)
        elif width == 0:
            bit = align_up(bit, size * 8)
            continue
        else:
            unit = size * 8
            start = 0 if union else bit
            if not packed and start // unit != (start + width - 1) // unit:
                start = align_up(start, unit)
            fields.append(bitfield_member(mname, t, start, width))
            bit = start + width
            if mname:
                align = max(align, a)
        end = max(end, bit)
        if union:
            bit = 0
    size = align_up(align_up(end, 8) // 8, align)
    return StructT(name, size, tuple(fields), union=union, align=align)
