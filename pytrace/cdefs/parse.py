"""Preprocessed C text parsed with pycparser into model types.

pycparser must know every typedef name before it sees it used. Names the program
uses as types but does not define (`u64`, `pid_t` from BTF, or a typo) get a
placeholder `typedef int NAME;` in a prelude; the prelude's own definitions are then
skipped, and the real type is looked up by name (an unknown one becomes the located
error 'unknown type name').
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pytrace.cdefs.declarations import Declarations, Fallback
from pytrace.cdefs.errors import CDefsError

_KEYWORDS = frozenset("""auto break case char const continue default do double else enum
extern float for goto if inline int long register restrict return short signed sizeof static
struct switch typedef union unsigned void volatile while _Bool _Complex _Imaginary _Atomic
_Alignas _Alignof _Noreturn _Static_assert _Thread_local __int128 bool""".split())
_IDENT_THEN_IDENT = re.compile(r"\b([A-Za-z_]\w*)(?=\s*\*+\s*[A-Za-z_]|\s+[A-Za-z_]|\s*\(\s*\*+\s*[A-Za-z_]\w*\s*\)\s*\()")
_DECLARED = re.compile(r"[\w*)]\s*\b([A-Za-z_]\w*)\s*(?=[(;\[,=:)])")
_IN_LIST = re.compile(r"[(,]\s*([A-Za-z_]\w*)\s*(?:\*\s*)*(?=[,)])")
_ENUM_BODY = re.compile(r"(?<=\benum)\s*\w*\s*\{([^{}]*)\}")
_ENUMERATOR = re.compile(r"(?:^|,)\s*([A-Za-z_]\w*)")
_TAGGED = re.compile(r"(?:struct|union|enum)\s+$")
_ERROR = re.compile(r"^(.*?):(\d+)(?::(\d+))?: (.*)$", re.S)


def type_name_candidates(text: str) -> set[str]:
    """Identifiers standing where a type name would (`u64 x`, `(pid_t)`, `f(u32, u8)`)."""
    code = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    enumerators: set[str] = set()
    for body in _ENUM_BODY.findall(code):
        enumerators.update(m.group(1) for m in _ENUMERATOR.finditer(body))
    code = _ENUM_BODY.sub("{}", code)
    found: set[str] = set()
    for m in _IDENT_THEN_IDENT.finditer(code):
        name = m.group(1)
        if name not in _KEYWORDS and not _TAGGED.search(code, max(0, m.start() - 8), m.start()):
            found.add(name)
    for m in _IN_LIST.finditer(code):
        if m.group(1) not in _KEYWORDS:
            found.add(m.group(1))
    # A name the text declares (a typedef, a function, a member...) needs no placeholder,
    # and must not get one (pycparser refuses a typedef name redeclared as something else).
    declared = {m.group(1) for m in _DECLARED.finditer(code)}
    return found - declared - enumerators


def _prelude(names: Iterable[str]) -> str:
    return "".join(f"typedef int {n};\n" for n in sorted(names))


def parse_declarations(text: str, name: str, fallback: Fallback) -> Declarations:
    """The definitions in preprocessed C text (CDefsError on a syntax error)."""
    from pycparser import c_parser

    names = {"__builtin_va_list"} | type_name_candidates(text)
    prelude = _prelude(names)
    if not text.startswith("#line"):
        prelude += f'#line 1 "{name}"\n'
    parser = c_parser.CParser()
    try:
        ast = parser.parse(prelude + text, name)
    except c_parser.ParseError as exc:
        raise _parse_error(str(exc), name, _stopped_at(parser)) from None
    decls = Declarations(fallback)
    decls.add(ast, skip=len(names))
    return decls


def _stopped_at(parser: object) -> tuple[str, int, int] | None:
    """(file, line, column) of the token the parser stopped at: pycparser leaves the
    place out of some messages ("stdin: Invalid expression")."""
    try:
        tok = parser._peek()  # type: ignore[attr-defined]
        return str(tok.filename), int(tok.lineno), int(tok.column)
    except Exception:  # noqa: BLE001 - another pycparser: the message alone
        return None


def _parse_error(text: str, default_file: str,
                 at: tuple[str, int, int] | None = None) -> CDefsError:
    m = _ERROR.match(text)
    if not m:
        msg = re.sub(r"^[^:\n]*: ", "", text)  # the coordinate-less "stdin: " or "?: "
        if at is not None and at[1] > 0:
            return CDefsError(msg, at[1], at[0] or default_file, at[2])
        return CDefsError(f"C definitions: {text}", 0, default_file)
    file, line, col, msg = m.group(1), int(m.group(2)), int(m.group(3) or 0), m.group(4)
    if msg.startswith("before: "):
        msg = f"syntax error before '{msg[len('before: '):]}'"
    return CDefsError(msg, line, file or default_file, col)
