"""The kernel functions a kprobe or fentry wildcard can match: the traceable ones
(tracefs available_filter_functions) where readable, else the text symbols of
/proc/kallsyms."""

from __future__ import annotations

import os
from functools import lru_cache

KALLSYMS = "/proc/kallsyms"


def _filter_functions(tracefs: str) -> list[tuple[str, str]] | None:
    """(function, module) of every traceable function, or None when unreadable."""
    path = os.path.join(tracefs, "available_filter_functions")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = []
    for line in lines:
        name, _, rest = line.partition(" ")
        out.append((name, rest.strip().strip("[]")))
    return out


def _kallsyms_text() -> list[tuple[str, str]]:
    out = []
    try:
        with open(KALLSYMS) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in ("t", "T"):
                    module = parts[3].strip("[]") if len(parts) > 3 else ""
                    out.append((parts[2], module))
    except OSError:
        pass
    return out


@lru_cache(maxsize=4)
def kernel_functions(tracefs: str = "/sys/kernel/tracing") -> tuple[tuple[str, str], ...]:
    """(function, module — "" for vmlinux) pairs, without duplicates, in kernel order."""
    funcs = _filter_functions(tracefs)
    if funcs is None:
        funcs = _kallsyms_text()
    seen: set[tuple[str, str]] = set()
    out = []
    for pair in funcs:
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return tuple(out)


def matching(pattern: str, module: str | None, tracefs: str = "/sys/kernel/tracing") -> list[tuple[str, str]]:
    """The (function, module) pairs matching a wildcard, sorted by name."""
    import fnmatch

    found = {(f, m) for f, m in kernel_functions(tracefs)
             if fnmatch.fnmatchcase(f, pattern)
             and (module is None or fnmatch.fnmatchcase(m or "vmlinux", module))}
    return sorted(found)

