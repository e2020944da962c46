"""The cached Lark parser: source text -> nodes.Program, syntax errors -> Diagnostics."""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from pytrace import nodes
from pytrace.diagnostics import Diagnostic, Severity
from pytrace.source import Source, Span
from pytrace.transformer import ToNodes, TransformError, token_span

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
PACKAGED_DIR = Path(__file__).with_name("_parser_tables")
_OPTIONS: dict[str, object] = {
    "parser": "lalr",
    "lexer": "contextual",
    "keep_all_tokens": True,
    "maybe_placeholders": False,
}
_parser: Lark | None = None
# Offsets where an IDENT is a type name (cdefs/casts.py), for the parse under way.
_TYPE_NAMES_AT: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "type_names_at", default=frozenset())


def _retype_ident(tok: Token) -> Token:
    """An IDENT a cast uses as a type becomes a TYPE_NAME token (same text and place)."""
    at = _TYPE_NAMES_AT.get()
    if at and tok.start_pos in at:
        return Token.new_borrow_pos("TYPE_NAME", str(tok), tok)
    return tok


_CALLBACKS = {"IDENT": _retype_ident}

# How a token class is named in "unexpected X" (bison's wording in bpftrace).
_TOKEN_WORDS = {
    "VAR": "variable",
    "MAP": "map",
    "IDENT": "identifier",
    "INT": "integer",
    "STRING": "string",
    "POS_PARAM": "positional parameter",
    "ATTACH_POINT": "attach point",
    "BASIC_TYPE": "type",
    "C_DEFINITION": "struct definition",
    "INCLUDE": "#include",
    "DEFINE": "#define",
    "PRED_END": "/",
    "$END": "end of file",
}


def _cache_path(grammar: str) -> str | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    directory = os.path.join(base, "pytrace")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    if not os.access(directory, os.W_OK):
        return None
    return os.path.join(directory, f"grammar-{digest}.lark-cache")


def _packaged_path(grammar: str) -> Path:
    """The parser table shipped with pytrace for this grammar and this Lark version."""
    import lark

    digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    return PACKAGED_DIR / f"lark-{lark.__version__}-{digest}.tables"


def _load_packaged(grammar: str) -> Lark | None:
    """A fresh machine has no parser cache yet: load the shipped table when it was built
    for exactly this grammar and Lark version (else build as usual)."""
    path = _packaged_path(grammar)
    try:
        with open(path, "rb") as f:
            return Lark.__new__(Lark)._load(f, lexer_callbacks=_CALLBACKS)
    except Exception:  # missing or unusable: fall back to building the parser
        return None


def build_packaged_tables() -> Path:
    """Regenerate the shipped parser table (after changing grammar.lark or Lark)."""
    grammar = GRAMMAR_PATH.read_text()
    PACKAGED_DIR.mkdir(exist_ok=True)
    for old in PACKAGED_DIR.glob("*.tables"):
        old.unlink()
    path = _packaged_path(grammar)
    with open(path, "wb") as f:
        Lark(grammar, **_OPTIONS).save(f)  # type: ignore[arg-type]
    return path


def get_parser() -> Lark:
    """The LALR parser for grammar.lark, built once (and cached on disk between runs)."""
    global _parser
    if _parser is None:
        grammar = GRAMMAR_PATH.read_text()
        _parser = _load_packaged(grammar)
    if _parser is None:
        cache = _cache_path(grammar)
        try:
            _parser = Lark(grammar, cache=cache or False, lexer_callbacks=_CALLBACKS,
                           **_OPTIONS)  # type: ignore[arg-type]
        except (OSError, EOFError, ValueError):
            _parser = Lark(grammar, lexer_callbacks=_CALLBACKS, **_OPTIONS)  # type: ignore[arg-type]
    return _parser


def _strip_shebang(text: str) -> str:
    """Blank a first-line `#!…` (keeping columns and line numbers)."""
    if text.startswith("#!"):
        end = text.find("\n")
        end = len(text) if end < 0 else end
        return " " * end + text[end:]
    return text


def parse_tree(text: str, type_names: frozenset[int] | None = None) -> Tree[Token]:
    """The raw Lark tree (raises Lark exceptions); for debugging and tooling.
    type_names: offsets of names that casts use as types (cdefs/casts.py); None: the
    casts to a macro's type parameters only (no TypeTable is needed for those)."""
    if type_names is None:
        from pytrace.cdefs.casts import macro_type_offsets

        type_names = macro_type_offsets(text)
    token = _TYPE_NAMES_AT.set(type_names)
    try:
        return get_parser().parse(_strip_shebang(text))
    finally:
        _TYPE_NAMES_AT.reset(token)


def parse(source: Source, require_probe: bool = True,
          type_names: frozenset[int] | None = None
          ) -> tuple[nodes.Program | None, list[Diagnostic]]:
    """Parse a whole program; never raises. Errors come back as Diagnostics.
    require_probe: a program without a probe is an error (not for imported scripts);
    type_names: see parse_tree."""
    try:
        tree = parse_tree(source.text, type_names)  # LALR: iterative, whatever the nesting
    except UnexpectedInput as e:
        return None, [_syntax_error(e, source.text)]
    except LarkError as e:
        return None, [_error(f"syntax error: {e}", None)]
    try:
        program = ToNodes().transform(tree)
    except VisitError as e:
        orig = e.orig_exc
        if isinstance(orig, TransformError):
            return None, [_error(orig.message, orig.span)]
        if isinstance(orig, RecursionError):
            return None, [_error("program is nested too deeply", _deepest_token(tree))]
        return None, [_error(f"internal parser error: {orig}", None)]
    except RecursionError:
        return None, [_error("program is nested too deeply", _deepest_token(tree))]
    if not isinstance(program, nodes.Program):
        return None, [_error("internal parser error: no program", None)]
    if require_probe and not program.probes:
        hint = ("a program needs at least one probe, e.g. begin { ... }",)
        return None, [Diagnostic(Severity.ERROR, "syntax error, unexpected end of file",
                                 _eof_span(source.text), hint)]
    return program, []


