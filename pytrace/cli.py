"""The `pytrace` command: flags parsed as bpftrace parses them (cliargs), the
environment, -p and -c checked first, then a listing, `--info`, the REPL, or a program
compiled and run. Every failure is one `ERROR:` line (never a traceback)."""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pytrace.cliargs import Args, Exit, fatal, parse_args, usage_error

if TYPE_CHECKING:
    from pytrace.driver import CompileResult
    from pytrace.envconfig import Environment
    from pytrace.options import Options
    from pytrace.source import Source


def _write(stream: TextIO, text: str) -> None:
    if text:
        stream.write(text)
        stream.flush()


def _info() -> int:
    from pytrace.info import report
    from pytrace.runtime.features import check_privileges

    check_privileges()
    _write(sys.stdout, report())
    return 0


def _environment(args: Args) -> Environment:
    from pytrace.envconfig import EnvError, read_environment

    try:
        env = read_environment()
    except EnvError as exc:
        raise fatal(str(exc)) from None
    if not args.no_warnings:
        _write(sys.stderr, "".join(f"WARNING: {w}\n" for w in env.warnings))
    return env


def _targets(args: Args) -> list[str] | None:
    """Check -p (args.pid is set) and -c (its argv is returned) before anything else."""
    from pytrace.clitargets import TargetError, parse_pid, split_command

    try:
        if args.pid_text:  # an empty -p is no -p, as in bpftrace
            args.pid = parse_pid(args.pid_text)
        for text in args.dwarf_pid_texts:
            try:
                args.dwarf_pids.append(parse_pid(text))
            except TargetError as exc:
                raise TargetError(f"--dwarf-pid {text}: {exc}") from None
        return split_command(args.command) if args.command is not None else None
    except TargetError as exc:
        raise fatal(str(exc)) from None


def _looks_like_program(text: str) -> bool:
    return any(c in text for c in "{}") or " " in text.strip()


def _read_program(args: Args) -> tuple[str, str] | None:
    """(source name, text) of the program to run or list; None when there is none."""
    if args.filename is None:
        return None if args.program is None else ("stdin", args.program)
    if args.filename == "-":
        return "stdin", sys.stdin.read()
    try:
        with open(args.filename, encoding="utf-8", errors="surrogateescape") as f:
            return args.filename, f.read()
    except OSError as exc:
        hint = ("HINT: to run program text, give it with -e 'program'\n"
                if _looks_like_program(args.filename) else "")
        raise Exit(1, f"ERROR: failed to open file '{args.filename}': {exc.strerror}\n"
                      + hint) from None


def _list(args: Args) -> int:
    from pytrace import listing

    prog = _read_program(args)
    if prog is None:
        return listing.print_listing(args.search, args.verbose, sys.stdout, sys.stderr,
                                     pid=args.pid, warnings=not args.no_warnings)
    from pytrace.diagnostics import CompileError, render_all
    from pytrace.listing.program import program_listing
    from pytrace.probes.base import ProbeError
    from pytrace.runtime.errors import RuntimeFailure

    ctx = listing.ListContext(args.verbose, args.pid)
    try:
        lines = program_listing(prog[0], prog[1], ctx)
    except CompileError as exc:
        _write(sys.stderr, render_all(exc.diagnostics, exc.source))
        return 1
    except (ProbeError, RuntimeFailure) as exc:
        _write(sys.stderr, listing.render_error(exc))
        return 1
    listing.emit(lines, ctx, sys.stdout, sys.stderr, not args.no_warnings)
    return 0


def _options(args: Args, env: Environment) -> Options:
    from pytrace.cliargs import named_params
    from pytrace.options import Options

    return Options(params=list(args.params), pid=args.pid, has_child=args.command is not None,
                   unsafe=args.unsafe, named_params=named_params(args.named_params),
                   warning_level=args.warning_level,
                   usdt_file_activation=args.usdt_file_activation,
                   include_dirs=list(args.include), include_files=list(args.include_files),
                   probe_filter=args.probe_filter, config=dict(env.config),
                   mode=args.mode if args.mode in ("test", "bench") else "run",
                   btf_path=env.btf_path, kernel_source=env.kernel_source,
                   kernel_build=env.kernel_build, vmlinux=env.vmlinux)


def _unsupported(args: Args) -> None:
    if args.aot is not None:
        raise fatal("--aot is not supported by pytrace (its compiled objects are cached "
                    "instead)")
    if args.mode not in (None, "codegen", "test", "bench"):
        flag = {"format": "--fmt"}.get(args.mode or "")
        raise fatal(f"{flag or '--mode ' + str(args.mode)} is not supported by pytrace")
    if args.format not in (None, "text", "json"):
        raise fatal(f"Invalid output format \"{args.format}\"\nValid formats: 'text', 'json'")
    if args.traceable_functions is not None and not os.path.isfile(args.traceable_functions):
        raise fatal(f"Failed to open kernel function info: {args.traceable_functions}: "
                    "No such file or directory")


