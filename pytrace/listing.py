"""`pytrace -l [pattern]` / `-lv`: list the probes a glob pattern names, like bpftrace.

Listable: tracepoints (with their format fields under -v), raw tracepoints, software
and hardware events, the functions of a binary (`uprobe:PATH:GLOB`) and its USDT
probes (`usdt:PATH:[PROVIDER:]GLOB`). A pattern without a kind matches tracepoints.
"""

from __future__ import annotations

import sys
from typing import TextIO

from pytrace.probes.base import ProbeError, has_wildcard, match

SPECIAL = ("BEGIN", "END")
KIND_NAMES = {
    "tracepoint": ("tracepoint", "t"), "rawtracepoint": ("rawtracepoint", "rt"),
    "software": ("software", "s"), "hardware": ("hardware", "h"),
    "uprobe": ("uprobe", "u"), "uretprobe": ("uretprobe", "ur"), "usdt": ("usdt", "U"),
    "BEGIN": ("BEGIN",), "END": ("END",),
}
_SPELLING = {s: k for k, spellings in KIND_NAMES.items() for s in spellings}


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
                if suffix:
                    ctype = ctype.rsplit("[", 1)[0]
                out.append(f"    {ctype} {f.name}{suffix}")
    return out


def _glob(text: str) -> str:
    return text if text else "*"


def _rawtracepoint_lines(rest: str) -> list[str]:
    from pytrace.probes.tracepoint import raw_tracepoints

    events = raw_tracepoints()
    return [f"rawtracepoint:{e}" for e in match(_glob(rest.split(":")[-1]), events)]


def _perf_event_lines(kind: str, rest: str) -> list[str]:
    from pytrace.probes.timed import HARDWARE_EVENTS, SOFTWARE_EVENTS

    table = SOFTWARE_EVENTS if kind == "software" else HARDWARE_EVENTS
    names = [name for name, _, _, _ in table]
    pat = _glob(rest.split(":")[0])
    aliases = {a: name for name, al, _, _ in table for a in al}
    found = set(match(pat, names)) | {aliases[a] for a in match(pat, aliases)}
    return [f"{kind}:{n}:" for n in sorted(found)]


def _split_path(rest: str) -> tuple[str, str]:
    """'PATH:GLOB' -> (PATH, GLOB); a bare PATH lists everything in it."""
    if ":" not in rest:
        return rest, "*"
    path, _, glob = rest.partition(":")
    return path, _glob(glob)


def _uprobe_lines(kind: str, rest: str) -> list[str]:
    from pytrace.probes.uprobe import elf_symbols, resolve_path

    path, glob = _split_path(rest)
    if not path:
        raise ProbeError(f"{kind} listing needs a binary", f"e.g. pytrace -l '{kind}:/bin/bash:*read*'")
    full = resolve_path(path)
    return [f"{kind}:{full}:{name}" for name in match(glob, elf_symbols(full))]


def _usdt_lines(rest: str) -> list[str]:
    from pytrace.probes.uprobe import resolve_path, usdt_notes

    path, glob = _split_path(rest)
    if not path:
        raise ProbeError("usdt listing needs a binary", "e.g. pytrace -l 'usdt:/usr/bin/python3:*'")
    full = resolve_path(path)
    prov_glob, name_glob = glob.split(":", 1) if ":" in glob else ("*", glob)
    names = sorted({f"{prov}:{name}" for prov, name, *_ in usdt_notes(full)})
    return [f"usdt:{full}:{n}" for n in match(f"{prov_glob}:{name_glob}", names)]


def _kind_lines(kind: str, rest: str, verbose: bool) -> list[str]:
    if kind == "tracepoint":
        return _tracepoint_lines(f"tracepoint:{_glob(rest)}", verbose)
    if kind == "rawtracepoint":
        return _rawtracepoint_lines(rest)
    if kind in ("software", "hardware"):
        return _perf_event_lines(kind, rest)
    if kind in ("uprobe", "uretprobe"):
        return _uprobe_lines(kind, rest)
    if kind == "usdt":
        return _usdt_lines(rest)
    return [kind]


def listing(pattern: str = "", verbose: bool = False) -> list[str]:
    """Every listable probe matching a glob pattern (no pattern: everything that needs
    no binary). Raises ProbeError for a missing binary or an unlistable kind."""
    if not pattern:
        return (_tracepoint_lines("", verbose) + _perf_event_lines("software", "")
                + _perf_event_lines("hardware", "") + list(SPECIAL))
    head, sep, rest = pattern.partition(":")
    kind = _SPELLING.get(head)
    if kind is not None:
        return _kind_lines(kind, rest, verbose)
    if sep and not has_wildcard(head):
        from pytrace.probes import SPELLINGS

        if head in SPELLINGS:
            raise ProbeError(f"{SPELLINGS[head].name} probes cannot be listed",
                             "listable kinds: " + ", ".join(k for k in KIND_NAMES if k.isalpha()
                                                            and k.islower()))
        raise ProbeError(f"Invalid probe type: {head}")
    return _tracepoint_lines(pattern, verbose)


def print_listing(pattern: str, verbose: bool, out: TextIO) -> int:
    """Print the listing; a bad pattern is one error line (plus hints), exit code 1."""
    try:
        lines = listing(pattern, verbose)
    except ProbeError as e:
        sys.stderr.write(f"ERROR: {e.message}\n" + "".join(f"HINT: {h}\n" for h in e.hints))
        return 1
    for line in lines:
        out.write(line + "\n")
    return 0
