"""Unsafe functions (signal, signal_thread, write_user, system, override) refused without
--unsafe with bpftrace's message and working with it; builtins this kernel cannot run
(override, path, socket_cookie: kprobe/fentry programs; percpu_kaddr: kallsyms without
data symbols) compile and are refused at start with one line; unwatch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cbuild import build_c
from harness import run

from pytrace.runtime.errors import FeatureUnavailable
from pytrace.runtime.features import check_feature, check_probe_kind

ENV = dict(os.environ, PYTRACE_NO_CACHE="1")


def pytrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60, env=ENV)


@pytest.mark.parametrize("call", ['system("ls")', "signal(9)", 'signal_thread("SIGKILL")',
                                  'write_user(args.filename, "x", 1)'])
def test_refused_without_unsafe(call: str) -> None:
    prog = f"tracepoint:syscalls:sys_enter_openat {{ {call}; }}"
    r = pytrace("-e", prog)
    name = call.split("(")[0]
    col = prog.index(call) + 1
    assert r.returncode == 1
    assert r.stderr.startswith(f"stdin:1:{col}-{col + len(call)}: ERROR: {name}() is an unsafe "
                               "function being used in safe mode\n"), r.stderr


SIGNAL_CHILD = """
import os, signal, sys
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.getppid()
open(sys.argv[1], "w").write(str(got))
"""


@pytest.mark.parametrize("fn", ["signal", "signal_thread"])
def test_signal_reaches_the_traced_process(tmp_path: Path, fn: str) -> None:
    out = tmp_path / "got"
    r = run(f'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ {{ {fn}("SIGUSR1"); }}',
            child=[sys.executable, "-c", SIGNAL_CHILD, str(out)], unsafe=True)
    assert r.code == 0, r.err
    assert out.read_text() == "[10]"


def test_write_user_rewrites_the_opened_path(tmp_path: Path) -> None:
    (tmp_path / "B").write_text("b")
    child = [sys.executable, "-c",
             f"import os, sys\ntry:\n    os.close(os.open({str(tmp_path / 'A')!r}, 0))\n"
             "except OSError:\n    sys.exit(3)\n"]
    n = len(str(tmp_path)) + 1  # the byte after "dir/"
    prog = ("tracepoint:syscalls:sys_enter_openat /pid == cpid && "
            f'str(args.filename) == "{tmp_path}/A"/ {{ printf("%d\\n", '
            f'write_user(args.filename + {n}, "B", 1)); }}')
    try:
        check_feature("probe_write_user")
    except FeatureUnavailable:  # this kernel: refused at start, with one line
        r2 = pytrace("--unsafe", "-e", prog)
        assert r2.returncode == 1
        assert r2.stderr.strip() == ("ERROR: write_user() is not available on this kernel: "
                                     "it refuses bpf_probe_write_user (kernel lockdown or "
                                     "configuration)")
        return
    r = run(prog, child=child, unsafe=True)
    assert r.out.startswith("1\n"), r.err


@pytest.mark.parametrize("prog, kind", [
    ("kprobe:do_nanosleep { override(0); }", "kprobe"),
    ("fentry:vfs_open { @ = path(0); }", "fentry"),
    ("fentry:tcp_rcv_established { @ = socket_cookie(0); }", "fentry"),
])
def test_refused_at_start_when_the_kernel_cannot_run_them(prog: str, kind: str) -> None:
    try:
        check_probe_kind(kind)
        pytest.skip(f"this kernel runs {kind} programs")
    except FeatureUnavailable:
        pass
    assert pytrace("--unsafe", "--dry-run", "-e", prog).returncode == 0  # it compiles
    r = pytrace("--unsafe", "-e", prog)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1
    assert lines[0].startswith(f"ERROR: {kind} probes are not available on this kernel")


def test_percpu_kaddr_is_refused_without_kallsyms_data_symbols() -> None:
    from pytrace.kernelinfo import kernel_symbol

    prog = 'BEGIN { $p = percpu_kaddr("process_counts"); printf("%d\\n", *$p > 0); exit(); }'
    assert pytrace("--dry-run", "-e", prog).returncode == 0
    r = pytrace("-e", prog)
    if kernel_symbol("process_counts") is not None:
        assert r.returncode == 0 and r.stdout.startswith("1\n")
        return
    assert r.returncode == 1
    assert r.stderr.strip() == ('ERROR: percpu_kaddr("process_counts") is not available on '
                                "this kernel: /proc/kallsyms lists no data symbols (built "
                                "without CONFIG_KALLSYMS_ALL)")


WATCHED = """
#include <stdio.h>
#include <unistd.h>
volatile long counter;
int main(void) { for (int i = 0; i < 20; i++) { counter = i; usleep(20000); } return 0; }
"""


def test_unwatch_removes_the_watchpoint(tmp_path: Path) -> None:
    try:
        check_probe_kind("watchpoint")
    except FeatureUnavailable as exc:
        pytest.skip(str(exc))
    from elftools.elf.elffile import ELFFile

    path = build_c(tmp_path, "watched", WATCHED, "-O0", "-no-pie")
    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        addr = int(symtab.get_symbol_by_name("counter")[0]["st_value"])
    r = run(f"watchpoint:{addr:#x}:8:w /pid == cpid/ {{ @hits = count(); unwatch({addr}); }}",
            child=[path])
    assert r.code == 0, r.err
    hits = int(next(ln for ln in r.out.splitlines() if ln.startswith("@hits")).split(": ")[1])
    assert 1 <= hits < 10  # 20 writes 20 ms apart, but the first hit removed the watchpoint
