"""Syntax highlighting for the REPL from the grammar's own terminals.

`highlight(text)` lexes with the Lark parser's lexer and returns (style class, text)
fragments covering the whole input; characters the lexer rejects (partial input) become
`error`, unterminated strings/comments keep their style, and lexing resumes after them.
Never raises. `ReplLexer` adapts it to prompt_toolkit (one fragment list per line).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer

_KEYWORD_PATTERN = re.compile(r"([a-z_]+)\(\?!(?:\\w|\[\\w:\])\)")
_STYLES: dict[str, str] = {
    "ATTACH_POINT": "probe", "MAP": "map", "VAR": "variable", "POS_PARAM": "variable",
    "POS_COUNT": "variable", "INT": "number", "FLOAT": "error", "STRING": "string",
    "BASIC_TYPE": "type",
    "INCLUDE": "preproc", "DEFINE": "preproc", "C_DEFINITION": "preproc",
    "LINE_COMMENT": "comment", "BLOCK_COMMENT": "comment", "IDENT": "name",
    "WS": "",
}
_COMMENT_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*(?:[^*]|\*(?!/))*\*/|/\*')
STYLE_RULES: dict[str, str] = {
    "keyword": "bold ansimagenta", "probe": "bold ansicyan", "map": "ansiyellow",
    "variable": "ansigreen", "number": "ansiblue", "string": "ansired", "type": "ansimagenta",
    "preproc": "ansibrightblack", "comment": "italic ansibrightblack", "name": "",
    "builtin": "ansibrightgreen", "operator": "", "error": "bg:ansired ansiwhite",
}


@functools.lru_cache(maxsize=1)
def grammar_keywords() -> dict[str, str]:
    """Keyword terminal name -> the word (`IF` -> `if`), read from the grammar itself, so
    keywords the language gains are highlighted and completed with no change here."""
    from lark.lexer import PatternRE

    from pytrace.parser import get_parser

    out = {}
    for t in get_parser().terminals:
        if isinstance(t.pattern, PatternRE):
            m = _KEYWORD_PATTERN.fullmatch(t.pattern.value)
            if m:
                out[t.name] = m.group(1)
    return out


def _style_of(term: str, value: str) -> str:
    if term == "IDENT":
        from pytrace.builtins import REGISTRY
        return "builtin" if value in REGISTRY else "name"
    if term in grammar_keywords():
        return "keyword"
    return _STYLES.get(term, "operator")


def _lex_from(text: str, start: int, out: list[tuple[str, str]]) -> int | None:
    """Lex text[start:] into out; the offset where lexing failed, or None at the end."""
    from lark.exceptions import LarkError, UnexpectedCharacters

    from pytrace.parser import get_parser

    pos = start
    try:
        for tok in get_parser().lex(text[start:], dont_ignore=True):
            begin = start + (tok.start_pos or 0)
            if begin > pos:
                out.append(("", text[pos:begin]))
            out.append((_style_of(tok.type, tok.value), tok.value))
            pos = begin + len(tok.value)
    except UnexpectedCharacters as e:
        failed = start + (e.pos_in_stream or 0)
        if failed > pos:
            out.append(("", text[pos:failed]))
        return failed
    except (LarkError, RecursionError):
        out.append(("error", text[pos:]))
        return None
    if pos < len(text):
        out.append(("", text[pos:]))
    return None


def _unlexable(text: str, pos: int) -> tuple[str, int]:
    """Style and end of the piece at pos the lexer refused (open string/comment, junk)."""
    rest = text[pos:]
    if rest.startswith('"'):
        end = rest.find("\n")
        return "string", pos + (len(rest) if end < 0 else end)
    if rest.startswith("/*"):
        return "comment", len(text)
    return "error", pos + 1


def _open_comment(text: str) -> int:
    """Offset of a `/*` never closed (strings and // comments skipped), else len(text)."""
    for m in _COMMENT_SCAN.finditer(text):
        if m.group() == "/*":
            return m.start()
    return len(text)


def highlight(text: str) -> list[tuple[str, str]]:
    """(style class, text) fragments whose texts concatenate back to `text`."""
    cut = _open_comment(text)
    return [*_highlight_code(text[:cut]), *([("comment", text[cut:])] if text[cut:] else [])]


def _highlight_code(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos: int | None = 0
    while pos is not None and pos < len(text):
        failed = _lex_from(text, pos, out)
        if failed is None:
            break
        style, end = _unlexable(text, failed)
        out.append((style, text[failed:end]))
        pos = end
    return [(s, t) for s, t in out if t]


def _split_lines(fragments: list[tuple[str, str]]) -> list[StyleAndTextTuples]:
    lines: list[StyleAndTextTuples] = [[]]
    for style, chunk in fragments:
        cls = f"class:{style}" if style else ""
        for i, piece in enumerate(chunk.split("\n")):
            if i:
                lines.append([])
            if piece:
                lines[-1].append((cls, piece))
    return lines


class ReplLexer(Lexer):
    """prompt_toolkit lexer over `highlight` (whole document, then split by line)."""

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        if not document.text:  # the first prompt: nothing to lex, nothing to import
            return lambda lineno: []
        try:
            lines = _split_lines(highlight(document.text))
        except Exception:  # noqa: BLE001 - never let highlighting break the editor
            lines = [[("", line)] for line in document.lines]

        def get_line(lineno: int) -> StyleAndTextTuples:
            return lines[lineno] if 0 <= lineno < len(lines) else []
        return get_line
