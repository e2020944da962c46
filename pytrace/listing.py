"""`pytrace -l [pattern]` / `-lv`: list tracepoints (with fields), software events and
the other probe kinds, like bpftrace."""

from __future__ import annotations

from typing import TextIO

from pytrace.probes.base import match

SOFTWARE_EVENTS = ("alignment-faults", "bpf-output", "context-switches", "cpu-clock", "cpu-migrations",
                   "dummy", "emulation-faults", "major-faults", "minor-faults", "page-faults", "task-clock")
SPECIAL = ("BEGIN", "END")


def _tracepoint_lines(pattern: str, verbose: bool) -> list[str]:
    from pytrace.probes.tracepoint import list_probes, tracepoint_fields

    out = []
    for name in list_probes(pattern):
        out.append(name)
        if verbose:
            _, cat, event = name.split(":", 2)
            for f in tracepoint_fields(cat, event):
                suffix = f"[{f.array_len}]" if f.array_len is not None else ""
                ctype = f.ctype.removeprefix("__data_loc ").replace("[]", "") if f.data_loc else f.ctype
                out.append(f"    {ctype} {f.name}{suffix}")
    return out


def listing(pattern: str = "", verbose: bool = False) -> list[str]:
    """Every listable probe matching a glob pattern (no pattern: everything)."""
    kind, _, rest = pattern.partition(":")
    lines: list[str] = []
    if not pattern or kind in ("tracepoint", "t") or not rest:
        lines += _tracepoint_lines(pattern if rest or not pattern else pattern, verbose)
    if not pattern or kind in ("software", "s"):
        names = [f"software:{e}:" for e in SOFTWARE_EVENTS]
        lines += match(f"software:{rest}" if rest else "software:*", [n.rstrip(":") for n in names]) \
            if pattern else names
    if not pattern:
        lines += list(SPECIAL)
    return lines


def print_listing(pattern: str, verbose: bool, out: TextIO) -> int:
    for line in listing(pattern, verbose):
        out.write(line + "\n")
    return 0
