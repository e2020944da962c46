"""Command-line parsing exactly as bpftrace does it (GNU getopt_long): short options may
be combined (`-lv`), options may follow the program, long options may be abbreviated
to a unique prefix, and `--` ends the options (named script parameters follow it).

`parse_args(argv)` returns Args, or raises Exit with what to print and the exit code;
it never prints.
"""

from __future__ import annotations

import getopt
import os
from dataclasses import dataclass, field

from pytrace import __version__
from pytrace.clihelp import USAGE
from pytrace.options import WARNINGS_DEFAULT, WARNINGS_HELPERS, WARNINGS_OFF

PROG = "pytrace"
SHORT = "d:bB:f:e:hlp:vqc:Vo:I:k"
LONG = ["aot=", "bench", "btf", "cmd=", "debug=", "debuginfo=", "dry-run", "emit-elf=",
        "dwarf-pid=", "emit-llvm=", "fmt", "help", "include=", "info", "list", "mode=", "no-feature=",
        "no-warnings", "output=", "pid=", "probe-filter=", "prometheus=",
        "prometheus-max-keys=", "quiet", "test",
        "traceable-functions=", "unsafe", "usdt-file-activation", "verbose",
        "verify-llvm-ir", "version", "warnings"]
FULL_SEARCH = "*:*"
# -d STAGE: bpftrace's stage names -> pytrace's (pytrace's own names work too).
DEBUG_STAGES = {"ast": "ast", "parse": "ast", "types": "types", "codegen": "ir",
                "codegen-opt": "ir-opt", "dis": "asm", "verifier": "verifier",
                "libbpf": "libbpf", "ir": "ir", "ir-opt": "ir-opt", "asm": "asm"}
ALL_STAGES = ("ast", "types", "ir", "ir-opt", "asm", "verifier")
MODES = ("codegen", "compiler-bench", "bench", "test", "format")
NO_FEATURES = ("kprobe_multi", "kprobe_session", "uprobe_multi")


class Exit(Exception):
    """Stop with `code`, writing `stdout` / `stderr` (both may be empty)."""

    def __init__(self, code: int, stderr: str = "", stdout: str = "") -> None:
        super().__init__(stderr or stdout)
        self.code, self.stderr, self.stdout = code, stderr, stdout


def usage_error(message: str = "") -> Exit:
    """A message (if any) followed by the usage text, on stderr, exit 1."""
    return Exit(1, (message + "\n" if message else "") + USAGE)


def fatal(message: str) -> Exit:
    return Exit(1, f"ERROR: {message}\n")


@dataclass(slots=True)
class Args:
    """What the command line asks for (attribute names kept from the argparse days)."""

    program: str | None = None  # -e
    filename: str | None = None  # the script file ('-': stdin)
    search: str = ""  # -l pattern
    listing: bool = False  # -l
    verbose: bool = False
    command: str | None = None  # -c, as given
    pid_text: str | None = None  # -p, as given
    pid: int | None = None  # -p, once validated
    dwarf_pid_texts: list[str] = field(default_factory=list)  # --dwarf-pid, as given
    dwarf_pids: list[int] = field(default_factory=list)  # --dwarf-pid, once validated
    quiet: bool = False
    output: str | None = None
    format: str | None = None
    buffering: str | None = None  # 'line' | 'full' | 'none'
    debug: list[str] = field(default_factory=list)
    dry_run: bool = False
    emit_elf: str | None = None
    emit_llvm: str | None = None
    unsafe: bool = False
    warning_level: int = WARNINGS_DEFAULT
    include: list[str] = field(default_factory=list)  # -I
    include_files: list[str] = field(default_factory=list)  # --include
    usdt_file_activation: bool = False
    probe_filter: str | None = None
    no_feature: list[str] = field(default_factory=list)
    debuginfo: list[str] = field(default_factory=list)
    traceable_functions: str | None = None
    verify_llvm_ir: bool = False
    mode: str | None = None
    aot: str | None = None
    prometheus: tuple[str, int] | None = None  # --prometheus [HOST:]PORT (pytrace's own)
    prometheus_max_keys: int | None = None
    args: list[str] = field(default_factory=list)  # every positional argument
    params: list[str] = field(default_factory=list)  # $1.. for the program
    named_params: list[str] = field(default_factory=list)  # `--aa=20` after `--` -> 'aa=20'

    @property
    def no_warnings(self) -> bool:
        return self.warning_level == WARNINGS_OFF

    @property
    def helper_errors(self) -> bool:
        return self.warning_level == WARNINGS_HELPERS


