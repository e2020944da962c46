"""The rendering-free output model: decoded map snapshots, histograms, averages, stacks.

Text, JSON and rich output all render these objects; decoding (runtime/decode.py)
produces them. Plain Python values are used wherever possible: int for integers,
counts and sums, str for strings and probe names, tuple for tuples, bytes for
buffers. This module also owns the ordering rules of printed maps and the
`top`/`div` arguments of `print(@m, top, div)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, replace
from typing import TYPE_CHECKING, Union

from pytrace.frozen import frozen
from pytrace.types import AggT, BoolT, PtrT, Type

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = [
    "AvgValue",
    "Bucket",
    "Buffer",
    "EnumValue",
    "Pointer",
    "Record",
    "Histogram",
    "MapEntry",
    "MapSnapshot",
    "Stack",
    "Stats",
    "Symbol",
    "TimeSeries",
    "Value",
    "apply_top_div",
    "cdiv",
    "sort_entries",
]


def cdiv(a: int, b: int) -> int:
    """Integer division truncating toward zero, like C."""
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


STACK_PADS = {"perf": "\t", "raw": ""}  # frame indent of the non-bpftrace stack modes


@frozen
class Stack:
    """A resolved kernel or user stack: one frame per line, innermost first.

    mode: 'bpftrace' (frames `sym+off`), 'perf' (`hexaddr sym+off[ (path)]`) or 'raw'
      (`hexaddr`); it picks the indent: 8 spaces in printf and 4 in map keys for
      bpftrace, a tab for perf, none for raw.
    """

    frames: tuple[str, ...]
    kernel: bool = True
    mode: str = "bpftrace"

    def pad(self, spaces: int) -> str:
        """The indent of each frame, `spaces` wide in bpftrace mode."""
        return STACK_PADS.get(self.mode, " " * spaces)

    def __str__(self) -> str:
        """As printf's %s shows it: a newline, then one frame per line indented."""
        pad = self.pad(8)
        return "".join(f"\n{pad}{f}" for f in self.frames) + "\n" if self.frames else ""


class Symbol(str):
    """A resolved address (ksym/usym, `func` on uprobes): the name as bpftrace prints it,
    with the address (and, for user symbols, the pid) it came from."""

    address: int
    pid: int
    kernel: bool

    def __new__(cls, name: str, address: int = 0, pid: int = 0,
                kernel: bool = True) -> Symbol:
        self = super().__new__(cls, name)
        self.address, self.pid, self.kernel = address, pid, kernel
        return self

    def __repr__(self) -> str:
        return f"Symbol({str(self)!r}, address=0x{self.address:x})"


@frozen
class Stats:
    """A stats() value: count, average (truncated like bpftrace's) and total."""

    count: int
    average: int
    total: int


class Buffer(bytes):
    """A buf() value: its bytes. printf's %s shows it as %r does (`\\x00` escapes), where
    other raw bytes are text up to the first NUL."""

    __slots__ = ()


class Pointer(int):
    """An address: an integer that prints in hex (`0xffff8881...`)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"0x{int(self):x}"

    __repr__ = __str__


class EnumValue(int):
    """A value of a C enum: prints as its enumerator's name when it has one."""

    name: str

    def __new__(cls, value: int, name: str | None) -> EnumValue:
        obj = super().__new__(cls, value)
        obj.name = name or ""
        return obj

    def __str__(self) -> str:
        return self.name or str(int(self))

    __repr__ = __str__


class Record(dict[str, object]):
    """A record value `(name=value, ...)`: its fields in the type's order. A plain
    dict is a struct; a record prints its strings quoted (`{ .color = "green" }`)."""


@frozen
class AvgValue:
    """avg()/stats() folded over CPUs. `stats` selects the count/average/total form."""

    total: int
    count: int
    stats: bool = False
    div: int = 1

    @property
    def average(self) -> int:
        return cdiv(cdiv(self.total, self.count), self.div) if self.count else 0


@frozen
class Bucket:
    """One histogram bucket: index as in types.hist_bucket_index; low/high inclusive.

    low None: the open lower end (negatives for hist, below min for lhist);
    high None: the open upper end (lhist at or above max).
    """

    index: int
    low: int | None
    high: int | None
    count: int


