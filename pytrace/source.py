"""Source text and positions: the only thing diagnostics point into."""

from __future__ import annotations

from dataclasses import field

from pytrace.frozen import frozen


@frozen
class Span:
    """A region of source text; lines and columns are 1-based, end_col exclusive.

    source: the file the span is in when it is not the program's own text (an imported
    script); diagnostics are rendered against it. Not part of equality."""

    line: int
    col: int
    end_line: int
    end_col: int
    source: Source | None = field(default=None, compare=False, repr=False)

    def merge(self, other: Span) -> Span:
        """The smallest span covering both spans."""
        start = min((self.line, self.col), (other.line, other.col))
        end = max((self.end_line, self.end_col), (other.end_line, other.end_col))
        return Span(start[0], start[1], end[0], end[1], self.source or other.source)


NO_SPAN = Span(0, 0, 0, 0)


@frozen
class Source:
    """A named program text: `stdin` for -e and -, the path for files."""

    name: str
    text: str

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline ('' when out of range)."""
        lines = self.text.split("\n")
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return ""
