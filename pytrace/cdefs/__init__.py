"""C definitions in a program: `#include`, `#define`, `#if...`, struct/union/enum/typedef.

`prepare(text, ...)` is the one entry point. It splits the program's C preamble off
(see split.py), runs it through the C preprocessor (pcpp; `BPFTRACE_HAVE_BTF` is
defined when the kernel has BTF), parses the result with pycparser and returns:

- the program text with the preamble blanked (every line and column unchanged, so
  diagnostics point where they did),
- a TypeTable: the C definitions, backed by kernel BTF for every name they lack,
- the macros defined by the program and the headers it includes, to be expanded in
  the program's expressions (`#define N 10`, `AF_INET`, `#define F(x) ((x) + 1)`).

A program without a preamble costs nothing: pcpp and pycparser are not imported.
Errors are CDefsError (message, file, line, column).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pytrace.cdefs.errors import CDefsError
from pytrace.frozen import frozen
from pytrace.typetable import TypeTable

__all__ = ["CDefsError", "Macro", "Prepared", "prepare"]


@frozen
class Macro:
    """A #define: `params` None for an object-like macro; `body` its replacement text."""

    name: str
    params: tuple[str, ...] | None
    body: str
    variadic: bool = False
    file: str = ""
    line: int = 0


@dataclass(slots=True)
class Prepared:
    """text: the program, preamble blanked; files: every header read (for the
    compiled-object cache: a changed header must not hit an old entry)."""

    text: str
    types: TypeTable
    macros: dict[str, Macro] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def prepare(text: str, include_dirs: Iterable[str] = (), defines: Mapping[str, str] | None = None,
            name: str = "stdin", includes: Iterable[str] = (), btf: bool = True) -> Prepared:
    """Preprocess and parse a program's C preamble (see the module docstring).

    include_dirs: `-I` directories; includes: `--include` headers, included before the
    program's own text; defines: extra macros (NAME -> value); btf: False keeps kernel
    BTF out of the type lookups (and leaves BPFTRACE_HAVE_BTF undefined).
    """
    from pytrace.cdefs.split import split_program

    parts = split_program(text)
    extra = list(includes)
    if not parts.has_preamble and not extra:
        return Prepared(parts.body, TypeTable(btf=btf))
    from pytrace.btf import have_btf
    from pytrace.cdefs.parse import parse_declarations
    from pytrace.cdefs.preprocess import preprocess

    use_btf = btf and have_btf()
    all_defines = {"BPFTRACE_HAVE_BTF": "1"} if use_btf else {}
    all_defines.update(defines or {})
    c_text = "".join(f'#include "{h}"\n' for h in extra) + parts.c_text
    files: list[str] = []
    try:
        out, raw_macros = preprocess(c_text, name, include_dirs, all_defines, files)
    except CDefsError as exc:
        raise _shift(exc, name, len(extra), text) from None
    out = _shift_markers(out, name, len(extra))
    table = TypeTable(btf=use_btf)
    if re.search(r"[^\s]", re.sub(r"(?m)^#.*$", "", out)):
        decls = parse_declarations(out, name, _fallback(table))
        table = TypeTable(decls.types, btf=use_btf, enumerators=decls.enumerators)
    macros = {k: Macro(m.name, m.params, m.body, m.variadic, _file(m.file, name), m.line)
              for k, m in raw_macros.items() if k not in all_defines or k in (defines or {})}
    return Prepared(parts.body, table, macros, files)


def _fallback(table: TypeTable):  # type: ignore[no-untyped-def]
    btf_types = table.btf()
    return btf_types.lookup if btf_types is not None else (lambda _name: None)


def _file(path: str, name: str) -> str:
    return name if path and os.path.abspath(name) == path else path


def _shift_markers(out: str, name: str, extra: int) -> str:
    """#line markers of the program itself, minus the lines of the --include lines."""
    abspath = re.escape(os.path.abspath(name))

    def fix(m: re.Match[str]) -> str:
        return f'#line {max(1, int(m.group(1)) - extra)} "{name}"'

    return re.sub(rf'(?m)^#line (\d+) "(?:{abspath}|{re.escape(name)})"', fix, out)


def _shift(exc: CDefsError, name: str, extra: int, text: str) -> CDefsError:
    """An error in the program's own lines: its line without the --include lines, and the
    column of the header name for a missing #include."""
    if exc.file not in (name, os.path.abspath(name)):
        return exc
    line = max(1, exc.line - extra)
    col = exc.col
    lines = text.split("\n")
    if not col and 0 < line <= len(lines):
        m = re.search(r'#\s*include\s*([<"])', lines[line - 1])
        col = m.start(1) + 1 if m else 1
    return CDefsError(exc.message, line, name, col)
