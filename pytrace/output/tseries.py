"""The text and JSON rendering of tseries() values.

Text: a chart with one row per interval, time on the left (`hh:mm:ss.ms`, local time of
the interval's start), the value's position between the smallest and the largest value
shown as `*` on a 53-column axis, the value on the right; a `.` column marks zero when
the range spans it. The range is labelled above and below.
"""

from __future__ import annotations

import time

from pytrace.output.json import json_str
from pytrace.values import TimeSeries

TIME_WIDTH = 12  # hh:mm:ss.ms
AXIS = 52  # positions 0..52 between the two frame columns
INDENT = " " * (TIME_WIDTH + 1)


def interval_label(start_ns: int) -> str:
    """`hh:mm:ss.mmm` of an interval start (ns since the Unix epoch), local time."""
    secs, rest = divmod(start_ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.localtime(secs)) + f".{rest // 1_000_000:03d}"


def _position(v: int, lo: int, hi: int) -> int:
    return 0 if hi == lo else (v - lo) * AXIS // (hi - lo)


def _range_line(lo: int, hi: int) -> str:
    left, right = str(lo), str(hi)
    return INDENT + left + " " * max(1, AXIS + 1 - len(left) - len(right)) + right + "\n"


def _row(label: str, v: int | None, lo: int, hi: int) -> str:
    cells = ["|"] + [" "] * (AXIS - 1) + ["|"]
    if lo < 0 < hi:
        cells[_position(0, lo, hi)] = "."
    if v is None:
        return f"{label} {''.join(cells)}\n"
    cells[_position(v, lo, hi)] = "*"
    return f"{label} {''.join(cells)} {v}\n"


def format_tseries(ts: TimeSeries) -> str:
    """The chart of one tseries (rows oldest first), without the map name."""
    values = [v for _, v in ts.points if v is not None]
    lo, hi = (min(values), max(values)) if values else (0, 0)
    out = [_range_line(lo, hi), "hh:mm:ss.ms".ljust(TIME_WIDTH + 1) + "|" + "_" * (AXIS - 1)
           + "|\n"]
    out += [_row(interval_label(start), v, lo, hi) for start, v in ts.points]
    out += [INDENT + "v" + "_" * (AXIS - 1) + "v\n", _range_line(lo, hi)]
    return "".join(out)


def json_tseries(ts: TimeSeries) -> str:
    """`[{"interval_start": ns, "value": v}, ...]`: the intervals with data."""
    items = [f'{{"interval_start": {start}, "value": {v}}}' for start, v in ts.points
             if v is not None]
    return "[" + ", ".join(items) + "]"


__all__ = ["format_tseries", "interval_label", "json_str", "json_tseries"]
