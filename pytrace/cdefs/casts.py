"""Casts to typedef names (`(u64)x`, `(pid_t)x`, `(task_t *)p`, `(uint64_t)1`).

The grammar reads a parenthesised bare name as an expression, so before parsing such a
cast is rewritten to the type it names in a spelling the grammar knows (`(uint64)x`,
`(struct task_struct *)p`). As in bpftrace, a parenthesised name is a type when an
expression follows it and it is no builtin or variable-like name; only names the
TypeTable knows (the program's typedefs, then kernel BTF) are rewritten.

Inside a `macro` body, a cast to one of the macro's expression parameters (`(a)x`,
`(a *)x`: the caller passes `typeof(T)`) becomes `(typeof(a))x`, which the macros pass
then fills with the argument; so does a declaration `let $x: a`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pytrace.types import BoolT, IntT, StructT, Type

_CAST = re.compile(r'\(\s*([A-Za-z_]\w*)\s*((?:\*\s*)*)(\[\s*\d*\s*\])?\s*\)(?=\s*[\w$@(*~!&"\'-])')
_MACRO = re.compile(r"\bmacro\s+[A-Za-z_]\w*\s*\(([^()]*)\)\s*\{")
_PARAM_CAST = r'\(\s*({names})\s*((?:\*\s*)*)(\[\s*\d*\s*\])?\s*\)'
# After a bare `(a)` only a name, a number or a string starts the cast's operand (so
# `(a) - 1` stays a subtraction); after `(a *)` anything can.
_BARE_NEXT = re.compile(r'\s*[\w$@"\']')
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


def rewrite_macro_type_casts(text: str) -> str:
    """text with casts to a macro's expression parameters spelled `(typeof(a) ...)`."""
    if "macro" not in text:
        return text
    out, pos = [], 0
    for m in _MACRO.finditer(text):
        if m.start() < pos:
            continue
        names = [p.strip() for p in m.group(1).split(",")]
        names = [p for p in names if re.fullmatch(r"[A-Za-z_]\w*", p)]
        end = _body_end(text, m.end())
        out.append(text[pos:m.end()])
        body = text[m.end():end]
        out.append(_param_casts(body, names) if names else body)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _param_casts(body: str, names: list[str]) -> str:
    pattern = re.compile(_PARAM_CAST.format(names="|".join(map(re.escape, names))))

    def fix(m: re.Match[str]) -> str:
        stars, array = (m.group(2) or "").replace(" ", ""), m.group(3) or ""
        if not stars and not array and not _BARE_NEXT.match(body, m.end()):
            return m.group(0)
        return f"(typeof({m.group(1)}){stars}{array})"

    decl = re.compile(r"(\blet\s+\$\w+\s*:\s*)(" + "|".join(map(re.escape, names)) + r")\b")
    return decl.sub(r"\1typeof(\2)", pattern.sub(fix, body))
