"""C++ symbol names demangled by the C++ runtime's own demangler (`__cxa_demangle` of
libstdc++, through ctypes), for `uprobe:BIN:cpp:NAME` probes."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _demangler() -> Any:
    for name in ("libstdc++.so.6", ctypes.util.find_library("stdc++")):
        if not name:
            continue
        try:
            func = ctypes.CDLL(name).__cxa_demangle
        except (OSError, AttributeError):
            continue
        func.restype = ctypes.c_void_p
        func.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.POINTER(ctypes.c_int)]
        return func
    return None


def available() -> bool:
    return _demangler() is not None


@lru_cache(maxsize=65536)
def demangle(name: str) -> str | None:
    """The demangled form of an Itanium C++ ABI name (`_Z...`); None for other names."""
    func = _demangler()
    if func is None or not name.startswith("_Z"):
        return None
    status = ctypes.c_int()
    ptr = func(name.encode(), None, None, ctypes.byref(status))
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace") if status.value == 0 else None
    finally:
        ctypes.CDLL(None).free(ctypes.c_void_p(ptr))


def without_parameters(demangled: str) -> str:
    """`ns::f(int) const` -> `ns::f` (the first '(' outside template arguments that is
    not `operator()`'s own)."""
    depth = 0
    for i, ch in enumerate(demangled):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "(" and depth == 0 and not demangled[:i].endswith("operator"):
            return demangled[:i]
    return demangled
