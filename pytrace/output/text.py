"""bpftrace-exact text rendering of values, maps and histograms (shared/spec/OUTPUT.md).

Pure functions from the values model to strings; the Output classes in
output/__init__.py decide where the strings go.
"""

from __future__ import annotations

import struct

from pytrace.frozen import frozen
from pytrace.printf_format import format_buffer
from pytrace.resources import SourceLoc
from pytrace.values import (
    AvgValue,
    Histogram,
    MapSnapshot,
    Record,
    Stack,
    TimeSeries,
    apply_top_div,
)

__all__ = [
    "attached_line",
    "format_histogram",
    "format_key",
    "format_map",
    "format_value",
    "hist_row_labels",
    "located_message",
    "lost_line",
    "bar_width",
]

LABEL_WIDTH = 16
COUNT_WIDTH = 8
BAR_WIDTH = 52


def attached_line(n: int) -> str:
    return f"Attached {n} probe\n" if n == 1 else f"Attached {n} probes\n"


def lost_line(n: int) -> str:
    return f"Lost {n} events\n"


SEVERITY = {"errorf": "ERROR", "warnf": "WARNING", "debugf": "DEBUG"}


def located_message(kind: str, loc: SourceLoc, msg: str) -> str:
    """`stdin:1:9-20: ERROR: msg` for errorf/warnf; runtime warnings (divide by zero,
    helper errors) also show the source line with `~` under the call."""
    head = f"{loc.location}: {SEVERITY.get(kind, 'WARNING')}: {msg}\n"
    if kind in SEVERITY:
        return head
    width = max(1, loc.end_col - loc.col)
    return head + loc.text + "\n" + " " * (loc.col - 1) + "~" * width + "\n"


# ------------------------------------------------------------------ primitives


def _stack_text(s: Stack, indent: int) -> str:
    if not s.frames:
        return ""
    pad = s.pad(indent)
    return "\n" + "".join(f"{pad}{f}\n" for f in s.frames)


