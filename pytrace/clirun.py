"""Running a compiled program for the CLI: `--probe-filter`, the probe and program
limits, the output stream (`-o`, `-f`, `-B`, BPFTRACE_COLOR), `print_maps_on_exit`
and the `-v` / `-d verifier` load reports, then the session itself."""

from __future__ import annotations

import io
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pytrace.cliargs import Exit, fatal

if TYPE_CHECKING:
    from pytrace.cliargs import Args
    from pytrace.driver import CompileResult
    from pytrace.envconfig import Environment
    from pytrace.options import Options
    from pytrace.prometheus import CliExporter
    from pytrace.resources import BpfObject, ProbeSpec
    from pytrace.runtime.errors import VerifierError
    from pytrace.source import Source

SPECIAL = ("BEGIN", "END")


def compile_filtered(source: Source, options: Options, regex: str) -> CompileResult:
    """Compile only the probes whose expanded name matches `regex` (BEGIN/END always);
    no probe left is an error. Never cached: the filter is not part of the cache key."""
    from pytrace.driver import CompileResult, check_source, generate

    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise fatal(f"invalid --probe-filter regular expression '{regex}': {exc}") from None
    checked = check_source(source, options)
    kept = 0
    for probe in checked.probes:
        probe.compiled = [t for t in probe.live
                          if t.kind in SPECIAL or pattern.search(t.name)]
        kept += sum(1 for t in probe.compiled if t.kind not in SPECIAL)
    if kept == 0:
        raise fatal(f"No probes matched the probe filter '{regex}'")
    _, obj = generate(checked)
    return CompileResult(obj, [d for d in checked.diagnostics if not d.is_error], checked)


def _limit(options: Options, obj: BpfObject, name: str) -> int:
    from pytrace.envconfig import config_default

    default = config_default(name)
    assert isinstance(default, int)
    value = options.config_value(name, dict(obj.resources.config), default)
    return int(value) if value is not None else default


def check_limits(obj: BpfObject, options: Options) -> None:
    """max_probes and max_bpf_progs, with bpftrace's messages."""
    probes = sum(p.covers for p in obj.resources.probes)
    max_probes = _limit(options, obj, "max_probes")
    if probes > max_probes:
        raise fatal(f"Can't attach to {probes} probes because it exceeds the current limit "
                    f"of {max_probes} probes.\nYou can increase the limit through the "
                    "BPFTRACE_MAX_PROBES environment variable, but BE CAREFUL since a high "
                    "number of probes attached can cause your system to crash.")
    progs = len(obj.resources.probes)
    max_progs = _limit(options, obj, "max_bpf_progs")
    if progs > max_progs:
        raise fatal(f"Can't generate {progs} BPF programs because it exceeds the current "
                    f"limit of {max_progs} programs.\nYou can increase the limit through "
                    "the BPFTRACE_MAX_BPF_PROGS environment variable.")


def open_output(path: str | None, buffering: str | None) -> TextIO:
    """stdout or `-o FILE`, line-buffered unless `-B full` (`-B none`: unbuffered)."""
    if path is not None:
        try:
            stream: TextIO = open(path, "w", encoding="utf-8", errors="replace",  # noqa: SIM115
                                  buffering=-1 if buffering == "full" else 1)
        except OSError as exc:
            raise fatal(f"Failed to open output file: \"{path}\": {exc.strerror}") from None
    else:
        stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper) and buffering != "full":
        stream.reconfigure(line_buffering=True, write_through=buffering == "none")
    return stream


def output_format(args: Args, env: Environment, stream: TextIO) -> str:
    if args.format:
        return args.format
    if args.output is not None or env.color == "never":
        return "text"
    return "rich" if env.color == "always" or stream.isatty() else "text"


def _no_maps_at_exit(out: Any) -> None:
    """print_maps_on_exit = false: the exit still ends the output, with no maps."""
    inner = out.maps_at_exit
    out.maps_at_exit = lambda snaps: inner([])


