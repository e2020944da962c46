"""Command-line flags (bpftrace-compatible); hands the work to the driver or the REPL."""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import TextIO

from pytrace import __version__
from pytrace.options import Options

USAGE = """\
pytrace [options] filename [args...]
pytrace [options] -e 'program' [args...]
pytrace                      (no program: interactive REPL)"""


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="pytrace", usage=USAGE, add_help=False,
                                 description="A bpftrace-compatible tracer in Python.")
    ap.add_argument("-e", dest="program", metavar="PROGRAM", help="program text to run")
    ap.add_argument("-l", dest="list", action="store_true", help="list probes (optionally matching a pattern)")
    ap.add_argument("-v", dest="verbose", action="store_true", help="verbose: with -l show tracepoint fields")
    ap.add_argument("-c", dest="command", metavar="CMD", help="run CMD and trace until it exits")
    ap.add_argument("-p", dest="pid", type=int, metavar="PID", help="trace only this process")
    ap.add_argument("-q", dest="quiet", action="store_true", help="quiet: no 'Attached N probes'")
    ap.add_argument("-o", dest="output", metavar="FILE", help="write output to FILE")
    ap.add_argument("-f", dest="format", choices=("text", "json"), default=None, help="output format")
    ap.add_argument("-B", dest="buffering", choices=("none", "line", "full"), default=None,
                    help="output buffering")
    ap.add_argument("-d", dest="debug", action="append", default=[], metavar="STAGE",
                    choices=("ast", "types", "ir", "ir-opt", "asm", "all"),
                    help="print a compiler stage: ast, types, ir, ir-opt, asm, all")
    ap.add_argument("--dry-run", action="store_true", help="compile only; no root needed")
    ap.add_argument("--emit-elf", metavar="FILE", help="write the compiled BPF object to FILE")
    ap.add_argument("--emit-llvm", metavar="FILE", help="write the LLVM IR to FILE")
    ap.add_argument("--unsafe", action="store_true", help="allow unsafe functions (system, signal)")
    ap.add_argument("--no-warnings", action="store_true", help="do not print warnings")
    ap.add_argument("-k", dest="helper_errors", action="store_true", help="report helper errors")
    ap.add_argument("-I", "--include", dest="include", action="append", default=[], help="include path")
    ap.add_argument("-h", "--help", action="help", help="show this help and exit")
    ap.add_argument("-V", "--version", action="version", version=f"pytrace v{__version__}")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="script file and positional parameters")
    return ap


def _read_program(ns: argparse.Namespace) -> tuple[str, str, list[str]] | None:
    """(source name, text, positional params) or None when there is no program."""
    from pytrace.source import Source  # noqa: F401  (keeps the import graph obvious)

    if ns.program is not None:
        return "stdin", ns.program, list(ns.args)
    if not ns.args:
        return None
    path, params = ns.args[0], list(ns.args[1:])
    if path == "-":
        return "stdin", sys.stdin.read(), params
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return path, f.read(), params


def _options(ns: argparse.Namespace, words: list[str]) -> Options:
    """Options from the flags, the words after the program and the environment."""
    from pytrace.options import WARNINGS_DEFAULT, WARNINGS_HELPERS, WARNINGS_OFF, apply_environment
    from pytrace.progargs import split_program_args

    args = split_program_args(words)
    level = WARNINGS_OFF if ns.no_warnings else WARNINGS_HELPERS if ns.helper_errors \
        else WARNINGS_DEFAULT
    options = Options(params=args.positional, pid=ns.pid, has_child=ns.command is not None,
                      unsafe=ns.unsafe, named_params=args.named, warning_level=level)
    return apply_environment(options)


def _open_output(ns: argparse.Namespace) -> TextIO:
    if ns.output:
        return open(ns.output, "w", encoding="utf-8", errors="replace")
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper):
        if ns.buffering == "line" or (ns.buffering is None and stream.isatty()):
            stream.reconfigure(line_buffering=True)
        elif ns.buffering == "none":
            stream.reconfigure(line_buffering=True, write_through=True)
    return stream


def _list(ns: argparse.Namespace) -> int:
    from pytrace import listing

    pattern = ns.program or (ns.args[0] if ns.args else "")
    return listing.print_listing(pattern, verbose=ns.verbose, out=sys.stdout)


def _run(ns: argparse.Namespace) -> int:
    from pytrace.diagnostics import CompileError, render_all
    from pytrace.driver import compile_source
    from pytrace.source import Source

    prog = _read_program(ns)
    if prog is None:
        from pytrace.repl import start_repl

        return start_repl(ns)
    name, text, words = prog
    source = Source(name, text)
    try:
        options = _options(ns, words)
    except ValueError as exc:  # a bad BPFTRACE_* value or named parameter
        sys.stderr.write(f"ERROR: {exc}\n")
        return 1
    debug = tuple(("ast", "types", "ir", "ir-opt", "asm") if "all" in ns.debug else ns.debug)
    if not ns.dry_run:  # as bpftrace: no privileges, no compile (it also mounts tracefs)
        from pytrace.runtime.features import check_privileges

        check_privileges()
    try:
        result = compile_source(source, options, debug)
    except CompileError as exc:
        sys.stderr.write(render_all(exc.diagnostics, exc.source or source))
        return 1
    if result.warnings and not ns.no_warnings:
        sys.stderr.write(render_all(result.warnings, source))
    if ns.emit_elf:
        with open(ns.emit_elf, "wb") as f:
            f.write(result.obj.elf)
    if ns.emit_llvm:
        from pytrace.driver import check_source, generate

        ir_text, _ = generate(result.checked or check_source(source, options))
        with open(ns.emit_llvm, "w") as f:
            f.write(ir_text)
    if ns.dry_run:
        return 0
    from pytrace.output import make_output
    from pytrace.runtime.session import run_session

    stream = _open_output(ns)
    fmt = ns.format or ("rich" if ns.output is None and stream.isatty() else "text")
    out = make_output(fmt, stream, sys.stderr, ns.quiet)
    child = None
    if ns.command:
        import shlex

        child = shlex.split(ns.command)
    try:
        return run_session(result.obj, out, child, exiting=True)
    finally:
        if stream is not sys.stdout:
            stream.close()


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        if ns.list:
            return _list(ns)
        return _run(ns)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 0
    except OSError as exc:
        if exc.filename:
            sys.stderr.write(f"ERROR: {exc.filename}: {exc.strerror}\n")
        else:
            sys.stderr.write(f"ERROR: {exc.strerror or exc}\n")
        return 1
    except Exception as exc:  # an environment failure: one clear line, never a traceback
        from pytrace.runtime.errors import RuntimeFailure

        if isinstance(exc, RuntimeFailure):
            sys.stderr.write(f"ERROR: {exc}\n")
            from pytrace.runtime.errors import VerifierError

            if isinstance(exc, VerifierError):
                log = exc.log if ns.verbose else exc.last_lines(8)
                sys.stderr.write("".join(f"  {line}\n" for line in log.splitlines()))
            return 1
        if os.environ.get("PYTRACE_DEBUG"):
            raise
        sys.stderr.write(f"ERROR: internal error: {type(exc).__name__}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
