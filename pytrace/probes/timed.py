"""Perf-event probe kinds: interval, profile, software and hardware."""

from __future__ import annotations

import re

from pytrace.probes.base import MAX_PERIOD, ProbeContext, ProbeError, parse_count, suggest
from pytrace.probes.target import ProbeTarget
from pytrace.resources import ProgType

UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
UNITS = ("s", "ms", "us", "hz")
LONG_UNITS = {"m": 60, "h": 3600, "d": 86400}  # `interval:1m`: in seconds

# (name, aliases, config, default period)
SOFTWARE_EVENTS: tuple[tuple[str, tuple[str, ...], int, int], ...] = (
    ("cpu-clock", ("cpu",), 0, 1000000),
    ("task-clock", (), 1, 1000000),
    ("page-faults", ("faults",), 2, 100),
    ("context-switches", ("cs",), 3, 1000),
    ("cpu-migrations", (), 4, 1),
    ("minor-faults", (), 5, 100),
    ("major-faults", (), 6, 1),
    ("alignment-faults", (), 7, 1),
    ("emulation-faults", (), 8, 1),
    ("dummy", (), 9, 1),
    ("bpf-output", (), 10, 1),
)
HARDWARE_EVENTS: tuple[tuple[str, tuple[str, ...], int, int], ...] = (
    ("cpu-cycles", ("cycles",), 0, 1000000),
    ("instructions", (), 1, 1000000),
    ("cache-references", (), 2, 1000000),
    ("cache-misses", (), 3, 1000000),
    ("branch-instructions", ("branches",), 4, 100000),
    ("branch-misses", (), 5, 100000),
    ("bus-cycles", (), 6, 100000),
    ("frontend-stalls", (), 7, 1000000),
    ("backend-stalls", (), 8, 1000000),
    ("ref-cycles", (), 9, 1000000),
)


def _unit_and_value(kind: str, parts: list[str]) -> tuple[str, int]:
    """`kind:UNIT:N` or the short `kind:Nunit` form -> (unit, N)."""
    if len(parts) == 1:
        m = re.fullmatch(r"([0-9_]+)(s|ms|us|ns|hz|m|h|d)?", parts[0])
        if not m:
            raise ProbeError(f"invalid {kind} attach point '{kind}:{parts[0]}'",
                             f"expected {kind}:UNIT:N with UNIT one of s, ms, us, hz")
        count = parse_count(m.group(1), f"{kind} rate")
        short = m.group(2) or "ns"  # a bare number is nanoseconds
        if short in LONG_UNITS:
            return "s", count * LONG_UNITS[short]
        return short, count
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ProbeError(f"invalid {kind} attach point",
                         f"expected {kind}:UNIT:N with UNIT one of s, ms, us, hz")
    unit, value = parts
    if unit not in UNIT_NS and unit != "hz":
        if value in UNITS or value == "ns":
            raise ProbeError(f"{unit} is not an accepted unit of time",
                             f"the unit comes first: did you mean {kind}:{value}:{unit}?")
        raise ProbeError(f"{unit} is not an accepted unit of time",
                         *(suggest(unit, UNITS) or ("units are s, ms, us, hz",)))
    return unit, parse_count(value, f"{kind} rate")


def _period_ns(unit: str, value: int) -> int:
    if unit == "hz":
        if value > 1_000_000_000:
            raise ProbeError(f"frequency {value} hz is too high")
        return 1_000_000_000 // value
    if value * UNIT_NS[unit] > MAX_PERIOD:
        raise ProbeError(f"a period of {value} {unit} is too long (at most "
                         f"{MAX_PERIOD // UNIT_NS[unit]} {unit})")
    return value * UNIT_NS[unit]


def parse_interval(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    unit, value = _unit_and_value("interval", parts)
    name = f"interval:{unit}:{value}"
    return [ProbeTarget("interval", name, ProgType.PERF_EVENT,
                        {"period_ns": _period_ns(unit, value)})]


def parse_profile(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    unit, value = _unit_and_value("profile", parts)
    attach: dict[str, str | int] = (
        {"freq": value} if unit == "hz" else {"period_ns": _period_ns(unit, value)}
    )
    return [ProbeTarget("profile", f"profile:{unit}:{value}", ProgType.PERF_EVENT, attach)]


def _perf_event(kind: str, type_id: int, table: tuple[tuple[str, tuple[str, ...], int, int], ...],
                parts: list[str]) -> list[ProbeTarget]:
    if not 1 <= len(parts) <= 2 or not parts[0]:
        raise ProbeError(f"invalid {kind} attach point", f"expected {kind}:EVENT[:COUNT]")
    event = parts[0]
    for name, aliases, config, default in table:
        if event == name or event in aliases:
            period = parse_count(parts[1], f"{kind} count") if len(parts) == 2 else default
            attach: dict[str, str | int] = {"type": type_id, "config": config, "period": period}
            return [ProbeTarget(kind, f"{kind}:{event}:{period}", ProgType.PERF_EVENT, attach)]
    names = [n for n, aliases, _, _ in table] + [a for _, al, _, _ in table for a in al]
    raise ProbeError(f"Unknown {kind} event: {event}", *suggest(event, names))


def parse_software(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _perf_event("software", 1, SOFTWARE_EVENTS, parts)


def parse_hardware(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    return _perf_event("hardware", 0, HARDWARE_EVENTS, parts)