def _getopt_error(err: getopt.GetoptError) -> Exit:
    """GNU getopt's messages for what Python's getopt refused."""
    opt, msg = err.opt, err.msg
    long = msg.startswith("option --")
    if "not a unique prefix" in msg:
        found = " ".join(f"'--{o.rstrip('=')}'" for o in LONG if o.startswith(opt))
        text = f"option '--{opt}' is ambiguous; possibilities: {found}"
    elif "must not have an argument" in msg:
        text = f"option '--{opt}' doesn't allow an argument"
    elif "requires argument" in msg:
        text = f"option '--{opt}' requires an argument" if long else \
            f"option requires an argument -- '{opt}'"
    else:
        text = f"unrecognized option '--{opt}'" if long else f"invalid option -- '{opt}'"
    return usage_error(f"{PROG}: {text}")


def _set_warnings(a: Args, level: int) -> None:
    if level == WARNINGS_OFF and a.warning_level == WARNINGS_HELPERS or \
            level == WARNINGS_HELPERS and a.warning_level == WARNINGS_OFF:
        raise fatal("USAGE: -k, --warnings conflicts with --no-warnings")
    if level == WARNINGS_HELPERS and a.warning_level == WARNINGS_HELPERS:
        raise fatal("USAGE: -kk has been deprecated. Use a single -k for runtime warnings "
                    "for errors in map lookups and probe reads.")
    a.warning_level = level


def _set_debug(a: Args, value: str) -> None:
    for stage in (s for s in value.split(",") if s):
        if stage == "all":
            a.debug.extend(s for s in ALL_STAGES if s not in a.debug)
        elif stage in DEBUG_STAGES:
            if DEBUG_STAGES[stage] not in a.debug:
                a.debug.append(DEBUG_STAGES[stage])
        else:
            raise fatal(f"USAGE: invalid option for -d: {stage}")


def _set_mode(a: Args, mode: str, flag: str | None = None) -> None:
    if flag is not None and a.mode is not None:
        raise fatal(f"USAGE: {flag} conflicts with existing --mode")
    if mode not in MODES:
        raise fatal("USAGE: --mode can only be 'codegen', 'compiler-bench', 'bench', 'test' "
                    "or 'format'.")
    a.mode = mode


def _set_buffering(a: Args, mode: str) -> None:
    if mode not in ("line", "full", "none"):
        raise fatal("USAGE: -B must be either 'line', 'full', or 'none'.")
    a.buffering = mode


def _set_prometheus(a: Args, opt: str, value: str) -> None:
    """pytrace's --prometheus [HOST:]PORT and --prometheus-max-keys N (docs/prometheus.md)."""
    if opt == "--prometheus-max-keys":
        if not value.isdigit():
            raise fatal(f"USAGE: --prometheus-max-keys: '{value}' is not a number of keys "
                        "(0 or more)")
        a.prometheus_max_keys = int(value)
        return
    from pytrace.prometheus.address import AddressError, parse_address

    try:
        a.prometheus = parse_address(value)
    except AddressError as exc:
        raise fatal(f"USAGE: --prometheus: {exc}") from None


def _set_no_feature(a: Args, value: str) -> None:
    names = [n for n in value.split(",") if n]
    if not names or any(n not in NO_FEATURES for n in names):
        raise fatal("USAGE: --no-feature can only have values "
                    "'kprobe_multi,kprobe_session,uprobe_multi'.")
    a.no_feature.extend(names)