def format_prim(v: object, key: bool = False, quoted: bool = False) -> str:
    """One decoded value as bpftrace prints it inline (keys, tuple elements, values);
    `quoted`: inside a record, whose strings print in double quotes."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and quoted and type(v) is str:
        return '"' + v + '"'
    if isinstance(v, (int, str)):
        return str(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(format_prim(x, key, quoted) for x in v) + ")"
    if isinstance(v, Record):
        return "{ " + ", ".join(f".{k} = {format_prim(x, key, True)}"
                                for k, x in v.items()) + " }"
    if isinstance(v, (bytes, bytearray)):
        return format_buffer(bytes(v))
    if isinstance(v, Stack):
        return _stack_text(v, 4 if key else 8)
    if isinstance(v, AvgValue):
        if v.stats:
            return f"{{ .count = {v.count}, .average = {v.average}, .total = {v.total} }}"
        return str(v.average)
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f".{k} = {format_prim(x, quoted=quoted)}"
                                for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ",".join(format_prim(x, quoted=quoted) for x in v) + "]"
    if v is None:
        return ""
    return str(v)


def format_key(key: tuple[object, ...]) -> str:
    """Key components joined by ', ' with no quotes (a tuple key loses its parentheses).

    Like bpftrace, the text of a one-component key that starts with '(' and ends with
    ')' loses them too, whatever it is (a string key "(x)" prints as @[x])."""
    text = ", ".join(format_prim(k, key=True) for k in key)
    if len(key) == 1 and len(text) >= 2 and text[0] == "(" and text[-1] == ")":
        return text[1:-1]
    return text


def format_value(v: object) -> str:
    """`print(value)` text, without the trailing newline."""
    if isinstance(v, Histogram):
        return format_histogram(v).rstrip("\n")
    return format_prim(v)


# ------------------------------------------------------------------ histograms


@frozen
class _Label:
    text: str
    num: int
    plain: bool  # a plain integer (bpftrace prints [n] for adjacent plain labels)


def _hist_label(index: int, k: int) -> _Label:
    """The upper bound of hist bucket `index` (= start of the next one), bpftrace-style."""
    if index <= (2 << k):
        return _Label(str(index), index, True)
    n = 1 << k
    interval = index & (n - 1)
    power = (index >> k) - 1
    decade = power // 10
    suffix = " KMGTPE"[decade].strip() if decade < 7 else f"*2^{10 * decade}"
    shown = (1 << (power - 10 * decade)) * (n + interval)
    return _Label(f"{shown}{suffix}", (1 << power) * (n + interval), False)


def _lhist_label(number: int, step: int) -> _Label:
    if step % 1024 != 0:
        return _Label(str(number), number, True)
    if number != 0 and number % (1 << 20) == 0:
        return _Label(f"{number >> 20}M", number, False)
    if number != 0 and number % 1024 == 0:
        return _Label(f"{number >> 10}K", number, False)
    return _Label(str(number), number, False)


def _adjacent(a: _Label, b: _Label) -> bool:
    return a.plain and b.plain and a.num + 1 == b.num


def _upper_labels(h: Histogram) -> tuple[_Label | None, list[_Label | None]]:
    """(lower bound of the first row, upper label of each row; None = open end)."""
    if not h.buckets:
        return None, []
    first = h.buckets[0].index
    if h.kind == "hist":
        k = h.bits
        lower = None if first == 0 else _hist_label(first - 1, k)
        uppers: list[_Label | None] = [
            _Label("0", 0, True) if b.index == 0 else _hist_label(b.index, k) for b in h.buckets
        ]
        return lower, uppers
    step = h.lstep or 1
    lower = None if first == 0 else _lhist_label(h.lmin + (first - 1) * step, step)
    uppers = []
    for b in h.buckets:
        edge = h.lmin + b.index * step
        uppers.append(_lhist_label(edge, step) if edge <= h.lmax and b.high is not None else None)
    return lower, uppers


def hist_row_labels(h: Histogram) -> list[str]:
    """The left column of each printed row: (..., 0) [0] [1] [2, 4) [1K, 2K) [10, ...)."""
    lower, uppers = _upper_labels(h)
    out: list[str] = []
    for i, up in enumerate(uppers):
        lo = lower if i == 0 else uppers[i - 1]
        if lo is None:
            out.append(f"(..., {up.text if up else ''})")
        elif up is None:  # lhist overflow: from the last edge (max when step divides max-min)
            step = h.lstep or 1
            edge = h.lmin + (h.lmax - h.lmin) // step * step
            out.append(f"[{_lhist_label(edge, step).text}, ...)")
        elif _adjacent(lo, up):
            out.append(f"[{lo.text}]")
        else:
            out.append(f"[{lo.text}, {up.text})")
    return out


def _f32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def bar_width(count: int, max_count: int, width: int = BAR_WIDTH) -> int:
    """bpftrace's `(count / (float)max) * 52`, truncated, in single precision."""
    if max_count <= 0:
        return 0
    return int(_f32(_f32(_f32(count) / _f32(max_count)) * width))


def format_histogram(h: Histogram) -> str:
    """The rows of a histogram (no header, no trailing blank line)."""
    labels = hist_row_labels(h)
    top = max((b.count for b in h.buckets), default=0)
    rows = []
    for label, b in zip(labels, h.buckets, strict=True):
        bar = "@" * bar_width(b.count, top)
        rows.append(f"{label:<{LABEL_WIDTH}}{b.count:>{COUNT_WIDTH}} |{bar:<{BAR_WIDTH}}|\n")
    return "".join(rows)


# ------------------------------------------------------------------------ maps


def format_map(snap: MapSnapshot, top: int = 0, div: int = 1) -> str:
    """A whole map as bpftrace prints it (empty string for an empty map)."""
    snap = apply_top_div(snap, top, div)
    out: list[str] = []
    for e in snap.entries:
        head = snap.name if e.key is None else f"{snap.name}[{format_key(e.key)}]"
        v = e.value
        if isinstance(v, Histogram):
            out.append(f"{head}:\n{format_histogram(v)}\n")
        elif isinstance(v, TimeSeries):
            from pytrace.output.tseries import format_tseries

            out.append(f"{head}:\n{format_tseries(v)}\n")
        else:
            out.append(f"{head}: {format_prim(v)}\n")
    return "".join(out)
