"""Tracepoints and raw tracepoints from tracefs: listing, wildcard expansion and
format files parsed into TpField."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from pytrace.probes.base import (
    ProbeContext,
    ProbeError,
    expect_parts,
    has_wildcard,
    match,
    suggest,
)
from pytrace.probes.target import ProbeTarget, TpField
from pytrace.resources import ProgType

DEFAULT_TRACEFS = "/sys/kernel/tracing"
_FIELD_RE = re.compile(
    r"^\s*field:(?P<decl>[^;]*);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);"
    r"\s*signed:(?P<signed>\d+);"
)
_NAME_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(?P<len>[^\]]*)\])?\s*$")


NOT_ROOT = ("pytrace currently only supports running as the root user "
            "(or with CAP_BPF and CAP_PERFMON)")


@lru_cache(maxsize=8)
def all_tracepoints(tracefs: str = DEFAULT_TRACEFS) -> tuple[str, ...]:
    """Every 'category:event' under <tracefs>/events, sorted."""
    root = os.path.join(tracefs, "events")
    if tracefs == DEFAULT_TRACEFS and not os.path.isdir(root) and os.geteuid() == 0:
        from pytrace.runtime.errors import RuntimeFailure
        from pytrace.runtime.tracefs import tracefs_root

        try:  # root: mount tracefs where it belongs, as the runtime would
            root = os.path.join(tracefs_root(), "events")
        except RuntimeFailure as e:
            raise ProbeError(str(e)) from None
    try:
        cats = os.listdir(root)
    except PermissionError:
        raise ProbeError(f"cannot read tracepoints from {root}: {NOT_ROOT}") from None
    except OSError as e:
        raise ProbeError(f"cannot read tracepoints from {root}: {e.strerror}",
                         "is tracefs mounted? (mount -t tracefs none /sys/kernel/tracing)") from None
    out: list[str] = []
    for cat in cats:
        cdir = os.path.join(root, cat)
        if not os.path.isdir(cdir):
            continue
        try:
            events = os.listdir(cdir)
        except OSError:
            continue
        out.extend(f"{cat}:{ev}" for ev in events if os.path.isdir(os.path.join(cdir, ev)))
    return tuple(sorted(out))


def parse_field(line: str) -> TpField | None:
    """One `field:TYPE NAME;\toffset:..;\tsize:..;\tsigned:..;` line (None if not one)."""
    m = _FIELD_RE.match(line)
    if not m:
        return None
    decl = m.group("decl").strip()
    nm = _NAME_RE.search(decl)
    if not nm:
        return None
    name = nm.group("name")
    ctype = decl[: nm.start()].strip()
    data_loc = ctype.startswith("__data_loc")
    array_len: int | None = None
    if nm.group("len") is not None and not data_loc:
        try:
            array_len = int(nm.group("len"), 0)
        except ValueError:
            array_len = None
        ctype = f"{ctype}[{nm.group('len')}]"
    if data_loc:
        ctype = decl[: nm.start()].strip()
    return TpField(name, ctype, int(m.group("off")), int(m.group("size")),
                   m.group("signed") == "1", array_len, data_loc)


def parse_format(text: str) -> tuple[TpField, ...]:
    """The fields of a format file, common_* fields excluded."""
    fields = (parse_field(line) for line in text.splitlines())
    return tuple(f for f in fields if f is not None and not f.name.startswith("common_"))


@lru_cache(maxsize=4096)
def _read_fields(tracefs: str, category: str, event: str) -> tuple[TpField, ...]:
    path = os.path.join(tracefs, "events", category, event, "format")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_format(f.read())
    except OSError:
        raise ProbeError(f"tracepoint not found: {category}:{event}") from None


def tracepoint_fields(category: str, event: str,
                      tracefs: str = DEFAULT_TRACEFS) -> list[TpField]:
    """The format fields of one tracepoint (for `-lv`); ProbeError when it is unknown."""
    return list(_read_fields(tracefs, category, event))


def list_probes(pattern: str = "*", tracefs: str = DEFAULT_TRACEFS) -> list[str]:
    """Tracepoint names `tracepoint:cat:event` matching a pattern (for `-l`).

    The pattern may be given with or without the `tracepoint:`/`t:` prefix.
    """
    pat = pattern or "*"
    for prefix in ("tracepoint:", "t:"):
        if pat.startswith(prefix):
            pat = pat[len(prefix):]
    if ":" not in pat:
        pat = pat if has_wildcard(pat) else f"*{pat}*"
        pat = f"*:{pat}" if pat != "*" else "*:*"
    try:
        names = all_tracepoints(tracefs)
    except ProbeError:
        return []
    return [f"tracepoint:{n}" for n in match(pat, names)]


def expand_tracepoint(category: str, event: str, ctx: ProbeContext) -> list[str]:
    """'cat:event' names matching the (possibly wildcarded) category and event."""
    wanted = f"{category}:{event}"
    names = all_tracepoints(ctx.tracefs)
    found = match(wanted, names) if has_wildcard(wanted) else (
        [wanted] if wanted in names else [])
    if not found:
        cats = sorted({n.split(":", 1)[0] for n in names})
        hints = list(suggest(wanted, names))
        if not has_wildcard(category) and category not in cats:
            hints = [f"no tracepoint category '{category}'", *suggest(category, cats)]
        hints.append(f"list tracepoints with: pytrace -l 'tracepoint:{category}:*'"
                     if category in cats else "list categories with: pytrace -l 'tracepoint:*'")
        raise ProbeError(f"tracepoint not found: {wanted}", *hints)
    return found


def parse_tracepoint(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    expect_parts("tracepoint", parts, 2, 2, "tracepoint:CATEGORY:EVENT")
    out = []
    for full in expand_tracepoint(parts[0], parts[1], ctx):
        cat, ev = full.split(":", 1)
        fields = _read_fields(ctx.tracefs, cat, ev)
        out.append(ProbeTarget("tracepoint", f"tracepoint:{full}", ProgType.TRACEPOINT,
                               {"category": cat, "event": ev}, fields,
                               user_pointers=cat == "syscalls"))
    return out


def raw_tracepoints(tracefs: str = DEFAULT_TRACEFS) -> list[str]:
    """Event names a raw tracepoint can attach to: every tracepoint except the
    `syscalls` category (ftrace syscall events, not kernel tracepoints)."""
    return sorted({n.split(":", 1)[1] for n in all_tracepoints(tracefs)
                   if not n.startswith("syscalls:")})


BTF_DIR = "/sys/kernel/btf"


def btf_modules(btf_dir: str | None = None) -> list[str]:
    """`vmlinux` and every loaded module with BTF (what `rawtracepoint:MODULE:` names)."""
    btf_dir = BTF_DIR if btf_dir is None else btf_dir
    try:
        mods = sorted(n for n in os.listdir(btf_dir) if n != "vmlinux")
    except OSError:
        mods = []
    return ["vmlinux", *mods]


def module_events(module: str, events: list[str], btf_dir: str | None = None) -> list[str]:
    """The raw tracepoints `module` defines (its BTF has `btf_trace_EVENT`); every event
    for vmlinux when its BTF cannot be read."""
    from pytrace.listing.btfinfo import btf_strings

    btf_dir = BTF_DIR if btf_dir is None else btf_dir
    strings = btf_strings(os.path.join(btf_dir, module))
    if not strings:
        return events if module == "vmlinux" else []
    return [e for e in events if b"\0btf_trace_" + e.encode() + b"\0" in strings]


def _raw_targets(module: str | None, found: list[str]) -> list[ProbeTarget]:
    where = f"{module}:" if module else ""
    return [ProbeTarget("rawtracepoint", f"rawtracepoint:{where}{ev}", ProgType.RAW_TRACEPOINT,
                        {"event": ev, **({"module": module} if module else {})})
            for ev in found]


def _in_modules(mod_glob: str, event: str, events: list[str]) -> list[ProbeTarget]:
    """`rawtracepoint:MODULE:EVENT`: the module (a glob) must be loaded and define it."""
    modules = match(mod_glob, btf_modules())
    if not modules:
        raise ProbeError(f"rawtracepoint module not found: {mod_glob}",
                         "modules with BTF are listed in /sys/kernel/btf "
                         "(vmlinux is the kernel itself)", *suggest(mod_glob, btf_modules()))
    out = []
    for mod in modules:
        own = module_events(mod, events)
        found = match(event, own) if has_wildcard(event) else ([event] if event in own else [])
        out.extend(_raw_targets(mod, found))
    if not out:
        raise ProbeError(f"raw tracepoint not found: {mod_glob}:{event}", *suggest(event, events))
    return out


def parse_rawtracepoint(spelling: str, parts: list[str], ctx: ProbeContext) -> list[ProbeTarget]:
    """`rawtracepoint:EVENT` or `rawtracepoint:MODULE:EVENT` (named as written)."""
    expect_parts("rawtracepoint", parts, 1, 2, "rawtracepoint[:MODULE]:EVENT")
    event = parts[-1]
    events = raw_tracepoints(ctx.tracefs)
    if len(parts) == 2:
        return _in_modules(parts[0] or "*", event, events)
    found = match(event, events) if has_wildcard(event) else (
        [event] if event in events else [])
    if not found:
        raise ProbeError(f"raw tracepoint not found: {event}", *suggest(event, events))
    return _raw_targets(None, found)
