"""The command line without a kernel: --dry-run, -d stages, --emit-elf, diagnostics."""

from __future__ import annotations

import io
import os
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
    assert err == "ERROR: /nonexistent/script.bt: No such file or directory\n"


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
