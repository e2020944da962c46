"""The text and JSON rendering of tseries() values, as current bpftrace draws them.

Text: a chart with one row per interval, time on the left (local time of the interval's
start, `hh:mm:ss` followed by the fraction of a second in the unit of the interval:
`.ms`, `.μs` or `.ns`; none for intervals of a second or more), the value's position
between the smallest and the largest value shown as `*` on a 53-column axis (single
precision arithmetic, like bpftrace), the value on the right (`-` for an interval
without data); a `.` column marks zero when the range spans it. A flat series is drawn
in the range value-1 … value+1. The range is labelled above and below.
"""

from __future__ import annotations

import struct
import time

from pytrace.output.json import json_str
from pytrace.values import TimeSeries

GRAPH = 53  # columns of the axis, frame included
LEFT = 21  # the smallest value is left-justified in this many columns
# unit name, ns per unit, digits of the fraction; the unit is the largest one that the
# interval between two points reaches
UNITS = (("s", 1_000_000_000, 0), ("ms", 1_000_000, 3), ("μs", 1_000, 6), ("ns", 1, 9))


def _f32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def _unit(interval: int) -> tuple[str, int, int]:
    for unit in UNITS[:-1]:
        if interval >= unit[1]:
            return unit
    return UNITS[-1]


def interval_label(start_ns: int, unit: tuple[str, int, int] = UNITS[1]) -> str:
    """`hh:mm:ss[.fraction]` of an interval start (ns since the Unix epoch), local time."""
    secs, rest = divmod(start_ns, 1_000_000_000)
    text = time.strftime("%H:%M:%S", time.localtime(secs))
    _, scale, digits = unit
    return text + (f".{rest // scale:0{digits}d}" if digits else "")


def _range_line(pad: int, lo: int, hi: int) -> str:
    return " " * pad + str(lo).ljust(LEFT) + str(hi).rjust(GRAPH - LEFT) + "\n"


def _row(label: str, v: int | None, lo: int, hi: int, zero: int) -> str:
    cells = ["|"] + [" "] * (GRAPH - 2) + ["|"]
    if zero > 0:
        cells[zero] = "."
    if v is None:
        return f"{label} {''.join(cells)} -\n"
    at = GRAPH // 2
    if lo != hi:
        at = int(_f32(_f32(float(GRAPH - 1)) * _f32(float(v - lo))) / _f32(float(hi - lo)))
    cells[max(0, min(GRAPH - 1, at))] = "*"
    return f"{label} {''.join(cells)} {v}\n"


def format_tseries(ts: TimeSeries) -> str:
    """The chart of one tseries (rows oldest first), without the map name."""
    if not ts.points:
        return "<no data>\n"
    values = [v for _, v in ts.points if v is not None]
    lo, hi = (min(values), max(values)) if values else (0, 0)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    first, last = ts.points[0][0], ts.points[-1][0]
    unit = _unit((last - first) // max(1, len(ts.points) - 1))
    head = "hh:mm:ss" + (f".{unit[0]}" if unit[2] else "")
    width = 8 + (1 + unit[2] if unit[2] else 0)  # bpftrace pads by bytes: μ counts twice
    pad = width + 1
    zero = 0
    if lo < 0 < hi:
        zero = int(_f32(_f32(float(GRAPH)) * _f32(float(lo))) / _f32(float(lo - hi)))
    out = [_range_line(pad, lo, hi),
           head + " " * max(0, pad - len(head.encode())) + "|" + "_" * (GRAPH - 2) + "|\n"]
    out += [_row(interval_label(start, unit), v, lo, hi, zero) for start, v in ts.points]
    out += [" " * pad + "v" + "_" * (GRAPH - 2) + "v\n", _range_line(pad, lo, hi)]
    return "".join(out)


def _iso(start_ns: int) -> str:
    secs, rest = divmod(start_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(secs)) + f".{rest:09d}"


def json_tseries(ts: TimeSeries) -> str:
    """`[{"interval_start":"ISO time","value":v},...]`: the intervals with data."""
    items = [f'{{"interval_start":{json_str(_iso(start))},"value":{v}}}'
             for start, v in ts.points if v is not None]
    return "[" + ",".join(items) + "]"


__all__ = ["format_tseries", "interval_label", "json_str", "json_tseries"]
