"""Listings of user-space probes: the functions (uprobe/uretprobe) and USDT probes of a
binary, a library (`libc`), a glob of paths, or every file a running process (-p PID)
maps. A process's files are read through /proc/PID/root, so binaries in another mount
namespace list too; the paths printed are the process's own.
"""

from __future__ import annotations

import glob as globlib
import os

from pytrace.listing.dwarf import function_params
from pytrace.listing.patterns import ListContext, Pattern, matching
from pytrace.probes.base import ProbeError, has_wildcard

ELF_MAGIC = b"\x7fELF"


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ELF_MAGIC
    except OSError:
        return False


def mapped_files(pid: int) -> dict[str, str]:
    """The ELF files process `pid` maps: its path -> a path we can open."""
    out: dict[str, str] = {}
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise ProbeError(f"cannot read the mappings of pid {pid}: {exc.strerror}") from None
    for line in lines:
        fields = line.split(None, 5)
        if len(fields) < 6 or not fields[5].startswith("/") or fields[5].endswith(" (deleted)"):
            continue
        path = fields[5]
        readable = f"/proc/{pid}/root{path}"
        if path not in out and _is_elf(readable):
            out[path] = readable
    return out


def _split(p: Pattern, kind: str) -> tuple[str, str]:
    """(target, function glob); `uprobe:/bin/bash` alone lists everything in it."""
    if len(p.parts) == 1 and ("/" in p.parts[0] or os.path.isfile(p.parts[0])):
        return p.parts[0], "*"
    return p.target, p.func


def binaries(kind: str, target: str, pid: int | None) -> dict[str, str]:
    """The files a target names: shown path -> readable path."""
    from pytrace.probes.uprobe import resolve_path

    mapped = mapped_files(pid) if pid is not None else {}
    if target == "*":
        if pid is None:
            raise ProbeError(f"{kind} listing needs a binary or -p PID",
                             f"e.g. pytrace -l '{kind}:/bin/bash:*' or "
                             f"pytrace -l '{kind}:*:*' -p PID")
        return mapped
    if has_wildcard(target):
        found = {p: p for p in sorted(globlib.glob(target)) if os.path.isfile(p) and _is_elf(p)}
        found.update({p: r for p, r in mapped.items() if p in matching(target, [p])})
        return found
    path = resolve_path(target, pid)
    return {path: mapped.get(path, path)}


def _uprobe_params(ctx: ListContext, path: str, readable: str, func: str) -> list[str]:
    params = function_params(readable, func)
    if params is None:
        ctx.warn(f'No DWARF found for "{path}", cannot show parameter info')
        return []
    return params


def list_uprobes(kind: str, p: Pattern, ctx: ListContext) -> list[str]:
    from pytrace.probes.uprobe import elf_symbols

    target, func_glob = _split(p, kind)
    out = []
    for path, readable in sorted(binaries(kind, target, ctx.pid).items()):
        for sym in matching(func_glob, elf_symbols(readable)):
            out.append(f"{kind}:{path}:{sym}")
            if ctx.verbose and kind == "uprobe":
                out.extend(f"    {a}" for a in _uprobe_params(ctx, path, readable, sym))
    return out


def _usdt_names(readable: str) -> list[str]:
    from pytrace.probes.uprobe import usdt_notes

    return sorted({f"{prov}:{name}" for prov, name, *_ in usdt_notes(readable)})


def list_usdt(p: Pattern, ctx: ListContext) -> list[str]:
    target, func_glob = _split(p, "usdt")
    out: list[str] = []
    for path, readable in sorted(binaries("usdt", target, ctx.pid).items()):
        names = _usdt_names(readable)
        found = set(matching(func_glob, names))
        if ":" not in func_glob:  # the provider may be left out
            found |= set(matching("*:" + func_glob, names))
        out.extend(f"usdt:{path}:{n}" for n in sorted(found))
    return out
