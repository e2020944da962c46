"""Terminal-only output: the text output's content and order, with colour via rich.

Histogram bars are coloured and map keys highlighted; everything else is the plain
bpftrace text. rich honours NO_COLOR (and we drop styling when it is set).
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
    format_prim,
    hist_row_labels,
)
from pytrace.values import Histogram, MapSnapshot, apply_top_div

__all__ = ["RichOutput"]


class RichOutput(TextOutput):
    """Same lines as TextOutput; maps are rendered through a rich Console."""

    def __init__(self, stream: TextIO, err: TextIO, quiet: bool = False) -> None:
        super().__init__(stream, err, quiet)
        no_color = bool(os.environ.get("NO_COLOR"))
        self.console = Console(
            file=stream, no_color=no_color, highlight=False, soft_wrap=True, emoji=False
        )

    def _histogram(self, h: Histogram) -> None:
        top = max((b.count for b in h.buckets), default=0)
        for label, b in zip(hist_row_labels(h), h.buckets, strict=True):
            n = bar_width(b.count, top)
            line = Text(f"{label:<{LABEL_WIDTH}}", style="cyan")
            line.append(f"{b.count:>{COUNT_WIDTH}} |")
            line.append("@" * n, style="green")
            line.append(" " * (BAR_WIDTH - n) + "|")
            self.console.print(line)

    def map(self, snap: MapSnapshot, top: int = 0, div: int = 1) -> None:
        snap = apply_top_div(snap, top, div)
        for e in snap.entries:
            head = Text(snap.name, style="bold")
            if e.key is not None:
                head.append("[")
                head.append(format_key(e.key), style="yellow")
                head.append("]")
            if isinstance(e.value, Histogram):
                head.append(":")
                self.console.print(head)
                self._histogram(e.value)
                self.console.print()
            else:
                head.append(": ")
                head.append(format_prim(e.value))
                self.console.print(head)

    def maps_at_exit(self, snaps: list[MapSnapshot]) -> None:
        self.stream.write("\n\n")
        for s in sorted((s for s in snaps if s.entries), key=lambda s: s.name):
            self.map(s)