def _check_named_params(args: Args, text: str) -> None:
    """Named parameters are read with getopt(); one the program never asks for is an error."""
    for item in args.named_params:
        name = item.partition("=")[0]
        if not re.search(r'\bgetopt\s*\(\s*"' + re.escape(name) + '"', text):
            raise fatal(f"unknown named parameter: --{name} (the program has no "
                        f"getopt(\"{name}\"))")


def _compile(args: Args, source: Source, options: Options) -> CompileResult:
    from pytrace.driver import compile_source

    debug = tuple(s for s in args.debug if s in ("ast", "types", "ir", "ir-opt", "asm"))
    if args.probe_filter is None:
        return compile_source(source, options, debug)
    from pytrace.clirun import compile_filtered

    return compile_filtered(source, options, args.probe_filter)


def _emit_files(args: Args, result: CompileResult, source: Source, options: Options) -> None:
    if args.emit_elf:
        with open(args.emit_elf, "wb") as f:
            f.write(result.obj.elf)
    if args.emit_llvm:
        from pytrace.codegen.llvm import optimize
        from pytrace.driver import check_source, generate

        ir_text, _ = generate(result.checked or check_source(source, options))
        with open(args.emit_llvm + ".original.ll", "w") as f:
            f.write(ir_text)
        with open(args.emit_llvm + ".optimized.ll", "w") as f:
            f.write(optimize(ir_text))


def _run(args: Args, env: Environment, child: list[str] | None) -> int:
    _unsupported(args)
    prog = _read_program(args)
    if prog is None:
        if sys.stdin.isatty():
            from pytrace.repl import start_repl

            return start_repl(args)  # type: ignore[arg-type]
        raise fatal("USAGE: filename or -e 'program' required.")
    from pytrace.diagnostics import CompileError, render_all
    from pytrace.source import Source

    source = Source(*prog)
    _check_named_params(args, source.text)
    options = _options(args, env)
    if not (args.dry_run or args.mode == "codegen"):
        from pytrace.runtime.features import check_privileges

        check_privileges()  # as bpftrace: no privileges, no compile (tracefs mounted too)
    try:
        result = _compile(args, source, options)
    except CompileError as exc:
        _write(sys.stderr, render_all(exc.diagnostics, exc.source or source))
        return 1
    if result.warnings and not args.no_warnings:
        _write(sys.stderr, render_all(result.warnings, source))
    _emit_files(args, result, source, options)
    from pytrace.clirun import check_limits, run_program

    check_limits(result.obj, options)
    if args.dry_run or args.mode == "codegen":
        return 0
    return run_program(args, env, options, result, child, source)


def _dispatch(args: Args) -> int:
    env = _environment(args)
    child = _targets(args)
    if args.listing:
        return _list(args)
    return _run(args, env, child)


def _runtime_failure(exc: Exception, verbose: bool) -> int:
    from pytrace.runtime.errors import RuntimeFailure, VerifierError

    if not isinstance(exc, RuntimeFailure):
        if os.environ.get("PYTRACE_DEBUG"):
            raise exc
        _write(sys.stderr, f"ERROR: internal error: {type(exc).__name__}: {exc}\n")
        return 1
    _write(sys.stderr, f"ERROR: {exc}\n")
    if isinstance(exc, VerifierError):
        log = exc.log if verbose else exc.last_lines(8)
        _write(sys.stderr, "".join(f"  {line}\n" for line in log.splitlines()))
    return 1


def _broken_pipe() -> int:
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    except OSError:
        pass
    return 0


def _os_error(exc: OSError) -> int:
    where = f"{exc.filename}: " if exc.filename else ""
    _write(sys.stderr, f"ERROR: {where}{exc.strerror or exc}\n")
    return 1


def _finish(exc: Exit) -> int:
    _write(sys.stdout, exc.stdout)
    _write(sys.stderr, exc.stderr)
    return exc.code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args: Any = None
    try:
        if not argv:
            if sys.stdin.isatty():
                from pytrace.repl import start_repl

                return start_repl(Args())  # type: ignore[arg-type]
            raise usage_error()
        try:
            args = parse_args(argv)
        except Exit as exc:
            if exc.code != -1:
                raise
            return _info()
        return _dispatch(args)
    except Exit as exc:
        return _finish(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _broken_pipe()
    except OSError as exc:
        return _os_error(exc)
    except Exception as exc:  # an environment failure: one clear line, never a traceback
        return _runtime_failure(exc, bool(args is not None and args.verbose))


if __name__ == "__main__":
    sys.exit(main())
