"""Diagnostics as data: collected by passes, rendered in bpftrace's format."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from pytrace.frozen import frozen
from pytrace.source import Source, Span


class Severity(Enum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@frozen
class Diagnostic:
    """One located (or unlocated, span=None) message with optional hints."""

    severity: Severity
    message: str
    span: Span | None = None
    hints: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def line(self) -> int | None:
        """The 1-based line the message points at (None when unlocated)."""
        return self.span.line if self.span is not None else None

    @property
    def col(self) -> int | None:
        """The 1-based column the message points at (None when unlocated)."""
        return self.span.col if self.span is not None else None


@dataclass(slots=True)
class Diagnostics:
    """A collector that passes append to; the driver stops after a pass with errors."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: Span | None = None, *hints: str) -> None:
        self.items.append(Diagnostic(Severity.ERROR, message, span, tuple(hints)))

    def warning(self, message: str, span: Span | None = None, *hints: str) -> None:
        self.items.append(Diagnostic(Severity.WARNING, message, span, tuple(hints)))

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class CompileError(Exception):
    """A program that does not compile: `.diagnostics` lists every error (and the
    warnings found with them); str() is their rendering in bpftrace's format."""

    def __init__(self, diagnostics: list[Diagnostic], source: Source | None = None) -> None:
        super().__init__("\n".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
        self.source = source

    def __str__(self) -> str:
        return render_all(self.diagnostics, self.source)


def render(diag: Diagnostic, source: Source | None) -> str:
    """Render like bpftrace: `FILE:L:C-E: ERROR: msg`, the line, `~~~` under the span, hints."""
    sev = diag.severity.value
    if diag.span is not None and diag.span.source is not None:
        source = diag.span.source
    if diag.span is None or source is None or diag.span.line <= 0:
        out = f"{sev}: {clip_message(diag.message)}\n"
    else:
        sp = diag.span
        line = source.line_text(sp.line)
        end_col = sp.end_col if sp.end_line == sp.line else len(line) + 1
        end_col = max(end_col, sp.col + 1)
        out = f"{source.name}:{sp.line}:{sp.col}-{end_col}: {sev}: {clip_message(diag.message)}\n"
        shown, start, width = clip_line(line, sp.col - 1, end_col - sp.col)
        out += _printable(shown) + "\n"
        out += " " * start + "~" * width + "\n"
    for hint in diag.hints:
        out += f"HINT: {clip_message(hint)}\n"
    return out


MAX_LINE = 200  # longer source lines are shown clipped around the span
MAX_MESSAGE = 400
ELLIPSIS = "..."


def clip_line(line: str, start: int, width: int, limit: int = MAX_LINE) -> tuple[str, int, int]:
    """(text to show, column of the span in it, span width shown); unchanged when the
    line fits in `limit` columns, else a window around the span's start marked `...`."""
    if len(line) <= limit:
        return line, start, width
    room = limit - 2 * len(ELLIPSIS)
    shown_width = min(width, room)
    left = max(0, min(start - (room - shown_width) // 2, len(line) - room))
    right = min(len(line), left + room)
    head = ELLIPSIS if left > 0 else ""
    tail = ELLIPSIS if right < len(line) else ""
    return head + line[left:right] + tail, len(head) + start - left, min(shown_width, right - start)


def clip_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message quoting a huge piece of source keeps its start and end."""
    if len(text) <= limit:
        return text
    half = (limit - len(ELLIPSIS)) // 2
    return text[:half] + ELLIPSIS + text[-half:]


def _printable(line: str) -> str:
    """Bytes that were not UTF-8 (kept as surrogates) shown as U+FFFD, one column each."""
    return "".join("\ufffd" if "\udc80" <= c <= "\udcff" else c for c in line) if _has_surrogates(line) else line


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def render_all(diags: Iterable[Diagnostic], source: Source | None) -> str:
    return "".join(render(d, source) for d in diags)
