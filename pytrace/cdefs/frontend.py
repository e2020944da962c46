"""The C preamble for the compiler: prepare, expand macros, errors as diagnostics.

`front(source, include_dirs, includes)` returns the text the parser reads (the
preamble blanked, C macros expanded), the offsets of the names its casts use as types
(`cdefs/casts.py`) and the TypeTable, or raises CompileError with a located diagnostic
(an error in a header names the header).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pytrace.cdefs import CDefsError, prepare
from pytrace.diagnostics import CompileError, Diagnostic, Severity
from pytrace.source import Source, Span
from pytrace.typetable import TypeTable

# Names a header's macro never replaces: bpftrace's own words (a program's own
# #define still does, as in bpftrace).
_RESERVED = frozenset("""if else while for unroll let return break continue sizeof offsetof
typeof config true false struct union enum BEGIN END begin end
container_of""".split())


@dataclass(slots=True)
class Front:
    text: str
    types: TypeTable
    headers: list[str] = field(default_factory=list)
    type_names: frozenset[int] = frozenset()  # offsets of names casts use as types


def _builtin_names() -> frozenset[str]:
    from pytrace import builtins

    return frozenset(builtins.REGISTRY) | _RESERVED


def front(source: Source, include_dirs: Sequence[str] = (), includes: Sequence[str] = ()) -> Front:
    from pytrace.cdefs.expand import expand_macros
    from pytrace.cdefs.split import split_program

    if not includes and not split_program(source.text).has_preamble:
        table = TypeTable()
        return Front(source.text, table, type_names=_casts(source.text, table))
    try:
        prepared = prepare(source.text, include_dirs, name=source.name, includes=includes)
    except CDefsError as exc:
        raise CompileError([_diagnostic(exc, source)], source) from None
    skip = frozenset(n for n in _builtin_names()
                     if n in prepared.macros and prepared.macros[n].file != source.name)
    text = expand_macros(prepared.text, prepared.macros, skip)
    return Front(text, prepared.types, prepared.files, _casts(text, prepared.types))


def _casts(text: str, table: TypeTable) -> frozenset[int]:
    from pytrace.cdefs.casts import type_name_offsets

    return type_name_offsets(text, table.lookup, _builtin_names())


def _diagnostic(exc: CDefsError, source: Source) -> Diagnostic:
    if exc.file in ("", source.name) and exc.line:
        line = source.line_text(exc.line)
        col = exc.col or (len(line) - len(line.lstrip()) + 1)
        end = len(line) + 1 if len(line) + 1 > col else col + 1
        return Diagnostic(Severity.ERROR, exc.message, Span(exc.line, col, exc.line, end))
    where = f"{exc.file}:{exc.line}: " if exc.file else ""
    return Diagnostic(Severity.ERROR, where + exc.message, None)