def _program_id(fd: int) -> int:
    import struct

    from pytrace.runtime import syscalls as sc

    info = sc.Buffer(bytes(64))
    attr = sc.new_attr()
    struct.pack_into("<IIQ", attr, 0, fd, 64, info.addr)
    ret, _ = sc.bpf_errno(sc.OBJ_GET_INFO_BY_FD, attr)
    return int.from_bytes(info.bytes(8)[4:8], "little") if ret >= 0 else 0


def _load_reporter(err: TextIO) -> Any:
    def report(spec: ProbeSpec, fd: int, log: str) -> None:
        err.write(f"\nload {spec.name}: Success\nProgram ID: {_program_id(fd)}\n"
                  f"The verifier log:\n{log.rstrip()}\n")
        err.flush()
    return report


def _verbose_start(args: Args, result: CompileResult, source_text: str) -> None:
    from pytrace.runtime import loader

    if "verifier" in args.debug or args.verbose:
        loader.set_log_sink(_load_reporter(sys.stderr), level=2 if "verifier" in args.debug else 1)
    if args.verbose:
        sys.stderr.write(f"AST node count: {_node_count(result, source_text)}\n")


def _node_count(result: CompileResult, text: str) -> int:
    from pytrace.passes.walk import walk

    program = result.checked.program if result.checked is not None else None
    if program is None:
        from pytrace.parser import parse
        from pytrace.source import Source

        program, _ = parse(Source("stdin", text))
    return sum(1 for _ in walk(program)) if program is not None else 0


def _prometheus_exporter(args: Args) -> CliExporter | None:
    """`--prometheus`: serves the maps between run_session's on_start and on_stop."""
    if args.prometheus is None:
        return None
    from pytrace.prometheus import DEFAULT_MAX_KEYS, CliExporter

    host, port = args.prometheus
    max_keys = DEFAULT_MAX_KEYS if args.prometheus_max_keys is None else args.prometheus_max_keys
    return CliExporter(host, port, max_keys, announce=None if args.quiet else _stderr_line)


def _stderr_line(msg: str) -> None:
    sys.stderr.write(msg + "\n")


def _verifier_failure(exc: VerifierError, source: Source, verbose: bool) -> int:
    """A rejected program: a located error at its probe with what to change."""
    from pytrace.diagnostics import render_all
    from pytrace.runtime.verifier import diagnostic

    sys.stderr.write(render_all([diagnostic(exc)], source))
    if verbose:
        sys.stderr.write("".join(f"  {line}\n" for line in exc.log.splitlines()))
    return 1


def run_program(args: Args, env: Environment, options: Options, result: CompileResult,
                child: list[str] | None, source: Source) -> int:
    from pytrace.output import make_output
    from pytrace.runtime.errors import VerifierError
    from pytrace.runtime.session import run_session

    stream = open_output(args.output, args.buffering)
    exporter = _prometheus_exporter(args)
    try:
        out = make_output(output_format(args, env, stream), stream, sys.stderr, args.quiet)
        script = dict(result.obj.resources.config)
        if options.config_value("print_maps_on_exit", script, True) in (False, 0, "false"):
            _no_maps_at_exit(out)
        _verbose_start(args, result, source.text)
        if exporter is not None:
            exporter.bind()  # a taken port fails before anything is attached
        return run_session(result.obj, out, child, exiting=True, target_pid=args.pid,
                           on_start=exporter.on_start if exporter else None,
                           on_stop=exporter.on_stop if exporter else None,
                           usdt_file_activation=options.usdt_file_activation,
                           dwarf_pids=args.dwarf_pids)
    except VerifierError as exc:
        return _verifier_failure(exc, source, args.verbose)
    except ValueError as exc:  # make_output: an unknown format
        raise Exit(1, f"ERROR: {exc}\n") from None
    finally:
        if exporter is not None:
            exporter.on_stop()
        if stream is not sys.stdout:
            stream.close()
