"""Where a parenthesised bare name is a type: casts to typedef names and to a macro's
type parameters, found before parsing (the text itself is never changed).

The grammar reads `(name)` as an expression, so `(u64)x`, `(pid_t)x`, `(task_t *)p` or,
inside a `macro` body, `(a)x` / `(a *)x` (the caller passes `typeof(T)`) cannot be
parsed as casts by the grammar alone (a declaration `let $x: a` can: the grammar takes
a bare name there). `type_name_offsets` finds the offsets of
those names; the parser lexes the identifier at such an offset as a TYPE_NAME token (a
type), so every node keeps the exact line and column it was written at. As in bpftrace,
a parenthesised name is a type when an expression follows it and it is no builtin or
variable-like name: outside macro parameters, only names the TypeTable knows (the
program's typedefs, then kernel BTF). The macros pass fills a parameter's TypeName with
the argument's type; the passes resolve a typedef name through the TypeTable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from pytrace.types import BoolT, IntT, StructT, Type

_CAST = re.compile(r'\(\s*([A-Za-z_]\w*)\s*((?:\*\s*)*)(\[\s*\d*\s*\])?\s*\)(?=\s*[\w$@(*~!&"\'-])')
_MACRO = re.compile(r"\bmacro\s+[A-Za-z_]\w*\s*\(([^()]*)\)\s*\{")
_PARAM_CAST = r'\(\s*({names})\s*((?:\*\s*)*)(\[\s*\d*\s*\])?\s*\)'
# After a bare `(a)` only a name, a number or a string starts the cast's operand (so
# `(a) - 1` stays a subtraction); after `(a *)` anything can.
_BARE_NEXT = re.compile(r'\s*[\w$@"\']')
_GRAMMAR_WORDS = re.compile(r"u?int(8|16|32|64)|char|short|int|long|bool|string|inet|buffer"
                            r"|signed|unsigned|struct|union|enum|void")


def _castable(t: Type) -> bool:
    """A typedef's type a cast may name (an integer, bool or named struct)."""
    return isinstance(t, BoolT | IntT) or (isinstance(t, StructT) and bool(t.name))


def type_name_offsets(text: str, lookup: Callable[[str], Type | None],
                      reserved: frozenset[str]) -> frozenset[int]:
    """The offsets in text of every name that a cast uses as a type: a known typedef
    name, or a macro's expression parameter in its body."""
    if "(" not in text and "macro" not in text:
        return frozenset()
    return frozenset(_macro_params(text)) | frozenset(_typedef_casts(text, lookup, reserved))


def macro_type_offsets(text: str) -> frozenset[int]:
    """The offsets of a macro's type parameters used in casts in its body (what can be
    found without a TypeTable)."""
    return frozenset(_macro_params(text))


def _typedef_casts(text: str, lookup: Callable[[str], Type | None],
                   reserved: frozenset[str]) -> Iterator[int]:
    for m in _CAST.finditer(text):
        name = m.group(1)
        if _GRAMMAR_WORDS.fullmatch(name) or name in reserved:
            continue
        t = lookup(name)
        if t is not None and _castable(t):
            yield m.start(1)


def _body_end(text: str, start: int) -> int:
    """The index just past the `}` closing the block whose `{` is at start - 1."""
    depth, i, n = 1, start, len(text)
    while i < n and depth:
        c = text[i]
        if c == '"':
            i = text.find('"', i + 1) if '"' in text[i + 1:] else n
            while 0 < i < n and text[i - 1] == "\\":
                i = text.find('"', i + 1) if '"' in text[i + 1:] else n
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    return i


def _macro_params(text: str) -> Iterator[int]:
    """Offsets of a macro's expression parameters used as types inside its body."""
    if "macro" not in text:
        return
    pos = 0
    for m in _MACRO.finditer(text):
        if m.start() < pos:
            continue
        names = [p.strip() for p in m.group(1).split(",")]
        names = [p for p in names if re.fullmatch(r"[A-Za-z_]\w*", p)]
        pos = _body_end(text, m.end())
        if names:
            yield from _param_uses(text, m.end(), pos, names)


def _param_uses(text: str, start: int, end: int, names: list[str]) -> Iterator[int]:
    alternatives = "|".join(map(re.escape, names))
    cast = re.compile(_PARAM_CAST.format(names=alternatives))
    for m in cast.finditer(text, start, end):
        if m.group(2) or m.group(3) or _BARE_NEXT.match(text, m.end()):
            yield m.start(1)
