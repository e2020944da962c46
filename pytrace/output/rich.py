"""Terminal-only output: the text output's content and order, with colour via rich.

Histogram bars are coloured, map keys highlighted, and the rows of a scalar map form an
aligned table (keys padded, integers right-aligned and printed in full); the order and
content are the text format's. rich honours NO_COLOR (and we drop styling when it is set).
"""

from __future__ import annotations

import os
from typing import TextIO

from rich.console import Console
from rich.text import Text

from pytrace.output import TextOutput
from pytrace.output.text import (
    BAR_WIDTH,
    COUNT_WIDTH,
    LABEL_WIDTH,
    bar_width,
    format_key,
    format_map,
    format_prim,
    hist_row_labels,
)
from pytrace.values import Histogram, MapEntry, MapSnapshot, apply_top_div

__all__ = ["RichOutput"]


def histogram_renderable(h: Histogram) -> Text:
    """A histogram's rows as bpftrace prints them, labels and bars coloured."""
    top = max((b.count for b in h.buckets), default=0)
    out = Text()
    for label, b in zip(hist_row_labels(h), h.buckets, strict=True):
        n = bar_width(b.count, top)
        out.append(f"{label:<{LABEL_WIDTH}}", style="cyan")
        out.append(f"{b.count:>{COUNT_WIDTH}} |")
        out.append("@" * n, style="green")
        out.append(" " * (BAR_WIDTH - n) + "|\n")
    out.rstrip()
    return out


class RichOutput(TextOutput):
    """Same lines as TextOutput; maps are rendered through a rich Console."""

    def __init__(self, stream: TextIO, err: TextIO, quiet: bool = False,
                 force_terminal: bool | None = None) -> None:
        super().__init__(stream, err, quiet)
        no_color = bool(os.environ.get("NO_COLOR"))
        self.console = Console(
            file=stream, no_color=no_color, highlight=False, soft_wrap=True, emoji=False,
            color_system=None if no_color else "auto", force_terminal=force_terminal,
        )

    def _histogram(self, h: Histogram) -> None:
        self.console.print(histogram_renderable(h))

    def _head(self, name: str, key: tuple[object, ...] | None) -> Text:
        head = Text()
        head.append(name, style="bold")
        if key is not None:
            head.append("[")
            head.append(format_key(key), style="yellow")
            head.append("]")
        return head

    def _scalars(self, name: str, entries: list[MapEntry]) -> None:
        """Keyed scalar rows as an aligned table: keys padded, integers right-aligned."""
        heads = [self._head(name, e.key) for e in entries]
        values = [format_prim(e.value) for e in entries]
        numeric = all(isinstance(e.value, int) for e in entries)
        hw = max(len(h.plain) for h in heads) + 1
        vw = max(len(v) for v in values)
        for head, text in zip(heads, values, strict=True):
            head.append(":")
            head.append(" " * (hw + 1 - len(head.plain)))
            head.append(text.rjust(vw) if numeric else text, style="magenta" if numeric else "")
            self.console.print(head)

    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None:
        """The map in one write (so a map is never interleaved with other output)."""
        with self.console.capture() as cap:
            self._map(apply_top_div(snap, top, div))
        self.stream.write(cap.get())

    def _map(self, snap: MapSnapshot) -> None:
        if "\n" in "".join(format_prim(e.value) for e in snap.entries if not isinstance(e.value, Histogram)):
            self.console.out(format_map(snap), end="", highlight=False)  # stacks: plain text
            return
        pending: list[MapEntry] = []
        for e in snap.entries:
            if not isinstance(e.value, Histogram):
                pending.append(e)
                continue
            head = self._head(snap.name, e.key)
            head.append(":")
            self.console.print(head)
            self._histogram(e.value)
            self.console.print()
        if pending:
            self._scalars(snap.name, pending)

    def maps_at_exit(self, snaps: list[MapSnapshot]) -> None:
        self.stream.write("\n\n")
        for s in sorted((s for s in snaps if s.entries), key=lambda s: s.name):
            self.map(s)
