"""The command line without a kernel: --dry-run, -d stages, --emit-elf/--emit-llvm,
diagnostics, program sources, named parameters, the BPFTRACE_* environment and limits.
Exit codes and stderr of the real `python -m pytrace` are checked in a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from pytrace.cli import main

PROG = "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }"


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTRACE_NO_CACHE", "1")


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_dry_run_compiles_quietly() -> None:
    assert cli("--dry-run", "-e", PROG) == (0, "", "")


@pytest.mark.parametrize("stage, marker", [
    ("ast", "Probe("), ("types", "map @: key=string[16] value=count"), ("ir", 'section "probe_0"'),
    ("ir-opt", "define"), ("asm", "prog_0:"),
])
def test_debug_stages(stage: str, marker: str) -> None:
    code, out, err = cli("--dry-run", "-d", stage, "-e", PROG)
    assert code == 0, err
    assert marker in out


def test_emit_elf(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "prog.o"
    assert cli("--dry-run", "--emit-elf", str(path), "-e", PROG)[0] == 0
    assert path.read_bytes()[:4] == b"\x7fELF"


def test_errors_in_bpftrace_format() -> None:
    code, out, err = cli("--dry-run", "-e", "BEGIN { print(foo); }")
    assert code == 1 and out == ""
    assert err == ("stdin:1:15-18: ERROR: Unknown identifier: 'foo'\n"
                   "BEGIN { print(foo); }\n"
                   "              ~~~\n")


def test_several_errors_at_once() -> None:
    code, _, err = cli("--dry-run", "-e", "BEGIN { print(foo); print(bar); }")
    assert code == 1
    assert err.count("ERROR:") == 2


def test_unknown_tracepoint_suggests_names() -> None:
    code, _, err = cli("--dry-run", "-e", "tracepoint:syscalls:sys_enter_opnat { exit(); }")
    assert code == 1
    assert err.startswith("stdin:1:1-36: ERROR: tracepoint not found: syscalls:sys_enter_opnat\n")
    assert "HINT:" in err and "sys_enter_openat" in err


def test_script_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "bad.bt"
    script.write_text("BEGIN {\n  @x = 1 +;\n}\n")
    code, _, err = cli("--dry-run", str(script))
    assert code == 1
    assert err.startswith(f"{script}:2:")


@pytest.mark.parametrize("text", ["", "{", "BEGIN", "@", "BEGIN { @x = ; }", "\x00\xff", "BEGIN { $x = \"a\" + 1; }",
                                  "BEGIN { @x = count(); @x = 5; }", "BEGIN { printf(\"%d\\n\"); }",
                                  "interval:5:s { }", "nosuchkind:foo { }"])
def test_bad_programs_never_traceback(text: str) -> None:
    code, _, err = cli("--dry-run", "-e", text)
    assert code == 1
    assert "Traceback" not in err and "ERROR" in err


def test_missing_script_file() -> None:
    code, _, err = cli("/nonexistent/script.bt")
    assert code == 1
    assert err == "ERROR: failed to open file '/nonexistent/script.bt': No such file or directory\n"


def test_missing_script_that_looks_like_program_text_hints_at_e() -> None:
    code, _, err = cli("BEGIN { exit(); }")
    assert code == 1
    assert err == ("ERROR: failed to open file 'BEGIN { exit(); }': No such file or directory\n"
                   "HINT: to run program text, give it with -e 'program'\n")


def test_version() -> None:
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("pytrace v")


def test_cached_object_is_reused(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PYTRACE_NO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli("--dry-run", "-e", PROG)[0] == 0
    cached = os.listdir(tmp_path / "pytrace")
    assert any(name.endswith(".bpfo") for name in cached)
    from pytrace.driver import compile_source
    from pytrace.passes.context import Options
    from pytrace.source import Source

    assert compile_source(Source("stdin", PROG), Options()).cached


def test_cache_misses_when_a_probed_binary_changes(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import shutil

    monkeypatch.delenv("PYTRACE_NO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    binary = tmp_path / "prog"
    shutil.copy("/bin/bash", binary)
    from pytrace.driver import compile_source
    from pytrace.passes.context import Options
    from pytrace.source import Source

    src = Source("stdin", f"uprobe:{binary}:readline {{ @ = count(); }}")
    assert not compile_source(src, Options()).cached
    assert compile_source(src, Options()).cached
    os.utime(binary, ns=(1, 1))
    assert not compile_source(src, Options()).cached


def run_pytrace(*args: str, stdin: str | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, input=stdin if stdin is not None else "",
                          env=dict(os.environ, PYTRACE_NO_CACHE="1", **(env or {})))


def test_bpftrace_stage_names_for_d() -> None:
    code, out, err = cli("--dry-run", "-d", "codegen,codegen-opt", "-e", PROG)
    assert code == 0, err
    assert 'section "probe_0"' in out and out.count("define") >= 2


def test_emit_llvm_writes_the_original_and_the_optimized_ir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path / "prog"
    assert cli("--dry-run", "--emit-llvm", str(base), "-e", PROG)[0] == 0
    original = (tmp_path / "prog.original.ll").read_text()
    optimized = (tmp_path / "prog.optimized.ll").read_text()
    assert "define" in original and "define" in optimized and original != optimized


def test_options_after_the_program_and_combined_flags() -> None:
    assert cli("-e", PROG, "--dry-run", "-qk") == (0, "", "")


def test_program_from_stdin() -> None:
    r = run_pytrace("--dry-run", "-", stdin="BEGIN { print(foo); }")
    assert r.returncode == 1 and r.stderr.startswith("stdin:1:15-18: ERROR: Unknown identifier")


def test_unknown_named_parameter() -> None:
    code, _, err = cli("--dry-run", "-e", "BEGIN { }", "--", "--aa=20")
    assert (code, err) == (1, 'ERROR: unknown named parameter: --aa (the program has no '
                              'getopt("aa"))\n')


def test_no_program_without_a_terminal_is_a_usage_error() -> None:
    r = run_pytrace("-q")
    assert r.returncode == 1
    assert r.stderr == "ERROR: USAGE: filename or -e 'program' required.\n"
    r = run_pytrace()
    assert r.returncode == 1 and "USAGE:" in r.stderr and r.stdout == ""


def test_getopt_errors_and_help_in_a_real_process() -> None:
    r = run_pytrace("--bogus")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines()[0] == "pytrace: unrecognized option '--bogus'"
    assert "Traceback" not in r.stderr and "usage:" not in r.stderr
    h = run_pytrace("-h")
    assert h.returncode == 0 and h.stderr == "" and "USAGE:" in h.stdout


def test_bad_environment_value_is_one_line() -> None:
    r = run_pytrace("--dry-run", "-e", "BEGIN { }", env={"BPFTRACE_MAX_MAP_KEYS": "lots"})
    assert r.returncode == 1
    assert r.stderr == ("ERROR: Env var 'BPFTRACE_MAX_MAP_KEYS' did not contain a valid "
                        "uint64_t, or was zero-valued.\n")


def test_bad_colour_warns_unless_no_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_COLOR", "pink")
    code, _, err = cli("--dry-run", "-e", "BEGIN { }")
    assert code == 0 and err.startswith("WARNING: Invalid env value! The valid values of "
                                        "`BPFTRACE_COLOR` are [auto|always|never].")
    assert cli("--dry-run", "--no-warnings", "-e", "BEGIN { }") == (0, "", "")


def test_max_probes_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_MAX_PROBES", "1")
    code, _, err = cli("--dry-run", "-e", "BEGIN { } END { }")
    assert code == 1
    assert err == ("ERROR: Can't attach to 2 probes because it exceeds the current limit of "
                   "1 probes.\nYou can increase the limit through the BPFTRACE_MAX_PROBES "
                   "environment variable, but BE CAREFUL since a high number of probes "
                   "attached can cause your system to crash.\n")


def test_max_bpf_progs_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_MAX_BPF_PROGS", "1")
    code, _, err = cli("--dry-run", "-e", "BEGIN { } END { }")
    assert code == 1 and err.startswith("ERROR: Can't generate 2 BPF programs because it "
                                        "exceeds the current limit of 1 programs.")


def test_invalid_output_format() -> None:
    assert cli("-f", "yaml", "-e", "BEGIN { }") == (
        1, "", "ERROR: Invalid output format \"yaml\"\nValid formats: 'text', 'json'\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["--fmt", "x.bt"], "ERROR: --fmt is not supported by pytrace\n"),
    (["--aot", "/tmp/x", "-e", "BEGIN { }"], "ERROR: --aot is not supported by pytrace (its "
                                            "compiled objects are cached instead)\n"),
])
def test_modes_pytrace_does_not_have(argv: list[str], message: str) -> None:
    assert cli(*argv) == (1, "", message)


def test_mode_codegen_compiles_only() -> None:
    assert cli("--mode", "codegen", "-e", PROG) == (0, "", "")


def test_pid_and_command_are_checked_before_compiling() -> None:
    r = run_pytrace("-p", "12x", "-e", "BEGIN { syntax error")
    assert (r.returncode, r.stderr) == (1, "ERROR: Failed to parse pid: invalid trailing bytes: 12x\n")
    r = run_pytrace("-c", "", "-e", "BEGIN { }")
    assert (r.returncode, r.stderr) == (
        1, "ERROR: Failed to fork child: Empty command (No such file or directory)\n")
    r = run_pytrace("-c", '"echo" abc', "-e", "BEGIN { }")  # quotes are not special
    assert r.returncode == 1 and "Path '\"echo\"' does not exist" in r.stderr
    assert "internal error" not in r.stderr and len(r.stderr.splitlines()) == 1
    r = run_pytrace("--cmd", "/nonexistent", "-e", "BEGIN { }")
    assert r.returncode == 1 and r.stderr.startswith("ERROR: Failed to fork child: Path "
                                                     "'/nonexistent' does not exist")


def test_probe_filter_compiles_only_the_matching_probes() -> None:
    from pytrace.clirun import compile_filtered
    from pytrace.passes.context import Options
    from pytrace.source import Source

    src = Source("stdin", "BEGIN { } interval:s:1 { } interval:ms:5 { } END { }")
    obj = compile_filtered(src, Options(), r"ms:").obj
    assert [p.name for p in obj.resources.probes] == ["BEGIN", "interval:ms:5", "END"]
    code, _, err = cli("--dry-run", "--probe-filter", "^nomatch$", "-e", "interval:s:1 { }")
    assert (code, err) == (1, "ERROR: No probes matched the probe filter '^nomatch$'\n")
    code, _, err = cli("--dry-run", "--probe-filter", "(", "-e", "interval:s:1 { }")
    assert code == 1 and err.startswith("ERROR: invalid --probe-filter regular expression '('")


def test_named_parameter_the_program_asks_for_passes_the_check() -> None:
    code, _, err = cli("--dry-run", "-e", 'BEGIN { $x = getopt( "aa", 1); }', "--", "--aa=2")
    assert "unknown named parameter" not in err
    assert code == 0 or "getopt" in err  # getopt() itself belongs to the builtins


def test_debug_stages_pytrace_has_no_output_for() -> None:
    assert cli("--dry-run", "-d", "libbpf", "-e", PROG) == (0, "", "")
    code, out, err = cli("--dry-run", "-d", "all", "-e", PROG)
    assert code == 0, err
    assert "Probe(" in out and "prog_0:" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--prometheus", "nine"], "ERROR: USAGE: --prometheus: invalid address 'nine': expected "
                               "[HOST:]PORT, e.g. 9100 or 127.0.0.1:9100\n"),
    (["--prometheus", "1.2.3.4:70000"], "ERROR: USAGE: --prometheus: invalid address "
                                        "'1.2.3.4:70000': expected [HOST:]PORT, e.g. 9100 or "
                                        "127.0.0.1:9100\n"),
    (["--prometheus-max-keys", "-1"], "ERROR: USAGE: --prometheus-max-keys: '-1' is not a "
                                      "number of keys (0 or more)\n"),
])
def test_bad_prometheus_options_are_usage_errors(args: list[str], message: str) -> None:
    assert cli(*args, "-e", PROG, "--dry-run") == (1, "", message)


def test_prometheus_options_parse() -> None:
    from pytrace.cliargs import parse_args

    a = parse_args(["--prometheus", "127.0.0.1:9100", "--prometheus-max-keys", "0", "-e", PROG])
    assert (a.prometheus, a.prometheus_max_keys) == (("127.0.0.1", 9100), 0)
    assert parse_args(["-e", PROG]).prometheus is None
    assert parse_args(["--prometheus=9100", "-e", PROG]).prometheus == ("0.0.0.0", 9100)
