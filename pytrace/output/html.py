"""HTML rendering of histograms, for Jupyter (`Histogram._repr_html_`): the rows bpftrace
prints, with the bars drawn as proportional blocks."""

from __future__ import annotations

from html import escape

from pytrace.output.text import hist_row_labels
from pytrace.values import Histogram

__all__ = ["histogram_html"]

_BAR = ("<div style='background:#4c9a2a;height:0.9em;width:{pct:.1f}%;"
        "min-width:{min}px'></div>")


def histogram_html(h: Histogram) -> str:
    """A table: bucket label, count, and a bar scaled to the largest count."""
    top = max((b.count for b in h.buckets), default=0)
    rows = []
    for label, b in zip(hist_row_labels(h), h.buckets, strict=True):
        pct = 100.0 * b.count / top if top else 0.0
        bar = _BAR.format(pct=pct, min=1 if b.count else 0)
        rows.append(f"<tr><td style='text-align:left;font-family:monospace'>{escape(label)}"
                    f"</td><td style='text-align:right'>{b.count}</td>"
                    f"<td style='width:24em'>{bar}</td></tr>")
    caption = f"<caption>{h.kind}: {h.count} values</caption>"
    return "<table class='pytrace-histogram'>" + caption + "".join(rows) + "</table>"
