"""Wires the stages together: source -> parse -> passes -> codegen -> BpfObject.

Owns no language logic. Compiled objects are cached by a hash of everything that
changes them, so a second start skips parsing, the passes and llvmlite entirely.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from pytrace import __version__
from pytrace.cachedir import cache_dir
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


def _build_id() -> str:
    """Changes whenever pytrace's own code changes (a development checkout too)."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for root, _dirs, files in os.walk(pkg):
        for name in sorted(files):
            if name.endswith((".py", ".lark")):
                st = os.stat(os.path.join(root, name))
                h.update(f"{root}/{name}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def _file_deps(obj: BpfObject) -> list[tuple[str, int, int, int]]:
    """(path, inode, size, mtime) of every binary the probes attach to (uprobes, usdt)
    and of every file the program imports and every C header it included."""
    deps = []
    paths = [p.attach.get("path") for p in obj.resources.probes]
    for path in [*paths, *obj.resources.imports, *obj.resources.headers]:
        if isinstance(path, str):
            try:
                st = os.stat(path)
            except OSError:
                continue
            deps.append((path, st.st_ino, st.st_size, st.st_mtime_ns))
    return deps


def cache_key(source: Source, options: Options) -> str:
    h = hashlib.sha256()
    for part in (__version__, _build_id(), platform.release(), source.text, repr(options.params), repr(options.pid),
                 repr(options.has_child), repr(options.unsafe), options.tracefs,
                 repr(options.probe_filter), options.mode, repr(sorted(options.config.items())),
                 _import_key(source), repr(options.include_dirs), repr(options.include_files),
                 repr(options.perf_rb_pages)):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def _import_key(source: Source) -> str:
    """Relative imports of `-e` programs resolve from the working directory."""
    return os.getcwd() if "import" in source.text else ""


def _cache_load(key: str) -> BpfObject | None:
    if os.environ.get("PYTRACE_NO_CACHE"):
        return None
    try:
        with open(os.path.join(cache_dir(), key + ".obj"), "rb") as f:
            obj, deps = pickle.load(f)
    except Exception:  # a stale or unreadable cache entry is just a miss
        return None
    if not isinstance(obj, BpfObject) or _file_deps(obj) != deps:
        return None  # a probed binary changed: its symbol offsets may have moved
    return obj


def _cache_store(key: str, obj: BpfObject) -> None:
    if os.environ.get("PYTRACE_NO_CACHE"):
        return
    try:
        os.makedirs(cache_dir(), exist_ok=True)
        tmp = os.path.join(cache_dir(), f"{key}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump((obj, _file_deps(obj)), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, os.path.join(cache_dir(), key + ".obj"))
    except OSError:
        pass


def check_source(source: Source, options: Options,
                 require_probe: bool = True) -> CheckedProgram:
    """Parse and run every pass; raise CompileError with all errors of the failing stage.
    require_probe: a program without probes is an error (the REPL checks definitions)."""
    from pytrace.cdefs.frontend import front
    from pytrace.parser import parse
    from pytrace.passes import check

    pre = front(source, options.include_dirs, options.include_files)
    program, diags = parse(Source(source.name, pre.text) if pre.text != source.text else source,
                           require_probe)
    if program is None or any(d.is_error for d in diags):
        raise CompileError([d for d in diags], source)
    checked = check(program, source, options, pre.types)
    checked.headers = list(pre.headers) + [h for h in checked.headers if h not in pre.headers]
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
    key = cache_key(source, options)
    if not debug:
        cached = _cache_load(key)
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
    _cache_store(key, obj)
    warnings = [d for d in checked.diagnostics if not d.is_error]
    return CompileResult(obj, warnings, checked)
