"""Tests for pytrace.runtime.runs: runs of printf records decoded by block structs and
rendered by repeated templates give exactly the general path's text (no kernel needed:
the records are built here in the ring's layout)."""

from __future__ import annotations

import struct

import pytest

from pytrace.printf_format import format_printf
from pytrace.resources import EventKind, EventSpec, FieldSpec
from pytrace.runtime.decode import decode_value
from pytrace.runtime.runs import BLOCK, compile_run_printf, cstrings, record_stride
from pytrace.types import BoolT, EnumT, IntT, ProbeNameT, PtrT, StrT, Type

I64, U64 = IntT(64, True), IntT(64, False)


def event(fmt: str, *types: Type, eid: int = 3) -> EventSpec:
    fields, off = [], 8
    for t in types:
        fields.append(FieldSpec(off, t))
        off += max(8, t.size)
    return EventSpec(eid, EventKind.PRINTF, fmt, tuple(fields), size=off, probe="p")


def ring(ev: EventSpec, rows: list[list[bytes]]) -> memoryview:
    """Records as the kernel lays them out: u32 length, u32 page offset, data, padding."""
    out = bytearray()
    for fields in rows:
        data = struct.pack("<Q", ev.id) + b"".join(fields)
        assert len(data) == ev.size
        out += struct.pack("<II", len(data), 0) + data
        out += bytes(record_stride(len(data)) - 8 - len(data))
    return memoryview(bytes(out))


def general(ev: EventSpec, view: memoryview, count: int) -> list[str]:
    """What the dispatcher's per-record path prints for the same records."""
    stride = record_stride(ev.size)
    out = []
    for i in range(count):
        rec = view[i * stride + 8:i * stride + 8 + ev.size]
        out.append(format_printf(ev.fmt, [decode_value(f.type, rec, f.offset) for f in ev.args]))
    return out


def q(v: int) -> bytes:
    return struct.pack("<Q", v & (2**64 - 1))


def s16(b: bytes) -> bytes:
    return b.ljust(16, b"\0")[:16]


@pytest.mark.parametrize("count", [1, 2, 3, 7, BLOCK - 1, BLOCK, BLOCK + 5, 2 * BLOCK + 3])
def test_integer_runs_match_the_general_path(count: int) -> None:
    ev = event("%d %u %x|%-6hd|%08.3lX %hhu %o\n", I64, U64, I64, I64, U64, U64, I64)
    values = [-1, 2**64 - 1, 255, -32769, 0xABCDEF, 0x1FF, 8]
    rows = [[q(v * (i + 1)) for v in values] for i in range(count)]
    view = ring(ev, rows)
    fast = compile_run_printf(ev)
    assert fast is not None
    blocks = fast.decode(view, 0, count)
    want = general(ev, view, count)
    assert fast.text(blocks) == "".join(want)
    assert fast.texts(blocks) == want
    assert sum(k for k, _ in blocks) == count


def test_string_runs_cut_at_the_nul_and_replace_bad_utf8() -> None:
    ev = event("%s|%-10s|%.3s %d\n", StrT(16), StrT(16), StrT(24), I64)
    comms = [b"bash", b"python3\0garbage!", b"exactly16chars!!", b"\xff\xfebad", b"",
             "naïve".encode()]
    rows = [[s16(c), s16(comms[-1 - i % len(comms)]), c.ljust(24, b"x")[:24], q(i)]
            for i, c in enumerate(comms * 5)]
    view = ring(ev, rows)
    fast = compile_run_printf(ev)
    assert fast is not None
    want = general(ev, view, len(rows))
    assert fast.text(fast.decode(view, 0, len(rows))) == "".join(want)


def test_formats_without_arguments_repeat_their_text() -> None:
    ev = event("tick 100%%\n")
    view = ring(ev, [[] for _ in range(5)])
    fast = compile_run_printf(ev)
    assert fast is not None
    blocks = fast.decode(view, 0, 5)
    assert fast.text(blocks) == "tick 100%\n" * 5
    assert fast.texts(blocks) == ["tick 100%\n"] * 5


def test_enums_and_pointers_print_their_numbers_through_integer_conversions() -> None:
    color = EnumT(32, False, "enum color", (("RED", 1),))
    ev = event("%d %x %lu\n", color, PtrT(None), color)
    view = ring(ev, [[q(1), q(0xFFFF888012345678), q(7)]])
    fast = compile_run_printf(ev)
    assert fast is not None
    assert fast.text(fast.decode(view, 0, 1)) == "".join(general(ev, view, 1))


@pytest.mark.parametrize("ev", [
    event("%c\n", I64),  # no identical template
    event("%p\n", PtrT(None)),
    event("%s\n", PtrT(None)),  # a Pointer prints in hex through %s
    event("%s\n", EnumT(32, False, "enum e", (("A", 0),))),  # an enum by its name
    event("%d\n", BoolT()),  # a bool is decoded as True/False
    event("%s\n", ProbeNameT()),
])
def test_records_that_need_decoding_take_the_general_path(ev: EventSpec) -> None:
    assert compile_run_printf(ev) is None


def test_only_printf_records_have_a_run_renderer() -> None:
    ev = EventSpec(0, EventKind.PRINT_VALUE, "", (FieldSpec(8, I64),), size=16)
    assert compile_run_printf(ev) is None


def test_cstrings() -> None:
    assert cstrings([b"ab\0cd", b"\0", b"full", b"\xc3\xa9\0\xff"]) == ["ab", "", "full", "é"]
    assert cstrings([b"\xff"]) == ["\ufffd"]
