"""The live views of `.watch` and `.top`: one rich layout rebuilt from map snapshots at
every refresh.

`.watch`: keyless values in one table (counters — count() and sum() — with their rate
per second since the last refresh), each histogram as a panel of bars, each keyed map
as a table of its largest rows. `.top`: one table of the N largest keys of the chosen
maps with rates. `Rates` remembers the previous values; `watch_view`/`top_view` are
pure functions of snapshots (tests render them to a plain console).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pytrace.output.text import format_key, format_prim, hist_row_labels
from pytrace.values import AvgValue, Histogram, MapEntry, MapSnapshot

RATE_KINDS = ("count", "sum")
KEYED_ROWS = 20  # rows shown of a keyed map in .watch (its largest)
BAR_WIDTH = 40


def is_counter(snap: MapSnapshot) -> bool:
    """count() and sum() maps: their growth per second is worth showing."""
    return getattr(snap.value_type, "kind", None) in RATE_KINDS


@dataclass
class Rates:
    """Per (map, key) value at the previous refresh -> rate per second now."""

    clock: Callable[[], float] = time.monotonic
    _last: dict[tuple[str, object], tuple[float, int]] = field(default_factory=dict)

    def rate(self, name: str, key: object, value: int) -> float | None:
        """Growth per second since this key was last seen (None the first time)."""
        now = self.clock()
        prev = self._last.get((name, key))
        self._last[(name, key)] = (now, value)
        if prev is None or now <= prev[0]:
            return None
        return (value - prev[1]) / (now - prev[0])


def _rate_text(rate: float | None) -> Text:
    if rate is None:
        return Text("…", style="dim")
    shown = f"{rate:,.0f}/s" if abs(rate) >= 10 else f"{rate:,.1f}/s"
    return Text(shown, style="bold green" if rate > 0 else "dim")


def _value_text(v: object) -> Text:
    if isinstance(v, int) and not isinstance(v, bool):
        return Text(str(v), style="magenta")
    return Text(format_prim(v))


def _head(name: str, key: tuple[object, ...] | None) -> Text:
    head = Text(name, style="bold")
    if key is not None:
        head.append("[")
        head.append(format_key(key), style="yellow")
        head.append("]")
    return head


def histogram_panel(name: str, e: MapEntry) -> Panel:
    """A histogram as rows of bucket label, count and a bar scaled to the largest."""
    h = e.value
    assert isinstance(h, Histogram)
    top = max((b.count for b in h.buckets), default=0) or 1
    t = Table.grid(padding=(0, 1))
    t.add_column(style="cyan", no_wrap=True)
    t.add_column(justify="right", no_wrap=True)
    t.add_column(no_wrap=True)
    for label, b in zip(hist_row_labels(h), h.buckets, strict=True):
        t.add_row(label, str(b.count), Bar(top, 0, b.count, width=BAR_WIDTH, color="green"))
    return Panel(t, title=_head(name, e.key), title_align="left", expand=False)


def _scalar_table(snaps: Sequence[MapSnapshot], rates: Rates) -> Table | None:
    rows = [(s, s.entries[0]) for s in snaps if s.is_scalar
            and not isinstance(s.entries[0].value, Histogram)]
    if not rows:
        return None
    t = Table(box=None, show_header=False, pad_edge=False)
    t.add_column(no_wrap=True)
    t.add_column(justify="right", no_wrap=True)
    t.add_column(justify="right", no_wrap=True)
    for s, e in rows:
        rate = (_rate_text(rates.rate(s.name, None, int(e.value)))  # type: ignore[call-overload]
                if is_counter(s) else Text(""))
        t.add_row(Text(s.name, style="bold"), _value_text(e.value), rate)
    return t


def _keyed_table(s: MapSnapshot, rates: Rates, limit: int) -> RenderableType:
    entries = [e for e in s.entries if not isinstance(e.value, Histogram)]
    shown = entries[-limit:]  # bpftrace order ends with the largest
    t = Table(box=None, show_header=False, pad_edge=False, title_justify="left")
    t.add_column(no_wrap=True)
    t.add_column(justify="right", no_wrap=True)
    t.add_column(justify="right", no_wrap=True)
    for e in shown:
        rate = (_rate_text(rates.rate(s.name, e.key, int(e.value)))  # type: ignore[call-overload]
                if is_counter(s) else Text(""))
        t.add_row(_head(s.name, e.key), _value_text(e.value), rate)
    parts: list[RenderableType] = [t]
    if len(entries) > len(shown):
        parts.append(Text(f"… {len(entries) - len(shown)} smaller keys not shown", style="dim"))
    return Group(*parts)


def header(what: str, interval: float, now: str | None = None) -> Text:
    now = now or time.strftime("%H:%M:%S")
    return Text(f"{what} · every {interval:g}s · {now} · Ctrl-C to stop", style="bold")


def watch_view(snaps: Sequence[MapSnapshot], rates: Rates, what: str, interval: float,
               missing: Sequence[str] = (), now: str | None = None) -> Group:
    """The `.watch` layout of these maps."""
    parts: list[RenderableType] = [header(what, interval, now)]
    scalars = _scalar_table(snaps, rates)
    if scalars is not None:
        parts.append(scalars)
    for s in snaps:
        for e in s.entries:
            if isinstance(e.value, Histogram):
                parts.append(histogram_panel(s.name, e))
        if not s.is_scalar and any(not isinstance(e.value, Histogram) for e in s.entries):
            parts.append(_keyed_table(s, rates, KEYED_ROWS))
    empty = [s.name for s in snaps if s.empty] + list(missing)
    if empty:
        parts.append(Text("no entries yet: " + " ".join(empty), style="dim"))
    return Group(*parts)


def _sort_value(v: object) -> int:
    if isinstance(v, AvgValue):
        return v.average
    return int(v) if isinstance(v, int) else 0


def top_view(snaps: Sequence[MapSnapshot], rates: Rates, rows: int, interval: float,
             now: str | None = None) -> Group:
    """The `.top` table: the `rows` largest keys of the keyed maps with number values."""
    found = [(s, e) for s in snaps for e in s.entries
             if e.key is not None and isinstance(e.value, int | AvgValue)
             and not isinstance(e.value, bool)]
    found.sort(key=lambda se: _sort_value(se[1].value), reverse=True)
    t = Table(expand=False, header_style="bold")
    t.add_column("#", justify="right", style="dim")
    t.add_column("map")
    t.add_column("key", style="yellow")
    t.add_column("value", justify="right", style="magenta")
    t.add_column("rate", justify="right")
    for i, (s, e) in enumerate(found[:rows], 1):
        counter = is_counter(s) and isinstance(e.value, int)
        rate = _rate_text(rates.rate(s.name, e.key, int(e.value))  # type: ignore[call-overload]
                          ) if counter else Text("")
        t.add_row(str(i), s.name, format_key(e.key or ()), format_prim(e.value), rate)
    what = f"top {rows}" + (f" of {' '.join(sorted({s.name for s in snaps}))}" if snaps else "")
    parts: list[RenderableType] = [header(what, interval, now), t]
    if not found:
        parts.append(Text("no keyed entries yet", style="dim"))
    return Group(*parts)
