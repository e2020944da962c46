"""Listings of user-space probes: the functions (uprobe/uretprobe) and USDT probes of a
binary, a library (`libc`), a glob of paths, every file a running process (-p PID)
maps (pytrace.probes.userpaths resolves them), or `*` without -p: every executable in
$PATH, as bpftrace searches them. A process in another mount namespace has
its files read, and listed, through /proc/PID/root, as bpftrace lists them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pytrace.listing.dwarf import function_params
from pytrace.listing.patterns import ListContext, Pattern, matching
from pytrace.probes.base import ProbeError, has_wildcard
from pytrace.probes.userpaths import Binary, path_executables, resolve


def _split(p: Pattern, kind: str) -> tuple[str, str]:
    """(target, function glob); `uprobe:/bin/bash` alone lists everything in it, and
    `usdt:` with nothing after it is refused, as bpftrace refuses it."""
    if p.parts == ("",):
        raise ProbeError(f"{kind} probe type requires "
                         + ("2 or 3 arguments" if kind == "usdt" else "2 arguments"))
    if len(p.parts) == 1 and ("/" in p.parts[0] or os.path.isfile(p.parts[0])):
        return p.parts[0], "*"
    return p.target, p.func


def binaries(kind: str, target: str, pid: int | None) -> list[Binary]:
    """The files a target names (probes.userpaths' rules); `*` without -p: every
    executable in $PATH, as bpftrace lists them."""
    if target == "*" and pid is None:
        found = [Binary(p, p) for p in path_executables()]
    else:
        found = resolve("usdt" if kind == "usdt" else "uprobe", target, pid)
    return sorted(found, key=lambda b: b.shown + ":")  # bpftrace's lines are sorted


def _readable(b: Binary, many: bool, read: Callable[[Binary], list[str]]) -> list[str]:
    """What `read` finds in one binary; among many, one that cannot be read is skipped."""
    try:
        return read(b)
    except ProbeError:
        if many:
            return []
        raise


def _uprobe_params(ctx: ListContext, path: str, readable: str, func: str,
                   addr: int) -> list[str]:
    params = function_params(readable, func, addr)
    if params is None:
        ctx.warn(f'No DWARF found for "{path}", cannot show parameter info')
        return []
    return params


def list_uprobes(kind: str, p: Pattern, ctx: ListContext) -> list[str]:
    from pytrace.probes.elfsyms import image, lookup

    target, func_glob = _split(p, kind)

    def read(b: Binary) -> list[str]:
        out = []
        functions = (lookup(b.path, b.base, func_glob) if not has_wildcard(func_glob)
                     else image(b.path, b.base)).functions  # one name: no full read
        for sym in matching(func_glob, functions):
            out.append(f"{kind}:{b.shown}:{sym}")
            if ctx.verbose and kind == "uprobe" and not b.base:
                out.extend(f"    {a}" for a in _uprobe_params(ctx, b.shown, b.path, sym,
                                                                functions[sym].addr))
        return out

    found = binaries(kind, target, ctx.pid)
    return [line for b in found for line in _readable(b, len(found) > 1, read)]


def _usdt_names(b: Binary) -> list[str]:
    from pytrace.probes.usdtnotes import notes

    return sorted({f"{n.provider}:{n.name}" for n in notes(b.path, b.base)})


def list_usdt(p: Pattern, ctx: ListContext) -> list[str]:
    target, func_glob = _split(p, "usdt")

    def read(b: Binary) -> list[str]:
        names = _usdt_names(b)
        found = set(matching(func_glob, names))
        if ":" not in func_glob:  # the provider may be left out
            found |= set(matching("*:" + func_glob, names))
        return [f"usdt:{b.shown}:{n}" for n in sorted(found)]

    files = binaries("usdt", target, ctx.pid)
    return [line for b in files for line in _readable(b, len(files) > 1, read)]
