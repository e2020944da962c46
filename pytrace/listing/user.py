"""Listings of user-space probes: the functions (uprobe/uretprobe) and USDT probes of a
binary, a library (`libc`), a glob of paths, or every file a running process (-p PID)
maps (pytrace.probes.userpaths resolves them). A process in another mount namespace has
its files read, and listed, through /proc/PID/root, as bpftrace lists them.
"""

from __future__ import annotations

import os

from pytrace.listing.dwarf import function_params
from pytrace.listing.patterns import ListContext, Pattern, matching
from pytrace.probes.base import ProbeError
from pytrace.probes.userpaths import Binary, resolve


def _split(p: Pattern, kind: str) -> tuple[str, str]:
    """(target, function glob); `uprobe:/bin/bash` alone lists everything in it."""
    if len(p.parts) == 1 and ("/" in p.parts[0] or os.path.isfile(p.parts[0])):
        return p.parts[0], "*"
    return p.target, p.func


def binaries(kind: str, target: str, pid: int | None) -> list[Binary]:
    """The files a target names (probes.userpaths' rules; `*` needs -p here)."""
    if target == "*" and pid is None:
        raise ProbeError(f"{kind} listing needs a binary or -p PID",
                         f"e.g. pytrace -l '{kind}:/bin/bash:*' or "
                         f"pytrace -l '{kind}:*:*' -p PID")
    return resolve("usdt" if kind == "usdt" else "uprobe", target, pid)


def _uprobe_params(ctx: ListContext, path: str, readable: str, func: str,
                   addr: int) -> list[str]:
    params = function_params(readable, func, addr)
    if params is None:
        ctx.warn(f'No DWARF found for "{path}", cannot show parameter info')
        return []
    return params


def list_uprobes(kind: str, p: Pattern, ctx: ListContext) -> list[str]:
    from pytrace.probes.elfsyms import image

    target, func_glob = _split(p, kind)
    out = []
    for b in binaries(kind, target, ctx.pid):
        functions = image(b.path, b.base).functions
        for sym in matching(func_glob, functions):
            out.append(f"{kind}:{b.shown}:{sym}")
            if ctx.verbose and kind == "uprobe" and not b.base:
                out.extend(f"    {a}" for a in _uprobe_params(ctx, b.shown, b.path, sym,
                                                                functions[sym].addr))
    return out


def _usdt_names(b: Binary) -> list[str]:
    from pytrace.probes.usdtnotes import notes

    return sorted({f"{n.provider}:{n.name}" for n in notes(b.path, b.base)})


def list_usdt(p: Pattern, ctx: ListContext) -> list[str]:
    target, func_glob = _split(p, "usdt")
    out: list[str] = []
    for b in binaries("usdt", target, ctx.pid):
        path = b.shown
        names = _usdt_names(b)
        found = set(matching(func_glob, names))
        if ":" not in func_glob:  # the provider may be left out
            found |= set(matching("*:" + func_glob, names))
        out.extend(f"usdt:{path}:{n}" for n in sorted(found))
    return out
