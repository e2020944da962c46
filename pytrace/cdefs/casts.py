"""Casts to typedef names (`(u64)x`, `(pid_t)x`, `(task_t *)p`, `(uint64_t)1`).

The grammar reads a parenthesised bare name as an expression, so before parsing such a
cast is rewritten to the type it names in a spelling the grammar knows (`(uint64)x`,
`(struct task_struct *)p`). As in bpftrace, a parenthesised name is a type when an
expression follows it and it is no builtin or variable-like name; only names the
TypeTable knows (the program's typedefs, then kernel BTF) are rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pytrace.types import BoolT, IntT, StructT, Type

_CAST = re.compile(r'\(\s*([A-Za-z_]\w*)\s*((?:\*\s*)*)(\[\s*\d*\s*\])?\s*\)(?=\s*[\w$@(*~!&"\'-])')
_GRAMMAR_WORDS = re.compile(r"u?int(8|16|32|64)|char|short|int|long|bool|string|inet|buffer"
                            r"|signed|unsigned|struct|union|enum|void")


def _spelling(t: Type) -> str | None:
    if isinstance(t, BoolT):
        return "bool"
    if isinstance(t, IntT):
        return f"{'' if t.signed else 'u'}int{t.bits}"
    if isinstance(t, StructT) and t.name:
        return t.name
    return None


def rewrite_casts(text: str, lookup: Callable[[str], Type | None],
                  reserved: frozenset[str]) -> str:
    """text with every cast to a known typedef name spelled as its type."""

    def fix(m: re.Match[str]) -> str:
        name, stars, array = m.group(1), m.group(2) or "", m.group(3) or ""
        if _GRAMMAR_WORDS.fullmatch(name) or name in reserved:
            return m.group(0)
        t = lookup(name)
        spelled = _spelling(t) if t is not None else None
        if spelled is None:
            return m.group(0)
        return f"({spelled} {stars.replace(' ', '')}{array})"

    return _CAST.sub(fix, text)
