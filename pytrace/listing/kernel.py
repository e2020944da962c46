"""Listings of the kernel probe kinds: tracepoints (and their format fields), raw
tracepoints (`MODULE:EVENT`, vmlinux's and each BTF module's, and their BTF arguments), software and hardware events, interval and
profile units, and iterators.

Each lister takes the parsed pattern and the ListContext, and returns the lines to print.
tracefs is found (and mounted when root) through runtime/tracefs.py; a tracefs that
cannot be read is a RuntimeFailure, never an empty listing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pytrace.listing import btfinfo
from pytrace.listing.patterns import ListContext, Pattern, matching
from pytrace.runtime.errors import PrivilegeError, RuntimeFailure

TIME_UNITS = ("hz", "ms", "s", "us")


def _read_tracefs(name: str) -> str:
    from pytrace.runtime.tracefs import tracefs_root

    path = os.path.join(tracefs_root(), name)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except PermissionError:
        raise PrivilegeError(f"cannot read {path}: permission denied (listing kernel "
                             "probes needs root)") from None
    except OSError as exc:
        raise RuntimeFailure(f"cannot read {path}: {exc.strerror}") from None


def tracepoint_names() -> list[str]:
    """Every 'category:event' of tracefs's available_events."""
    text = _read_tracefs("available_events")
    return [ln.strip() for ln in text.splitlines() if ":" in ln]


def format_fields(category: str, event: str) -> list[str]:
    """A tracepoint's fields as its format file declares them (common_* excluded)."""
    try:
        text = _read_tracefs(os.path.join("events", category, event, "format"))
    except RuntimeFailure:
        return []
    fields, seen_blank = [], False
    for line in text.splitlines():
        if not line.strip():
            seen_blank = True
        elif seen_blank and line.startswith("\tfield:"):
            fields.append(line[len("\tfield:"):].split(";", 1)[0])
    return fields


def list_tracepoints(p: Pattern, ctx: ListContext) -> list[str]:
    glob = p.suffix if len(p.parts) > 1 else "*:" + p.suffix
    out = []
    for name in matching(glob, tracepoint_names()):
        out.append(f"tracepoint:{name}")
        if ctx.verbose:
            out.extend(f"    {f}" for f in format_fields(*name.split(":", 1)))
    return out


def raw_tracepoint_events() -> list[str]:
    """Raw tracepoints: every tracepoint event except the syscalls category (ftrace's
    syscall events are not kernel tracepoints)."""
    return sorted({n.split(":", 1)[1] for n in tracepoint_names()
                   if not n.startswith("syscalls:")})


def _module_events() -> list[tuple[str, str]]:
    """(module, event) of every raw tracepoint: vmlinux's and each BTF module's."""
    from pytrace.probes.tracepoint import btf_modules, module_events

    events = raw_tracepoint_events()
    return [(mod, e) for mod in btf_modules() for e in module_events(mod, events)]


def list_rawtracepoints(p: Pattern, ctx: ListContext) -> list[str]:
    pairs = _module_events()
    found = set(matching(p.suffix, (f"{m}:{e}" for m, e in pairs)))
    if ":" not in p.suffix:  # `rawtracepoint:sched_switch` names the event alone
        found |= {f"{m}:{e}" for m, e in pairs if matching(p.suffix, [e])}
    out = []
    for name in sorted(found):
        out.append(f"rawtracepoint:{name}")
        if ctx.verbose:
            out.extend(f"    {a}" for a in btfinfo.rawtracepoint_params(name.split(":", 1)[1]))
    return out


def _unit_names(names: list[str], glob: str) -> list[str]:
    """Names spelled 'NAME:' matched by a glob that may omit the trailing ':'."""
    found = set(matching(glob, names))
    if not glob.endswith(":"):
        found |= set(matching(glob + ":", names))
    return sorted(found)


def _perf_event_names(kind: str) -> list[str]:
    from pytrace.probes.timed import HARDWARE_EVENTS, SOFTWARE_EVENTS

    table = SOFTWARE_EVENTS if kind == "software" else HARDWARE_EVENTS
    return [f"{n}:" for name, aliases, _, _ in table for n in (name, *aliases)]


def list_software(p: Pattern, ctx: ListContext) -> list[str]:
    return [f"software:{n}" for n in _unit_names(_perf_event_names("software"), p.suffix)]


def list_hardware(p: Pattern, ctx: ListContext) -> list[str]:
    return [f"hardware:{n}" for n in _unit_names(_perf_event_names("hardware"), p.suffix)]


def list_interval(p: Pattern, ctx: ListContext) -> list[str]:
    return [f"interval:{n}" for n in _unit_names([f"{u}:" for u in TIME_UNITS], p.suffix)]


def list_profile(p: Pattern, ctx: ListContext) -> list[str]:
    return [f"profile:{n}" for n in _unit_names([f"{u}:" for u in TIME_UNITS], p.suffix)]


def supported_iterators() -> list[str]:
    """The iterators this kernel defines and lets us load a program for."""
    from pytrace.runtime.bpffeatures import iter_loadable

    out = []
    for name in btfinfo.iterators():
        btf_id = btfinfo.iter_func_id(name)
        if btf_id is None or iter_loadable(btf_id):
            out.append(name)
    return out


def list_iter(p: Pattern, ctx: ListContext) -> list[str]:
    out = []
    for name in matching(p.suffix, supported_iterators()):
        out.append(f"iter:{name}")
        if ctx.verbose:
            out.extend(f"    {a}" for a in btfinfo.iter_params(name))
    return out


Lister = Callable[[Pattern, ListContext], list[str]]
KERNEL_LISTERS: dict[str, Lister] = {
    "tracepoint": list_tracepoints, "rawtracepoint": list_rawtracepoints,
    "software": list_software, "hardware": list_hardware, "interval": list_interval,
    "profile": list_profile, "iter": list_iter,
}