_FLAGS = {"-l": "listing", "--list": "listing", "-v": "verbose", "--verbose": "verbose",
          "-q": "quiet", "--quiet": "quiet", "--dry-run": "dry_run", "--unsafe": "unsafe",
          "--usdt-file-activation": "usdt_file_activation",
          "--verify-llvm-ir": "verify_llvm_ir"}
_VALUES = {"-e": "program", "-c": "command", "--cmd": "command", "-p": "pid_text",
           "--pid": "pid_text", "-o": "output", "--output": "output", "-f": "format",
           "--emit-elf": "emit_elf", "--emit-llvm": "emit_llvm",
           "--probe-filter": "probe_filter", "--traceable-functions": "traceable_functions",
           "--aot": "aot"}
_LISTS = {"-I": "include", "--include": "include_files", "--debuginfo": "debuginfo",
          "--dwarf-pid": "dwarf_pid_texts"}


def _apply(a: Args, opt: str, value: str) -> None:
    """One option, in command-line order (help, version and conflicts act at once)."""
    if opt in _FLAGS:
        setattr(a, _FLAGS[opt], True)
    elif opt in _VALUES:
        setattr(a, _VALUES[opt], value)
    elif opt in _LISTS:
        getattr(a, _LISTS[opt]).extend(value.split(":") if opt == "--debuginfo" else [value])
    elif opt in ("-h", "--help"):
        raise Exit(0, stdout=USAGE)
    elif opt in ("-V", "--version"):
        raise Exit(0, stdout=f"{PROG} v{__version__}\n")
    elif opt == "--info":
        raise Exit(-1)  # the caller prints the report (it needs the kernel)
    elif opt in ("-k", "--warnings"):
        _set_warnings(a, WARNINGS_HELPERS)
    elif opt == "--no-warnings":
        _set_warnings(a, WARNINGS_OFF)
    elif opt in ("-d", "--debug"):
        _set_debug(a, value)
    elif opt == "-B":
        _set_buffering(a, value)
    elif opt == "--mode":
        _set_mode(a, value)
    elif opt in ("--test", "--bench", "--fmt"):
        _set_mode(a, {"--test": "test", "--bench": "bench", "--fmt": "format"}[opt], opt)
    elif opt == "--no-feature":
        _set_no_feature(a, value)
    elif opt in ("--prometheus", "--prometheus-max-keys"):
        _set_prometheus(a, opt, value)
    # -b / --btf: accepted and ignored, as bpftrace does


def _positionals(a: Args, rest: list[str]) -> None:
    a.args = list(rest)
    if a.listing:
        if len(rest) > 1:
            raise usage_error()
        value = rest[0] if rest else "*"
        if rest and os.path.exists(value):
            a.filename = value
        else:
            a.search = FULL_SEARCH if value == "*" else value
        return
    if a.program is None and rest:
        a.filename, rest = rest[0], rest[1:]
    for arg in rest:
        if arg.startswith("--"):
            a.named_params.append(arg[2:])
        else:
            a.params.append(arg)


def parse_args(argv: list[str]) -> Args:
    """Parse argv (without the program name); raises Exit for help, version, --info
    (code -1: the caller reports) and every usage error."""
    try:
        opts, rest = getopt.gnu_getopt(argv, SHORT, LONG)
    except getopt.GetoptError as err:
        raise _getopt_error(err) from None
    a = Args()
    for opt, value in opts:
        _apply(a, opt, value)
    if a.command is not None and a.pid_text is not None:
        raise usage_error("ERROR: USAGE: Cannot use both -c and -p.")
    _positionals(a, rest)
    return a


def named_params(names: list[str]) -> dict[str, str]:
    """`aa=20` -> {'aa': '20'}; a bare `bb` (a boolean) -> {'bb': ''}."""
    out: dict[str, str] = {}
    for item in names:
        key, _, value = item.partition("=")
        out[key] = value
    return out
