"""Tests for pytrace.api.events with the real Dispatcher and hand-made records: each
shown record becomes one Event with the typed values, the probe and bpftrace's text."""

from __future__ import annotations

import io
import struct
import warnings

import pytest

from pytrace.api.events import Event, EventCollector, TraceWarning
from pytrace.resources import EventKind, EventSpec, FieldSpec, MapKind, MapSpec, Resources
from pytrace.runtime.dispatch import Dispatcher
from pytrace.types import AggT, IntT, StrT
from pytrace.values import MapEntry, MapSnapshot


def u64(v: int) -> bytes:
    return struct.pack("<Q", v & (2**64 - 1))


class FakeMaps:
    def __init__(self) -> None:
        self.cleared: list[str] = []

    def snapshot(self, name: str) -> MapSnapshot:
        return MapSnapshot(name, AggT("count"), [MapEntry((1,), 5), MapEntry((2,), 9)],
                           IntT())

    def clear(self, name: str) -> None:
        self.cleared.append(name)

    def zero(self, name: str) -> None:
        pass


EVENTS = (
    EventSpec(0, EventKind.PRINTF, "%d %s\n", (FieldSpec(8, IntT()), FieldSpec(16, StrT(8))),
              size=24, probe="BEGIN"),
    EventSpec(1, EventKind.PRINT_MAP, "", (FieldSpec(8, IntT()), FieldSpec(16, IntT())),
              "@m", 24, probe="interval:s:1"),
    EventSpec(2, EventKind.CLEAR, map_name="@m", probe="interval:s:1"),
    EventSpec(3, EventKind.PRINT_VALUE, "", (FieldSpec(8, IntT()),), size=16, probe="END"),
    EventSpec(4, EventKind.PRINTF, "shared %d\n", (FieldSpec(8, IntT()),), size=24,
              probe_offset=16),
    EventSpec(5, EventKind.EXIT, "", (FieldSpec(8, IntT()),), size=16, probe="END"),
)
RES = Resources(maps=(MapSpec("@m", "map_m", MapKind.PERCPU_HASH, 8, 8, 16, IntT(),
                              AggT("count")),),
                events=EVENTS, probe_names=("BEGIN", "tracepoint:syscalls:sys_enter_read"))


def dispatch(collector: EventCollector, records: list[bytes]) -> list[int]:
    codes: list[int] = []
    Dispatcher(RES, FakeMaps(), collector, lambda: None, codes.append).handle(records)
    return codes


def test_records_become_events_in_order() -> None:
    out = io.StringIO()
    c = EventCollector(out)
    codes = dispatch(c, [
        u64(0) + u64(-7) + b"hi".ljust(8, b"\0"),
        u64(1) + u64(1) + u64(1),
        u64(2),
        u64(3) + u64(42),
        u64(4) + u64(3) + u64(1),
        u64(5) + u64(2),
    ])
    assert codes == [2]
    assert list(c.queue) == [
        Event("printf", "BEGIN", (-7, "hi"), "-7 hi\n"),
        Event("print_map", "interval:s:1", ({2: 9},), "@m[2]: 9\n"),
        Event("print_value", "END", (42,), "42\n"),
        Event("printf", "tracepoint:syscalls:sys_enter_read", (3,), "shared 3\n"),
        Event("exit", "END", (2,), ""),
    ]
    assert out.getvalue() == "-7 hi\n@m[2]: 9\n42\nshared 3\n"


def test_the_queue_is_bounded() -> None:
    c = EventCollector(max_events=2)
    dispatch(c, [u64(3) + u64(i) for i in range(5)])
    assert [e.values for e in c.queue] == [(3,), (4,)]
    assert c.dropped == 3


def test_notices() -> None:
    c = EventCollector()
    c.lost(3)
    c.lost(2)
    assert c.lost_events == 5
    with pytest.warns(TraceWarning, match="is full"):
        c.warning("Map @m is full")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.attached(4)
    assert c.attached_probes == 4


def test_maps_at_exit_go_to_the_stream_as_text() -> None:
    out = io.StringIO()
    EventCollector(out).maps_at_exit([FakeMaps().snapshot("@m")])
    assert out.getvalue() == "\n\n@m[1]: 5\n@m[2]: 9\n"