_DEFINITIONS = ("probe", "macro_def", "map_decl")


def is_complete(text: str) -> bool:
    """False when more input could finish the text (open block, string, comment, filter,
    nothing but C definitions or a config block yet)."""
    try:
        tree = parse_tree(text)
        if not any(isinstance(c, Tree) and c.data in _DEFINITIONS for c in tree.children):
            return False
    except (UnexpectedEOF, UnexpectedToken) as e:
        if _at_eof(e):
            return False
        return _open_comment(_strip_shebang(text)) is None
    except UnexpectedCharacters as e:
        rest = _strip_shebang(text)[e.pos_in_stream :]
        if rest.startswith("/*") and "*/" not in rest:
            return False
        if rest.startswith('"') and "\n" not in rest:
            return False
        return True
    except (LarkError, RecursionError):
        return True
    return True


# ---------------------------------------------------------------- error messages


def _error(message: str, span: Span | None) -> Diagnostic:
    return Diagnostic(Severity.ERROR, message, span)


def _deepest_token(tree: Tree[Token]) -> Span | None:
    """The span of the most deeply nested token (found without recursion)."""
    best: tuple[int, Span | None] = (-1, None)
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Token):
            if depth > best[0] and item.line:
                best = (depth, token_span(item))
        elif isinstance(item, Tree):
            stack.extend((c, depth + 1) for c in item.children)
    return best[1]


def _at_eof(e: UnexpectedInput) -> bool:
    if isinstance(e, UnexpectedEOF):
        return True
    return isinstance(e, UnexpectedToken) and e.token.type == "$END"


def _eof_span(text: str) -> Span:
    body = text.rstrip("\n")
    line = body.count("\n") + 1
    col = len(body) - (body.rfind("\n") + 1) + 1
    return Span(line, col, line, col)


def _describe(term: str) -> str:
    if term in _TOKEN_WORDS:
        return _TOKEN_WORDS[term]
    try:
        pattern = get_parser().get_terminal(term).pattern
    except KeyError:
        return term.lower()
    if pattern.type == "str":
        return str(pattern.value)
    return term.lower().replace("_", " ")


_COMMENT_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*(?:[^*]|\*(?!/))*\*/|/\*')


def _expecting(expected: set[str]) -> str:
    """bison's `, expecting A or B` when few tokens fit, else the one missing closer."""
    words = sorted({_describe(t) for t in expected})
    if not words or len(words) > 4:
        return _closer(expected)
    return ", expecting " + " or ".join(words)


def _open_comment(text: str) -> int | None:
    """Offset of a `/*` that is never closed (strings and // comments skipped)."""
    for m in _COMMENT_SCAN.finditer(text):
        if m.group() == "/*":
            return m.start()
    return None


def _accepts(e: UnexpectedInput) -> set[str]:
    """The terminals the parser would really have accepted where it stopped."""
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        try:
            return set(ip.accepts())
        except LarkError:
            pass
    return set(getattr(e, "expected", None) or ())


def _closer(expected: set[str]) -> str:
    closers = [c for c in ("RBRACE", "RPAR", "RSQB") if c in expected]
    return ", expecting " + _describe(closers[0]) if len(closers) == 1 else ""


def _syntax_error(e: UnexpectedInput, text: str) -> Diagnostic:
    text = _strip_shebang(text)
    start = _open_comment(text)
    pos = getattr(e, "pos_in_stream", None)
    if start is not None and (_at_eof(e) or (isinstance(pos, int) and pos >= start)):
        # the parser stopped inside a `/*` that is never closed (at its `/`, or at EOF)
        line = text.count("\n", 0, start) + 1
        col = start - (text.rfind("\n", 0, start) + 1) + 1
        return _error("end of file during comment", _to_eol(line, col, text[start:]))
    if _at_eof(e):
        msg = "syntax error, unexpected end of file" + _expecting(_accepts(e))
        return _error(msg, _eof_span(text))
    if isinstance(e, UnexpectedToken):
        tok = e.token
        word = _TOKEN_WORDS.get(tok.type, str(tok.value))
        msg = f"syntax error, unexpected {word}" + _expecting(_accepts(e))
        return _error(msg, token_span(tok))
    if isinstance(e, UnexpectedCharacters):
        return _char_error(e, text)
    line, col = e.line, e.column
    return _error("syntax error", Span(line, col, line, col + 1))


def _char_error(e: UnexpectedCharacters, text: str) -> Diagnostic:
    rest = _strip_shebang(text)[e.pos_in_stream :]
    line, col = e.line, e.column
    if rest.startswith("/*"):
        return _error("end of file during comment", _to_eol(line, col, rest))
    if rest.startswith('"'):
        return _error("unterminated string", _to_eol(line, col, rest))
    char = rest[:1]
    code = ord(char) - 0xDC00 if "\udc80" <= char <= "\udcff" else ord(char)  # a non-UTF-8 byte
    shown = repr(char)[1:-1] if char.isprintable() else f"\\x{code:02x}"
    return _error(f"syntax error, invalid character '{shown}'", Span(line, col, line, col + 1))


def _to_eol(line: int, col: int, rest: str) -> Span:
    end = rest.find("\n")
    end = len(rest) if end < 0 else end
    return Span(line, col, line, col + max(end, 1))
