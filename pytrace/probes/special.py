"""Probe kinds without a search step: BEGIN/END, kprobe/kretprobe, fentry/fexit,
watchpoint and iter (the last two are refused with a clear message)."""

from __future__ import annotations

from pytrace.probes.base import ProbeContext, ProbeError, expect_parts, has_wildcard
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType


def parse_begin(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if parts:
        raise ProbeError(f"{spelling.upper()} probes take no arguments")
    return [ProbeTarget("BEGIN", "BEGIN", ProgType.RAW_TRACEPOINT)]


def parse_end(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    if parts:
        raise ProbeError(f"{spelling.upper()} probes take no arguments")
    return [ProbeTarget("END", "END", ProgType.RAW_TRACEPOINT)]


def _func_and_offset(text: str) -> tuple[str, int]:
    if "+" not in text:
        return text, 0
    func, _, off = text.partition("+")
    try:
        return func, int(off, 0)
    except ValueError:
        raise ProbeError(f"invalid offset '{off}' in '{text}'") from None


def _kprobe(kind: str, parts: list[str]) -> list[ProbeTarget]:
    expect_parts(kind, parts, 1, 2, f"{kind}:FUNC[+OFFSET] or {kind}:MODULE:FUNC")
    text = parts[-1]
    func, offset = _func_and_offset(text)
    if kind == "kretprobe" and offset:
        raise ProbeError("kretprobe does not take an offset")
    if not func or has_wildcard(func):
        raise ProbeError(f"{kind} wildcards are not supported: '{text}'",
                         "name one kernel function")
    name = f"{kind}:{':'.join(parts[:-1] + [func])}" + (f"+{offset}" if offset else "")
    attach: dict[str, str | int] = {"func": func, "offset": offset}
    if len(parts) == 2:
        attach["module"] = parts[0]
    return [ProbeTarget(kind, name, ProgType.KPROBE, attach, func=func)]


def parse_kprobe(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _kprobe("kprobe", parts)


def parse_kretprobe(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _kprobe("kretprobe", parts)


def _fentry(kind: str, parts: list[str]) -> list[ProbeTarget]:
    expect_parts(kind, parts, 1, 2, f"{kind}:FUNC or {kind}:MODULE:FUNC")
    func = parts[-1]
    if has_wildcard(func):
        raise ProbeError(f"{kind} wildcards are not supported: '{func}'",
                         "name one kernel function")
    attach: dict[str, str | int] = {"func": func}
    if len(parts) == 2:
        attach["module"] = parts[0]
    return [ProbeTarget(kind, f"{kind}:{':'.join(parts)}", ProgType.TRACING, attach, func=func)]


def parse_fentry(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _fentry("fentry", parts)


def parse_fexit(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _fentry("fexit", parts)


def parse_unsupported(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    raise ProbeError(f"{spelling} probes are not supported by pytrace yet")
