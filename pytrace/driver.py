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
from pytrace.resources import BpfObject, Resources
from pytrace.source import Source

if TYPE_CHECKING:
    from pytrace.codegen.llvm import LLVMFailure
    from pytrace.passes.context import CheckedProgram

STAGES = ("ast", "types", "ir", "ir-opt", "asm")


@dataclass(slots=True)
class CompileResult:
    obj: BpfObject
    warnings: list[Diagnostic] = field(default_factory=list)
    checked: CheckedProgram | None = None
    cached: bool = False


def check_source(source: Source, options: Options,
                 require_probe: bool = True) -> CheckedProgram:
    """Parse and run every pass; raise CompileError with all errors of the failing stage.
    require_probe: a program without probes is an error (the REPL checks definitions)."""
    from pytrace.cdefs.frontend import front
    from pytrace.parser import parse
    from pytrace.passes import check

    if options.btf_path:
        _use_btf_file(options.btf_path, source)
    pre = front(source, options.include_dirs, options.include_files)
    program, diags = parse(Source(source.name, pre.text) if pre.text != source.text else source,
                           require_probe, pre.type_names)
    if program is None or any(d.is_error for d in diags):
        raise CompileError([d for d in diags], source)
    checked = check(program, source, options, pre.types)
    checked.headers = list(pre.headers) + [h for h in checked.headers if h not in pre.headers]
    checked.diagnostics.extend(d for d in diags if not d.is_error)
    if checked.diagnostics.has_errors:
        raise CompileError(list(checked.diagnostics), source)
    return checked


def _use_btf_file(path: str, source: Source) -> None:
    """Types come from `path` (BPFTRACE_BTF) instead of the kernel's BTF."""
    from pytrace.btf import check_btf_file, use_btf_file

    problem = check_btf_file(path)
    if problem is not None:
        raise CompileError([Diagnostic(Severity.ERROR, f"BPFTRACE_BTF: cannot use '{path}': "
                                       f"{problem}", None)], source)
    use_btf_file(path)


def generate(checked: CheckedProgram) -> tuple[str, BpfObject]:
    """IR text and the compiled object; codegen failures become located diagnostics."""
    from pytrace.codegen import generate_ir
    from pytrace.codegen.emitter import CodegenError
    from pytrace.codegen.llvm import LLVMFailure, emit_object
    from pytrace.passes import NESTED_TOO_DEEPLY
    from pytrace.passes.walk import deepest_span

    try:
        ir_text, resources = generate_ir(checked)
    except CodegenError as exc:
        span = exc.node.span if exc.node is not None else None
        raise CompileError([Diagnostic(Severity.ERROR, str(exc), span)], checked.source) from None
    except RecursionError:
        span = deepest_span(checked.program)
        raise CompileError([Diagnostic(Severity.ERROR, NESTED_TOO_DEEPLY, span)],
                           checked.source) from None
    try:
        return ir_text, BpfObject(emit_object(ir_text), resources)
    except LLVMFailure as exc:
        raise CompileError([llvm_diagnostic(exc, checked, resources)], checked.source) from None


_LLVM_HINTS = (
    ("Branch target out of insn range", "the probe's code is too long for BPF's 16-bit jump "
     "offsets: split its body into several probes or shorten it"),
    ("stack limit", "the probe needs more than 512 bytes of BPF stack: use fewer or shorter "
     "strings, tuples and variables"),
)


def llvm_diagnostic(exc: LLVMFailure, checked: CheckedProgram, resources: Resources) -> Diagnostic:
    """LLVM's abort as one located error naming the probe it could not compile."""
    spec = None
    index = exc.probe_index
    if index is not None and 0 <= index < len(resources.probes):
        spec = resources.probes[index]
    span = None
    if spec is not None:
        for cp in checked.probes:
            if any(t.name == spec.name for t in cp.targets) or spec.covers > 1 and any(
                    t.kind == "tracepoint" and t.attach.get("category") == "syscalls" for t in cp.targets):
                span = cp.probe.attach_points[0].span if cp.probe.attach_points else cp.probe.span
                break
    what = f"probe {spec.name}" if spec is not None else "the program"
    hints = tuple(h for key, h in _LLVM_HINTS if key in exc.message)
    return Diagnostic(Severity.ERROR, f"LLVM cannot compile {what}: {exc.message}", span, hints)


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
    warnings = [d for d in checked.diagnostics if not d.is_error]
    if not warnings:  # a cache hit compiles nothing, so it could not show them again
        cache.store(key, obj)
    return CompileResult(obj, warnings, checked)
