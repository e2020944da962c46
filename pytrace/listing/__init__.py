"""`pytrace -l [search]` / `-lv`: list probes (or types) the way bpftrace does.

A search is comma-separated patterns; each is a probe type (possibly a wildcard or an
alias: `t`, `rt`, `s`, ...) followed by what that kind matches, or a type (`struct x*`).
`-l` with a program (`-e`, a file) lists the probes its attach points expand to.
Listers live in `kernel.py` (tracepoints, raw tracepoints, perf events, iterators),
`user.py` (uprobes, usdt) and `btfinfo.py` (types and BTF arguments).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from pytrace.listing.patterns import (
    ListContext,
    Pattern,
    expand_kinds,
    is_type_pattern,
    parse_pattern,
    split_search,
)
from pytrace.probes.base import ProbeError
from pytrace.runtime.errors import FeatureUnavailable, RuntimeFailure

__all__ = ["ListContext", "listing", "print_listing", "render_error"]

FUNCTION_KINDS = ("kprobe", "kretprobe", "fentry", "fexit")
UNLISTABLE = ("watchpoint", "asyncwatchpoint", "BEGIN", "END", "self")


def _function_kind(kind: str, p: Pattern, ctx: ListContext) -> list[str]:
    """kprobe listings: refused (one clear line) where the kernel lacks them."""
    from pytrace.runtime.features import check_probe_kind

    check_probe_kind(kind)
    raise ProbeError(f"{kind} probes cannot be listed by pytrace yet")


def lister(kind: str) -> Callable[[Pattern, ListContext], list[str]]:
    """The function listing probes of a canonical kind."""
    from pytrace.listing import kernel, user

    if kind in kernel.KERNEL_LISTERS:
        return kernel.KERNEL_LISTERS[kind]
    if kind in ("uprobe", "uretprobe"):
        return lambda p, ctx: user.list_uprobes(kind, p, ctx)
    if kind == "usdt":
        return user.list_usdt
    if kind in ("fentry", "fexit"):
        from pytrace.listing.functions import list_functions

        return lambda p, ctx: list_functions(kind, p, ctx)
    if kind in FUNCTION_KINDS:
        return lambda p, ctx: _function_kind(kind, p, ctx)
    raise ProbeError(f"{kind} probes cannot be listed")


def _pattern_lines(pattern: str, ctx: ListContext) -> list[str]:
    if is_type_pattern(pattern):
        from pytrace.listing.btfinfo import type_lines

        return type_lines(pattern, ctx.verbose)
    p = parse_pattern(pattern)
    kinds, explicit = expand_kinds(p, ctx.pid)
    if explicit and not kinds:
        raise ProbeError(f"Invalid probe type: {p.kind}")
    out: list[str] = []
    for kind in kinds:
        try:
            if not explicit and kind in FUNCTION_KINDS:  # a bare search: what can attach
                from pytrace.runtime.features import check_probe_kind

                check_probe_kind(kind)
            out.extend(lister(kind)(p, ctx))
        except (FeatureUnavailable, ProbeError):
            if explicit or kind not in FUNCTION_KINDS:
                raise
    return out


def listing(search: str = "", verbose: bool = False, pid: int | None = None,
            ctx: ListContext | None = None) -> list[str]:
    """The lines `-l SEARCH` prints. Raises ProbeError (a bad pattern, a missing binary)
    or RuntimeFailure (tracefs unreadable, a kind this kernel lacks)."""
    ctx = ctx or ListContext(verbose, pid)
    if "." in search and not any(c in search for c in ":*"):
        ctx.warn(f"It appears that '{search}' is a filename but the file does not exist. "
                 f"Treating '{search}' as a search pattern.")
    out: list[str] = []
    for pattern in split_search(search):
        out.extend(_pattern_lines(pattern, ctx))
    return out


def render_error(exc: Exception) -> str:
    """One `ERROR:` line (plus any `HINT:` lines) for a listing failure."""
    if isinstance(exc, ProbeError):
        return f"ERROR: {exc.message}\n" + "".join(f"HINT: {h}\n" for h in exc.hints)
    return f"ERROR: {exc}\n"


def emit(lines: list[str], ctx: ListContext, out: TextIO, err: TextIO,
         warnings: bool = True) -> None:
    if warnings:
        err.write("".join(f"WARNING: {w}\n" for w in ctx.warnings))
        err.flush()
    out.write("".join(line + "\n" for line in lines))
    out.flush()


def print_listing(search: str, verbose: bool, out: TextIO, err: TextIO,
                  pid: int | None = None, warnings: bool = True) -> int:
    """Print a listing; a failure is one error line (plus hints) and exit code 1."""
    ctx = ListContext(verbose, pid)
    try:
        lines = listing(search, verbose, pid, ctx)
    except (ProbeError, RuntimeFailure) as exc:
        err.write(render_error(exc))
        return 1
    emit(lines, ctx, out, err, warnings)
    return 0
