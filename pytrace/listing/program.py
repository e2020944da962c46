"""`pytrace -l -e 'program'` / `pytrace -l FILE.bt`: the probes a program's attach points
expand to, one line each (with `-v`, their arguments), BEGIN/END left out.

Each attach point is listed as its kind lists it: software/hardware events and
interval/profile probes without their count (`software:faults:`, `interval:s:`),
iterators without the pin, addresses, offsets and source locations as written.
"""

from __future__ import annotations

import re

from pytrace.listing import lister
from pytrace.listing.patterns import CANONICAL, ListContext, Pattern
from pytrace.probes.base import ProbeError, split_attach_point

SPECIAL = ("BEGIN", "END", "self")
_UNIT = re.compile(r"[0-9_]+(s|ms|us|ns|hz)")


def _time_unit(parts: list[str]) -> str:
    if len(parts) >= 2:
        return parts[0]
    m = _UNIT.fullmatch(parts[0]) if parts else None
    return m.group(1) if m else "ns"


def _literal(kind: str, parts: list[str]) -> bool:
    """An attach point naming an address or offset rather than a symbol."""
    if kind in ("watchpoint", "asyncwatchpoint"):
        return True
    from pytrace.probes.uprobe import source_location

    if kind in ("uprobe", "uretprobe") and (source_location(parts) is not None or (
            len(parts) == 3 and parts[1] == "cpp")):
        return True  # BIN@FILE:LINE[:COL] and BIN:cpp:NAME, as written
    return kind in ("uprobe", "uretprobe") and len(parts) == 2 and (
        parts[1][:1].isdigit() or "+" in parts[1])


def attach_point_lines(raw: str, ctx: ListContext) -> list[str]:
    """The listing lines of one attach point as written in a program."""
    text = raw.strip()
    head, *parts = split_attach_point(text)
    kind = CANONICAL.get(head)
    if kind is None:
        raise ProbeError(f"Invalid probe type: {head}")
    if kind in SPECIAL:
        return []
    if _literal(kind, parts):
        return [f"{kind}:{':'.join(parts)}"]
    if kind in ("software", "hardware"):
        parts = [f"{parts[0] if parts else ''}:"]
    elif kind in ("interval", "profile"):
        parts = [f"{_time_unit(parts)}:"]
    elif kind == "iter":
        parts = parts[:1]
    suffix = ":".join(parts)
    return lister(kind)(Pattern(kind, tuple(suffix.split(":")), suffix or "*"), ctx)


def program_listing(source_name: str, text: str, ctx: ListContext) -> list[str]:
    """Every probe the program would attach. Raises CompileError for a program that does
    not parse, ProbeError / RuntimeFailure for an attach point that cannot be listed."""
    from pytrace.diagnostics import CompileError
    from pytrace.parser import parse
    from pytrace.source import Source

    source = Source(source_name, text)
    program, diags = parse(source)
    if program is None or any(d.is_error for d in diags):
        raise CompileError([d for d in diags if d.is_error], source)
    out: list[str] = []
    for probe in program.probes:
        for ap in probe.attach_points:
            try:
                out.extend(attach_point_lines(ap.raw, ctx))
            except ProbeError as exc:
                from pytrace.diagnostics import Diagnostic, Severity

                raise CompileError([Diagnostic(Severity.ERROR, exc.message, ap.span,
                                               tuple(exc.hints))], source) from None
    return out
