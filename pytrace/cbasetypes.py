"""C's base type names (`unsigned long`, `char`, `_Bool`...) as pytrace types (LP64)."""

from __future__ import annotations

from collections.abc import Sequence

from pytrace.types import BoolT, IntT, OpaqueT, Type

_WORDS = frozenset({"signed", "unsigned", "char", "short", "int", "long", "_Bool", "bool",
                    "void", "float", "double", "__int128"})


def is_base_name(words: Sequence[str]) -> bool:
    return bool(words) and all(w in _WORDS for w in words)


def base_type(words: Sequence[str]) -> Type | None:
    """The type of a base type spelling, in any word order; None for void or a
    spelling that is not a base type."""
    if not is_base_name(words):
        return None
    w = list(words)
    longs = w.count("long")
    unsigned = "unsigned" in w
    if "void" in w:
        return None
    if "_Bool" in w or "bool" in w:
        return BoolT()
    if "float" in w or "double" in w:
        size = 4 if "float" in w else (16 if longs else 8)
        return OpaqueT(" ".join(words), size, size)
    if "__int128" in w:
        return OpaqueT(("unsigned " if unsigned else "") + "__int128", 16, 16)
    if "char" in w:
        return IntT(8, not unsigned)
    if "short" in w:
        return IntT(16, not unsigned)
    if longs:
        return IntT(64, not unsigned)
    return IntT(32, not unsigned)
