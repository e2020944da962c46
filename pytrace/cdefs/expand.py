"""C macros expanded in the bpftrace part of a program, as bpftrace's lexer does.

An identifier naming an object-like macro is replaced by its body; `NAME(args)` of a
function-like macro by its body with the parameters replaced (`__VA_ARGS__` too). The
result is rescanned (a macro is not expanded inside itself). Left alone: strings,
comments, `$vars`, `@maps`, field names after `.`/`->`, and attach points (identifiers
next to `:` outside any block). Each expansion stays on its line, padded with spaces
when shorter, so line numbers (and columns after short expansions) stay true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pytrace.cdefs import Macro

_TOKEN = re.compile(
    r'(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<chr>\'(?:[^\'\\\n]|\\.)*\')|(?P<lc>//[^\n]*)'
    r"|(?P<bc>/\*.*?\*/)|(?P<var>[$@][A-Za-z_]\w*)|(?P<id>[A-Za-z_]\w*)"
    r"|(?P<num>\d[\w.]*)|(?P<ws>\s+)|(?P<op>->|.)", re.S)
_MAX_DEPTH = 32


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "op", m.group()) for m in _TOKEN.finditer(text)]


def _arguments(toks: list[tuple[str, str]], i: int) -> tuple[list[str], int] | None:
    """The arguments of a call whose `(` is at toks[i], and the index after `)`."""
    depth, args, cur = 0, list[str](), list[str]()
    for j in range(i, len(toks)):
        kind, text = toks[j]
        if kind == "op" and text in "([{":
            depth += 1
            if depth == 1:
                continue
        elif kind == "op" and text in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, j + 1
        elif kind == "op" and text == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            continue
        cur.append(text)
    return None


def _substitute(m: Macro, args: list[str]) -> str | None:
    params = list(m.params or ())
    if m.variadic and params and params[-1] == "__VA_ARGS__":
        fixed = len(params) - 1
        if len(args) < fixed:
            return None
        args = args[:fixed] + [", ".join(args[fixed:])]
    if args == [""] and not params:
        args = []
    if len(args) != len(params):
        return None
    table = dict(zip(params, args))
    return "".join(table.get(t, t) if k == "id" else t for k, t in _tokens(m.body))


class _Expander:
    def __init__(self, macros: Mapping[str, Macro], skip: frozenset[str]) -> None:
        self.macros = macros
        self.skip = skip

    def text(self, text: str, active: frozenset[str], depth: int, top: bool) -> str:
        toks = _tokens(text)
        out: list[str] = []
        braces, i = 0, 0
        while i < len(toks):
            kind, tok = toks[i]
            if kind == "op" and tok == "{":
                braces += 1
            elif kind == "op" and tok == "}":
                braces = max(0, braces - 1)
            if kind != "id" or not self._expandable(toks, i, tok, active, top and braces == 0):
                out.append(tok)
                i += 1
                continue
            m = self.macros[tok]
            body: str | None = m.body
            end = i + 1
            if m.params is not None:
                j = end
                while j < len(toks) and toks[j][0] == "ws" and "\n" not in toks[j][1]:
                    j += 1
                call = _arguments(toks, j) if j < len(toks) and toks[j][1] == "(" else None
                if call is None:
                    out.append(tok)
                    i += 1
                    continue
                body, end = _substitute(m, call[0]), call[1]
            if body is None or depth >= _MAX_DEPTH:
                out.append(tok)
                i += 1
                continue
            expanded = self.text(body, active | {tok}, depth + 1, False)
            original = "".join(t for _, t in toks[i:end])
            out.append(_fit(expanded, original))
            i = end
        return "".join(out)

    def _expandable(self, toks: list[tuple[str, str]], i: int, name: str,
                    active: frozenset[str], outside: bool) -> bool:
        if name not in self.macros or name in active or name in self.skip:
            return False
        prev = next((t for k, t in reversed(toks[:i]) if k != "ws"), "")
        if prev in (".", "->"):
            return False  # a field name
        if outside:  # attach points: `kprobe:NAME`, `tracepoint:cat:NAME`
            before = toks[i - 1][1] if i else ""
            after = toks[i + 1][1] if i + 1 < len(toks) else ""
            if ":" in (before, after) or before in ("*", "-") or after in ("*", "-"):
                return False
        return True


def _fit(expanded: str, original: str) -> str:
    """The expansion on one line (the lines of the original kept), padded to the
    original's width when shorter."""
    flat = " ".join(expanded.split("\n"))
    newlines = original.count("\n")
    if newlines:
        return flat + "\n" * newlines
    return flat.ljust(len(original))


def expand_macros(text: str, macros: Mapping[str, Macro],
                  skip: frozenset[str] = frozenset()) -> str:
    """The program text with every use of a macro expanded (see the module docstring);
    names in `skip` are never expanded."""
    if not macros:
        return text
    if not any(name in text for name in macros):
        return text
    return _Expander(macros, skip).text(text, frozenset(), 0, True)
