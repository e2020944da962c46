"""The value of an object-like macro used in a program (`N`, `AF_INET`, `RED`).

The body is expanded token by token through other object-like macros (`AF_INET` →
`PF_INET` → `2`; a macro is not expanded inside itself), then read as a string literal
(adjacent literals joined) or evaluated as a C integer constant expression, where the
enumerators the C definitions declare may appear. Anything else (a function-like macro
in the body, a variable) has no constant value: the caller expands such macros as
expressions instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pytrace.cdefs import Macro
from pytrace.types import Type

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z_]\w*|\d[\w.]*'
                    r"|<<|>>|<=|>=|==|!=|&&|\|\||\S")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_MAX_DEPTH = 64


def expand(body: str, macros: Mapping[str, Macro], active: frozenset[str] = frozenset(),
           depth: int = 0) -> str | None:
    """`body` with every object-like macro replaced; None if a function-like macro or
    too deep a chain is met."""
    if depth > _MAX_DEPTH:
        return None
    out = []
    for tok in _TOKEN.findall(body):
        m = macros.get(tok)
        if m is None or tok in active:
            out.append(tok)
            continue
        if m.params is not None:
            return None
        inner = expand(m.body, macros, active | {tok}, depth + 1)
        if inner is None:
            return None
        out.append(inner)
    return " ".join(out)


def _string(text: str) -> str | None:
    parts = _STRING.findall(text)
    if not parts or _STRING.sub("", text).strip():
        return None
    raw = "".join(parts)
    try:
        return raw.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return raw


def constant(name: str, macros: Mapping[str, Macro],
             enumerators: Mapping[str, tuple[Type, int]] | None = None) -> int | str | None:
    """The constant an object-like macro stands for, or None."""
    m = macros.get(name)
    if m is None or m.params is not None:
        return None
    text = expand(m.body, macros, frozenset({name}))
    if text is None or not text.strip():
        return None
    s = _string(text)
    if s is not None:
        return s
    return _integer(text, enumerators or {})


def _integer(text: str, enumerators: Mapping[str, tuple[Type, int]]) -> int | None:
    from pytrace.cdefs.constexpr import evaluate, parse_int

    if re.fullmatch(r"\s*-?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*", text):  # the common case
        t = text.replace(" ", "")
        return -parse_int(t[1:]) if t.startswith("-") else parse_int(t)
    from pycparser import c_ast, c_parser

    try:
        ast = c_parser.CParser().parse(f"int __pytrace_value = ({text});")
    except c_parser.ParseError:
        return None
    decl = ast.ext[0]
    if not isinstance(decl, c_ast.Decl) or decl.init is None:
        return None
    try:
        return evaluate(decl.init, enumerators, _no_sizeof)
    except (ValueError, TypeError, ZeroDivisionError):
        return None


def _no_sizeof(node: object) -> int:
    raise ValueError("sizeof is not evaluated in macro values")
