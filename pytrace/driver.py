"""Wires the stages together: source -> parse -> passes -> codegen -> BpfObject.

Owns no language logic. Compiled objects are cached (pytrace/cache.py) by a hash of
everything that changes them, so a second start skips parsing, the passes and llvmlite.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from pytrace import cache
from pytrace.diagnostics import CompileError, Diagnostic, Severity
from pytrace.options import Options
from pytrace.resources import BpfObject
from pytrace.source import Source

if TYPE_CHECKING:
    from pytrace.passes.context import CheckedProgram

STAGES = ("ast", "types", "ir", "ir-opt", "asm")


@dataclass(slots=True)
class CompileResult:
    obj: BpfObject
    warnings: list[Diagnostic] = field(default_factory=list)
    checked: CheckedProgram | None = None
    cached: bool = False


def check_source(source: Source, options: Options) -> CheckedProgram:
    """Parse and run every pass; raise CompileError with all errors of the failing stage."""
    from pytrace.parser import parse
    from pytrace.passes import check

    program, diags = parse(source)
    if program is None or any(d.is_error for d in diags):
        raise CompileError([d for d in diags], source)
    checked = check(program, source, options)
    checked.diagnostics.extend(d for d in diags if not d.is_error)
    if checked.diagnostics.has_errors:
        raise CompileError(list(checked.diagnostics), source)
    return checked


def generate(checked: CheckedProgram) -> tuple[str, BpfObject]:
    """IR text and the compiled object; codegen failures become located diagnostics."""
    from pytrace.codegen import generate_ir
    from pytrace.codegen.emitter import CodegenError
    from pytrace.codegen.llvm import emit_object

    try:
        ir_text, resources = generate_ir(checked)
    except CodegenError as exc:
        span = exc.node.span if exc.node is not None else None
        raise CompileError([Diagnostic(Severity.ERROR, str(exc), span)], checked.source) from None
    return ir_text, BpfObject(emit_object(ir_text), resources)


def compile_source(source: Source, options: Options, debug: tuple[str, ...] = (),
                   out: TextIO | None = None) -> CompileResult:
    """Compile a program (or take it from the cache when nothing is being debugged)."""
    key = cache.cache_key(source, options)
    if not debug:
        cached = cache.load(key)
        if cached is not None:
            return CompileResult(cached, cached=True)
    checked = check_source(source, options)
    out = out or sys.stdout
    if "ast" in debug:
        from pytrace.debug import dump_ast

        out.write(dump_ast(checked.program))
    if "types" in debug:
        from pytrace.debug import dump_types

        out.write(dump_types(checked))
    ir_text, obj = generate(checked)
    if "ir" in debug:
        out.write(ir_text + "\n")
    if "ir-opt" in debug:
        from pytrace.codegen.llvm import optimize

        out.write(optimize(ir_text) + "\n")
    if "asm" in debug:
        from pytrace.codegen.llvm import emit_assembly

        out.write(emit_assembly(ir_text) + "\n")
    cache.store(key, obj)
    warnings = [d for d in checked.diagnostics if not d.is_error]
    return CompileResult(obj, warnings, checked)
