"""cliargs.parse_args: GNU getopt_long parsing and bpftrace's usage errors, no kernel."""

from __future__ import annotations

import pytest

from pytrace import __version__
from pytrace.cliargs import Exit, named_params, parse_args


def refused(*argv: str) -> Exit:
    with pytest.raises(Exit) as info:
        parse_args(list(argv))
    return info.value


def test_options_may_follow_the_program_and_its_parameters() -> None:
    a = parse_args(["-e", "BEGIN {}", "p1", "-q", "p2", "--dry-run"])
    assert a.program == "BEGIN {}" and a.quiet and a.dry_run
    assert a.params == ["p1", "p2"] and a.filename is None


def test_a_script_file_then_its_parameters() -> None:
    a = parse_args(["script.bt", "1", "two"])
    assert a.filename == "script.bt" and a.params == ["1", "two"]


def test_double_dash_ends_options_and_starts_named_parameters() -> None:
    a = parse_args(["-e", "x", "p1", "--", "--aa=20", "--bb", "p2", "-q"])
    assert a.params == ["p1", "p2", "-q"] and not a.quiet
    assert a.named_params == ["aa=20", "bb"]
    assert named_params(a.named_params) == {"aa": "20", "bb": ""}


def test_combined_short_flags_and_attached_values() -> None:
    a = parse_args(["-lv", "-p123", "-dast,codegen", "t:sched:*"])
    assert a.listing and a.verbose and a.pid_text == "123"
    assert a.debug == ["ast", "ir"] and a.search == "t:sched:*"


@pytest.mark.parametrize(("argv", "attr", "value"), [
    (["--pid", "7", "-e", "x"], "pid_text", "7"),
    (["--cmd", "ls -l", "-e", "x"], "command", "ls -l"),
    (["--output=/tmp/o", "-e", "x"], "output", "/tmp/o"),
    (["--quiet", "-e", "x"], "quiet", True),
    (["--verbose", "-e", "x"], "verbose", True),
    (["--list"], "listing", True),
    (["--usdt-file-activation", "-e", "x"], "usdt_file_activation", True),
    (["--dwarf-pid", "7", "--dwarf-pid=8", "-e", "x"], "dwarf_pid_texts", ["7", "8"]),
    (["--probe-filter", "^t", "-e", "x"], "probe_filter", "^t"),
    (["--include", "linux/sched.h", "-e", "x"], "include_files", ["linux/sched.h"]),
    (["-I", "/tmp/inc", "-e", "x"], "include", ["/tmp/inc"]),
    (["--debuginfo", "/a:/b", "-e", "x"], "debuginfo", ["/a", "/b"]),
    (["--dry", "-e", "x"], "dry_run", True),  # a unique prefix of --dry-run
    (["--unsafe", "-e", "x"], "unsafe", True),
    (["-B", "none", "-e", "x"], "buffering", "none"),
    (["-f", "json", "-e", "x"], "format", "json"),
    (["--emit-llvm", "/tmp/ir", "-e", "x"], "emit_llvm", "/tmp/ir"),
    (["-k", "-e", "x"], "warning_level", 2),
    (["--no-warnings", "-e", "x"], "warning_level", 0),
    (["-d", "all", "-e", "x"], "debug", ["ast", "types", "ir", "ir-opt", "asm", "verifier"]),
])
def test_long_and_short_options(argv: list[str], attr: str, value: object) -> None:
    assert getattr(parse_args(argv), attr) == value


def test_help_goes_to_stdout_and_exits_zero() -> None:
    e = refused("-e", "x", "--help")
    assert e.code == 0 and e.stderr == "" and e.stdout.startswith("pytrace - ")
    assert "USAGE:" in e.stdout and "ENVIRONMENT:" in e.stdout and "EXAMPLES:" in e.stdout
    assert "BPFTRACE_MAX_MAP_KEYS" in e.stdout and "-p, --pid PID" in e.stdout
    assert "--dwarf-pid PID" in e.stdout


def test_version() -> None:
    e = refused("-V")
    assert (e.code, e.stdout) == (0, f"pytrace v{__version__}\n")


def test_info_is_left_to_the_caller() -> None:
    assert refused("--info").code == -1


@pytest.mark.parametrize(("argv", "first"), [
    (["--bogus"], "pytrace: unrecognized option '--bogus'"),
    (["-x"], "pytrace: invalid option -- 'x'"),
    (["-e"], "pytrace: option requires an argument -- 'e'"),
    (["--include"], "pytrace: option '--include' requires an argument"),
    (["--unsafe=1"], "pytrace: option '--unsafe' doesn't allow an argument"),
    (["--no"], "pytrace: option '--no' is ambiguous; possibilities: '--no-feature' "
               "'--no-warnings'"),
    (["-c", "true", "-p", "1", "-e", "x"], "ERROR: USAGE: Cannot use both -c and -p."),
])
def test_usage_errors_print_the_usage(argv: list[str], first: str) -> None:
    e = refused(*argv)
    assert e.code == 1 and e.stdout == ""
    lines = e.stderr.splitlines()
    assert lines[0] == first and "USAGE:" in e.stderr
    assert "argparse" not in e.stderr and "usage:" not in e.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["-B", "big"], "ERROR: USAGE: -B must be either 'line', 'full', or 'none'.\n"),
    (["-d", "nope"], "ERROR: USAGE: invalid option for -d: nope\n"),
    (["-k", "--no-warnings"], "ERROR: USAGE: -k, --warnings conflicts with --no-warnings\n"),
    (["--no-warnings", "-k"], "ERROR: USAGE: -k, --warnings conflicts with --no-warnings\n"),
    (["-kk"], "ERROR: USAGE: -kk has been deprecated. Use a single -k for runtime warnings "
              "for errors in map lookups and probe reads.\n"),
    (["--no-feature", "foo"], "ERROR: USAGE: --no-feature can only have values "
                              "'kprobe_multi,kprobe_session,uprobe_multi'.\n"),
    (["--mode", "x"], "ERROR: USAGE: --mode can only be 'codegen', 'compiler-bench', 'bench', "
                      "'test' or 'format'.\n"),
    (["--mode", "codegen", "--test"], "ERROR: USAGE: --test conflicts with existing --mode\n"),
])
def test_bad_values_are_one_error_line(argv: list[str], message: str) -> None:
    e = refused(*argv)
    assert (e.code, e.stderr, e.stdout) == (1, message, "")


def test_listing_takes_one_search_or_an_existing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert parse_args(["-l"]).search == "*:*"
    assert parse_args(["-l", "*"]).search == "*:*"
    script = tmp_path / "s.bt"
    script.write_text("BEGIN {}")
    a = parse_args(["-l", str(script)])
    assert a.filename == str(script) and a.search == ""
    assert refused("-l", "a", "b").code == 1
