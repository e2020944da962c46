"""ustack/kstack `perf` and `raw` modes: frame text, indents in printf and map keys, and
the real stacks of a gcc-built program (checked against bpftrace 0.17 when installed)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest
from cbuild import build_c
from harness import run

from pytrace.output.text import format_prim
from pytrace.runtime.decode import decode_value
from pytrace.runtime.symbols import Symbolizer, kernel_symbols, ksym
from pytrace.types import StackT
from pytrace.values import Stack

PROG = r"""
#include <unistd.h>
__attribute__((noinline)) int leaf(int x) { return x * 2; }
__attribute__((noinline)) int middle(int x) { return leaf(x + 1) + 1; }
__attribute__((noinline)) int top(int x) { return middle(x) + 1; }
int main(void) { for (int i = 0; i < 2; i++) { top(i); usleep(20000); } return 0; }
"""
USER_PERF = re.compile(r"^\t([0-9a-f]+) (\S+\+\d+) \((/\S+)\)$")
KERNEL_PERF = re.compile(r"^\t([0-9a-f]+) (\S+)$")


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_c(tmp_path_factory.mktemp("stackmodes"), "p", PROG, "-g", "-O0", "-fno-omit-frame-pointer")


def _blocks(out: str) -> list[str]:
    """The text between `[` and `]` of each `[%s]` printf line group."""
    return re.findall(r"\[(.*?)\]\n", out, re.S)


def _stack_bytes(addrs: list[int]) -> bytes:
    return b"".join(struct.pack("<Q", a) for a in addrs) + bytes(8 * 3)


# ------------------------------------------------------------------ rendering
def test_perf_and_raw_stacks_render_like_bpftrace() -> None:
    perf = Stack(("ffffffff81000130 entry_SYSCALL_64+118",), True, "perf")
    assert str(perf) == "\n\tffffffff81000130 entry_SYSCALL_64+118\n"
    assert format_prim(perf, key=True) == "\n\tffffffff81000130 entry_SYSCALL_64+118\n"
    raw = Stack(("401136", "401150"), False, "raw")
    assert str(raw) == "\n401136\n401150\n" == format_prim(raw, key=True)
    plain = Stack(("f+1",), True)
    assert str(plain) == "\n        f+1\n" and format_prim(plain, key=True) == "\n    f+1\n"


def test_symbolizer_perf_frames_for_kernel_and_unknown_user_addresses() -> None:
    table = kernel_symbols()
    if not table.addrs:
        pytest.skip("/proc/kallsyms gives no addresses")
    k = table.addrs[len(table.addrs) // 2] + 3
    sym = Symbolizer(lambda sid: _stack_bytes([k, k + 1]))
    assert sym.stack(True, 0, 0, 127, mode="perf") == (f"{k:x} {ksym(k, True)}",
                                                       f"{k + 1:x} {ksym(k + 1, True)}")
    assert sym.stack(True, 0, 0, 1, mode="raw") == (f"{k:x}",)
    assert sym.stack(False, 0, 0, 127, mode="perf")[0] == f"{k:x} 0x{k:x} ([unknown])"
    got = decode_value(StackT(True, 1, "perf"), struct.pack("<qQ", 0, 0), 0, (), sym)
    assert got == Stack((f"{k:x} {ksym(k, True)}",), True, "perf")


# ------------------------------------------------------------------ real stacks
def test_ustack_perf_names_frames_and_files(prog: str) -> None:
    r = run(f'uprobe:{prog}:leaf {{ printf("[%s]\\n", ustack(perf)); '
            f'printf("[%s]\\n", ustack(raw)); @[ustack(perf, 3)] = count(); }}', child=[prog])
    assert r.code == 0, r.err
    blocks = _blocks(r.out)
    assert len(blocks) == 4, r.out
    frames = blocks[0].strip("\n").split("\n")
    parsed = [USER_PERF.match(f) for f in frames]
    assert all(parsed), frames
    names = [m.group(2).split("+")[0] for m in parsed if m]
    assert names[:4] == ["leaf", "middle", "top", "main"]
    assert [m.group(3) for m in parsed[:4] if m] == [prog] * 4
    raw = blocks[1].strip("\n").split("\n")
    assert raw == [m.group(1) for m in parsed if m]  # raw: the same addresses, bare
    key = "@[\n" + "".join(f + "\n" for f in frames[:3]) + "]: 2"
    assert key in r.out, r.out


def test_ustack_perf_matches_bpftrace(prog: str) -> None:
    if shutil.which("bpftrace") is None:
        pytest.skip("bpftrace is not installed")
    text = f'uprobe:{prog}:leaf {{ printf("[%s]\\n", ustack(perf)); }}'
    ref = subprocess.run(["bpftrace", "-c", prog, "-e", text], capture_output=True, text=True,
                         timeout=60)
    mine = run(text, child=[prog])
    assert mine.code == 0, mine.err

    def symbolic(out: str) -> list[list[str]]:  # addresses differ between runs (ASLR)
        return [[re.sub(r"^\t[0-9a-f]+ ", "\t", f) for f in b.strip("\n").split("\n")]
                for b in _blocks(out)]

    assert symbolic(ref.stdout) and symbolic(mine.out) == symbolic(ref.stdout)


def test_kstack_perf_agrees_with_bpftrace_mode_and_kallsyms(prog: str) -> None:
    r = run('tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ { '
            'printf("[%s][%s]\\n", kstack(perf), kstack); }', child=[prog])
    assert r.code == 0, r.err
    pairs = re.findall(r"\[(.*?)\]\[(.*?)\]\n", r.out, re.S)
    assert len(pairs) == 2, r.out  # usleep() twice
    perf, plain = pairs[0]
    perf_frames = perf.strip("\n").split("\n")
    plain_frames = [f.strip() for f in plain.strip("\n").split("\n")]
    parsed = [KERNEL_PERF.match(f) for f in perf_frames]
    assert all(parsed) and len(parsed) == len(plain_frames), (perf, plain)
    assert [m.group(2) for m in parsed if m] == plain_frames
    assert all(ksym(int(m.group(1), 16), True) == m.group(2) for m in parsed if m)


# ------------------------------------------------------------------ the default mode
def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    return subprocess.run([sys.executable, "-m", "pytrace", *args], capture_output=True,
                          text=True, timeout=60,
                          env=dict(os.environ, PYTRACE_NO_CACHE="1", **(env or {})))


def test_stack_mode_from_the_environment_and_the_config_block(prog: str) -> None:
    key = f"uprobe:{prog}:leaf {{ @[ustack(1)] = count(); }}"
    perf = _cli("-c", prog, "-e", key, env={"BPFTRACE_STACK_MODE": "perf"})
    assert perf.returncode == 0, perf.stderr
    assert USER_PERF.match(perf.stdout.split("@[\n")[1].splitlines()[0]), perf.stdout
    raw = _cli("-c", prog, "-e", "config = { stack_mode = raw } " + key)
    assert raw.returncode == 0, raw.stderr
    assert re.fullmatch(r"[0-9a-f]+", raw.stdout.split("@[\n")[1].splitlines()[0]), raw.stdout
    # the environment wins over the config block; the call site over both
    both = _cli("-c", prog, "-e", f"config = {{ stack_mode = raw }} uprobe:{prog}:leaf "
                "{ @[ustack(1)] = count(); @b[ustack(bpftrace, 1)] = count(); }",
                env={"BPFTRACE_STACK_MODE": "perf"})
    assert both.returncode == 0, both.stderr
    first = both.stdout.split("@[\n")[1].splitlines()[0]
    assert USER_PERF.match(first) and "@b[\n    leaf+0\n]: 2" in both.stdout, both.stdout