@frozen
class Histogram:
    """The printed range of a hist/lhist: first to last non-empty bucket, gaps filled.

    kind 'hist' (bits = k of hist(x, k)) or 'lhist' (lmin, lmax, lstep).
    """

    buckets: tuple[Bucket, ...]
    kind: str = "hist"
    bits: int = 0
    lmin: int = 0
    lmax: int = 0
    lstep: int = 1
    sum: int | None = None  # the sum of the values counted, where known (BPF hist: not)

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)

    @property
    def count(self) -> int:
        """How many values were counted."""
        return self.total

    def percentile(self, q: float) -> float:
        """An estimate of the q-th percentile (0 <= q <= 100) of the values counted: the
        bucket where the cumulative count reaches q%, interpolated linearly inside it;
        an open-ended bucket gives its known bound. ValueError when nothing was counted."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be between 0 and 100, not {q}")
        total = self.total
        if not total:
            raise ValueError("percentile of an empty histogram")
        target = q / 100 * total
        seen = 0
        for b in self.buckets:
            if not b.count or seen + b.count < target:
                seen += b.count
                continue
            if b.low is None or b.high is None:
                return float(b.high if b.low is None else b.low)  # type: ignore[arg-type]
            return b.low + (target - seen) / b.count * (b.high + 1 - b.low)
        last = self.buckets[-1]
        return float(last.high if last.high is not None else last.low)  # type: ignore[arg-type]

    def __str__(self) -> str:
        """The rows bpftrace prints for this histogram."""
        from pytrace.output.text import format_histogram

        return format_histogram(self).rstrip("\n")

    def __rich__(self) -> RenderableType:
        """Bars in a terminal (rich)."""
        from pytrace.output.rich import histogram_renderable

        return histogram_renderable(self)

    def _repr_html_(self) -> str:
        """Bars in Jupyter."""
        from pytrace.output.html import histogram_html

        return histogram_html(self)


@frozen
class TimeSeries:
    """A tseries(): its intervals from the first to the last one with data (at most the
    number it keeps), oldest first. Each point is (interval start in ns since the Unix
    epoch, value or None for an interval without data)."""

    interval: int
    points: tuple[tuple[int, int | None], ...]


Value = Union[int, str, bytes, tuple, Stack, AvgValue, Histogram, TimeSeries, None]  # noqa: UP007


@frozen
class MapEntry:
    """One map element; key None for an unkeyed (scalar) map, else the key components."""

    key: tuple[object, ...] | None
    value: object


@frozen
class MapSnapshot:
    """The decoded content of one map at one moment, entries in print order."""

    name: str
    value_type: Type | None
    entries: list[MapEntry] = field(default_factory=list)
    key_type: Type | None = None

    @property
    def empty(self) -> bool:
        return not self.entries

    @property
    def is_scalar(self) -> bool:
        return len(self.entries) == 1 and self.entries[0].key is None


# ------------------------------------------------------------------------ ordering


_U64 = (1 << 64) - 1


def _as_signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _key_order(v: object) -> tuple[int, object]:
    """A total order on decoded keys: ints < strings < bytes < tuples < others."""
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, int):
        return (0, _as_signed64(int(v)))  # bpftrace compares 8-byte integer keys as int64
    if isinstance(v, str):
        return (1, v.encode("utf-8", "surrogateescape"))
    if isinstance(v, (bytes, bytearray)):
        return (2, bytes(v))
    if isinstance(v, tuple):
        return (3, tuple(_key_order(x) for x in v))
    if isinstance(v, Stack):
        return (4, v.frames)
    return (5, repr(v))


def _entry_key(e: MapEntry) -> tuple[int, object]:
    return (0, ()) if e.key is None else _key_order(e.key)


def _value_order(value: object) -> object | None:
    """The primary sort value of a map value, or None when maps of it sort by key."""
    if isinstance(value, AvgValue):
        return cdiv(value.total, value.count) if value.count else 0
    if isinstance(value, Histogram):
        return value.total
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return None


def sort_entries(entries: list[MapEntry], value_type: Type | None = None) -> list[MapEntry]:
    """OUTPUT.md order: numeric values (count/sum/min/max/int) ascending, avg/stats by
    average, keyed hists by total count; strings, tuples and the rest by key. Ties by key.

    Values are already decoded with their signedness, so Python's int order is the
    signed or unsigned compare the type asks for, except for min() and max(), whose
    maps bpftrace orders by the values compared as unsigned 64-bit integers (negative
    values last). bool and pointer values are not numbers to bpftrace's ordering: their
    maps sort by key. Integer key components compare as signed 64-bit integers.
    """
    by_value = isinstance(value_type, AggT) or bool(value_type and value_type.is_integer)
    if isinstance(value_type, (BoolT, PtrT)):
        by_value = False
    if value_type is None and entries:
        by_value = _value_order(entries[0].value) is not None
    if by_value and all(_value_order(e.value) is not None for e in entries):
        if isinstance(value_type, AggT) and value_type.kind in ("min", "max"):
            return sorted(entries, key=lambda e: (int(e.value) & _U64,  # type: ignore[call-overload]
                                                  _entry_key(e)))
        return sorted(entries, key=lambda e: (_value_order(e.value), _entry_key(e)))
    return sorted(entries, key=_entry_key)


# ----------------------------------------------------------------------- top / div


def _div_value(v: object, div: int) -> object:
    if div == 1:
        return v
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return cdiv(v, div)
    if isinstance(v, AvgValue):
        return replace(v, div=div)
    if isinstance(v, Histogram) and v.kind == "hist":  # div does not touch lhist
        return replace(v, buckets=tuple(replace(b, count=b.count // div) for b in v.buckets))
    return v


def apply_top_div(snap: MapSnapshot, top: int = 0, div: int = 1) -> MapSnapshot:
    """`print(@m, top, div)`: keep the `top` last (largest) entries, divide values by div.

    Entries must already be in print order (see sort_entries). top 0 keeps all; div 0
    counts as 1, as in bpftrace.
    """
    entries = snap.entries
    if top and len(entries) > top:
        entries = entries[len(entries) - top :]
    if div and div != 1:
        f: Callable[[object], object] = lambda v: _div_value(v, div)  # noqa: E731
        entries = [MapEntry(e.key, f(e.value)) for e in entries]
    if entries is snap.entries:
        return snap
    return replace(snap, entries=list(entries))
